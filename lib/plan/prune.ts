/**
 * Pure decisions for a cluster's prune CronJob: retention with credentials that may delete, for the storages that
 * have `pruneCredentials`. The backup Jobs then only write there (their credentials need no delete right:
 * `controlplane-backup policy --prune separate`), and nothing but this pod holds a credential that deletes.
 */
import type { Cluster } from '../inventory/model';
import { TOOLS_USER, type BackupPlan, type DestinationPlan } from './backup';
import { pruneCronJobName, pruneServiceAccountName } from './names';

/** The prune plan's file in the backup's config ConfigMap. */
export const PRUNE_PLAN_FILE = 'prune-plan.json';

/** A failed prune is retried by the next run; the alert reports repeated failures. */
export const PRUNE_BACKOFF_LIMIT = 0;

export interface PrunePlan {
  readonly cluster: string;
  readonly namespace: string;
  readonly cronJobName: string;
  readonly serviceAccountName: string;
  /** The backup's config ConfigMap, which holds the prune plan too. */
  readonly configMapName: string;
  /** Retention needs no node access: the tools image's user everywhere (Pod Security `restricted`). */
  readonly runAsUser: number;
  /** The destinations retention runs for, each with its prune credentials as `agentEnv`. */
  readonly destinations: readonly DestinationPlan[];
  /** The backup's schedule: each run prunes what the last backup made surplus (young sets are never touched). */
  readonly schedule: string;
  readonly timeZone: string;
  /** Whatever pauses the cluster's backups pauses its pruning too. */
  readonly suspended: boolean;
}

/** The prune CronJob of a cluster; undefined when none of its scheduled backup's storages has pruneCredentials. */
export function planPrune(cluster: Cluster, backup: BackupPlan): PrunePlan | undefined {
  const destinations = backup.destinations.flatMap((destination) => (destination.pruneEnv ? [{ ...destination, agentEnv: destination.pruneEnv }] : []));
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
