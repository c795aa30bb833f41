/**
 * The validated inventory as the rest of the program sees it: defaults applied, references resolved,
 * every value typed and frozen. Constructs and plans receive only this.
 */
import type { GitopsSpec, HostedTopology, KubeadmTopology, StorageSpec } from './schema';

export interface Retention {
  /** 0 means "rule not set" for every field. */
  readonly keepLast: number;
  readonly maxAgeHours: number;
  readonly hourly: number;
  readonly daily: number;
  readonly weekly: number;
  readonly monthly: number;
}

export interface Resources {
  readonly requests: Readonly<Record<string, string>>;
  readonly limits: Readonly<Record<string, string>>;
}

export interface Toleration {
  readonly key?: string;
  readonly operator?: 'Exists' | 'Equal';
  readonly value?: string;
  readonly effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  readonly tolerationSeconds?: number;
}

export interface BackupSettings {
  readonly schedule: string;
  readonly timeZone: string;
  readonly suspend: boolean;
  readonly retention: Retention;
  readonly compression: 'zstd' | 'gzip' | 'none';
  readonly encryption: { readonly recipients: readonly string[]; readonly snapshot: boolean };
  /** Names of the storages, each resolved in `Inventory.storages`. */
  readonly storages: readonly string[];
  readonly pki: boolean;
  readonly encryptionConfig?: { readonly hostPath?: string; readonly secret?: { readonly name: string; readonly key: string } };
  readonly images: { readonly etcd: string; readonly tools: string; readonly pullPolicy: 'Always' | 'IfNotPresent' | 'Never' };
  readonly resources: Resources;
  readonly minSnapshotBytes: number;
  readonly snapshotTimeoutSeconds: number;
  readonly activeDeadlineSeconds: number;
  readonly startingDeadlineSeconds: number;
  readonly backoffLimit: number;
  readonly successfulJobsHistoryLimit: number;
  readonly failedJobsHistoryLimit: number;
  readonly scratchSize: string;
  readonly priorityClassName?: string;
  readonly tolerations: readonly Toleration[];
  readonly drill: { readonly enabled: boolean; readonly schedule: string; readonly identitySecret?: string };
  readonly alerts: { readonly enabled: boolean; readonly rpoMargin: number; readonly runbookBaseUrl: string };
  /** The cluster's backup signing key: its public key and the Secret of the private key; undefined: sets are unsigned. */
  readonly signing?: { readonly publicKey: string; readonly secretName: string };
}

export type Topology =
  | ({ readonly kind: 'kubeadm' } & Readonly<KubeadmTopology>)
  | ({ readonly kind: 'hosted' } & Readonly<HostedTopology> & { readonly headlessService: string });

export interface OnDemandBackup {
  readonly name: string;
  readonly storages: readonly string[];
}

export interface RestoreRequest {
  readonly id: string;
  /** Object key in the storage's bucket, or `latest` (resolved at run time and recorded). */
  readonly snapshot: string;
  readonly confirm: string;
  readonly storage: string;
  readonly pki: boolean;
  readonly bumpRevision: boolean;
  readonly allowCrossCluster: boolean;
  readonly allowUnsigned: boolean;
  /** kubeadm: the nodes to restore onto, when the request names them (replaced control-plane nodes). */
  readonly members?: readonly { readonly name: string; readonly ip: string }[];
}

export interface ClusterGitops {
  readonly argocdCluster?: string;
  readonly fluxKubeConfigSecret?: string;
}

export interface Cluster {
  readonly name: string;
  readonly topology: Topology;
  readonly backup: BackupSettings;
  readonly onDemandBackups: readonly OnDemandBackup[];
  readonly restores: readonly RestoreRequest[];
  readonly gitops: ClusterGitops;
  readonly labels: Readonly<Record<string, string>>;
}

/** Every storage a cluster's backups go to, once each: the scheduled ones first, then those only on-demand backups use. */
export function clusterStorages(cluster: Cluster): string[] {
  return [...new Set([...cluster.backup.storages, ...cluster.onDemandBackups.flatMap((request) => request.storages)])];
}

export type Storage = {
  readonly name: string;
  /** This destination's own retention, when it has one; otherwise the cluster's applies. */
  readonly retention?: Retention;
} & (
  | {
      readonly kind: 's3';
      readonly s3: NonNullable<StorageSpec['s3']>;
      readonly credentials: NonNullable<StorageSpec['credentials']>;
      /** Credentials of the prune CronJob, when retention runs there instead of in the backup Jobs. */
      readonly pruneCredentials?: NonNullable<StorageSpec['pruneCredentials']>;
    }
  | { readonly kind: 'gcs'; readonly gcs: NonNullable<StorageSpec['gcs']>; readonly credentials: NonNullable<StorageSpec['credentials']> }
  | { readonly kind: 'azureBlob'; readonly azureBlob: NonNullable<StorageSpec['azureBlob']>; readonly credentials: NonNullable<StorageSpec['credentials']> }
  | { readonly kind: 'objectBucketClaim'; readonly objectBucketClaim: NonNullable<StorageSpec['objectBucketClaim']> }
  | { readonly kind: 'local'; readonly local: NonNullable<StorageSpec['local']> }
);

export interface Inventory {
  /** Path of the inventory file, as given (for messages). */
  readonly file: string;
  readonly storages: Readonly<Record<string, Storage>>;
  /** Sorted by name: output order never depends on the order of the file. */
  readonly clusters: readonly Cluster[];
  readonly gitops?: Readonly<GitopsSpec>;
}
