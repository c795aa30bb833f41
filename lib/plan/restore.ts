/**
 * Pure decisions for one restore request: where the snapshot is, which members (or replicas) are rebuilt with
 * which names and peer URLs, and the names of everything the restore bundle creates.
 */
import type { Cluster, Inventory, RestoreRequest } from '../inventory/model';
import { clusterFolder, SNAPSHOT_NAME, snapshotReference, type SnapshotReference, type StorageLayout } from '../storage/layout';
import { planDestination, POD_PATHS, type DestinationPlan } from './backup';
import {
  memberRestoreJobName, replicaRestoreJobName, restoreCoordinatorName, restoreFolderName, restoreIdentitySecretName,
  restoreScriptsConfigMapName, restoreStatusConfigMapName,
} from './names';

export const RESTORE_PATHS = {
  identity: '/var/run/controlplane-backup/restore-identity',
  identityFile: '/var/run/controlplane-backup/restore-identity/identity.txt',
  volume: '/var/lib/controlplane-backup/volume',
} as const;

export { SNAPSHOT_NAME, clusterFolder, snapshotReference, type SnapshotReference, type StorageLayout };

export interface RestoreMember {
  readonly name: string;
  readonly peerUrl: string;
  readonly jobName: string;
  /** kubeadm: the member's client endpoint on its node, for health checks. */
  readonly clientEndpoint?: string;
  /** hosted: StatefulSet ordinal and its PVC. */
  readonly ordinal?: number;
  readonly claimName?: string;
}

export interface RestorePlan {
  readonly cluster: string;
  readonly request: RestoreRequest;
  readonly namespace: string;
  readonly folder: string;
  readonly source: DestinationPlan;
  /** rclone path (or pod path, for local storages) of the folder that holds the set. */
  readonly snapshotDir: string;
  readonly snapshotName: string;
  /** Where kubeadm members meet before any of them stops etcd. */
  readonly barrierDir: string;
  readonly members: readonly RestoreMember[];
  readonly initialCluster: string;
  readonly initialClusterToken: string;
  readonly scriptsConfigMap: string;
  readonly identitySecret: string;
  /** hosted only */
  readonly coordinatorName?: string;
  readonly statusConfigMap?: string;
}

export function planRestore(inventory: Inventory, cluster: Cluster, request: RestoreRequest): RestorePlan {
  const storage = inventory.storages[request.storage];
  const source = planDestination(cluster, storage, cluster.backup.retention);
  const reference = snapshotReference(storage, cluster.name, request.snapshot);
  if (!reference) throw new Error(`restore ${request.id} of ${cluster.name}: unreadable snapshot "${request.snapshot}" passed validation`);
  // remoteDir ends with the cluster's folder; the storage root is what comes before it.
  const root = source.remoteDir.slice(0, source.remoteDir.length - clusterFolder(storage, cluster.name).length).replace(/\/$/, '');
  const join = (base: string, folder: string) => (folder ? (base.endsWith(':') ? `${base}${folder}` : `${base}/${folder}`) : base);
  const { topology } = cluster;
  const members: RestoreMember[] = topology.kind === 'kubeadm'
    ? topology.members.map((member) => ({
        name: member.name,
        peerUrl: `https://${hostPort(member.ip, topology.peerPort)}`,
        clientEndpoint: `https://${hostPort(member.ip, topology.clientPort)}`,
        jobName: memberRestoreJobName(cluster.name, request.id, member.name),
      }))
    : Array.from({ length: topology.replicas }, (_, ordinal) => {
        const name = `${topology.statefulSet}-${ordinal}`;
        return {
          name,
          ordinal,
          peerUrl: `https://${name}.${topology.headlessService}.${topology.namespace}.svc:${topology.peerPort}`,
          jobName: replicaRestoreJobName(cluster.name, request.id, ordinal),
          claimName: `${topology.dataVolumeClaimTemplate}-${topology.statefulSet}-${ordinal}`,
        };
      });
  return {
    cluster: cluster.name,
    request,
    namespace: topology.namespace,
    folder: restoreFolderName(request.id),
    source,
    snapshotDir: join(root, reference.folder),
    snapshotName: reference.name,
    barrierDir: `${source.remoteDir}/restores/${request.id}`,
    members,
    initialCluster: members.map((member) => `${member.name}=${member.peerUrl}`).join(','),
    initialClusterToken: `${cluster.name}-restore-${request.id}`,
    scriptsConfigMap: restoreScriptsConfigMapName(cluster.name, request.id),
    identitySecret: restoreIdentitySecretName(cluster.name, request.id),
    ...(topology.kind === 'hosted'
      ? { coordinatorName: restoreCoordinatorName(cluster.name, request.id), statusConfigMap: restoreStatusConfigMapName(cluster.name, request.id) }
      : {}),
  };
}

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The data dir a hosted replica restores into, inside its mounted volume. */
export function replicaDataDir(dataDirInVolume: string): string {
  return dataDirInVolume ? `${RESTORE_PATHS.volume}/${dataDirInVolume}` : RESTORE_PATHS.volume;
}

export { POD_PATHS };
