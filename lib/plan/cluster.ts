/**
 * Every decision for one cluster, made once and in one place: names, the namespace and its Pod Security level,
 * etcd access and certificate paths, destinations, pod users, schedules, the drill, alerts, the NetworkPolicy and the
 * restore requests. Pure: the same inventory gives the same plan. The constructs map a plan to objects and decide nothing.
 */
import { listOf, shortList } from '../text';
import { clusterStorages, type Cluster, type Inventory, type Storage } from '../inventory/model';
import { agentBackupPlan, agentDrillPlan, backupPlanFile, DRILL_PLAN_FILE, planText } from './agent';
import { planAlerts, type AlertPlan } from './alerts';
import { planBackup, type BackupPlan, type DestinationPlan } from './backup';
import { planDrill, type DrillPlan } from './drill';
import { onDemandJobName } from './names';
import { planNetworkPolicy, type NetworkPolicyPlan } from './network-policy';
import { planPrune, PRUNE_PLAN_FILE, type PrunePlan } from './prune';
import { planRestore, type RestorePlan } from './restore';

/** The file of the age recipients in the backup's config ConfigMap. */
const AGE_RECIPIENTS_FILE = 'age-recipients.txt';

/** An on-demand backup request: a Job of its own, with a plan that may name other storages than the schedule's. */
export interface OnDemandBackupPlan {
  readonly request: string;
  readonly jobName: string;
  readonly plan: BackupPlan;
}

export interface ClusterPlan {
  /** The cluster's validated inventory entry, for the settings the objects carry as they are (images, resources, limits). */
  readonly cluster: Cluster;
  /**
   * Labels of the backup namespace when the cluster's chart creates it (kubeadm: the backup pod needs hostNetwork and
   * hostPath, so the namespace admits privileged pods, and nothing else runs there); undefined when it exists already.
   */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** The storages the cluster uses (scheduled and on-demand), sorted by name: their Secrets and bucket claims. */
  readonly storages: readonly Storage[];
  readonly backup: BackupPlan;
  /**
   * The destinations whose workload identity the backup's ServiceAccount carries: its pods are the backups (scheduled
   * and on demand) and the kubeadm restores (hosted restores run as their coordinator's ServiceAccount).
   */
  readonly backupServiceAccountDestinations: readonly DestinationPlan[];
  readonly onDemandBackups: readonly OnDemandBackupPlan[];
  /** The config ConfigMap's files: the age recipients and the agent's plans (backup, on-demand, drill). */
  readonly configFiles: Readonly<Record<string, string>>;
  /** undefined: no drill (disabled, or node-local storage only) */
  readonly drill?: DrillPlan;
  /** undefined: the backup Jobs apply retention themselves (no storage of the schedule has pruneCredentials) */
  readonly prune?: PrunePlan;
  /** undefined: alerts are off */
  readonly alerts?: AlertPlan;
  /** undefined: kubeadm (hostNetwork pods are outside NetworkPolicy) */
  readonly networkPolicy?: NetworkPolicyPlan;
  /** The pending restore requests, each rendered into a folder of its own. */
  readonly restores: readonly RestorePlan[];
}

/**
 * The plan of the inventory's cluster `name` (or of one of its clusters, as the renderer walks them); throws when the
 * inventory has no such cluster (a caller's error: names come from the inventory).
 */
export function planCluster(inventory: Inventory, name: string | Cluster): ClusterPlan {
  const cluster = typeof name === 'string' ? inventory.clusters.find((candidate) => candidate.name === name) : name;
  if (!cluster) throw new Error(`the inventory has no cluster "${String(name)}"; its clusters are ${listOf(shortList(inventory.clusters.map((c) => c.name)), 'and')}`);
  const backup = planBackup(inventory, cluster);
  const onDemandBackups = cluster.onDemandBackups.map((request) => ({
    request: request.name,
    jobName: onDemandJobName(cluster.name, request.name),
    plan: planBackup(inventory, cluster, request.storages),
  }));
  const drill = planDrill(cluster, backup);
  const prune = planPrune(cluster, backup);
  const alerts = planAlerts(cluster, backup.namespace, drill, prune);
  const networkPolicy = planNetworkPolicy(inventory, cluster);
  const restores = cluster.restores.map((request) => planRestore(inventory, cluster, request));
  return {
    cluster,
    ...(cluster.topology.kind === 'kubeadm' ? { namespaceLabels: podSecurityLabels('privileged') } : {}),
    storages: clusterStorages(cluster).sort().map((storage) => inventory.storages[storage]),
    backup,
    backupServiceAccountDestinations: [
      ...backup.destinations,
      ...onDemandBackups.flatMap((request) => request.plan.destinations),
      ...(cluster.topology.kind === 'kubeadm' ? restores.map((restore) => restore.source) : []),
    ],
    onDemandBackups,
    configFiles: {
      // Public keys only: the matching identities never leave the operators' hands.
      [AGE_RECIPIENTS_FILE]: cluster.backup.encryption.recipients.map((recipient) => `${recipient}\n`).join(''),
      // The agent's plans (no credentials: those come from Secrets through env).
      [backupPlanFile()]: planText(agentBackupPlan(cluster, backup)),
      ...Object.fromEntries(onDemandBackups.map(({ request, plan }) => [backupPlanFile(request), planText(agentBackupPlan(cluster, plan, request))])),
      ...(drill ? { [DRILL_PLAN_FILE]: planText(agentDrillPlan(cluster, drill)) } : {}),
      ...(prune ? { [PRUNE_PLAN_FILE]: planText(agentBackupPlan(cluster, { ...backup, destinations: prune.destinations })) } : {}),
    },
    ...(drill ? { drill } : {}),
    ...(prune ? { prune } : {}),
    ...(alerts ? { alerts } : {}),
    ...(networkPolicy ? { networkPolicy } : {}),
    restores,
  };
}

/** Pod Security admission at one level, enforced, warned and audited alike. */
function podSecurityLabels(level: 'privileged' | 'baseline' | 'restricted'): Record<string, string> {
  return {
    'pod-security.kubernetes.io/enforce': level,
    'pod-security.kubernetes.io/warn': level,
    'pod-security.kubernetes.io/audit': level,
  };
}
