/**
 * The prune CronJob of one cluster: retention for the storages that have `pruneCredentials`, run with those
 * credentials (`agent prune`), so that the backup Jobs' own credentials need no delete right. It needs no node
 * access and no API token, so it meets Pod Security `restricted` everywhere.
 */
import type { k8s } from 'cdk8s-plus-28';
import type { Cluster } from '../inventory/model';
import { PRUNE_PLAN_FILE, type PrunePlan } from '../plan/prune';
import { caBundleVolume, destinationEnv, toolsPodSpec } from './pod';

/** The prune pod: one tools container, no host access, Pod Security `restricted`. */
export function prunePodSpec(cluster: Cluster, plan: PrunePlan): k8s.PodSpec {
  return toolsPodSpec(cluster, {
    serviceAccountName: plan.serviceAccountName,
    runAsUser: plan.runAsUser,
    command: 'prune',
    configMapName: plan.configMapName,
    planFile: PRUNE_PLAN_FILE,
    // The destinations' env carries the prune credentials (under the names the plan gives).
    env: plan.destinations.flatMap(destinationEnv),
    volumes: plan.destinations.flatMap((destination) => (destination.caBundle ? [caBundleVolume(`ca-${destination.storage}`, destination.caBundle)] : [])),
    destinations: plan.destinations,
  });
}
