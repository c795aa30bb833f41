/**
 * Pure decisions for a cluster's prune CronJob: retention with credentials that may delete, for the storages that
 * have `pruneCredentials`. The backup Jobs then only write there (their credentials need no delete right:
 * `controlplane-backup policy --prune separate`), and nothing but this pod holds a credential that deletes.
 */
import type { Cluster } from '../inventory/model';
import { TOOLS_USER, type BackupPlan, type CronJobPlan, type DestinationPlan } from './backup';
import { pruneCronJobName, pruneServiceAccountName } from './names';

/** The prune plan's file in the backup's config ConfigMap. */
export const PRUNE_PLAN_FILE = 'prune-plan.json';

/** A failed prune is retried by the next run; the alert reports repeated failures. */
export const PRUNE_BACKOFF_LIMIT = 0;

/**
 * The prune CronJob: the backup's config ConfigMap (which holds the prune plan too), the tools image's user (no node
 * access: Pod Security `restricted`), and the backup's schedule and pause: each run prunes what the last backup made
 * surplus (sets younger than the Job's deadline are never touched).
 */
export interface PrunePlan extends CronJobPlan {
  /** The destinations retention runs for, each with its prune credentials as `agentEnv`. */
  readonly destinations: readonly DestinationPlan[];
}

/** The prune CronJob of a cluster; undefined when none of its scheduled backup's storages has pruneCredentials. */
export function planPrune(cluster: Cluster, backup: BackupPlan): PrunePlan | undefined {
  // The prune pod holds the prune credentials only: never the backup's workload identity (the rules refuse one here).
  const destinations = backup.destinations.flatMap(({ identity: _backupIdentity, ...destination }) => (destination.pruneEnv && destination.pruneAgent
    ? [{ ...destination, agent: destination.pruneAgent, agentEnv: destination.pruneEnv }]
    : []));
  if (destinations.length === 0) return undefined;
  return {
    cluster: cluster.name,
    namespace: backup.namespace,
    cronJobName: pruneCronJobName(cluster.name),
    serviceAccountName: pruneServiceAccountName(cluster.name),
    configMapName: backup.configMapName,
    runAsUser: TOOLS_USER,
    destinations,
    schedule: backup.schedule,
    timeZone: backup.timeZone,
    suspended: backup.suspended,
  };
}
