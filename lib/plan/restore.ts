/**
 * Pure decisions for one restore request: where the snapshot is, which members (or replicas) are rebuilt with
 * which names and peer URLs, and the names of everything the restore bundle creates.
 */
import { PLAN_API_VERSION, type Destination } from '../agent/plan';
import type { RestoreCoordinatorPlan, RestoreMemberPlan, RestoreReplicaPlan } from '../agent/restore/plans';
import { PACKAGE_VERSION } from '../version';
import type { Cluster, Inventory, RestoreRequest } from '../inventory/model';
import { snapshotReference } from '../storage/layout';
import { restoreFolder } from '../storage/restores';
import { kubeadmEtcdAccess, nodeFilesUser, planDestination, POD_PATHS, type DestinationPlan } from './backup';
import {
  backupServiceAccountName, memberRestoreJobName, replicaRestoreJobName, restoreCoordinatorName, restoreFolderName, restoreIdentitySecretName,
  restorePlanConfigMapName, restoreStatusConfigMapName,
} from './names';

export const RESTORE_PATHS = {
  identity: '/var/run/controlplane-backup/restore-identity',
  identityFile: '/var/run/controlplane-backup/restore-identity/identity.txt',
  volume: '/var/lib/controlplane-backup/volume',
  /** the pod's plan: one key of the plan ConfigMap, mounted as this file */
  planDir: '/etc/controlplane-backup/restore',
  planFile: '/etc/controlplane-backup/restore/plan.json',
} as const;

/** Bounds of the waits, in seconds (the Job's activeDeadlineSeconds bounds the whole). */
const RESTORE_TIMEOUTS = {
  kubeadm: { barrierSeconds: 600, stopSeconds: 120, healthSeconds: 300 },
  hosted: { stopSeconds: 300, restoreSeconds: 1800, startSeconds: 600, pollSeconds: 2 },
} as const;

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
  /** The storage as the agent reads it, with the folder that holds the set. */
  readonly agentSource: Destination;
  /** Where the set is, for people: `s3://bucket/folder` or the storage's path on the node. */
  readonly snapshotLocation: string;
  readonly snapshotName: string;
  /** Where kubeadm members meet before any of them stops etcd, and record how each ended (for people). */
  readonly restoreLocation: string;
  readonly members: readonly RestoreMember[];
  readonly initialCluster: string;
  readonly initialClusterToken: string;
  /** one key per pod: `member-<name>.json`, `coordinator.json`, `replica-<i>.json` */
  readonly planConfigMap: string;
  readonly identitySecret: string;
  /** kubeadm: the backup's (no token); hosted: the coordinator's, bound to its Role. */
  readonly serviceAccountName: string;
  /** uid of the restore pods' containers (`nodeFilesUser`). */
  readonly runAsUser: number;
  /** hosted only */
  readonly coordinatorName?: string;
  readonly statusConfigMap?: string;
  /** The agent's plan of each pod, by its key in the plan ConfigMap (`restorePlanKey`). */
  readonly podPlans: Readonly<Record<string, RestorePodPlan>>;
}

export type RestorePodPlan = RestoreMemberPlan | RestoreCoordinatorPlan | RestoreReplicaPlan;

/** What the agent plans of the pods are made from: the restore plan without them. */
type RestoreDecisions = Omit<RestorePlan, 'podPlans'>;

export function planRestore(inventory: Inventory, cluster: Cluster, request: RestoreRequest): RestorePlan {
  const storage = inventory.storages[request.storage];
  const source = planDestination(cluster, storage, cluster.backup.retention);
  const reference = snapshotReference(storage, cluster.name, request.snapshot);
  if (!reference) throw new Error(`restore ${request.id} of ${cluster.name}: unreadable snapshot "${request.snapshot}" passed validation`);
  const agentSource: Destination = { ...source.agent, folder: reference.folder };
  const where = (folder: string) => (storage.kind === 'local' ? `${storage.local.path}/${folder}` : `s3://${agentSource.kind === 's3' ? agentSource.bucket : ''}/${folder}`);
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
  const coordinatorName = restoreCoordinatorName(cluster.name, request.id);
  const plan: RestoreDecisions = {
    cluster: cluster.name,
    request,
    namespace: topology.namespace,
    folder: restoreFolderName(request.id),
    source,
    agentSource,
    snapshotLocation: where(reference.folder),
    snapshotName: reference.name,
    restoreLocation: where(restoreFolder(reference.folder, request.id)),
    members,
    initialCluster: members.map((member) => `${member.name}=${member.peerUrl}`).join(','),
    initialClusterToken: `${cluster.name}-restore-${request.id}`,
    planConfigMap: restorePlanConfigMapName(cluster.name, request.id),
    identitySecret: restoreIdentitySecretName(cluster.name, request.id),
    serviceAccountName: topology.kind === 'kubeadm' ? backupServiceAccountName(cluster.name) : coordinatorName,
    runAsUser: nodeFilesUser(cluster),
    ...(topology.kind === 'hosted'
      ? { coordinatorName, statusConfigMap: restoreStatusConfigMapName(cluster.name, request.id) }
      : {}),
  };
  return { ...plan, podPlans: restorePodPlans(cluster, plan) };
}

/** One typed plan per pod (lib/agent/restore/plans.ts): each kubeadm member's, or the coordinator's and each replica's. */
function restorePodPlans(cluster: Cluster, plan: RestoreDecisions): Record<string, RestorePodPlan> {
  if (cluster.topology.kind === 'kubeadm') {
    return Object.fromEntries(plan.members.map((member) => [restorePlanKey(member), agentMemberPlan(cluster, plan, member)]));
  }
  return {
    [restorePlanKey('coordinator')]: agentCoordinatorPlan(cluster, plan),
    ...Object.fromEntries(plan.members.map((member) => [restorePlanKey(member), agentReplicaPlan(cluster, plan, member)])),
  };
}

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The data dir a hosted replica restores into, inside its mounted volume. */
function replicaDataDir(dataDirInVolume: string): string {
  return dataDirInVolume ? `${RESTORE_PATHS.volume}/${dataDirInVolume}` : RESTORE_PATHS.volume;
}

/** The key of a pod's plan in the plan ConfigMap. */
export function restorePlanKey(member: RestoreMember | 'coordinator'): string {
  if (member === 'coordinator') return 'coordinator.json';
  return member.ordinal === undefined ? `member-${member.name}.json` : `replica-${member.ordinal}.json`;
}

const planBase = (cluster: Cluster, plan: RestoreDecisions) => ({
  apiVersion: PLAN_API_VERSION as typeof PLAN_API_VERSION,
  packageVersion: PACKAGE_VERSION,
  cluster: cluster.name,
  scratchDir: POD_PATHS.scratch,
  deadlineSeconds: RESTORE_DEADLINE_SECONDS,
  restoreId: plan.request.id,
  snapshot: plan.snapshotName,
  source: plan.agentSource,
  identityFile: RESTORE_PATHS.identityFile,
});

/** No retry: a failure needs a person, who reads the Job's log and the runbook. */
export const RESTORE_DEADLINE_SECONDS = 3600;

const target = (plan: RestoreDecisions) => ({
  members: plan.members.map((m) => ({ name: m.name, peerUrl: m.peerUrl })),
  initialClusterToken: plan.initialClusterToken,
  bumpRevision: plan.request.bumpRevision,
});

/** The plan of one kubeadm member's restore pod. */
export function agentMemberPlan(cluster: Cluster, plan: RestoreDecisions, member: RestoreMember): RestoreMemberPlan {
  const topology = cluster.topology;
  if (topology.kind !== 'kubeadm') throw new Error(`${cluster.name} is not a kubeadm cluster`);
  const pki = topology.pkiDir;
  return {
    ...planBase(cluster, plan),
    kind: 'RestoreMemberPlan',
    ...target(plan),
    member: { name: member.name, peerUrl: member.peerUrl },
    dataDir: topology.dataDir,
    etcdManifest: `${topology.manifestsDir}/etcd.yaml`,
    etcd: kubeadmEtcdAccess(pki, member.clientEndpoint!),
    // the backup archives the PKI dir by its path on the node, without the leading "/"
    pki: plan.request.pki ? { dir: pki, archivePrefix: pki.replace(/^\/+|\/+$/g, '') } : null,
    timeouts: { ...RESTORE_TIMEOUTS.kubeadm },
  };
}

/** The plan of the hosted restore's coordinator pod. */
export function agentCoordinatorPlan(cluster: Cluster, plan: RestoreDecisions): RestoreCoordinatorPlan {
  const topology = cluster.topology;
  if (topology.kind !== 'hosted') throw new Error(`${cluster.name} is not a hosted cluster`);
  return {
    ...planBase(cluster, plan),
    kind: 'RestoreCoordinatorPlan',
    namespace: topology.namespace,
    statefulSet: topology.statefulSet,
    replicas: topology.replicas,
    controlPlaneDeployments: [...topology.controlPlaneDeployments],
    statusConfigMap: plan.statusConfigMap!,
    timeouts: { ...RESTORE_TIMEOUTS.hosted },
  };
}

/** The plan of one hosted replica's restore pod. */
export function agentReplicaPlan(cluster: Cluster, plan: RestoreDecisions, member: RestoreMember): RestoreReplicaPlan {
  const topology = cluster.topology;
  if (topology.kind !== 'hosted') throw new Error(`${cluster.name} is not a hosted cluster`);
  return {
    ...planBase(cluster, plan),
    kind: 'RestoreReplicaPlan',
    ...target(plan),
    namespace: topology.namespace,
    statusConfigMap: plan.statusConfigMap!,
    ordinal: member.ordinal!,
    member: { name: member.name, peerUrl: member.peerUrl },
    dataDir: replicaDataDir(topology.dataDirInVolume),
    timeouts: { restoreSeconds: RESTORE_TIMEOUTS.hosted.restoreSeconds, pollSeconds: RESTORE_TIMEOUTS.hosted.pollSeconds },
  };
}
