/**
 * Pure decisions for one restore request: where the snapshot is, which members (or replicas) are rebuilt with
 * which names and peer URLs, and the names of everything the restore bundle creates.
 */
import { PLAN_API_VERSION, type Destination } from '../agent/plan';
import { OWNER_KINDS, type OwnerRef, type RestoreCoordinatorPlan, type RestoreMemberPlan, type RestoreReplicaPlan } from '../agent/restore/plans';
import { PACKAGE_VERSION } from '../version';
import { INVENTORY_DEFAULTS } from '../inventory/defaults';
import type { Cluster, Inventory, RestoreRequest } from '../inventory/model';
import { snapshotReference } from '../storage/layout';
import { restoreFolder } from '../storage/restores';
import { kubeadmEtcdAccess, nodeFilesUser, planDestination, POD_PATHS, type DestinationPlan } from './backup';
import {
  backupServiceAccountName, memberRestoreJobName, replicaRestoreJobName, restoreCoordinatorName, restoreFolderName, restoreIdentitySecretName,
  restoreOwnerRoleName, restorePlanConfigMapName, restoreStatusConfigMapName, STATIC_POD_NAMESPACE, staticRestorePodName,
} from './names';

export const RESTORE_PATHS = {
  identity: '/var/run/controlplane-backup/restore-identity',
  identityFile: '/var/run/controlplane-backup/restore-identity/identity.txt',
  volume: '/var/lib/controlplane-backup/volume',
  /** the pod's plan: one key of the plan ConfigMap, mounted as this file */
  planDir: '/etc/controlplane-backup/restore',
  planFile: '/etc/controlplane-backup/restore/plan.json',
  /** static pods: the env var that holds the pod's plan (a static pod can mount no ConfigMap) */
  planEnv: 'CONTROLPLANE_BACKUP_PLAN',
} as const;

/**
 * The kubeadm restore through static pods (no API server needed): where things are on each node. The operator puts
 * the age identity (and the storage's credentials, and its CA bundle) into the restore's own folder on the node, and
 * the pod's manifest into the kubelet's folder; the pod removes that manifest when it has recorded its result.
 */
export const STATIC_POD_FILES = {
  /** the files the operator puts into the restore's folder on the node (`StaticPodsPlan.nodeDir`) */
  identity: 'identity.txt',
  /** NAME=value lines: the variables a Job takes from Secrets and ConfigMaps */
  storageEnv: 'storage.env',
  caBundle: 'ca.crt',
  /** the manifests in the restore folder: `static-pods/<member>.yaml`, never applied by kustomize (validate-output knows the folder: lib/validate/static-pod.ts, a leaf) */
  folder: 'static-pods',
} as const;

/**
 * kubeadm without an API server (issue 11 item 1): per member, a static pod an operator copies into the kubelet's
 * folder on that node. It refers to no API object: its plan is in its env, and the age identity, the storage's
 * credentials and CA bundle are files the operator put into `nodeDir` on the node.
 */
export interface StaticPodsPlan {
  /** the pods' name (the kubelet appends `-<node>`) and namespace (kube-system: the restore's namespace may not exist in the snapshot) */
  readonly name: string;
  readonly namespace: string;
  /** the restore's folder on each node, mounted where the Job mounts its identity Secret */
  readonly nodeDir: string;
  /** the pod's manifest in the kubelet's static pod folder on each node; the pod removes it once its result is recorded */
  readonly manifest: string;
  /** what the operator writes into `storage.env` (what a Job takes from Secrets and ConfigMaps), with where the Job takes each */
  readonly storageEnv: readonly { readonly name: string; readonly from: string }[];
  /** the storage's variables with plain values, set in the pod itself */
  readonly env: readonly { readonly name: string; readonly value: string }[];
  /** per member (`RestorePlan.members`): its manifest file in the restore folder, and its agent plan */
  readonly pods: readonly { readonly member: string; readonly file: string; readonly plan: RestoreMemberPlan }[];
}

/** Bounds of the waits, in seconds (the Job's activeDeadlineSeconds bounds the whole). */
export const RESTORE_TIMEOUTS = {
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
  /**
   * The signing public key of the cluster whose set this is (the request's cluster, or with allowCrossCluster the
   * named one when the inventory has it); null: that cluster has no signing key and signatures are not checked.
   */
  readonly signingPublicKey: string | null;
  /** kubeadm: the backup's (no token); hosted: the coordinator's, bound to its Role. */
  readonly serviceAccountName: string;
  /** uid of the restore pods' containers (`nodeFilesUser`). */
  readonly runAsUser: number;
  /** hosted only */
  readonly coordinatorName?: string;
  readonly statusConfigMap?: string;
  /** hosted only: the owners the restore pauses (hosted.owners, namespaces resolved), and where their API is */
  readonly owners?: readonly RestoreOwner[];
  /** hosted only: where Argo CD's Applications live (an instance label without a namespace means this one) */
  readonly argocdNamespace?: string;
  /**
   * hosted only: the get/patch the coordinator needs on the owners, one entry per namespace. The restore's own
   * namespace has no `roleName` (its rules join the coordinator's Role); each other one gets a Role of its own.
   */
  readonly ownerAccess?: readonly OwnerAccess[];
  /** The agent's plan of each pod, by its key in the plan ConfigMap (`restorePlanKey`). */
  readonly podPlans: Readonly<Record<string, RestorePodPlan>>;
  /** kubeadm only: the restore without an API server, one static pod per member */
  readonly staticPods?: StaticPodsPlan;
}

/** An owner the hosted restore pauses: its reference and the API group and resource its Role names. */
export interface RestoreOwner extends OwnerRef {
  readonly apiGroup: string;
  readonly resource: string;
}

/** One entry of a Role's `rules`. */
export interface AccessRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly resourceNames: readonly string[];
  readonly verbs: readonly string[];
}

/** What the coordinator may do to the owners of one namespace. */
export interface OwnerAccess {
  readonly namespace: string;
  /** the Role (and RoleBinding) in that namespace; absent: the restore's own namespace, whose coordinator Role gets the rules */
  readonly roleName?: string;
  readonly rules: readonly AccessRule[];
}

/**
 * hosted.owners with every namespace resolved: an Application defaults to Argo CD's namespace, a HelmRelease or
 * Kustomization to Flux's (the gitops section's, or the tools' defaults), a TenantControlPlane to the tenant's own.
 */
export function restoreOwners(inventory: Inventory, cluster: Cluster): RestoreOwner[] {
  const topology = cluster.topology;
  if (topology.kind !== 'hosted') return [];
  return topology.owners.map((owner) => {
    const defaultNamespace = owner.kind === 'Application' ? argocdNamespace(inventory)
      : owner.kind === 'TenantControlPlane' ? topology.namespace
        : inventory.gitops?.flux?.namespace ?? INVENTORY_DEFAULTS.gitops.flux.namespace;
    const api = OWNER_KINDS[owner.kind];
    return { kind: owner.kind, namespace: owner.namespace ?? defaultNamespace, name: owner.name, apiGroup: api.group, resource: api.plural };
  });
}

function argocdNamespace(inventory: Inventory): string {
  return inventory.gitops?.argocd?.namespace ?? INVENTORY_DEFAULTS.gitops.argocd.namespace;
}

/** get/patch on exactly the named owners, one rule per API group and resource. */
function ownerRules(owners: readonly RestoreOwner[]): AccessRule[] {
  const groups = new Map<string, RestoreOwner[]>();
  for (const owner of owners) groups.set(`${owner.apiGroup}/${owner.resource}`, [...(groups.get(`${owner.apiGroup}/${owner.resource}`) ?? []), owner]);
  return [...groups.values()].map((same) => ({
    apiGroups: [same[0].apiGroup], resources: [same[0].resource], resourceNames: [...new Set(same.map((o) => o.name))].sort(), verbs: ['get', 'patch'],
  }));
}

/**
 * The owners' rules by namespace: the restore's own first, then the others sorted, each with a Role of its own
 * (pausing an owner in Flux's or Argo CD's namespace needs get/patch on exactly that object there).
 */
function ownerAccess(cluster: string, id: string, namespace: string, owners: readonly RestoreOwner[]): OwnerAccess[] {
  const own = owners.filter((o) => o.namespace === namespace);
  const others = [...new Set(owners.map((o) => o.namespace))].filter((ns) => ns !== namespace).sort();
  return [
    ...(own.length ? [{ namespace, rules: ownerRules(own) }] : []),
    ...others.map((ns) => ({ namespace: ns, roleName: restoreOwnerRoleName(cluster, id, ns), rules: ownerRules(owners.filter((o) => o.namespace === ns)) })),
  ];
}

export type RestorePodPlan = RestoreMemberPlan | RestoreCoordinatorPlan | RestoreReplicaPlan;

/** What the agent plans of the pods are made from: the restore plan without them. */
type RestoreDecisions = Omit<RestorePlan, 'podPlans' | 'staticPods'>;

export function planRestore(inventory: Inventory, cluster: Cluster, request: RestoreRequest): RestorePlan {
  const storage = inventory.storages[request.storage];
  const source = planDestination(cluster, storage, cluster.backup.retention);
  const reference = snapshotReference(storage, cluster.name, request.snapshot);
  if (!reference) throw new Error(`restore ${request.id} of ${cluster.name}: unreadable snapshot "${request.snapshot}" passed validation`);
  const agentSource: Destination = { ...source.agent, folder: reference.folder };
  const where = (folder: string) => {
    switch (agentSource.kind) {
      case 'local': return `${storage.kind === 'local' ? storage.local.path : agentSource.path}/${folder}`;
      case 'gcs': return `gs://${agentSource.bucket}/${folder}`;
      case 'azureBlob': return `${agentSource.endpoint.replace(/\/$/, '')}/${agentSource.container}/${folder}`;
      case 's3': return `s3://${agentSource.bucket}/${folder}`;
    }
  };
  const { topology } = cluster;
  const members: RestoreMember[] = topology.kind === 'kubeadm'
    ? (request.members ?? topology.members).map((member) => ({
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
  const owners = restoreOwners(inventory, cluster);
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
    signingPublicKey: inventory.clusters.find((candidate) => candidate.name === reference.cluster)?.backup.signing?.publicKey ?? null,
    serviceAccountName: topology.kind === 'kubeadm' ? backupServiceAccountName(cluster.name) : coordinatorName,
    runAsUser: nodeFilesUser(cluster),
    ...(topology.kind === 'hosted'
      ? {
          coordinatorName, statusConfigMap: restoreStatusConfigMapName(cluster.name, request.id),
          owners, argocdNamespace: argocdNamespace(inventory), ownerAccess: ownerAccess(cluster.name, request.id, topology.namespace, owners),
        }
      : {}),
  };
  const staticPods = planStaticPods(cluster, plan);
  return { ...plan, podPlans: restorePodPlans(cluster, plan), ...(staticPods ? { staticPods } : {}) };
}

/** kubeadm: where each member's static pod finds its files on the node, its env, and its plan; undefined for hosted. */
function planStaticPods(cluster: Cluster, plan: RestoreDecisions): StaticPodsPlan | undefined {
  const { topology } = cluster;
  if (topology.kind !== 'kubeadm') return undefined;
  const id = plan.request.id;
  const shared: Omit<StaticPodsPlan, 'pods'> = {
    name: staticRestorePodName(cluster.name, id),
    namespace: STATIC_POD_NAMESPACE,
    nodeDir: `/etc/kubernetes/restore-${id}`,
    manifest: `${topology.manifestsDir}/controlplane-backup-restore-${id}.yaml`,
    storageEnv: apiEnv(plan.source),
    env: plan.source.agentEnv.flatMap((variable) => ('value' in variable.source ? [{ name: variable.name, value: variable.source.value }] : [])),
  };
  return {
    ...shared,
    pods: plan.members.map((member) => ({
      member: member.name,
      file: `${STATIC_POD_FILES.folder}/${member.name}.yaml`,
      plan: agentMemberPlan(cluster, plan, member, shared),
    })),
  };
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
  signingPublicKey: plan.signingPublicKey,
  allowUnsigned: plan.request.allowUnsigned,
});

/** No retry: a failure needs a person, who reads the Job's log and the runbook. */
export const RESTORE_DEADLINE_SECONDS = 3600;

const target = (plan: RestoreDecisions) => ({
  members: plan.members.map((m) => ({ name: m.name, peerUrl: m.peerUrl })),
  initialClusterToken: plan.initialClusterToken,
  bumpRevision: plan.request.bumpRevision,
});

/**
 * Every variable a restore pod takes from a Secret or a ConfigMap (credentials, an ObjectBucketClaim's bucket and
 * endpoint), which a static pod cannot read: the operator writes them into the env file, with where the Job takes each.
 */
function apiEnv(source: DestinationPlan): StaticPodsPlan['storageEnv'] {
  return source.agentEnv.flatMap((variable) => {
    const from = variable.source;
    if ('secret' in from) return [{ name: variable.name, from: `key \`${from.secret.key}\` of Secret \`${from.secret.name}\`` }];
    if ('configMap' in from) return [{ name: variable.name, from: `key \`${from.configMap.key}\` of ConfigMap \`${from.configMap.name}\`` }];
    return [];
  });
}

/**
 * The plan of one kubeadm member's restore pod: a Job's (API server up), or a static pod's (`staticPod`: its own
 * manifest on the node, and the env file that replaces the Secret).
 */
function agentMemberPlan(cluster: Cluster, plan: RestoreDecisions, member: RestoreMember, staticPod?: Omit<StaticPodsPlan, 'pods'>): RestoreMemberPlan {
  const topology = cluster.topology;
  if (topology.kind !== 'kubeadm') throw new Error(`${cluster.name} is not a kubeadm cluster`);
  const pki = topology.pkiDir;
  const base = planBase(cluster, plan);
  // the static pod finds the CA bundle beside the identity, in the restore's folder on the node
  const source = staticPod && base.source.kind === 's3' && base.source.caFile
    ? { ...base.source, caFile: `${RESTORE_PATHS.identity}/${STATIC_POD_FILES.caBundle}` }
    : base.source;
  return {
    ...base,
    source,
    kind: 'RestoreMemberPlan',
    ...target(plan),
    member: { name: member.name, peerUrl: member.peerUrl },
    dataDir: topology.dataDir,
    etcdManifest: `${topology.manifestsDir}/etcd.yaml`,
    etcd: kubeadmEtcdAccess(pki, member.clientEndpoint!),
    // the backup archives the PKI dir by its path on the node, without the leading "/"
    pki: plan.request.pki ? { dir: pki, archivePrefix: pki.replace(/^\/+|\/+$/g, '') } : null,
    timeouts: { ...RESTORE_TIMEOUTS.kubeadm },
    allowCrossCluster: plan.request.allowCrossCluster,
    staticPod: staticPod
      ? {
          manifest: staticPod.manifest,
          envFile: staticPod.storageEnv.length
            ? { path: `${RESTORE_PATHS.identity}/${STATIC_POD_FILES.storageEnv}`, names: staticPod.storageEnv.map((variable) => variable.name) }
            : null,
        }
      : null,
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
    owners: (plan.owners ?? []).map(({ kind, namespace, name }) => ({ kind, namespace, name })),
    argocdNamespace: plan.argocdNamespace!,
    dataVolumeClaimTemplate: topology.dataVolumeClaimTemplate,
    allowCrossCluster: plan.request.allowCrossCluster,
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
