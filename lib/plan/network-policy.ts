/**
 * The egress a hosted cluster's backup, on-demand and drill pods need, and nothing more: etcd's client port in the
 * namespace, DNS, and the port of each remote storage they write to or read from. Every port is known at synthesis
 * (an ObjectBucketClaim's from the inventory's `port`, required by the rules), so no rule opens all egress.
 */
import { clusterStorages, type Cluster, type Inventory, type Storage } from '../inventory/model';
import { storageIdentity } from './identity';
import { backupNetworkPolicyName } from './names';

export interface NetworkPolicyPlan {
  readonly cluster: string;
  readonly name: string;
  readonly namespace: string;
  readonly etcdPort: number;
  /**
   * TCP ports of the remote storages and of their workload identity services (STS, the Pod Identity agent), sorted,
   * without repeats; empty when every storage is node-local.
   */
  readonly storagePorts: readonly number[];
}

/** Port of a URL: its own, or its scheme's. */
function urlPort(endpoint: string): number {
  const url = new URL(endpoint);
  return Number(url.port || (url.protocol === 'http:' ? 80 : 443));
}

/** Port of a remote storage's endpoint; undefined for node-local storage (no network). */
function storagePort(storage: Storage): number | undefined {
  switch (storage.kind) {
    case 's3':
      return urlPort(storage.s3.endpoint);
    case 'gcs':
      return storage.gcs.endpoint ? urlPort(storage.gcs.endpoint) : 443;
    case 'azureBlob':
      return storage.azureBlob.endpoint ? urlPort(storage.azureBlob.endpoint) : 443;
    case 'objectBucketClaim': {
      const { port } = storage.objectBucketClaim;
      // The rules require `port` for every claim a hosted cluster uses; this is the error of a caller that skipped them.
      if (port === undefined) throw new Error(`storage "${storage.name}" has no objectBucketClaim.port`);
      return port;
    }
    case 'local':
      return undefined;
  }
}

/** Hosted clusters only: hostNetwork pods (kubeadm) are outside NetworkPolicy in common CNIs. */
export function planNetworkPolicy(inventory: Inventory, cluster: Cluster): NetworkPolicyPlan | undefined {
  const { topology } = cluster;
  if (topology.kind !== 'hosted') return undefined;
  // The on-demand backups may name storages of their own; the drill reads from the backup's storages.
  const ports = clusterStorages(cluster).flatMap((name) => {
    const storage = inventory.storages[name];
    return [storagePort(storage), ...(storageIdentity(storage)?.egressPorts ?? [])];
  }).filter((port): port is number => port !== undefined);
  return {
    cluster: cluster.name,
    name: backupNetworkPolicyName(cluster.name),
    namespace: topology.namespace,
    etcdPort: Number(new URL(topology.clientEndpoint).port || 2379),
    storagePorts: [...new Set(ports)].sort((a, b) => a - b),
  };
}
