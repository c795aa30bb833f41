/**
 * The prune CronJob of one cluster: retention for the storages that have `pruneCredentials`, run with those
 * credentials (`agent prune`), so that the backup Jobs' own credentials need no delete right. It needs no node
 * access and no API token, so it meets Pod Security `restricted` everywhere.
 */
import { Construct } from 'constructs';
import type { k8s } from 'cdk8s-plus-28';
import type { Cluster } from '../inventory/model';
import { POD_PATHS } from '../plan/backup';
import { PRUNE_BACKOFF_LIMIT, PRUNE_PLAN_FILE, type PrunePlan } from '../plan/prune';
import { tokenlessServiceAccount, toolsCronJob } from './backup-pod';
import { objectMeta } from './metadata';
import { agentCommand, caBundleVolume, configMapVolume, destinationEnv, scratchVolume, TMPDIR_ENV, toolsPodSpec } from './pod';

export interface PruneProps {
  readonly cluster: Cluster;
  readonly plan: PrunePlan;
}

export class Prune extends Construct {
  constructor(scope: Construct, id: string, props: PruneProps) {
    super(scope, id);
    const { cluster, plan } = props;
    tokenlessServiceAccount(this, objectMeta(cluster.name, 'prune', plan.serviceAccountName, plan.namespace));
    toolsCronJob(this, cluster, 'prune', plan, PRUNE_BACKOFF_LIMIT, prunePodSpec(cluster, plan));
  }
}

function prunePodSpec(cluster: Cluster, plan: PrunePlan): k8s.PodSpec {
  const scratch = scratchVolume(cluster.backup.scratchSize);
  const config = configMapVolume('config', plan.configMapName, POD_PATHS.config);
  const volumes: k8s.Volume[] = [scratch.volume, config.volume];
  const mounts: k8s.VolumeMount[] = [scratch.mount, config.mount];
  for (const destination of plan.destinations) {
    if (!destination.caBundle) continue;
    const ca = caBundleVolume(`ca-${destination.storage}`, destination.caBundle);
    volumes.push(ca.volume);
    mounts.push(ca.mount);
  }
  return toolsPodSpec(cluster, {
    serviceAccountName: plan.serviceAccountName,
    runAsUser: plan.runAsUser,
    name: 'prune',
    command: agentCommand('prune', `${POD_PATHS.config}/${PRUNE_PLAN_FILE}`),
    // The destinations' env carries the prune credentials (under the names the plan gives).
    env: [TMPDIR_ENV, ...plan.destinations.flatMap(destinationEnv)],
    volumes,
    mounts,
  });
}
