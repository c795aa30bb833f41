/**
 * Pure decisions for one cluster's backup: where the pod runs, how it reaches etcd, what goes into the PKI bundle,
 * and every destination with its retention. Constructs turn this into objects without deciding anything.
 */
import type { Cluster, Inventory, Retention, Storage } from '../inventory/model';
import type { Destination as AgentDestination } from '../agent/plan';
import { objectBucketClaimName, storageCredentialsSecretName } from './names';

/** Paths inside the backup and drill pods. */
export const POD_PATHS = {
  scratch: '/var/lib/controlplane-backup/scratch',
  snapshot: '/var/lib/controlplane-backup/scratch/snapshot.db',
  /** The restore scripts' ConfigMap (until the agent's restore commands replace them). */
  scripts: '/opt/controlplane-backup',
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

/** Environment value taken from a Secret or ConfigMap key, or a literal. */
export type EnvSource =
  | { readonly value: string }
  | { readonly secret: { readonly name: string; readonly key: string } }
  | { readonly configMap: { readonly name: string; readonly key: string } };

export interface DestinationPlan {
  readonly storage: string;
  readonly kind: Storage['kind'];
  /** rclone path of this cluster's folder, e.g. `s3_primary:bucket/prefix/prod-eu-1`. */
  readonly remoteDir: string;
  readonly retention: Retention;
  /** Env vars that define the rclone remote (in order: later values may refer to earlier ones as $(NAME)). */
  readonly env: readonly { readonly name: string; readonly source: EnvSource }[];
  /** CA bundle (ConfigMap key) mounted for this destination, when its endpoint uses a private CA. */
  readonly caBundle?: { readonly configMap: string; readonly key: string; readonly mountPath: string };
  /** kubeadm local copy: host directory. */
  readonly hostPath?: string;
  /** The destination as the agent's plan names it. */
  readonly agent: AgentDestination;
  /** Env the agent needs for it: credentials, and an ObjectBucketClaim's bucket and endpoint. */
  readonly agentEnv: readonly { readonly name: string; readonly source: EnvSource }[];
}

export interface EtcdAccess {
  readonly endpoint: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface BackupPlan {
  readonly cluster: string;
  readonly namespace: string;
  readonly etcd: EtcdAccess;
  /** Paths archived into the PKI bundle (inside the pod); empty when PKI backup is off. */
  readonly pkiPaths: readonly string[];
  readonly encryptionConfigFile?: string;
  readonly destinations: readonly DestinationPlan[];
}

/** rclone reads a remote's settings from RCLONE_CONFIG_<REMOTE>_<OPTION>; env names allow no "-". */
export function rcloneRemoteName(storage: string): string {
  return `s3_${storage.replace(/-/g, '_')}`;
}

const envName = (remote: string, option: string) => `RCLONE_CONFIG_${remote.toUpperCase()}_${option}`;

function joinKey(...parts: string[]): string {
  return parts.filter((part) => part !== '').join('/');
}

export function planDestination(cluster: Cluster, storage: Storage, retention: Retention): DestinationPlan {
  const remote = rcloneRemoteName(storage.name);
  const env = (option: string, source: EnvSource) => ({ name: envName(remote, option), source });
  switch (storage.kind) {
    case 's3': {
      const { s3, credentials } = storage;
      const secretName = credentials.existingSecret?.name ?? storageCredentialsSecretName(storage.name);
      const idKey = credentials.existingSecret?.accessKeyIdKey ?? 'AWS_ACCESS_KEY_ID';
      const secretKey = credentials.existingSecret?.secretAccessKeyKey ?? 'AWS_SECRET_ACCESS_KEY';
      const caBundle = s3.caBundle && { configMap: s3.caBundle.configMap, key: s3.caBundle.key, mountPath: `${POD_PATHS.caBundles}/${storage.name}` };
      const credentialEnv = agentCredentialEnv(storage.name, { name: secretName, key: idKey }, { name: secretName, key: secretKey });
      return {
        storage: storage.name,
        kind: 's3',
        remoteDir: `${remote}:${joinKey(s3.bucket, s3.prefix, cluster.name)}`,
        retention,
        caBundle,
        agent: {
          name: storage.name, kind: 's3', endpoint: s3.endpoint, region: s3.region, pathStyle: s3.pathStyle, bucket: s3.bucket,
          folder: joinKey(s3.prefix, cluster.name), credentials: credentialEnv.names, caFile: caBundle ? `${caBundle.mountPath}/${caBundle.key}` : null,
          sse: s3.sse ? { type: s3.sse.type, kmsKeyId: s3.sse.kmsKeyId ?? null } : null, retention: { ...retention },
        },
        agentEnv: credentialEnv.env,
        env: [
          env('TYPE', { value: 's3' }),
          env('PROVIDER', { value: 'Other' }),
          env('ENDPOINT', { value: s3.endpoint }),
          env('REGION', { value: s3.region }),
          env('FORCE_PATH_STYLE', { value: String(s3.pathStyle) }),
          env('ACCESS_KEY_ID', { secret: { name: secretName, key: idKey } }),
          env('SECRET_ACCESS_KEY', { secret: { name: secretName, key: secretKey } }),
          ...(s3.sse ? [env('SERVER_SIDE_ENCRYPTION', { value: s3.sse.type })] : []),
          ...(s3.sse?.kmsKeyId ? [env('SSE_KMS_KEY_ID', { value: s3.sse.kmsKeyId })] : []),
        ],
      };
    }
    case 'objectBucketClaim': {
      const claim = storage.objectBucketClaim;
      const name = objectBucketClaimName(storage.name);
      const bucketVar = `${remote.toUpperCase()}_BUCKET_NAME`;
      const hostVar = `${remote.toUpperCase()}_BUCKET_HOST`;
      const portVar = `${remote.toUpperCase()}_BUCKET_PORT`;
      const caBundle = claim.caBundle && { configMap: claim.caBundle.configMap, key: claim.caBundle.key, mountPath: `${POD_PATHS.caBundles}/${storage.name}` };
      const claimEnv = [
        { name: bucketVar, source: { configMap: { name, key: 'BUCKET_NAME' } } },
        { name: hostVar, source: { configMap: { name, key: 'BUCKET_HOST' } } },
        { name: portVar, source: { configMap: { name, key: 'BUCKET_PORT' } } },
      ];
      const credentialEnv = agentCredentialEnv(storage.name, { name, key: 'AWS_ACCESS_KEY_ID' }, { name, key: 'AWS_SECRET_ACCESS_KEY' });
      return {
        storage: storage.name,
        kind: 'objectBucketClaim',
        // The bucket name is known only to the provisioner: the kubelet expands $(VAR) from the claim's ConfigMap.
        remoteDir: `${remote}:${joinKey(`$(${bucketVar})`, claim.prefix, cluster.name)}`,
        retention,
        caBundle,
        // The agent expands $(VAR) in endpoint and bucket from its env (a plan file is not expanded by the kubelet).
        agent: {
          name: storage.name, kind: 's3', endpoint: `${claim.scheme}://$(${hostVar}):$(${portVar})`, region: claim.region, pathStyle: true,
          bucket: `$(${bucketVar})`, folder: joinKey(claim.prefix, cluster.name), credentials: credentialEnv.names,
          caFile: caBundle ? `${caBundle.mountPath}/${caBundle.key}` : null, sse: null, retention: { ...retention },
        },
        agentEnv: [...claimEnv, ...credentialEnv.env],
        env: [
          ...claimEnv,
          env('TYPE', { value: 's3' }),
          env('PROVIDER', { value: 'Other' }),
          env('ENDPOINT', { value: `${claim.scheme}://$(${hostVar}):$(${portVar})` }),
          env('REGION', { value: claim.region }),
          env('FORCE_PATH_STYLE', { value: 'true' }),
          env('ACCESS_KEY_ID', { secret: { name, key: 'AWS_ACCESS_KEY_ID' } }),
          env('SECRET_ACCESS_KEY', { secret: { name, key: 'AWS_SECRET_ACCESS_KEY' } }),
        ],
      };
    }
    case 'local':
      return {
        storage: storage.name,
        kind: 'local',
        remoteDir: `${POD_PATHS.localDestinations}/${storage.name}/${cluster.name}`,
        retention,
        hostPath: storage.local.path,
        env: [],
        agent: { name: storage.name, kind: 'local', path: `${POD_PATHS.localDestinations}/${storage.name}`, folder: cluster.name, retention: { ...retention } },
        agentEnv: [],
      };
  }
}

/** The env vars that carry a storage's credentials into the agent (from a Secret), and their names for the plan. */
function agentCredentialEnv(storage: string, accessKeyId: { name: string; key: string }, secretAccessKey: { name: string; key: string }) {
  const prefix = `CPB_${storage.replace(/-/g, '_').toUpperCase()}`;
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
  if (topology.kind === 'kubeadm') {
    const pki = topology.pkiDir;
    return {
      cluster: cluster.name,
      namespace: topology.namespace,
      // kubeadm's etcd listens on the node's loopback; one member's snapshot holds the whole keyspace.
      etcd: {
        endpoint: `https://127.0.0.1:${topology.clientPort}`,
        caFile: `${pki}/etcd/ca.crt`,
        certFile: `${pki}/etcd/healthcheck-client.crt`,
        keyFile: `${pki}/etcd/healthcheck-client.key`,
      },
      pkiPaths: backup.pki ? [pki] : [],
      encryptionConfigFile: backup.encryptionConfig?.hostPath && `${POD_PATHS.encryptionConfig}/${basename(backup.encryptionConfig.hostPath)}`,
      destinations,
    };
  }
  const client = POD_PATHS.hostedEtcdClient;
  return {
    cluster: cluster.name,
    namespace: topology.namespace,
    etcd: { endpoint: topology.clientEndpoint, caFile: `${client}/ca.crt`, certFile: `${client}/tls.crt`, keyFile: `${client}/tls.key` },
    pkiPaths: backup.pki ? topology.pkiSecrets.map((secret) => `${POD_PATHS.hostedPki}/${secret}`) : [],
    encryptionConfigFile: backup.encryptionConfig?.secret && `${POD_PATHS.encryptionConfig}/${backup.encryptionConfig.secret.key}`,
    destinations,
  };
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
