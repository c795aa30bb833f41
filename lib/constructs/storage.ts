/** What a cluster's backup namespace needs for its storages: credential Secrets (never in plain text) and bucket claims. */
import { Construct } from 'constructs';
import type { Cluster, Storage } from '../inventory/model';
import { ObjectBucketClaim } from '../../imports/objectbucketclaims-objectbucket.io';
import { ExternalSecret, ExternalSecretSpecSecretStoreRefKind } from '../../imports/externalsecrets-external-secrets.io';
import { SealedSecret } from '../../imports/sealedsecrets-bitnami.com';
import { objectBucketClaimName, STORAGE_CREDENTIAL_KEYS, storageCredentialsSecretName, storagePruneCredentialsSecretName } from '../plan/names';
import { INVENTORY_DEFAULTS } from '../inventory/defaults';
import { objectMeta } from './metadata';

export interface StorageAccessProps {
  readonly cluster: Cluster;
  readonly namespace: string;
  readonly storage: Storage;
}

const { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY } = STORAGE_CREDENTIAL_KEYS;

export class StorageAccess extends Construct {
  constructor(scope: Construct, id: string, props: StorageAccessProps) {
    super(scope, id);
    const { cluster, namespace, storage } = props;
    if (storage.kind === 'objectBucketClaim') {
      const claim = storage.objectBucketClaim;
      new ObjectBucketClaim(this, 'Resource', {
        metadata: objectMeta(cluster.name, 'storage', objectBucketClaimName(storage.name), namespace),
        spec: {
          storageClassName: claim.storageClassName,
          ...(claim.bucketName ? { bucketName: claim.bucketName } : {}),
          ...(claim.generateBucketName ? { generateBucketName: claim.generateBucketName } : {}),
        },
      });
      return;
    }
    if (storage.kind === 'local') return;
    // gcs and azureBlob: one key, the service-account JSON or the connection string.
    const keyName = storage.kind === 's3' ? undefined : INVENTORY_DEFAULTS.storage.keySecret[storage.kind];
    credentialsSecret(this, 'Resource', cluster.name, namespace, storageCredentialsSecretName(storage.name), storage.credentials, keyName, storage.kind);
    if (storage.kind === 's3' && storage.pruneCredentials) {
      credentialsSecret(this, 'Prune', cluster.name, namespace, storagePruneCredentialsSecretName(storage.name), storage.pruneCredentials, undefined, 's3');
    }
  }
}

type KeyCredentials = Pick<Extract<Storage, { kind: 's3' }>['credentials'], 'externalSecret' | 'sealedSecret'>;

/**
 * The Secret `secretName`, as an ExternalSecret or a SealedSecret writes it: an S3 key pair, or (`keyName`) the one
 * key of a gcs or azureBlob storage; nothing for an existingSecret (the Secret is the operator's) or a workload identity.
 */
function credentialsSecret(
  scope: Construct, id: string, cluster: string, namespace: string, secretName: string, credentials: KeyCredentials,
  keyName: string | undefined, kind: 's3' | 'gcs' | 'azureBlob',
): void {
  const { externalSecret, sealedSecret } = credentials;
  if (externalSecret) {
    new ExternalSecret(scope, id, {
      metadata: objectMeta(cluster, 'credentials', secretName, namespace),
      spec: {
        refreshInterval: externalSecret.refreshInterval,
        secretStoreRef: {
          name: externalSecret.secretStoreRef.name,
          kind: externalSecret.secretStoreRef.kind === 'SecretStore'
            ? ExternalSecretSpecSecretStoreRefKind.SECRET_STORE
            : ExternalSecretSpecSecretStoreRefKind.CLUSTER_SECRET_STORE,
        },
        target: { name: secretName },
        data: keyName
          ? [{ secretKey: keyName, remoteRef: { key: externalSecret.remoteKey, ...(externalSecret.property ? { property: externalSecret.property } : {}) } }]
          : [
            { secretKey: ACCESS_KEY_ID, remoteRef: { key: externalSecret.remoteKey, property: externalSecret.accessKeyIdProperty } },
            { secretKey: SECRET_ACCESS_KEY, remoteRef: { key: externalSecret.remoteKey, property: externalSecret.secretAccessKeyProperty } },
          ],
      },
    });
  } else if (sealedSecret) {
    const scopeAnnotations: Record<string, string> = sealedSecret.scope === 'cluster-wide'
      ? { 'sealedsecrets.bitnami.com/cluster-wide': 'true' }
      : sealedSecret.scope === 'namespace-wide' ? { 'sealedsecrets.bitnami.com/namespace-wide': 'true' } : {};
    new SealedSecret(scope, id, {
      metadata: objectMeta(cluster, 'credentials', secretName, namespace, { annotations: scopeAnnotations }),
      spec: {
        encryptedData: keyName
          ? { [keyName]: (kind === 'gcs' ? sealedSecret.serviceAccountKey : sealedSecret.connectionString)! }
          // rules.ts requires both for an s3 storage.
          : { [ACCESS_KEY_ID]: sealedSecret.accessKeyId!, [SECRET_ACCESS_KEY]: sealedSecret.secretAccessKey! },
        template: { metadata: { name: secretName, namespace, ...(Object.keys(scopeAnnotations).length ? { annotations: scopeAnnotations } : {}) } },
      },
    });
  }
}
