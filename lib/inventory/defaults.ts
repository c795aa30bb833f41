/**
 * The one owner of every inventory default. The schema reads these (with `.default()` where zod fills the value in,
 * and as the JSON Schema's `default` of the backup settings, which resolve.ts merges); constructs never invent their
 * own. An inventory's `defaults.backup` overrides `backup`, a cluster's `backup` overrides both (objects merge key by
 * key).
 */
import { STORAGE_CREDENTIAL_KEYS } from '../plan/names';

/** Plain data only (what YAML can write), in these sections; each `.default()` in schema.ts checks its field's type. */
type Data = string | number | boolean | readonly Data[] | { readonly [key: string]: Data };
type Section = { readonly [key: string]: Data };
interface Defaults {
  readonly namespace: string;
  readonly backup: Section;
  readonly storage: Section;
  readonly kubeadm: Section;
  readonly hosted: Section;
  readonly cluster: Section;
  readonly restore: Section;
  readonly gitops: Section;
}

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
  /** Storages: an S3 bucket or an ObjectBucketClaim, and where their credentials come from. */
  storage: {
    region: 'us-east-1',
    /** Keys start at the bucket's root unless a prefix is given. */
    prefix: '',
    pathStyle: false,
    insecure: false,
    caBundleKey: 'ca.crt',
    /** The provisioner's ConfigMap gives host and port only; TLS unless the storage says otherwise. */
    objectBucketClaimScheme: 'https',
    existingSecret: { accessKeyIdKey: STORAGE_CREDENTIAL_KEYS.accessKeyId, secretAccessKeyKey: STORAGE_CREDENTIAL_KEYS.secretAccessKey },
    externalSecret: {
      secretStoreKind: 'ClusterSecretStore',
      accessKeyIdProperty: 'access_key_id',
      secretAccessKeyProperty: 'secret_access_key',
      refreshInterval: '1h',
    },
    sealedSecret: { scope: 'strict' },
    /** Secret keys of the key material of gcs and azureBlob storages (the names their tools use). */
    keySecret: { gcs: 'service-account.json', azureBlob: 'AZURE_STORAGE_CONNECTION_STRING' },
    /** The audience AWS STS expects of a web identity token (the EKS webhook's default too). */
    awsWebIdentityAudience: 'sts.amazonaws.com',
  },
  /** kubeadm's own folders and ports. */
  kubeadm: {
    pkiDir: '/etc/kubernetes/pki',
    dataDir: '/var/lib/etcd',
    manifestsDir: '/etc/kubernetes/manifests',
    clientPort: 2379,
    peerPort: 2380,
    nodeSelector: { 'node-role.kubernetes.io/control-plane': '' } as Record<string, string>,
  },
  /** Hosted control planes (Kamaji, Kube-DC, ...): the usual Secret keys and volume names. */
  hosted: {
    clientCertSecret: { caKey: 'ca.crt', certKey: 'tls.crt', keyKey: 'tls.key' },
    pkiSecrets: [] as string[],
    controlPlaneDeployments: [] as string[],
    dataVolumeClaimTemplate: 'data',
    /** The volume's root is etcd's data dir. */
    dataDirInVolume: '',
    peerPort: 2380,
    /** Nobody to pause: a restore finding an owner stops at Validating. */
    owners: [] as never[],
  },
  cluster: {
    onDemandBackups: [] as never[],
    restores: [] as never[],
    labels: {} as Record<string, string>,
  },
  /** A restore request does the least unless asked: no PKI, no snapshot of another cluster. */
  restore: {
    pki: false,
    bumpRevision: true,
    allowCrossCluster: false,
    allowUnsigned: false,
  },
  gitops: {
    revision: 'main',
    path: 'dist',
    argocd: {
      namespace: 'argocd',
      project: 'default',
      mode: 'applications',
      automated: true,
      prune: true,
      selfHeal: true,
      managementCluster: 'in-cluster',
    },
    flux: {
      namespace: 'flux-system',
      sourceKind: 'GitRepository',
      interval: '10m',
      prune: true,
      wait: true,
    },
  },
} as const satisfies Defaults;
