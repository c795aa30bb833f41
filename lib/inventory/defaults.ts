/**
 * The one owner of every inventory default. The schema reads these; constructs never invent their own.
 * An inventory's `defaults.backup` overrides them, a cluster's `backup` overrides both (objects merge key by key).
 */
export const INVENTORY_DEFAULTS = {
  /** Namespace the backup objects of a kubeadm cluster live in (on that cluster). */
  namespace: 'controlplane-backup',
  backup: {
    /** Every 6 hours: a 6 h worst-case RPO at negligible cost (a snapshot of a 100 MB DB takes about a second). */
    schedule: '0 */6 * * *',
    timeZone: 'Etc/UTC',
    suspend: false,
    retention: {
      keepLast: 8,
      maxAge: '90d',
      hourly: 0,
      daily: 7,
      weekly: 4,
      monthly: 3,
    },
    compression: 'zstd' as const,
    encryption: {
      recipients: [] as string[],
      /** Encrypt the snapshot too when recipients are set (an etcd snapshot holds every Secret of the cluster). */
      snapshot: true,
    },
    storages: [] as string[],
    pki: true,
    /**
     * No default tools image: nobody publishes one, and a default would meet users as ImagePullBackOff. Each user
     * builds it (`npm run image`), pushes it to their registry and sets `images.tools` (rules.ts says so).
     */
    images: {
      etcd: 'registry.k8s.io/etcd:3.5.21-0',
      pullPolicy: 'IfNotPresent' as const,
    },
    resources: {
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { memory: '1Gi' },
    },
    /** A snapshot smaller than this is treated as broken (Kube-DC exits 2 on a too-small snapshot too). */
    minSnapshotSize: '1Mi',
    /** Bounds `etcdctl snapshot save` (it hangs forever without a timeout); size it for the database. */
    snapshotTimeoutSeconds: 300,
    /** Hard bound of one Job run, snapshot and uploads included. */
    activeDeadlineSeconds: 1800,
    /** Tolerates minutes of controller downtime without skipping a run (cdk8s-plus' default of 10 s does not). */
    startingDeadlineSeconds: 600,
    backoffLimit: 2,
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 5,
    /** Size limit of the scratch emptyDir that holds the snapshot and its compressed copy. */
    scratchSize: '4Gi',
    priorityClassName: '' as string,
    drill: {
      enabled: true,
      /** Weekly, Sunday 03:30 (in the backup's time zone): away from the usual 02:00 backups. */
      schedule: '30 3 * * 0',
      identitySecret: '' as string,
    },
    alerts: {
      enabled: true,
      rpoMargin: 1.5,
      runbookBaseUrl: 'https://github.com/controlplane-backup/controlplane-backup/blob/main/README.md',
    },
  },
} as const;

export type InventoryDefaults = typeof INVENTORY_DEFAULTS;
