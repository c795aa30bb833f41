/**
 * Whether a cluster's scheduled runs (backup and drill CronJobs) are paused, and why. A pending restore request
 * pauses them in the synthesized output itself, so that Argo CD or Flux apply the pause and keep it (a `kubectl patch`
 * is reverted by the next self-heal), and no backup or drill reads half-restored data. Removing the request resumes them.
 */
import type { Cluster } from '../inventory/model';

export interface SchedulePause {
  readonly suspended: boolean;
  /** Why, in words for SUMMARY.md and the CLI; null when the schedules run. */
  readonly reason: string | null;
  /** The ids of the pending restore requests that pause the schedules. */
  readonly restoreIds: readonly string[];
}

export function schedulePause(cluster: Cluster): SchedulePause {
  const restoreIds = cluster.restores.map((request) => request.id);
  const reasons: string[] = [];
  if (restoreIds.length) reasons.push(`a restore is pending: ${restoreIds.join(', ')}`);
  if (cluster.backup.suspend) reasons.push('backup.suspend is set in the inventory');
  return { suspended: reasons.length > 0, reason: reasons.length ? reasons.join('; ') : null, restoreIds };
}
