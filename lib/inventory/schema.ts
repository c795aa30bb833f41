/**
 * The shape of inventory.yaml (apiVersion controlplane-backup.io/v1). Cross-entry rules live in rules.ts,
 * defaults in defaults.ts. Every object is strict: an unknown key is an error that names the nearest valid key.
 */
import { z } from 'zod';
import { cronProblem } from './cron';
import { INVENTORY_DEFAULTS } from './defaults';
import {
  absolutePathProblem, ageRecipientProblem, bucketNameProblem, dnsLabelProblem, dnsSubdomainProblem,
  durationProblem, endpointProblem, imageProblem, ipProblem, keyPrefixProblem, objectKeyProblem, quantityProblem,
  reservedNameProblem, systemDirectoryProblem, timeZoneProblem, volumeSubPathProblem,
} from './formats';
import { listOf, nearest } from '../text';

const SECRET_LOOKING_KEY = /secret|password|passwd|token|access_?key|credential|private/i;

/** Message of an unknown key, with the nearest valid key, or the credential rule when it looks like one. */
export function unknownKeyMessage(key: string, validKeys: readonly string[]): string {
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
function strict<T extends z.ZodRawShape>(shape: T) {
  const validKeys = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? JSON.stringify(issue.keys.map((key) => unknownKeyMessage(key, validKeys))) : undefined,
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
const ciphertext = text(
  (value) => (/^Ag[A-Za-z0-9+/=]{100,}$/.test(value) ? undefined : 'must be kubeseal ciphertext (it starts with "Ag"); never a plaintext key'),
  () => 'the value (not repeated here)',
).meta({ pattern: '^Ag[A-Za-z0-9+/=]{100,}$' });

const count = (max: number) => z.number().int().min(0).max(max);

export const dnsLabel = text((v) => dnsLabelProblem(v));
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
  name: resourceName,
  key: objectKey,
});

const retentionSchema = strict({
  keepLast: count(10000).optional(),
  maxAge: duration.optional(),
  hourly: count(10000).optional(),
  daily: count(10000).optional(),
  weekly: count(10000).optional(),
  monthly: count(10000).optional(),
});

// ---- storages -------------------------------------------------------------------------------------------------

const sse = strict({
  type: z.enum(['AES256', 'aws:kms']),
  kmsKeyId: z.string().min(1).optional(),
});

const s3Location = strict({
  endpoint: text(endpointProblem, withoutUserinfo),
  region: z.string().regex(/^[a-z0-9-]+$/, 'must be a region name such as "eu-central-1" or "us-east-1"').default('us-east-1'),
  bucket: text(bucketNameProblem),
  prefix: text(keyPrefixProblem).default(''),
  pathStyle: z.boolean().default(false),
  caBundle: strict({ configMap: resourceName, key: objectKey.default('ca.crt') }).optional().describe('PEM bundle of the CA that signed the endpoint\'s certificate.'),
  sse: sse.optional(),
  insecure: z.boolean().default(false).describe('Allow an http:// endpoint: the storage credentials then travel in clear (only for a trusted network path, e.g. a test MinIO).'),
});

const credentials = strict({
  /** A Secret that already exists in the backup namespace. */
  existingSecret: strict({
    name: resourceName,
    accessKeyIdKey: objectKey.default('AWS_ACCESS_KEY_ID'),
    secretAccessKeyKey: objectKey.default('AWS_SECRET_ACCESS_KEY'),
  }).optional(),
  /** An ExternalSecret (external-secrets.io/v1) that materialises the Secret from a secret store. */
  externalSecret: strict({
    secretStoreRef: strict({ name: resourceName, kind: z.enum(['SecretStore', 'ClusterSecretStore']).default('ClusterSecretStore') }),
    remoteKey: z.string().min(1),
    accessKeyIdProperty: z.string().min(1).default('access_key_id'),
    secretAccessKeyProperty: z.string().min(1).default('secret_access_key'),
    refreshInterval: goDuration.default('1h'),
  }).optional(),
  /** A SealedSecret: ciphertext from `kubeseal --raw`, safe to commit. */
  sealedSecret: strict({
    accessKeyId: ciphertext,
    secretAccessKey: ciphertext,
    scope: z.enum(['strict', 'namespace-wide', 'cluster-wide']).default('strict'),
  }).optional(),
});

export const storageSchema = strict({
  /** An S3 bucket that exists, with credentials from `credentials`. */
  s3: s3Location.optional(),
  credentials: credentials.optional(),
  /** A bucket provisioned by an ObjectBucketClaim; its Secret and ConfigMap (same name) feed the Job. */
  objectBucketClaim: strict({
    storageClassName: resourceName,
    bucketName: text(bucketNameProblem).optional(),
    generateBucketName: dnsLabel.optional(),
    prefix: text(keyPrefixProblem).default(''),
    scheme: z.enum(['http', 'https']).default('https').describe('Endpoint scheme: the provisioner\'s ConfigMap gives host and port only.'),
    port: z.number().int().min(1).max(65535).optional().describe('Port of the provisioner\'s endpoint (BUCKET_PORT of the claim\'s ConfigMap, known from the storage class): hosted clusters\' NetworkPolicy allows egress to it only. Required when a hosted cluster uses the storage.'),
    region: z.string().regex(/^[a-z0-9-]+$/, 'must be a region name such as "eu-central-1" or "us-east-1"').default('us-east-1'),
    caBundle: strict({ configMap: resourceName, key: objectKey.default('ca.crt') }).optional(),
    insecure: z.boolean().default(false).describe('Allow scheme http: the bucket credentials then travel in clear (only for a trusted network path).'),
  }).optional(),
  local: strict({ path: writtenHostPath('the backups written there could overwrite the node\'s files', 'use a folder of their own, such as "/var/lib/controlplane-backup"') }).optional().describe('A directory on each control-plane node (kubeadm only): a fast local copy beside the remote ones.'),
  retention: retentionSchema.optional().describe('Retention for this destination, instead of the cluster\'s (e.g. a short one for a node-local copy).'),
});

// ---- backup settings ------------------------------------------------------------------------------------------


const resources = strict({
  requests: strict({ cpu: quantity.optional(), memory: quantity.optional(), 'ephemeral-storage': quantity.optional() }).optional(),
  limits: strict({ cpu: quantity.optional(), memory: quantity.optional(), 'ephemeral-storage': quantity.optional() }).optional(),
});

const toleration = strict({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.number().int().optional(),
});

/** Every field optional: the same shape serves `defaults.backup` and a cluster's `backup`. */
export const backupSettingsSchema = strict({
  schedule: cronSchedule.optional(),
  timeZone: timeZone.optional(),
  suspend: z.boolean().optional(),
  retention: retentionSchema.optional(),
  compression: z.enum(['zstd', 'gzip', 'none']).optional(),
  encryption: strict({
    recipients: z.array(text(ageRecipientProblem, (v) => (v.startsWith('AGE-SECRET-KEY-') ? '"AGE-SECRET-KEY-..." (not repeated here)' : JSON.stringify(v)))).optional(),
    snapshot: z.boolean().optional(),
  }).optional(),
  storages: z.array(dnsLabel).min(1, 'lists no storage; name at least one of `storages`').optional(),
  pki: z.boolean().optional(),
  encryptionConfig: strict({ hostPath: etcDirectory('the file that kube-apiserver\'s --encryption-provider-config names', '/etc/kubernetes/enc/encryption-config.yaml').optional(), secret: secretKeyRef.optional() }).optional().describe('kube-apiserver encryption-at-rest config, included in the PKI bundle (kubeadm: host file; hosted: Secret).'),
  images: strict({ etcd: image.optional(), tools: image.optional(), pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional() }).optional(),
  resources: resources.optional(),
  minSnapshotSize: quantity.optional(),
  snapshotTimeoutSeconds: z.number().int().min(10).max(86400).optional(),
  activeDeadlineSeconds: z.number().int().min(60).max(86400).optional(),
  startingDeadlineSeconds: z.number().int().min(60).max(86400).optional(),
  backoffLimit: z.number().int().min(0).max(10).optional(),
  successfulJobsHistoryLimit: z.number().int().min(0).max(100).optional(),
  failedJobsHistoryLimit: z.number().int().min(0).max(100).optional(),
  scratchSize: quantity.optional(),
  priorityClassName: resourceName.optional(),
  tolerations: z.array(toleration).optional(),
  /** Restore drill: restores the newest complete backup into a throwaway etcd inside a pod, on its own schedule. */
  drill: strict({
    enabled: z.boolean().optional(),
    schedule: cronSchedule.optional(),
    identitySecret: resourceName.optional().describe('Secret (key `identity.txt`) with an age identity that opens encrypted backups; without it the drill verifies only.'),
  }).optional(),
  /** PrometheusRule with RPO-tied alerts, from kube-state-metrics series. */
  alerts: strict({
    enabled: z.boolean().optional(),
    rpoMargin: z.number().min(1).max(10).optional().describe('Alert when the newest successful backup is older than the schedule\'s worst-case RPO times this.'),
    runbookBaseUrl: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL').optional().describe('Where each alert\'s runbook_url points (anchors of the README\'s "Alerts" section are appended).'),
  }).optional(),
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

const kubeadmTopology = strict({
  members: z.array(strict({ name: resourceName, ip: text(ipProblem) })).min(1, 'lists no member; list every control-plane node (1, 3 or 5)'),
  pkiDir: restoredHostPath('kubeadm\'s certificate folder', '/etc/kubernetes/pki').default('/etc/kubernetes/pki'),
  dataDir: restoredHostPath('etcd\'s --data-dir', '/var/lib/etcd').default('/var/lib/etcd'),
  manifestsDir: restoredHostPath('the kubelet\'s static pod folder', '/etc/kubernetes/manifests').default('/etc/kubernetes/manifests'),
  clientPort: z.number().int().min(1).max(65535).default(2379),
  peerPort: z.number().int().min(1).max(65535).default(2380),
  nodeSelector: z.record(z.string(), z.string()).default({ 'node-role.kubernetes.io/control-plane': '' }).describe('Node label that selects control-plane nodes.'),
  namespace: dnsLabel.default(INVENTORY_DEFAULTS.namespace).describe('Namespace (on this cluster) of the backup objects.'),
});

const hostedTopology = strict({
  namespace: dnsLabel.describe('Namespace of the tenant control plane in the management cluster.'),
  statefulSet: dnsLabel,
  replicas: z.number().int().min(1).max(7),
  headlessService: dnsLabel.optional().describe('Headless Service of the StatefulSet (peer names); defaults to the StatefulSet\'s name.'),
  clientEndpoint: z.string().regex(/^https:\/\/[a-z0-9.-]+(:[0-9]+)?$/, 'must be one https endpoint such as "https://tenant-a-etcd.tenant-a.svc:2379"'),
  /** Secret with the etcd client certificate (keys ca.crt, tls.crt, tls.key unless set). */
  clientCertSecret: strict({
    name: resourceName,
    caKey: objectKey.default('ca.crt'),
    certKey: objectKey.default('tls.crt'),
    keyKey: objectKey.default('tls.key'),
  }),
  pkiSecrets: z.array(resourceName).default([]).describe('Secrets whose files form the PKI bundle (CA, service-account keys, front-proxy CA, ...).'),
  controlPlaneDeployments: z.array(dnsLabel).default([]).describe('Deployments of the tenant\'s control plane (kube-apiserver, ...), scaled to 0 while etcd is restored.'),
  dataVolumeClaimTemplate: dnsLabel.default('data').describe('volumeClaimTemplate of the StatefulSet that holds etcd\'s data: PVCs are `<template>-<statefulSet>-<ordinal>`.'),
  dataDirInVolume: text(volumeSubPathProblem).meta({ pattern: '^(?!(.*/)?\\.\\.?(/|$))([A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*)?$' }).default('').describe('etcd\'s --data-dir relative to the volume\'s root (Kube-DC: "default.etcd"); empty for the root itself.'),
  peerPort: z.number().int().min(1).max(65535).default(2380),
});

const onDemandBackup = strict({
  name: dnsLabel.describe('The Job is named after the request, so a re-sync never runs it twice.'),
  storages: z.array(dnsLabel).min(1).optional(),
});

/** A restore of this cluster from one backup; applied on purpose, never by an automated sync. */
const restoreRequest = strict({
  id: dnsLabel.describe('Names the restore\'s folder (`restore-<id>`), Jobs and the marker that makes a re-run a no-op.'),
  snapshot: z.string().min(1).describe('Object key of the snapshot (as in the bucket, e.g. `etcd/prod-eu-1/prod-eu-1-20261121T020000Z.db.zst.age`), or `latest`.'),
  confirm: z.string().min(1).describe('Must equal the snapshot\'s name (`prod-eu-1-20261121T020000Z`), or the cluster\'s name for `latest`.'),
  storage: dnsLabel.optional().describe('Storage to restore from; defaults to the cluster\'s first storage.'),
  pki: z.boolean().default(false).describe('Restore the PKI bundle of the same backup too (kubeadm).'),
  bumpRevision: z.boolean().default(true).describe('Use etcdutl\'s --bump-revision/--mark-compacted when the etcd image has them (etcd >= 3.6).'),
  allowCrossCluster: z.boolean().default(false).describe('A snapshot from another cluster\'s prefix is refused unless this is set.'),
});

export const clusterSchema = strict({
  kubeadm: kubeadmTopology.optional(),
  hosted: hostedTopology.optional(),
  backup: backupSettingsSchema.optional(),
  onDemandBackups: z.array(onDemandBackup).default([]),
  restores: z.array(restoreRequest).default([]),
  gitops: strict({
    argocdCluster: z.string().min(1).optional().describe('Argo CD destination of a kubeadm cluster: a cluster name registered in Argo CD, or its API server URL.'),
    fluxKubeConfigSecret: resourceName.optional().describe('Flux: Secret (key `value`, Cluster API convention) with the kubeconfig of a kubeadm cluster.'),
  }).optional(),
  labels: z.record(z.string(), z.string()).default({}),
});

export const defaultsSchema = strict({ backup: backupSettingsSchema.optional() });

export const gitopsSchema = strict({
  repoURL: z.string().regex(/^(https:\/\/|ssh:\/\/|git@)[^\s]+$/, 'must be an https://, ssh:// or git@ repository URL').describe('Git repository that holds the synthesized output.'),
  revision: z.string().min(1).default('main'),
  path: text(keyPrefixProblem).default('dist').describe('Folder of the synthesized output in that repository.'),
  argocd: strict({
    namespace: dnsLabel.default('argocd'),
    project: z.string().min(1).default('default'),
    mode: z.enum(['applications', 'applicationSet']).default('applications').describe('One Application per cluster, or one ApplicationSet with a list generator.'),
    automated: z.boolean().default(true),
    prune: z.boolean().default(true),
    selfHeal: z.boolean().default(true),
    managementCluster: z.string().min(1).default('in-cluster').describe('Argo CD cluster (name, or server URL) of the management cluster, where hosted clusters\' objects go.'),
  }).optional(),
  flux: strict({
    namespace: dnsLabel.default('flux-system'),
    sourceRef: strict({ kind: z.enum(['GitRepository', 'OCIRepository']).default('GitRepository'), name: resourceName }).optional().describe('An existing source to use instead of the GitRepository this tool would write.'),
    secretRef: resourceName.optional().describe('Secret with the Git credentials, for the GitRepository this tool writes.'),
    interval: goDuration.default('10m'),
    prune: z.boolean().default(true),
    wait: z.boolean().default(true),
  }).optional(),
});

export const inventorySchema = strict({
  apiVersion: z.literal('controlplane-backup.io/v1', { error: 'must be "controlplane-backup.io/v1"' }),
  kind: z.literal('Inventory', { error: 'must be "Inventory"' }),
  storages: z.record(entryName, storageSchema),
  defaults: defaultsSchema.default({}),
  clusters: z.record(entryName, clusterSchema),
  gitops: gitopsSchema.optional(),
});

export type InventoryInput = z.input<typeof inventorySchema>;
export type ParsedInventory = z.output<typeof inventorySchema>;
export type StorageSpec = z.output<typeof storageSchema>;
export type BackupSettingsInput = z.output<typeof backupSettingsSchema>;
export type ClusterSpec = z.output<typeof clusterSchema>;
export type KubeadmTopology = z.output<typeof kubeadmTopology>;
export type HostedTopology = z.output<typeof hostedTopology>;
export type RetentionInput = z.output<typeof retentionSchema>;
export type GitopsSpec = z.output<typeof gitopsSchema>;
