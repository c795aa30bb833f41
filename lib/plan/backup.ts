/**
 * Pure decisions for one cluster's backup: where the pod runs, how it reaches etcd, what goes into the PKI bundle,
 * and every destination with its retention. Constructs turn this into objects without deciding anything.
 */
import type { Cluster, Inventory, Retention, Storage } from '../inventory/model';
import type { Destination as AgentDestination } from '../agent/plan';
import { INVENTORY_DEFAULTS } from '../inventory/defaults';
import { azureBlobEndpoint } from '../storage/azure-blob';
import { credentialKind, storageIdentity, type CredentialKind, type WorkloadIdentityNeeds } from './identity';
import { schedulePause } from './pause';
import {
  backupConfigMapName, backupCronJobName, backupServiceAccountName, objectBucketClaimName, STORAGE_CREDENTIAL_KEYS, storageCredentialsSecretName, storagePruneCredentialsSecretName,
} from './names';

type S3Credentials = Extract<Storage, { kind: 's3' }>['credentials'];

/** Paths inside the backup and drill pods. */
export const POD_PATHS = {
  scratch: '/var/lib/controlplane-backup/scratch',
  snapshot: '/var/lib/controlplane-backup/scratch/snapshot.db',
  /** The config ConfigMap: age recipients and the agent's plans. */
  config: '/etc/controlplane-backup',
  hostedEtcdClient: '/var/run/controlplane-backup/etcd-client',
  hostedPki: '/var/run/controlplane-backup/pki',
  encryptionConfig: '/var/run/controlplane-backup/encryption-config',
  caBundles: '/var/run/controlplane-backup/ca',
  localDestinations: '/var/lib/controlplane-backup/local',
} as const;

/** The backup signing key inside the backup pod: the Secret `backup.signing.secretName`, mounted read-only. */
export const SIGNING_PATHS = {
  dir: '/var/run/controlplane-backup/signing',
  keyFile: '/var/run/controlplane-backup/signing/signing-key.pem',
} as const;

/** The key of the signing Secret that holds the PKCS#8 PEM private key. */
export const SIGNING_KEY = 'signing-key.pem';
/** A hosted etcd's client certificate Secret, as its keys are mounted in the backup pod (in POD_PATHS.hostedEtcdClient). */
export const HOSTED_ETCD_CLIENT_FILES = { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key' } as const;

/** The tools image's user (images/tools/build.sh): not root, as Pod Security `restricted` asks. */
export const TOOLS_USER = 65532;

/**
 * The user of a pod that reads the node's files: kubeadm keeps etcd's client keys, data dir, manifests and PKI
 * root-owned (mode 0600), so only uid 0 (without any capability) reads them; a hosted cluster's pods are not root.
 */
export function nodeFilesUser(cluster: Cluster): number {
  return cluster.topology.kind === 'kubeadm' ? 0 : TOOLS_USER;
}

/** How a kubeadm node's etcd client reaches its member: the healthcheck client certificate of the node's PKI. */
export function kubeadmEtcdAccess(pkiDir: string, endpoint: string): EtcdAccess {
  return {
    endpoint,
    caFile: `${pkiDir}/etcd/ca.crt`,
    certFile: `${pkiDir}/etcd/healthcheck-client.crt`,
    keyFile: `${pkiDir}/etcd/healthcheck-client.key`,
  };
}

/** Environment value taken from a Secret or ConfigMap key, or a literal. */
export type EnvSource =
  | { readonly value: string }
  | { readonly secret: { readonly name: string; readonly key: string } }
  | { readonly configMap: { readonly name: string; readonly key: string } };

export interface DestinationPlan {
  readonly storage: string;
  readonly kind: Storage['kind'];
  readonly retention: Retention;
  /** CA bundle (ConfigMap key) mounted for this destination, when its endpoint uses a private CA. */
  readonly caBundle?: { readonly configMap: string; readonly key: string; readonly mountPath: string };
  /** kubeadm local copy: host directory. */
  readonly hostPath?: string;
  /** The destination as the agent's plan names it. */
  readonly agent: AgentDestination;
  /** Env the agent needs for it: credentials, and an ObjectBucketClaim's bucket and endpoint. */
  readonly agentEnv: readonly EnvVarPlan[];
  /** The same env with the storage's prune credentials, when the prune CronJob applies its retention. */
  readonly pruneEnv?: readonly EnvVarPlan[];
  /** The destination as the prune plan names it: the prune credentials' env, never a workload identity. */
  readonly pruneAgent?: AgentDestination;
  /** How the pods get this destination's credentials (SUMMARY.md names it). */
  readonly credentialKind: CredentialKind;
  /** What the pods need for its workload identity (lib/plan/identity.ts); undefined with keys or none. */
  readonly identity?: WorkloadIdentityNeeds;
}

export interface EnvVarPlan {
  readonly name: string;
  readonly source: EnvSource;
}

export interface EtcdAccess {
  readonly endpoint: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** What the backup and the drill CronJobs share: where they run, under which names and user, and when. */
export interface CronJobPlan {
  readonly cluster: string;
  readonly namespace: string;
  readonly cronJobName: string;
  readonly serviceAccountName: string;
  /** The config ConfigMap: age recipients and the agent's plans (backup, on-demand, drill). */
  readonly configMapName: string;
  /** uid of the pod's containers: the backup's `nodeFilesUser`, the drill's TOOLS_USER. */
  readonly runAsUser: number;
  readonly schedule: string;
  readonly timeZone: string;
  /** Suspended by the inventory, or while a restore is pending (`schedulePause`): the backup and the drill alike. */
  readonly suspended: boolean;
}

export interface BackupPlan extends CronJobPlan {
  readonly etcd: EtcdAccess;
  /** Paths archived into the PKI bundle (inside the pod); empty when PKI backup is off. */
  readonly pkiPaths: readonly string[];
  readonly encryptionConfigFile?: string;
  readonly destinations: readonly DestinationPlan[];
}

/** Env names allow no "-": a storage's name as part of one. */
const envPart = (storage: string) => storage.replace(/-/g, '_').toUpperCase();

function joinKey(...parts: string[]): string {
  return parts.filter((part) => part !== '').join('/');
}

export function planDestination(cluster: Cluster, storage: Storage, retention: Retention): DestinationPlan {
  const identity = storageIdentity(storage);
  return { ...destinationAccess(cluster, storage, retention), credentialKind: credentialKind(storage), ...(identity ? { identity } : {}) };
}

function destinationAccess(cluster: Cluster, storage: Storage, retention: Retention): Omit<DestinationPlan, 'credentialKind' | 'identity'> {
  switch (storage.kind) {
    case 's3': {
      const { s3, credentials, pruneCredentials } = storage;
      const caBundle = s3.caBundle && { configMap: s3.caBundle.configMap, key: s3.caBundle.key, mountPath: `${POD_PATHS.caBundles}/${storage.name}` };
      // Workload identity: no Secret; the SDK's default chain finds what lib/plan/identity.ts gives the pod.
      const identity = storageIdentity(storage);
      const credentialEnv = identity
        ? { names: null, env: [] }
        : agentCredentialEnv(storage.name, secretKeys(credentials, storageCredentialsSecretName(storage.name)));
      // Prune credentials reach the agent under the same env names: only the prune pod's env reads them (the rules
      // refuse a workload identity there: the prune CronJob's ServiceAccount assumes no role).
      const prune = pruneCredentials && agentCredentialEnv(storage.name, secretKeys(pruneCredentials, storagePruneCredentialsSecretName(storage.name)));
      const agent = {
        name: storage.name, kind: 's3', endpoint: s3.endpoint, region: s3.region, pathStyle: s3.pathStyle, bucket: s3.bucket,
        folder: joinKey(s3.prefix, cluster.name), credentials: credentialEnv.names, caFile: caBundle ? `${caBundle.mountPath}/${caBundle.key}` : null,
        sse: s3.sse ? { type: s3.sse.type, kmsKeyId: s3.sse.kmsKeyId ?? null } : null, retention: { ...retention }, insecure: s3.insecure,
        ...(s3.objectLock ? { objectLock: { mode: s3.objectLock.mode, days: s3.objectLock.days } } : {}),
        ...(prune ? { retentionBy: 'pruneJob' as const } : {}),
      } as const;
      return {
        storage: storage.name,
        kind: 's3',
        retention,
        caBundle,
        agent: { ...agent, ...(identity ? { identity: identity.kind } : {}) },
        agentEnv: credentialEnv.env,
        ...(prune ? { pruneEnv: prune.env, pruneAgent: { ...agent, credentials: prune.names } } : {}),
      };
    }
    case 'objectBucketClaim': {
      const claim = storage.objectBucketClaim;
      const name = objectBucketClaimName(storage.name);
      // The names the claim's values had when rclone read them (S3_<STORAGE>_BUCKET_*): renaming them changes the pods.
      const bucketVar = `S3_${envPart(storage.name)}_BUCKET_NAME`;
      const hostVar = `S3_${envPart(storage.name)}_BUCKET_HOST`;
      const portVar = `S3_${envPart(storage.name)}_BUCKET_PORT`;
      const caBundle = claim.caBundle && { configMap: claim.caBundle.configMap, key: claim.caBundle.key, mountPath: `${POD_PATHS.caBundles}/${storage.name}` };
      const claimEnv = [
        { name: bucketVar, source: { configMap: { name, key: 'BUCKET_NAME' } } },
        { name: hostVar, source: { configMap: { name, key: 'BUCKET_HOST' } } },
        { name: portVar, source: { configMap: { name, key: 'BUCKET_PORT' } } },
      ];
      const credentialEnv = agentCredentialEnv(storage.name, { accessKeyId: { name, key: 'AWS_ACCESS_KEY_ID' }, secretAccessKey: { name, key: 'AWS_SECRET_ACCESS_KEY' } });
      return {
        storage: storage.name,
        kind: 'objectBucketClaim',
        retention,
        caBundle,
        // The bucket name is known only to the provisioner: the agent expands $(VAR) in endpoint and bucket from its
        // env, which the kubelet fills from the claim's ConfigMap (a plan file is not expanded by the kubelet).
        agent: {
          name: storage.name, kind: 's3', endpoint: `${claim.scheme}://$(${hostVar}):$(${portVar})`, region: claim.region, pathStyle: true,
          bucket: `$(${bucketVar})`, folder: joinKey(claim.prefix, cluster.name), credentials: credentialEnv.names,
          caFile: caBundle ? `${caBundle.mountPath}/${caBundle.key}` : null, sse: null, retention: { ...retention }, insecure: claim.insecure,
        },
        agentEnv: [...claimEnv, ...credentialEnv.env],
      };
    }
    case 'gcs': {
      const { gcs, credentials } = storage;
      const keySecret = keySecretOf(storage);
      const envName = keySecret && `${agentEnvPrefix(storage.name)}_GCS_KEY_JSON`;
      const serviceAccount = credentials.workloadIdentity?.gcp?.serviceAccount;
      return {
        storage: storage.name,
        kind: 'gcs',
        retention,
        agent: {
          name: storage.name, kind: 'gcs', bucket: gcs.bucket, folder: joinKey(gcs.prefix, cluster.name), endpoint: gcs.endpoint ?? null,
          keyJsonEnv: envName ?? null,
          ...(gcs.insecure ? { insecure: true } : {}),
          authenticatesAs: keySecret
            ? `the service-account key in Secret ${keySecret.name} (key ${keySecret.key})`
            : `Google service account ${serviceAccount} (GKE Workload Identity)`,
          retention: { ...retention },
        },
        agentEnv: keySecret && envName ? [{ name: envName, source: { secret: keySecret } }] : [],
      };
    }
    case 'azureBlob': {
      const { azureBlob, credentials } = storage;
      const keySecret = keySecretOf(storage);
      const envName = keySecret && `${agentEnvPrefix(storage.name)}_AZURE_CONNECTION_STRING`;
      const identity = credentials.workloadIdentity?.azure;
      const endpoint = azureBlob.endpoint ?? azureBlobEndpoint(azureBlob.account);
      return {
        storage: storage.name,
        kind: 'azureBlob',
        retention,
        agent: {
          name: storage.name, kind: 'azureBlob', account: azureBlob.account, container: azureBlob.container,
          folder: joinKey(azureBlob.prefix, cluster.name), endpoint, connectionStringEnv: envName ?? null,
          clientId: identity?.clientId ?? null, tenantId: identity?.tenantId ?? null,
          ...(azureBlob.insecure ? { insecure: true } : {}),
          authenticatesAs: keySecret
            ? `the connection string in Secret ${keySecret.name} (key ${keySecret.key})`
            : `Azure workload identity ${identity?.clientId}`,
          retention: { ...retention },
        },
        agentEnv: keySecret && envName ? [{ name: envName, source: { secret: keySecret } }] : [],
      };
    }
    case 'local':
      return {
        storage: storage.name,
        kind: 'local',
        retention,
        hostPath: storage.local.path,
        agent: { name: storage.name, kind: 'local', path: `${POD_PATHS.localDestinations}/${storage.name}`, folder: cluster.name, retention: { ...retention } },
        agentEnv: [],
      };
  }
}

/** Prefix of the env vars that carry one storage's credentials into the agent. */
function agentEnvPrefix(storage: string): string {
  return `CPB_${envPart(storage)}`;
}

/**
 * The Secret and key of a gcs or azureBlob storage's key material (the service-account JSON, the connection
 * string); undefined when the storage uses workload identity. A Secret this tool writes (from an ExternalSecret or a
 * SealedSecret) is named after the storage and uses the default key.
 */
export function keySecretOf(storage: Extract<Storage, { kind: 'gcs' | 'azureBlob' }>): { readonly name: string; readonly key: string } | undefined {
  const { credentials } = storage;
  if (credentials.workloadIdentity) return undefined;
  const defaultKey = INVENTORY_DEFAULTS.storage.keySecret[storage.kind];
  if (credentials.existingSecret) return { name: credentials.existingSecret.name, key: credentials.existingSecret.key ?? defaultKey };
  return { name: storageCredentialsSecretName(storage.name), key: defaultKey };
}

type SecretKeyRef = { readonly name: string; readonly key: string };

/** Where a credentials choice puts the two keys: the operator's Secret, or the one our ExternalSecret / SealedSecret writes. */
function secretKeys(credentials: S3Credentials, ourSecretName: string): { accessKeyId: SecretKeyRef; secretAccessKey: SecretKeyRef } {
  const existing = credentials.existingSecret;
  const name = existing?.name ?? ourSecretName;
  return {
    accessKeyId: { name, key: existing?.accessKeyIdKey ?? STORAGE_CREDENTIAL_KEYS.accessKeyId },
    secretAccessKey: { name, key: existing?.secretAccessKeyKey ?? STORAGE_CREDENTIAL_KEYS.secretAccessKey },
  };
}

/** The env vars that carry a storage's credentials into the agent (from a Secret), and their names for the plan. */
function agentCredentialEnv(storage: string, { accessKeyId, secretAccessKey }: { accessKeyId: SecretKeyRef; secretAccessKey: SecretKeyRef }) {
  const prefix = agentEnvPrefix(storage);
  const names = { accessKeyIdEnv: `${prefix}_ACCESS_KEY_ID`, secretAccessKeyEnv: `${prefix}_SECRET_ACCESS_KEY` };
  return {
    names,
    env: [
      { name: names.accessKeyIdEnv, source: { secret: accessKeyId } },
      { name: names.secretAccessKeyEnv, source: { secret: secretAccessKey } },
    ],
  };
}

export function planBackup(inventory: Inventory, cluster: Cluster, storageNames: readonly string[] = cluster.backup.storages): BackupPlan {
  const { topology, backup } = cluster;
  const destinations = storageNames.map((name) => {
    const storage = inventory.storages[name];
    return planDestination(cluster, storage, storage.retention ?? backup.retention);
  });
  const names = {
    cluster: cluster.name,
    namespace: topology.namespace,
    cronJobName: backupCronJobName(cluster.name),
    serviceAccountName: backupServiceAccountName(cluster.name),
    configMapName: backupConfigMapName(cluster.name),
    runAsUser: nodeFilesUser(cluster),
    schedule: backup.schedule,
    timeZone: backup.timeZone,
    suspended: schedulePause(cluster).suspended,
  };
  if (topology.kind === 'kubeadm') {
    const pki = topology.pkiDir;
    return {
      ...names,
      // kubeadm's etcd listens on the node's loopback; one member's snapshot holds the whole keyspace.
      etcd: kubeadmEtcdAccess(pki, `https://127.0.0.1:${topology.clientPort}`),
      pkiPaths: backup.pki ? [pki] : [],
      encryptionConfigFile: backup.encryptionConfig?.hostPath && `${POD_PATHS.encryptionConfig}/${basename(backup.encryptionConfig.hostPath)}`,
      destinations,
    };
  }
  const client = POD_PATHS.hostedEtcdClient;
  return {
    ...names,
    etcd: {
      endpoint: topology.clientEndpoint,
      caFile: `${client}/${HOSTED_ETCD_CLIENT_FILES.ca}`,
      certFile: `${client}/${HOSTED_ETCD_CLIENT_FILES.cert}`,
      keyFile: `${client}/${HOSTED_ETCD_CLIENT_FILES.key}`,
    },
    pkiPaths: backup.pki ? topology.pkiSecrets.map((secret) => `${POD_PATHS.hostedPki}/${secret}`) : [],
    encryptionConfigFile: backup.encryptionConfig?.secret && `${POD_PATHS.encryptionConfig}/${backup.encryptionConfig.secret.key}`,
    destinations,
  };
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
