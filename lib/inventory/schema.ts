/**
 * The shape of inventory.yaml (apiVersion controlplane-backup.io/v1). Cross-entry rules live in rules.ts,
 * defaults in defaults.ts. Every object is strict: an unknown key is an error that names the nearest valid key.
 */
import { z } from 'zod';
import { cronProblem } from './cron';
import { INVENTORY_DEFAULTS } from './defaults';
import {
  absolutePathProblem, ageRecipientProblem, azureAccountProblem, azureContainerProblem, bucketNameProblem, gcsBucketNameProblem, serviceUrlProblem, dnsLabelProblem, dnsSubdomainProblem,
  durationProblem, endpointProblem, imageProblem, ipProblem, keyPrefixProblem, objectKeyProblem, quantityProblem,
  reservedNameProblem, roleArnProblem, systemDirectoryProblem, timeZoneProblem, volumeSubPathProblem,
} from './formats';
import { listOf, nearest } from '../text';
import { signingPublicKeyProblem } from '../signing-key';

const D = INVENTORY_DEFAULTS;

/**
 * A field of the backup settings (`defaults.backup`, a cluster's `backup`): optional in both, so a cluster inherits
 * what it does not set; resolve.ts applies INVENTORY_DEFAULTS.backup after the merge, and the JSON Schema shows it.
 */
function inherited<T extends z.ZodType>(schema: T, description: string, fallback?: unknown) {
  return schema.optional().meta(fallback === undefined ? { description } : { description, default: fallback });
}

const SECRET_LOOKING_KEY = /secret|password|passwd|token|access_?key|credential|private/i;

/** Message of an unknown key, with the nearest valid key, or the credential rule when it looks like one. */
function unknownKeyMessage(key: string, validKeys: readonly string[]): string {
  const guess = nearest(key, validKeys);
  if (SECRET_LOOKING_KEY.test(key)) {
    // "secretAccessKey" is one typo away from "secretAccessKeyKey": never let a suggestion turn a plaintext key into a valid field.
    const alternative = guess ? `; if you meant the name of a key in a Secret, that is "${guess}"` : '';
    return `unknown key "${key}"; credentials are never written into the inventory: reference them through a storage's \`credentials\` (existingSecret, externalSecret or sealedSecret)${alternative}`;
  }
  if (guess) return `unknown key "${key}"; did you mean "${guess}"?`;
  return `unknown key "${key}"; valid keys here are ${listOf(validKeys.map((k) => `"${k}"`))}`;
}

/**
 * zod reports all unknown keys of an object in one issue; we encode one message per key (as a JSON array,
 * in the order of `keys`) so that errors.ts can place each message at its own key.
 */
function strict<T extends z.ZodRawShape>(shape: T, refused: Readonly<Record<string, string>> = {}) {
  const validKeys = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? JSON.stringify(issue.keys.map((key) => (Object.hasOwn(refused, key) ? refused[key] : unknownKeyMessage(key, validKeys)))) : undefined,
  });
}

/** A string checked by a function that returns a phrase such as `is not a bucket name: ...`, or undefined. */
function text(problem: (value: string) => string | undefined, show: (value: string) => string = JSON.stringify) {
  return z.string().superRefine((value, ctx) => {
    const found = problem(value);
    if (found) ctx.addIssue({ code: 'custom', message: `${show(value)} ${found}` });
  });
}

const goDuration = z.string().regex(/^([0-9]+(ns|us|ms|s|m|h))+$/, 'must be a Go duration such as "10m" or "1h"');

/** Messages end up in CI logs: a value that may hold a secret is never repeated in full. */
const withoutUserinfo = (value: string) => JSON.stringify(value.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/@]*@/, '$1***@'));
/** A URL whose userinfo and query (a SAS token) are not repeated. */
const withoutUserinfoOrQuery = (value: string) => withoutUserinfo(value.replace(/\?.*$/, '?***'));
const ciphertext = text(
  (value) => (/^Ag[A-Za-z0-9+/=]{100,}$/.test(value) ? undefined : 'must be kubeseal ciphertext (it starts with "Ag"); never a plaintext key'),
  () => 'the value (not repeated here)',
).meta({ pattern: '^Ag[A-Za-z0-9+/=]{100,}$' });

const count = (max: number) => z.number().int().min(0).max(max);

const dnsLabel = text((v) => dnsLabelProblem(v));
const resourceName = text(dnsSubdomainProblem);
const cronSchedule = text((v) => {
  const problem = cronProblem(v);
  return problem && `is not a valid schedule: ${problem}`;
});
const timeZone = text(timeZoneProblem);
const duration = text(durationProblem);
const quantity = text(quantityProblem);
const image = text(imageProblem);
/** The key of a ConfigMap or Secret. */
const objectKey = text(objectKeyProblem).meta({ pattern: '^[-._a-zA-Z0-9]{1,253}$' });

/** `"constructor" is reserved (...)`: for keys anywhere, such as `__proto__`, which the YAML walk finds. */
export const RESERVED_KEY_MESSAGE = (key: string) => `${JSON.stringify(key)} ${reservedNameProblem('__proto__')}`;

/** Storage and cluster names: DNS labels that are not built-in property names of JavaScript objects. */
const entryName = text((v) => reservedNameProblem(v) ?? dnsLabelProblem(v));
/** A host folder that the Jobs write into: an absolute path that is no system directory. */
function writtenHostPath(consequence: string, suggestion: string) {
  return z.string().superRefine((value, ctx) => {
    const problem = absolutePathProblem(value);
    const system = problem ? undefined : systemDirectoryProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} ${problem}` });
    else if (system) ctx.addIssue({ code: 'custom', message: `${system}: ${consequence}; ${suggestion}` });
  });
}
const etcDirectory = (what: string, example: string) => text((value) => absolutePathProblem(value)
  ?? (value.startsWith('/etc/kubernetes/') ? undefined : `is outside /etc/kubernetes/; give ${what}, kept under /etc/kubernetes/ (e.g. "${example}")`));

const secretKeyRef = strict({
  name: resourceName.describe('Name of the Secret.'),
  key: objectKey.describe('Key in the Secret.'),
});

/** A retention is a whole policy: a rule it leaves out keeps nothing (no per-field defaults). */
const retentionSchema = strict({
  keepLast: count(10000).optional().describe('Keep the newest N backup sets.'),
  maxAge: duration.optional().describe('Never delete a set younger than this (e.g. "90d", "12w", "36h").'),
  hourly: count(10000).optional().describe('Keep the newest set of each of the last N hours.'),
  daily: count(10000).optional().describe('Keep the newest set of each of the last N days.'),
  weekly: count(10000).optional().describe('Keep the newest set of each of the last N weeks.'),
  monthly: count(10000).optional().describe('Keep the newest set of each of the last N months.'),
});

// ---- storages -------------------------------------------------------------------------------------------------

const sse = strict({
  type: z.enum(['AES256', 'aws:kms']).describe('Server-side encryption the bucket applies to each object.'),
  kmsKeyId: z.string().min(1).optional().describe('KMS key of aws:kms (default: the bucket\'s).'),
});

/** A ConfigMap in the backup namespace with the PEM bundle of a private CA. */
const caBundle = () => strict({
  configMap: resourceName.describe('ConfigMap that holds the bundle.'),
  key: objectKey.default(D.storage.caBundleKey).describe('Key of the bundle in the ConfigMap.'),
});

const s3Location = strict({
  endpoint: text(endpointProblem, withoutUserinfo).describe('S3 endpoint URL (https://host[:port]), without credentials.'),
  region: z.string().regex(/^[a-z0-9-]+$/, 'must be a region name such as "eu-central-1" or "us-east-1"').default(D.storage.region).describe('Region of the bucket.'),
  bucket: text(bucketNameProblem).describe('Bucket that exists; the tool never creates it.'),
  prefix: text(keyPrefixProblem).default(D.storage.prefix).describe('Key prefix of this storage\'s backups; each cluster writes below `<prefix>/<cluster>/`.'),
  pathStyle: z.boolean().default(D.storage.pathStyle).describe('Path-style requests (MinIO, Ceph RGW) instead of virtual-hosted buckets.'),
  caBundle: caBundle().optional().describe('PEM bundle of the CA that signed the endpoint\'s certificate.'),
  sse: sse.optional().describe('Server-side encryption requested on upload.'),
  insecure: z.boolean().default(D.storage.insecure).describe('Allow an http:// endpoint: the storage credentials then travel in clear (only for a trusted network path, e.g. a test MinIO).'),
  objectLock: strict({
    mode: z.enum(['GOVERNANCE', 'COMPLIANCE']).describe('GOVERNANCE: users with s3:BypassGovernanceRetention may still delete; COMPLIANCE: nobody can, not even the root account.'),
    days: z.number().int('must be a whole number of days').min(1, 'must be at least 1 (a day)').describe('Days each object stays locked after its upload; retention deletes a set only after that.'),
  }).optional().describe('S3 Object Lock (the bucket must be created with Object Lock enabled): every object is written locked; retention waits for the lock to end.'),
});

const gcsLocation = strict({
  bucket: text(gcsBucketNameProblem).describe('GCS bucket that exists; the tool never creates it.'),
  prefix: text(keyPrefixProblem).default(D.storage.prefix).describe('Key prefix of this storage\'s backups; each cluster writes below `<prefix>/<cluster>/`.'),
  endpoint: text(endpointProblem, withoutUserinfo).optional().describe('JSON API endpoint (default https://storage.googleapis.com): a Private Service Connect endpoint, or a test server.'),
  insecure: z.boolean().default(D.storage.insecure).describe('Allow an http:// endpoint (a test server on a trusted path): no credentials are sent to it.'),
});

const azureBlobLocation = strict({
  account: text(azureAccountProblem).describe('Storage account name.'),
  container: text(azureContainerProblem).describe('Blob container that exists; the tool never creates it.'),
  prefix: text(keyPrefixProblem).default(D.storage.prefix).describe('Blob name prefix of this storage\'s backups; each cluster writes below `<prefix>/<cluster>/`.'),
  endpoint: text(serviceUrlProblem, withoutUserinfoOrQuery).optional().describe('Blob service URL (default https://<account>.blob.core.windows.net): a sovereign cloud, a private endpoint, or a test server.'),
  insecure: z.boolean().default(D.storage.insecure).describe('Allow an http:// endpoint: the storage credentials then travel in clear (only for a trusted network path, e.g. a test azurite).'),
});

/**
 * Workload identity: the pods get short-lived credentials from the cloud's identity service for their
 * ServiceAccount, and no key exists anywhere. One key per provider (lib/plan/identity.ts says what each needs).
 */
const workloadIdentity = strict({
  aws: strict({
    roleArn: text(roleArnProblem).describe('IAM role the pods assume (its trust policy names the ServiceAccount, or the pod identity association does).'),
    mechanism: z.enum(['irsa', 'projectedToken', 'podIdentity']).describe('irsa: EKS, the pod identity webhook reads the ServiceAccount annotation; projectedToken: any cluster whose service-account issuer the role trusts (the pods mount a token of `audience`); podIdentity: EKS Pod Identity (an association names the ServiceAccount).'),
    audience: z.string().min(1).optional().describe(`Audience of the ServiceAccount token (irsa, projectedToken; default "${D.storage.awsWebIdentityAudience}").`),
  }).optional().describe('AWS IAM role for an s3 storage.'),
  gcp: strict({
    serviceAccount: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9-]+\.iam\.gserviceaccount\.com$/, 'must be a Google service account email such as "etcd-backup@my-project.iam.gserviceaccount.com"')
      .describe('Google service account the backup pods act as (GKE Workload Identity: the ServiceAccount annotation iam.gke.io/gcp-service-account); it needs roles/storage.objectAdmin on the bucket.'),
  }).optional().describe('GKE Workload Identity, for `gcs` storages.'),
  azure: strict({
    clientId: z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a client id (a GUID such as "00000000-0000-0000-0000-000000000000")')
      .describe('Client id of the user-assigned managed identity or app registration (the ServiceAccount annotation azure.workload.identity/client-id); it needs the role "Storage Blob Data Contributor" on the container.'),
    tenantId: z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a tenant id (a GUID)').optional()
      .describe('Tenant of the identity, when it is not the cluster\'s default (the annotation azure.workload.identity/tenant-id).'),
  }).optional().describe('Azure Workload Identity, for `azureBlob` storages.'),
});

/** The Secrets that hold an access key: `credentials` and `pruneCredentials` take them alike. */
const keySecrets = {
  existingSecret: strict({
    name: resourceName.describe('Name of the Secret.'),
    accessKeyIdKey: objectKey.default(D.storage.existingSecret.accessKeyIdKey).describe('Key of the access key id in the Secret.'),
    secretAccessKeyKey: objectKey.default(D.storage.existingSecret.secretAccessKeyKey).describe('Key of the secret access key in the Secret.'),
    key: objectKey.optional().describe(`Key of the key material of a \`gcs\` or \`azureBlob\` storage: the service-account JSON (default "${D.storage.keySecret.gcs}") or the connection string (default "${D.storage.keySecret.azureBlob}").`),
  }).optional().describe('A Secret that already exists in the backup namespace.'),
  externalSecret: strict({
    secretStoreRef: strict({
      name: resourceName.describe('Name of the store.'),
      kind: z.enum(['SecretStore', 'ClusterSecretStore']).default(D.storage.externalSecret.secretStoreKind).describe('Kind of the store.'),
    }).describe('The secret store the ExternalSecret reads.'),
    remoteKey: z.string().min(1).describe('Key of the credentials in the secret store.'),
    accessKeyIdProperty: z.string().min(1).default(D.storage.externalSecret.accessKeyIdProperty).describe('Property of the remote key that holds the access key id.'),
    secretAccessKeyProperty: z.string().min(1).default(D.storage.externalSecret.secretAccessKeyProperty).describe('Property of the remote key that holds the secret access key.'),
    property: z.string().min(1).optional().describe('`gcs` and `azureBlob`: property of the remote key that holds the service-account JSON or the connection string (default: the whole remote value).'),
    refreshInterval: goDuration.default(D.storage.externalSecret.refreshInterval).describe('How often the ExternalSecret is refreshed (a Go duration).'),
  }).optional().describe('An ExternalSecret (external-secrets.io/v1) that materialises the Secret from a secret store.'),
  sealedSecret: strict({
    accessKeyId: ciphertext.optional().describe('`s3`: access key id, encrypted with `kubeseal --raw`.'),
    secretAccessKey: ciphertext.optional().describe('`s3`: secret access key, encrypted with `kubeseal --raw`.'),
    serviceAccountKey: ciphertext.optional().describe('`gcs`: the service-account JSON key, encrypted with `kubeseal --raw`.'),
    connectionString: ciphertext.optional().describe('`azureBlob`: the connection string, encrypted with `kubeseal --raw`.'),
    scope: z.enum(['strict', 'namespace-wide', 'cluster-wide']).default(D.storage.sealedSecret.scope).describe('Sealing scope the ciphertext was made with.'),
  }).optional().describe('A SealedSecret: ciphertext from `kubeseal --raw`, safe to commit.'),
};

const credentials = strict({
  ...keySecrets,
  workloadIdentity: workloadIdentity.optional().describe('No key at all: the pods assume a cloud identity (exactly one provider key, the one of the storage kind: `aws` for s3, `gcp` for gcs, `azure` for azureBlob).'),
});

/**
 * The prune CronJob (`<cluster>-etcd-prune`) runs as a ServiceAccount of its own, which assumes no role: keys only,
 * and S3's (prune credentials go with s3 storages only).
 */
const pruneCredentials = strict({
  existingSecret: keySecrets.existingSecret,
  externalSecret: keySecrets.externalSecret,
  sealedSecret: strict({
    accessKeyId: ciphertext.describe('Access key id, encrypted with `kubeseal --raw`.'),
    secretAccessKey: ciphertext.describe('Secret access key, encrypted with `kubeseal --raw`.'),
    scope: z.enum(['strict', 'namespace-wide', 'cluster-wide']).default(D.storage.sealedSecret.scope).describe('Sealing scope the ciphertext was made with.'),
  }).optional().describe('A SealedSecret: ciphertext from `kubeseal --raw`, safe to commit.'),
}, {
  workloadIdentity: '`workloadIdentity` is not allowed here: the prune CronJob (`<cluster>-etcd-prune`) runs as a ServiceAccount of its own that assumes no role; use existingSecret, externalSecret or sealedSecret with keys that may delete',
});

export const storageSchema = strict({
  s3: s3Location.optional().describe('An S3 bucket that exists, with credentials from `credentials`.'),
  gcs: gcsLocation.optional().describe('A Google Cloud Storage bucket that exists, with credentials from `credentials`.'),
  azureBlob: azureBlobLocation.optional().describe('An Azure Blob Storage container that exists, with credentials from `credentials`.'),
  credentials: credentials.optional().describe('Where the credentials of an s3, gcs or azureBlob storage come from (exactly one of existingSecret, externalSecret, sealedSecret, workloadIdentity); never the keys themselves.'),
  pruneCredentials: pruneCredentials.optional().describe('Credentials that may delete in this storage, for the prune CronJob (`<cluster>-etcd-prune`) alone: the backup Jobs then never delete here, so their own credentials need no delete right (`controlplane-backup policy --prune separate`). Same Secret choices as `credentials`, no `workloadIdentity`.'),
  objectBucketClaim: strict({
    storageClassName: resourceName.describe('Storage class of the bucket provisioner.'),
    bucketName: text(bucketNameProblem).optional().describe('Name of an existing bucket to claim.'),
    generateBucketName: dnsLabel.optional().describe('Prefix of a generated bucket name.'),
    prefix: text(keyPrefixProblem).default(D.storage.prefix).describe('Key prefix of this storage\'s backups; each cluster writes below `<prefix>/<cluster>/`.'),
    scheme: z.enum(['http', 'https']).default(D.storage.objectBucketClaimScheme).describe('Endpoint scheme: the provisioner\'s ConfigMap gives host and port only.'),
    port: z.number().int().min(1).max(65535).optional().describe('Port of the provisioner\'s endpoint (BUCKET_PORT of the claim\'s ConfigMap, known from the storage class): hosted clusters\' NetworkPolicy allows egress to it only. Required when a hosted cluster uses the storage.'),
    region: z.string().regex(/^[a-z0-9-]+$/, 'must be a region name such as "eu-central-1" or "us-east-1"').default(D.storage.region).describe('Region the S3 client signs for.'),
    caBundle: caBundle().optional().describe('PEM bundle of the CA that signed the provisioner endpoint\'s certificate.'),
    insecure: z.boolean().default(D.storage.insecure).describe('Allow scheme http: the bucket credentials then travel in clear (only for a trusted network path).'),
  }).optional().describe('A bucket provisioned by an ObjectBucketClaim; its Secret and ConfigMap (same name) feed the Job.'),
  local: strict({ path: writtenHostPath('the backups written there could overwrite the node\'s files', 'use a folder of their own, such as "/var/lib/controlplane-backup"').describe('Folder on each control-plane node; each cluster writes below `<path>/<cluster>/`.') }).optional().describe('A directory on each control-plane node (kubeadm only): a fast local copy beside the remote ones.'),
  retention: retentionSchema.optional().describe('Retention for this destination, instead of the cluster\'s (e.g. a short one for a node-local copy).'),
});

// ---- backup settings ------------------------------------------------------------------------------------------


const resourceList = (what: string) => strict({
  cpu: quantity.optional().describe(`CPU ${what} (e.g. "100m").`),
  memory: quantity.optional().describe(`Memory ${what} (e.g. "128Mi").`),
  'ephemeral-storage': quantity.optional().describe(`Ephemeral storage ${what} (e.g. "1Gi").`),
});
const resources = strict({
  requests: resourceList('request').optional().describe('What the scheduler reserves for each container.'),
  limits: resourceList('limit').optional().describe('What each container may use at most.'),
});

const toleration = strict({
  key: z.string().optional().describe('Taint key; empty with operator Exists tolerates every taint.'),
  operator: z.enum(['Exists', 'Equal']).optional().describe('Exists, or Equal to `value`.'),
  value: z.string().optional().describe('Taint value, for operator Equal.'),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional().describe('Taint effect to tolerate; empty for all.'),
  tolerationSeconds: z.number().int().optional().describe('How long a NoExecute taint is tolerated.'),
});

/** Every field optional: the same shape serves `defaults.backup` and a cluster's `backup`. */
const B = D.backup;
export const backupSettingsSchema = strict({
  schedule: inherited(cronSchedule, 'Cron schedule of the backups (five fields).', B.schedule),
  timeZone: inherited(timeZone, 'IANA time zone of the schedules.', B.timeZone),
  suspend: inherited(z.boolean(), 'Suspend the scheduled backups and drills.', B.suspend),
  retention: inherited(retentionSchema, 'Which backup sets prune keeps; a set is kept when any rule keeps it. A retention replaces the inherited one as a whole.', B.retention),
  compression: inherited(z.enum(['zstd', 'gzip', 'none']), 'Compression of the snapshot before upload.', B.compression),
  encryption: inherited(strict({
    recipients: inherited(z.array(text(ageRecipientProblem, (v) => (v.startsWith('AGE-SECRET-KEY-') ? '"AGE-SECRET-KEY-..." (not repeated here)' : JSON.stringify(v)))), 'age recipients (public keys) the backups are encrypted to; the identities never enter the cluster.', B.encryption.recipients),
    snapshot: inherited(z.boolean(), 'Encrypt the snapshot too when recipients are set (an etcd snapshot holds every Secret of the cluster).', B.encryption.snapshot),
  }), 'age encryption of the backups (the PKI bundle is always encrypted).'),
  storages: inherited(z.array(dnsLabel).min(1, 'lists no storage; name at least one of `storages`'), 'Storages (keys of `storages`) each backup is written to.'),
  pki: inherited(z.boolean(), 'Back up the PKI bundle (certificates and keys, encrypted) with each snapshot.', B.pki),
  encryptionConfig: inherited(strict({
    hostPath: etcDirectory('the file that kube-apiserver\'s --encryption-provider-config names', '/etc/kubernetes/enc/encryption-config.yaml').optional().describe('kubeadm: the file on the control-plane nodes.'),
    secret: secretKeyRef.optional().describe('hosted: the Secret key that holds it.'),
  }), 'kube-apiserver encryption-at-rest config, included in the PKI bundle (kubeadm: host file; hosted: Secret).'),
  images: inherited(strict({
    etcd: inherited(image, 'etcd image of the snapshot init container (etcdctl).', B.images.etcd),
    tools: image.optional().describe('The tools image (`npm run image`, pushed to your registry): no default, every cluster needs one.'),
    pullPolicy: inherited(z.enum(['Always', 'IfNotPresent', 'Never']), 'Image pull policy of every container.', B.images.pullPolicy),
  }), 'Images of the pods.'),
  resources: inherited(resources, 'Resources of each backup container; replaces the inherited ones as a whole.', B.resources),
  minSnapshotSize: inherited(quantity, 'A snapshot smaller than this is treated as broken.', B.minSnapshotSize),
  snapshotTimeoutSeconds: inherited(z.number().int().min(10).max(86400), 'Bound of `etcdctl snapshot save` (it hangs forever without one); size it for the database.', B.snapshotTimeoutSeconds),
  activeDeadlineSeconds: inherited(z.number().int().min(60).max(86400), 'Hard bound of one Job run, snapshot and uploads included.', B.activeDeadlineSeconds),
  startingDeadlineSeconds: inherited(z.number().int().min(60).max(86400), 'How late a missed run may still start (tolerates minutes of controller downtime).', B.startingDeadlineSeconds),
  backoffLimit: inherited(z.number().int().min(0).max(10), 'Retries of a failed backup Job.', B.backoffLimit),
  successfulJobsHistoryLimit: inherited(z.number().int().min(0).max(100), 'Finished Jobs the CronJobs keep.', B.successfulJobsHistoryLimit),
  failedJobsHistoryLimit: inherited(z.number().int().min(0).max(100), 'Failed Jobs the CronJobs keep.', B.failedJobsHistoryLimit),
  scratchSize: inherited(quantity, 'Size limit of the scratch emptyDir that holds the snapshot and its compressed copy.', B.scratchSize),
  priorityClassName: inherited(resourceName, 'PriorityClass of the pods (default: none).'),
  tolerations: inherited(z.array(toleration), 'Tolerations of the backup pods, besides the control-plane taints (kubeadm).'),
  drill: inherited(strict({
    enabled: inherited(z.boolean(), 'Run the restore drill.', B.drill.enabled),
    schedule: inherited(cronSchedule, 'Cron schedule of the drill (in the backup\'s time zone).', B.drill.schedule),
    identitySecret: resourceName.optional().describe('Secret (key `identity.txt`) with an age identity that opens encrypted backups; without it the drill verifies only.'),
  }), 'Restore drill: restores the newest complete backup into a throwaway etcd inside a pod, on its own schedule.'),
  alerts: inherited(strict({
    enabled: inherited(z.boolean(), 'Write the PrometheusRule.', B.alerts.enabled),
    rpoMargin: inherited(z.number().min(1).max(10), 'Alert when the newest successful backup is older than the schedule\'s worst-case RPO times this.', B.alerts.rpoMargin),
    runbookBaseUrl: inherited(z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL'), 'Where each alert\'s runbook_url points (anchors of the README\'s "Alerts" section are appended).', B.alerts.runbookBaseUrl),
  }), 'PrometheusRule with RPO-tied alerts, from kube-state-metrics series.'),
}, {
  signing: 'a signing key belongs to one cluster (its private key lives only in that cluster): set `backup.signing` under each cluster, with its own key from `controlplane-backup keygen`',
});

/** A cluster's backup settings: the shared ones, and its signing key, which belongs to this cluster alone. */
export const clusterBackupSettingsSchema = strict({
  ...backupSettingsSchema.shape,
  signing: strict({
    publicKey: text(signingPublicKeyProblem, (v) => (/PRIVATE KEY|^MC4CAQAw/.test(v) ? 'the value (a private key, not repeated here)' : JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}...` : v)))
      .describe('The Ed25519 public key (the base64 line "MCowBQYDK2VwAyEA..." that `controlplane-backup keygen` prints): restores, drills, `snapshots` and `check` trust only sets signed with its private key.'),
    secretName: resourceName.optional().describe('Secret in the backup\'s namespace (key `signing-key.pem`, created once with `controlplane-backup keygen`) that holds the private key; default `<cluster>-backup-signing`.'),
  }).optional().describe('Signing of every backup set by a key that lives only in the backup\'s cluster (per cluster: not in `defaults.backup`). Without it sets are unsigned and anyone with the storage credential can plant one.'),
});

// ---- clusters -------------------------------------------------------------------------------------------------

/** A kubeadm folder that a restore replaces: its usual place is fine (/var/lib/etcd), a whole system directory is not. */
const restoredHostPath = (what: string, example: string) => z.string().superRefine((value, ctx) => {
  const problem = absolutePathProblem(value);
  const path = value.replace(/\/+$/, '') || '/';
  const system = problem || path === example ? undefined : systemDirectoryProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} ${problem}` });
  else if (system && !system.includes(' is inside ')) ctx.addIssue({ code: 'custom', message: `${system}: a restore replaces this folder; give ${what} (e.g. "${example}")` });
});

const kubeadmMember = strict({
  name: resourceName.describe('Node name of the member (its etcd member name too).'),
  ip: text(ipProblem).describe('IP address etcd listens on for peers and clients.'),
});

const kubeadmTopology = strict({
  members: z.array(kubeadmMember).min(1, 'lists no member; list every control-plane node (1, 3 or 5)').describe('Every control-plane node that runs an etcd member.'),
  pkiDir: restoredHostPath('kubeadm\'s certificate folder', D.kubeadm.pkiDir).default(D.kubeadm.pkiDir).describe('kubeadm\'s certificate folder (etcd\'s client certificates, the PKI bundle).'),
  dataDir: restoredHostPath('etcd\'s --data-dir', D.kubeadm.dataDir).default(D.kubeadm.dataDir).describe('etcd\'s --data-dir on the nodes.'),
  manifestsDir: restoredHostPath('the kubelet\'s static pod folder', D.kubeadm.manifestsDir).default(D.kubeadm.manifestsDir).describe('The kubelet\'s static pod folder (a restore moves etcd.yaml out and back).'),
  clientPort: z.number().int().min(1).max(65535).default(D.kubeadm.clientPort).describe('etcd client port.'),
  peerPort: z.number().int().min(1).max(65535).default(D.kubeadm.peerPort).describe('etcd peer port.'),
  nodeSelector: z.record(z.string(), z.string()).default(D.kubeadm.nodeSelector).describe('Node label that selects control-plane nodes.'),
  namespace: dnsLabel.default(D.namespace).describe('Namespace (on this cluster) of the backup objects.'),
});

/** The owners a hosted restore can pause (the agent's table, lib/agent/restore/plans.ts OWNER_KINDS, has the same keys). */
export const HOSTED_OWNER_KINDS = ['HelmRelease', 'Kustomization', 'Application', 'TenantControlPlane'] as const;

const hostedTopology = strict({
  namespace: dnsLabel.describe('Namespace of the tenant control plane in the management cluster.'),
  statefulSet: dnsLabel.describe('StatefulSet of the tenant\'s etcd.'),
  replicas: z.number().int().min(1).max(7).describe('Replicas of that StatefulSet (etcd members).'),
  headlessService: dnsLabel.optional().describe('Headless Service of the StatefulSet (peer names); defaults to the StatefulSet\'s name.'),
  clientEndpoint: z.string().regex(/^https:\/\/[a-z0-9.-]+(:[0-9]+)?$/, 'must be one https endpoint such as "https://tenant-a-etcd.tenant-a.svc:2379"').describe('etcd client endpoint the backup pod connects to.'),
  clientCertSecret: strict({
    name: resourceName.describe('Name of the Secret.'),
    caKey: objectKey.default(D.hosted.clientCertSecret.caKey).describe('Key of the CA certificate.'),
    certKey: objectKey.default(D.hosted.clientCertSecret.certKey).describe('Key of the client certificate.'),
    keyKey: objectKey.default(D.hosted.clientCertSecret.keyKey).describe('Key of the client key.'),
  }).describe('Secret with the etcd client certificate.'),
  pkiSecrets: z.array(resourceName).default(D.hosted.pkiSecrets).describe('Secrets whose files form the PKI bundle (CA, service-account keys, front-proxy CA, ...).'),
  controlPlaneDeployments: z.array(dnsLabel).default(D.hosted.controlPlaneDeployments).describe('Deployments of the tenant\'s control plane (kube-apiserver, ...), scaled to 0 while etcd is restored.'),
  dataVolumeClaimTemplate: dnsLabel.default(D.hosted.dataVolumeClaimTemplate).describe('volumeClaimTemplate of the StatefulSet that holds etcd\'s data: PVCs are `<template>-<statefulSet>-<ordinal>`.'),
  dataDirInVolume: text(volumeSubPathProblem).meta({ pattern: '^(?!(.*/)?\\.\\.?(/|$))([A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*)?$' }).default(D.hosted.dataDirInVolume).describe('etcd\'s --data-dir relative to the volume\'s root (Kube-DC: "default.etcd"); empty for the root itself.'),
  peerPort: z.number().int().min(1).max(65535).default(D.hosted.peerPort).describe('etcd peer port.'),
  owners: z.array(strict({
    kind: z.enum(HOSTED_OWNER_KINDS).describe('Flux HelmRelease or Kustomization, Argo CD Application, or Kamaji TenantControlPlane.'),
    name: resourceName.describe('Name of that object.'),
    namespace: dnsLabel.optional().describe('Its namespace; default: gitops.argocd.namespace (Application), gitops.flux.namespace (HelmRelease, Kustomization), this cluster\'s namespace (TenantControlPlane).'),
  })).default(D.hosted.owners).describe('Controllers that would scale the StatefulSet or the Deployments back during a restore: the restore pauses them (Flux suspend, Argo CD automated sync off, Kamaji paused annotation) and resumes them on every exit. Any other owner found stops the restore before anything is touched.'),
});

const onDemandBackup = strict({
  name: dnsLabel.describe('The Job is named after the request, so a re-sync never runs it twice.'),
  storages: z.array(dnsLabel).min(1).optional().describe('Storages of this backup; default: the cluster\'s.'),
});

/** A restore of this cluster from one backup; applied on purpose, never by an automated sync. */
const restoreRequest = strict({
  id: dnsLabel.describe('Names the restore\'s folder (`restore-<id>`), Jobs and the marker that makes a re-run a no-op.'),
  snapshot: z.string().min(1).describe('Object key of the snapshot (as in the bucket, e.g. `etcd/prod-eu-1/prod-eu-1-20261121T020000Z.db.zst.age`), or `latest`.'),
  confirm: z.string().min(1).describe('Must equal the snapshot\'s name (`prod-eu-1-20261121T020000Z`), or the cluster\'s name for `latest`.'),
  storage: dnsLabel.optional().describe('Storage to restore from; defaults to the cluster\'s first storage.'),
  pki: z.boolean().default(D.restore.pki).describe('Restore the PKI bundle of the same backup too (kubeadm).'),
  bumpRevision: z.boolean().default(D.restore.bumpRevision).describe('Move revisions forward and compact (etcdutl --bump-revision/--mark-compacted, in etcd 3.5.x and 3.6), so that watch caches never see them go backwards; without them the result says revisionBumped: false and the RUNBOOK lists what to restart.'),
  allowCrossCluster: z.boolean().default(D.restore.allowCrossCluster).describe('A snapshot from another cluster\'s prefix is refused unless this is set.'),
  allowUnsigned: z.boolean().default(D.restore.allowUnsigned).describe('Restore a named set that is not signed with the cluster\'s signing key (taken before `backup.signing` was set, or planted); `latest` is always a signed set.'),
  members: z.array(kubeadmMember).min(1, 'lists no member; leave `members` out to restore onto kubeadm.members').optional()
    .describe('kubeadm: the control-plane nodes to restore onto when they are not kubeadm.members (replaced nodes); peer URLs, --initial-cluster, the Jobs and the static pods follow them. Default: kubeadm.members.'),
});

export const clusterSchema = strict({
  kubeadm: kubeadmTopology.optional().describe('A kubeadm cluster: etcd as static pods on the control-plane nodes (one of kubeadm and hosted).'),
  hosted: hostedTopology.optional().describe('A hosted control plane: etcd as a StatefulSet in a management cluster (one of kubeadm and hosted).'),
  backup: clusterBackupSettingsSchema.optional().describe('This cluster\'s backup settings, over `defaults.backup` (objects merge key by key).'),
  onDemandBackups: z.array(onDemandBackup).default(D.cluster.onDemandBackups).describe('One-off backups, each a Job named after its request.'),
  restores: z.array(restoreRequest).default(D.cluster.restores).describe('Restore requests: each writes a folder `restore-<id>` outside the synced kustomization.'),
  gitops: strict({
    argocdCluster: z.string().min(1).optional().describe('Argo CD destination of a kubeadm cluster: a cluster name registered in Argo CD, or its API server URL.'),
    fluxKubeConfigSecret: resourceName.optional().describe('Flux: Secret (key `value`, Cluster API convention) with the kubeconfig of a kubeadm cluster.'),
  }).optional().describe('How the GitOps tool reaches a kubeadm cluster.'),
  labels: z.record(z.string(), z.string()).default(D.cluster.labels).describe('Labels on this cluster\'s GitOps objects (and the ApplicationSet\'s list elements).'),
});

const defaultsSchema = strict({
  backup: backupSettingsSchema.optional().describe('Backup settings of every cluster; a cluster\'s `backup` overrides them key by key.'),
});

export const gitopsSchema = strict({
  repoURL: z.string().regex(/^(https:\/\/|ssh:\/\/|git@)[^\s]+$/, 'must be an https://, ssh:// or git@ repository URL').describe('Git repository that holds the synthesized output.'),
  revision: z.string().min(1).default(D.gitops.revision).describe('Branch, tag or commit the GitOps tool syncs.'),
  path: text(keyPrefixProblem).default(D.gitops.path).describe('Folder of the synthesized output in that repository.'),
  argocd: strict({
    namespace: dnsLabel.default(D.gitops.argocd.namespace).describe('Namespace of Argo CD (where its Applications live).'),
    project: z.string().min(1).default(D.gitops.argocd.project).describe('Argo CD project of the Applications.'),
    mode: z.enum(['applications', 'applicationSet']).default(D.gitops.argocd.mode).describe('One Application per cluster, or one ApplicationSet with a list generator.'),
    automated: z.boolean().default(D.gitops.argocd.automated).describe('Sync automatically.'),
    prune: z.boolean().default(D.gitops.argocd.prune).describe('Delete objects that left the output (automated sync).'),
    selfHeal: z.boolean().default(D.gitops.argocd.selfHeal).describe('Undo changes made in the cluster (automated sync).'),
    managementCluster: z.string().min(1).default(D.gitops.argocd.managementCluster).describe('Argo CD cluster (name, or server URL) of the management cluster, where hosted clusters\' objects go.'),
  }).optional().describe('Write Argo CD Applications (or an ApplicationSet) for the clusters.'),
  flux: strict({
    namespace: dnsLabel.default(D.gitops.flux.namespace).describe('Namespace of Flux (where its Kustomizations live).'),
    sourceRef: strict({
      kind: z.enum(['GitRepository', 'OCIRepository']).default(D.gitops.flux.sourceKind).describe('Kind of the source.'),
      name: resourceName.describe('Name of the source.'),
    }).optional().describe('An existing source to use instead of the GitRepository this tool would write.'),
    secretRef: resourceName.optional().describe('Secret with the Git credentials, for the GitRepository this tool writes.'),
    interval: goDuration.default(D.gitops.flux.interval).describe('How often Flux reconciles (a Go duration).'),
    prune: z.boolean().default(D.gitops.flux.prune).describe('Delete objects that left the output.'),
    wait: z.boolean().default(D.gitops.flux.wait).describe('Wait for the objects to be ready.'),
  }).optional().describe('Write Flux Kustomizations (and a GitRepository) for the clusters.'),
});

export const inventorySchema = strict({
  apiVersion: z.literal('controlplane-backup.io/v1', { error: 'must be "controlplane-backup.io/v1"' }).describe('Version of the inventory format.'),
  kind: z.literal('Inventory', { error: 'must be "Inventory"' }).describe('Always "Inventory".'),
  storages: z.record(entryName, storageSchema).describe('Where backups go, by name (exactly one of s3, gcs, azureBlob, objectBucketClaim, local each).'),
  // An absent section means no overrides: an empty object, not a default value.
  defaults: defaultsSchema.default({}).describe('Settings every cluster inherits.'),
  clusters: z.record(entryName, clusterSchema).describe('The clusters, by name (a DNS label: it names their objects and folders).'),
  gitops: gitopsSchema.optional().describe('Argo CD and Flux objects that sync the output to the clusters.'),
});

export type InventoryInput = z.input<typeof inventorySchema>;
export type ParsedInventory = z.output<typeof inventorySchema>;
export type StorageSpec = z.output<typeof storageSchema>;
export type BackupSettingsInput = z.output<typeof backupSettingsSchema>;
export type ClusterBackupSettingsInput = z.output<typeof clusterBackupSettingsSchema>;
export type ClusterSpec = z.output<typeof clusterSchema>;
export type KubeadmTopology = z.output<typeof kubeadmTopology>;
export type HostedTopology = z.output<typeof hostedTopology>;
export type RetentionInput = z.output<typeof retentionSchema>;
export type GitopsSpec = z.output<typeof gitopsSchema>;
