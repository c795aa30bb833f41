/**
 * Pure decisions for one cluster's restore drill: whether it exists, which storage it reads, and the names and
 * paths of its objects. The drill reads the FIRST remote destination of the scheduled backup: a node-local copy
 * would need node access, which the drill never gets.
 */
import type { Cluster } from '../inventory/model';
import { TOOLS_USER, type BackupPlan, type CronJobPlan, type DestinationPlan } from './backup';
import { drillCronJobName, drillServiceAccountName } from './names';

/** Paths inside the drill pod. */
export const DRILL_PATHS = {
  identity: '/var/run/controlplane-backup/drill-identity',
  identityFile: '/var/run/controlplane-backup/drill-identity/identity.txt',
} as const;

/** The key of the drill identity Secret that holds the age identity. */
export const DRILL_IDENTITY_KEY = 'identity.txt';

/** A drill is not retried: a failure is the finding, and the alert reports it. */
export const DRILL_BACKOFF_LIMIT = 0;

/** The drill needs no node access: it runs as the tools image's user everywhere, and its plan is in the backup's ConfigMap. */
export interface DrillPlan extends CronJobPlan {
  /** The storage the drill reads: the first non-local destination of the scheduled backup. */
  readonly source: DestinationPlan;
  /** Secret with the age identity (key `identity.txt`); without it, encrypted backups are verified, not restored. */
  readonly identitySecret?: string;
}

/** The drill of a cluster; undefined when it is disabled or the cluster backs up to node-local storage only. */
export function planDrill(cluster: Cluster, plan: BackupPlan): DrillPlan | undefined {
  const { drill, timeZone } = cluster.backup;
  const source = plan.destinations.find((destination) => destination.kind !== 'local');
  if (!drill.enabled || !source) return undefined;
  return {
    cluster: cluster.name,
    namespace: plan.namespace,
    cronJobName: drillCronJobName(cluster.name),
    serviceAccountName: drillServiceAccountName(cluster.name),
    configMapName: plan.configMapName,
    runAsUser: TOOLS_USER,
    source,
    schedule: drill.schedule,
    timeZone,
    suspended: plan.suspended,
    ...(drill.identitySecret ? { identitySecret: drill.identitySecret } : {}),
  };
}
