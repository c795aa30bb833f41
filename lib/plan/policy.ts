/**
 * Least-privilege storage policies (`controlplane-backup policy`): per S3 storage, one writer identity per cluster
 * limited to the cluster's own folder, in the AWS IAM policy language that AWS, MinIO and Ceph RGW all read. Pure.
 */
import { clusterStorages, type Inventory, type Storage } from '../inventory/model';
import { clusterFolder } from '../storage/layout';

/** `writer`: each cluster's Jobs delete their own old sets (today's backup Jobs); `separate`: a prune identity does. */
export type PruneMode = 'writer' | 'separate';

export interface PolicyOptions {
  readonly storage?: string;
  readonly prune?: PruneMode;
  /** AWS account of the IAM users named in bucket policies. @default "AWS_ACCOUNT_ID" (a placeholder to replace) */
  readonly awsAccount?: string;
}

export interface Statement {
  readonly Sid: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: { readonly AWS: readonly string[] };
  readonly Action: readonly string[];
  readonly Resource: readonly string[];
  readonly Condition?: unknown;
}
export interface Policy {
  readonly Version: '2012-10-17';
  readonly Statement: readonly Statement[];
}

export interface StoragePolicies {
  readonly storage: string;
  readonly bucket: string;
  readonly prune: PruneMode;
  /** Identity policies by user name: attach to the IAM user (or role) whose keys the cluster's Secret holds. */
  readonly aws: { readonly userPolicies: Record<string, Policy>; readonly bucketPolicy: Policy };
  /** MinIO: the same documents as user policies, and the mc commands that create and attach them. */
  readonly minio: { readonly policies: Record<string, Policy>; readonly commands: readonly string[] };
  /** Ceph RGW: a bucket policy naming RGW users (`radosgw-admin user create --uid <name>`). */
  readonly ceph: { readonly bucketPolicy: Policy };
  readonly notes: readonly string[];
}

export interface PolicyDocument {
  readonly apiVersion: 'controlplane-backup.io/v1';
  readonly kind: 'StoragePolicies';
  readonly storages: readonly StoragePolicies[];
  /** Storages without policies, and why. */
  readonly skipped: Record<string, string>;
}

/** The identity (IAM / MinIO / RGW user name) of a cluster's backup credentials. */
const writerName = (cluster: string) => `controlplane-backup-${cluster}`;
/**
 * The identity of a cluster's prune credentials (`pruneCredentials`), with `--prune separate`. A dot never occurs in
 * a cluster name (a DNS label): no writer name can be another cluster's prune name.
 */
const pruneName = (cluster: string) => `${writerName(cluster)}.prune`;

const WRITE = ['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject'];
const pascal = (name: string) => name.split(/[-.]/).map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('');

/** Why a storage of each other kind gets no policy document here, and what to do instead. */
const NO_POLICY: Readonly<Record<Exclude<Storage['kind'], 's3'>, string>> = {
  local: 'a local storage: the backups are files on the nodes, no credentials',
  objectBucketClaim: 'an objectBucketClaim storage: the provisioner creates the bucket and its one credential; give each cluster its own claim to separate them',
  gcs: 'a gcs storage: grant its service account roles/storage.objectAdmin on the bucket (IAM policies here are AWS IAM documents)',
  azureBlob: 'an azureBlob storage: assign its identity the role "Storage Blob Data Contributor" on the container (IAM policies here are AWS IAM documents)',
};

export function storagePolicies(inventory: Inventory, options: PolicyOptions = {}): PolicyDocument {
  const account = options.awsAccount ?? 'AWS_ACCOUNT_ID';
  const storages: StoragePolicies[] = [];
  const skipped: Record<string, string> = {};
  for (const storage of Object.values(inventory.storages).sort((a, b) => a.name.localeCompare(b.name))) {
    if (options.storage && storage.name !== options.storage) continue;
    if (storage.kind !== 's3') {
      skipped[storage.name] = NO_POLICY[storage.kind];
      continue;
    }
    const writers = inventory.clusters
      .filter((cluster) => clusterStorages(cluster).includes(storage.name))
      .map((cluster) => cluster.name);
    // A storage with pruneCredentials is pruned by the prune CronJob: its writers need no delete right.
    storages.push(policiesOf(storage, writers, options.prune ?? (storage.pruneCredentials ? 'separate' : 'writer'), account));
  }
  return { apiVersion: 'controlplane-backup.io/v1', kind: 'StoragePolicies', storages, skipped };
}

function policiesOf(storage: Extract<Storage, { kind: 's3' }>, writers: readonly string[], prune: PruneMode, account: string): StoragePolicies {
  const bucket = `arn:aws:s3:::${storage.s3.bucket}`;
  const folder = (cluster: string) => clusterFolder(storage, cluster);
  const listable = (clusters: readonly string[]) => ({ StringLike: { 's3:prefix': clusters.flatMap((c) => [`${folder(c)}/`, `${folder(c)}/*`]) } });
  // Object Lock: uploads set a retention (s3:PutObjectRetention), and deleting a set whose lock passed removes each
  // version of its objects (the bucket is versioned): s3:ListBucketVersions and s3:DeleteObjectVersion.
  const locked = storage.s3.objectLock !== undefined;
  const list = ['s3:ListBucket', ...(locked ? ['s3:ListBucketVersions'] : [])];
  const remove = ['s3:DeleteObject', ...(locked ? ['s3:DeleteObjectVersion'] : [])];
  // Workload identity: every cluster that uses the storage assumes its one role, which gets every writer's folder.
  const role = storage.credentials.workloadIdentity?.aws?.roleArn;
  const writerStatements = (clusters: readonly string[]): Statement[] => [
    { Sid: 'ListOwnPrefix', Effect: 'Allow', Action: list, Resource: [bucket], Condition: listable(clusters) },
    {
      Sid: 'ReadWriteOwnPrefix', Effect: 'Allow',
      Action: [...WRITE, ...(locked ? ['s3:PutObjectRetention'] : []), ...(prune === 'writer' ? remove : [])].sort(),
      Resource: clusters.map((cluster) => `${bucket}/${folder(cluster)}/*`),
    },
  ];
  const policy = (statements: Statement[]): Policy => ({ Version: '2012-10-17', Statement: statements });
  const roleName = role?.slice(role.lastIndexOf('/') + 1);
  const userPolicies: Record<string, Policy> = roleName
    ? (writers.length ? { [roleName]: policy(writerStatements(writers)) } : {})
    : Object.fromEntries(writers.map((cluster) => [writerName(cluster), policy(writerStatements([cluster]))]));
  // One prune identity per cluster, like the writers: a cluster's prune credentials reach its own folder only.
  const pruneStatements = (cluster: string): Statement[] => [
    { Sid: 'ListOwnPrefix', Effect: 'Allow', Action: list, Resource: [bucket], Condition: listable([cluster]) },
    { Sid: 'PruneOwnPrefix', Effect: 'Allow', Action: [...remove, 's3:GetObject'], Resource: [`${bucket}/${folder(cluster)}/*`] },
  ];
  if (prune === 'separate') for (const cluster of writers) userPolicies[pruneName(cluster)] = policy(pruneStatements(cluster));

  const bucketPolicy = (principal: (user: string) => string): Policy => {
    const statements: Statement[] = Object.entries(userPolicies).flatMap(([user, document]) =>
      document.Statement.map((statement) => ({ ...statement, Sid: `${statement.Sid}${pascal(user.replace(/^controlplane-backup-/, ''))}`, Principal: { AWS: [principal(user)] } })));
    if (prune === 'separate' && writers.length > 0) {
      statements.push({
        Sid: 'WritersNeverDelete', Effect: 'Deny', Principal: { AWS: roleName ? [principal(roleName)] : writers.map((cluster) => principal(writerName(cluster))) },
        Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'], Resource: [`${bucket}/*`],
      });
    }
    return policy(statements.map(({ Sid, Effect, Principal, Action, Resource, Condition }) => ({ Sid, Effect, Principal, Action, Resource, ...(Condition ? { Condition } : {}) })));
  };
  const notes = [
    role
      ? `Storage "${storage.name}" uses workload identity: attach the policy to the role ${role}, which every cluster using it assumes (${writers.join(', ') || 'none'}); give clusters storages with roles of their own to keep each out of the others' folders.`
      : `Each cluster's Secret (credentials of storage "${storage.name}") holds the keys of its own user (${writers.map(writerName).join(', ') || 'no cluster uses this storage'}): the Secret has the same name in every cluster or namespace, its keys differ.`,
    ...(locked ? [`Object Lock (${storage.s3.objectLock!.mode}, ${storage.s3.objectLock!.days} days): the bucket must be created with Object Lock enabled; uploads need s3:PutObjectRetention, and deleting a set whose lock passed removes every version (s3:ListBucketVersions, s3:DeleteObjectVersion).`] : []),
    'A restore with allowCrossCluster reads another cluster\'s folder: give that restore the other cluster\'s credentials, or read access to its prefix, for the time of the restore.',
  ];
  if (prune === 'separate' && storage.pruneCredentials) {
    notes.push(`Writers never delete: each cluster's prune CronJob (<cluster>-etcd-prune) applies retention with the Secret of pruneCredentials, which holds the keys of that cluster's prune user (${writers.map(pruneName).join(', ') || 'none'}).`);
  } else if (prune === 'separate') {
    notes.push(`--prune separate: the writers' credentials cannot delete, so the backup Jobs' retention would fail; add \`pruneCredentials\` to storage "${storage.name}" (a Secret with the keys of each cluster's prune user: ${writers.map(pruneName).join(', ') || 'none'}) so that a prune CronJob applies retention instead.`);
  }
  return {
    storage: storage.name,
    bucket: storage.s3.bucket,
    prune,
    aws: { userPolicies, bucketPolicy: bucketPolicy((user) => (role && user === roleName ? role : `arn:aws:iam::${account}:user/${user}`)) },
    minio: {
      policies: userPolicies,
      commands: Object.keys(userPolicies).flatMap((user) => [`mc admin policy create ALIAS ${user} ${user}.json`, `mc admin policy attach ALIAS ${user} --user ${user}`]),
    },
    ceph: { bucketPolicy: bucketPolicy((user) => `arn:aws:iam:::user/${user}`) },
    notes,
  };
}
