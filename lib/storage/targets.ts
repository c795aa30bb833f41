/**
 * Which folders hold a cluster's backups, from the inventory: one target per (cluster, storage) pair, resolved to an
 * S3 location or skipped with a note (local storages are on the nodes; a bucket claim's bucket and endpoint are
 * known only in the cluster unless given on the command line).
 */
import { clusterStorages, type Cluster, type Inventory, type Storage } from '../inventory/model';
import { clusterFolder } from './layout';
import { azureBlobEndpoint } from './azure-blob';
import type { S3Location } from './s3';

/** A Google Cloud Storage bucket's folder; credentials come from Application Default Credentials. */
export interface GcsLocation {
  readonly kind: 'gcs';
  readonly bucket: string;
  /** JSON API endpoint. */
  readonly endpoint: string;
  readonly folder: string;
  readonly insecure?: boolean;
}

/**
 * An Azure Blob container's folder; credentials come from AZURE_STORAGE_CONNECTION_STRING when set, else the
 * Azure default credential chain (az login, environment, managed identity).
 */
export interface AzureBlobLocation {
  readonly kind: 'azureBlob';
  readonly account: string;
  readonly container: string;
  /** Blob service URL. */
  readonly endpoint: string;
  readonly folder: string;
  readonly insecure?: boolean;
}

/** Where a target's sets are, for the store that reads them. */
export type StoreLocation = S3Location | GcsLocation | AzureBlobLocation;

/** The bucket or container of a location, for messages and JSON output. */
export function locationBucket(location: StoreLocation): string {
  return location.kind === 'azureBlob' ? location.container : location.bucket;
}

export interface Target {
  readonly cluster: Cluster;
  readonly storage: Storage;
  /** Bucket-relative folder of the cluster's sets (path-relative for local storages). */
  readonly folder: string;
  /** Set when the target can be listed. */
  readonly location?: StoreLocation;
  /** Why the target is skipped, when it has no location. */
  readonly skipped?: string;
}

export interface TargetSelection {
  readonly cluster?: string;
  readonly storage?: string;
  /** `--bucket STORAGE=NAME`, repeatable: the bucket of an ObjectBucketClaim storage. */
  readonly buckets?: readonly string[];
  /** `--endpoint STORAGE=URL|HOST[:PORT]`, repeatable: the endpoint of an ObjectBucketClaim storage. */
  readonly endpoints?: readonly string[];
}

/** The targets of a selection, or the problem with the command line (exit 2). */
export function selectTargets(inventory: Inventory, selection: TargetSelection): { targets: Target[] } | { error: string } {
  const storageNames = Object.keys(inventory.storages).sort();
  const overrides = (flag: string, values: readonly string[] = []) => {
    const map = new Map<string, string>();
    for (const value of values) {
      const eq = value.indexOf('=');
      const name = value.slice(0, eq);
      if (eq <= 0 || eq === value.length - 1) return { error: `--${flag} "${value}": expected STORAGE=${flag === 'bucket' ? 'NAME' : 'URL'}` };
      const storage = Object.hasOwn(inventory.storages, name) ? inventory.storages[name] : undefined;
      if (!storage) return { error: `--${flag} ${value}: no storage "${name}" in the inventory (storages: ${storageNames.join(', ')})` };
      if (storage.kind !== 'objectBucketClaim') return { error: `--${flag} ${value}: storage "${name}" is ${storage.kind === 's3' || storage.kind === 'azureBlob' ? 'an' : 'a'} ${storage.kind} storage; --${flag} is for objectBucketClaim storages, whose ${flag} the inventory does not know` };
      const given = value.slice(eq + 1);
      const claim = storage.objectBucketClaim;
      const plain = /^http:\/\//i.test(given) || (!/^https:\/\//i.test(given) && claim.scheme === 'http');
      if (flag === 'endpoint' && plain && !claim.insecure) {
        return { error: `--endpoint ${value}: plain http would send your S3 credentials in clear; pass an https:// endpoint, or set \`insecure: true\` on storage "${name}" if the network path is trusted` };
      }
      map.set(name, given);
    }
    return { map };
  };
  const buckets = overrides('bucket', selection.buckets);
  if ('error' in buckets) return { error: buckets.error! };
  const endpoints = overrides('endpoint', selection.endpoints);
  if ('error' in endpoints) return { error: endpoints.error! };

  if (selection.cluster && !inventory.clusters.some((cluster) => cluster.name === selection.cluster)) {
    return { error: `--cluster: no cluster "${selection.cluster}" in the inventory (clusters: ${inventory.clusters.map((cluster) => cluster.name).join(', ')})` };
  }
  if (selection.storage && !Object.hasOwn(inventory.storages, selection.storage)) {
    return { error: `--storage: no storage "${selection.storage}" in the inventory (storages: ${storageNames.join(', ')})` };
  }
  const targets: Target[] = [];
  for (const cluster of inventory.clusters) {
    if (selection.cluster && cluster.name !== selection.cluster) continue;
    for (const name of clusterStorages(cluster)) {
      if (selection.storage && name !== selection.storage) continue;
      const storage = inventory.storages[name];
      targets.push(resolveTarget(cluster, storage, buckets.map!.get(name), endpoints.map!.get(name)));
    }
  }
  if (targets.length === 0) {
    return { error: `--storage: no selected cluster backs up to storage "${selection.storage}"` };
  }
  return { targets };
}

function resolveTarget(cluster: Cluster, storage: Storage, bucket?: string, endpoint?: string): Target {
  const folder = clusterFolder(storage, cluster.name);
  switch (storage.kind) {
    case 's3': {
      const { s3 } = storage;
      return { cluster, storage, folder, location: { endpoint: s3.endpoint.replace(/\/$/, ''), region: s3.region, pathStyle: s3.pathStyle, bucket: s3.bucket, folder, insecure: s3.insecure } };
    }
    case 'gcs': {
      const { gcs } = storage;
      return { cluster, storage, folder, location: { kind: 'gcs', bucket: gcs.bucket, endpoint: (gcs.endpoint ?? 'https://storage.googleapis.com').replace(/\/$/, ''), folder, insecure: gcs.insecure } };
    }
    case 'azureBlob': {
      const { azureBlob } = storage;
      const endpoint = (azureBlob.endpoint ?? azureBlobEndpoint(azureBlob.account)).replace(/\/$/, '');
      return { cluster, storage, folder, location: { kind: 'azureBlob', account: azureBlob.account, container: azureBlob.container, endpoint, folder, insecure: azureBlob.insecure } };
    }
    case 'objectBucketClaim': {
      const claim = storage.objectBucketClaim;
      const name = bucket ?? claim.bucketName;
      const missing = [
        name ? '' : `--bucket ${storage.name}=NAME`,
        endpoint ? '' : `--endpoint ${storage.name}=HOST:PORT`,
      ].filter(Boolean);
      if (missing.length > 0) {
        return {
          cluster, storage, folder,
          skipped: `objectBucketClaim storage: its ${name ? '' : 'bucket name and '}endpoint are known only in the cluster (ConfigMap controlplane-backup-${storage.name}: BUCKET_NAME, BUCKET_HOST, BUCKET_PORT); pass ${missing.join(' ')}`,
        };
      }
      const url = /^https?:\/\//i.test(endpoint!) ? endpoint! : `${claim.scheme}://${endpoint}`;
      // The backup pods use path-style requests for bucket claims (plan/backup.ts); so does this.
      return { cluster, storage, folder, location: { endpoint: url, region: claim.region, pathStyle: true, bucket: name!, folder, insecure: claim.insecure } };
    }
    case 'local':
      return { cluster, storage, folder, skipped: `local storage: the backups are on the control-plane nodes' disks (${storage.local.path}/${cluster.name}), not reachable from here` };
  }
}
