/**
 * The restore drill of one cluster: a CronJob whose pod takes the newest complete backup from object storage,
 * verifies and restores it into scratch space, serves it with a throwaway etcd on 127.0.0.1 inside the pod, compares
 * it with the backup's metadata and records `<base>.drill.json` beside the backup (`agent drill`). It never
 * talks to the cluster's live etcd and needs no node access, so it meets Pod Security `restricted` everywhere.
 */
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import type { Cluster } from '../inventory/model';
import { DRILL_PLAN_FILE } from '../plan/agent';
import { POD_PATHS } from '../plan/backup';
import { DRILL_BACKOFF_LIMIT, DRILL_IDENTITY_KEY, DRILL_PATHS, type DrillPlan } from '../plan/drill';
import { tokenlessServiceAccount, toolsCronJob } from './backup-pod';
import { objectMeta } from './metadata';
import { agentCommand, caBundleVolume, configMapVolume, destinationEnv, scratchVolume, TMPDIR_ENV, toolsPodSpec } from './pod';

export interface DrillProps {
  readonly cluster: Cluster;
  readonly plan: DrillPlan;
}

export class Drill extends Construct {
  constructor(scope: Construct, id: string, props: DrillProps) {
    super(scope, id);
    const { cluster, plan } = props;
    tokenlessServiceAccount(this, objectMeta(cluster.name, 'drill', plan.serviceAccountName, plan.namespace));
    toolsCronJob(this, cluster, 'drill', plan, DRILL_BACKOFF_LIMIT, drillPodSpec(cluster, plan));
  }
}

/** The drill pod: one tools container, no host access, Pod Security `restricted`. */
function drillPodSpec(cluster: Cluster, plan: DrillPlan): k8s.PodSpec {
  const { backup } = cluster;
  const { source } = plan;
  const scratch = scratchVolume(backup.scratchSize);
  // The drill's plan is in the backup's config ConfigMap (drill-plan.json).
  const config = configMapVolume('config', plan.configMapName, POD_PATHS.config);
  const volumes: k8s.Volume[] = [scratch.volume, config.volume];
  const mounts: k8s.VolumeMount[] = [scratch.mount, config.mount];
  if (plan.identitySecret) {
    // Optional: without the Secret the drill still verifies, and says plainly that it did not restore.
    volumes.push({
      name: 'identity',
      secret: { secretName: plan.identitySecret, optional: true, defaultMode: 0o400, items: [{ key: DRILL_IDENTITY_KEY, path: DRILL_IDENTITY_KEY }] },
    });
    mounts.push({ name: 'identity', mountPath: DRILL_PATHS.identity, readOnly: true });
  }
  // Everything else is in the plan; the env carries the storage's credentials (and a bucket claim's values).
  const env: k8s.EnvVar[] = [TMPDIR_ENV, ...destinationEnv(source)];
  if (source.caBundle) {
    const ca = caBundleVolume('ca-source', source.caBundle);
    volumes.push(ca.volume);
    mounts.push(ca.mount);
  }
  return toolsPodSpec(cluster, {
    serviceAccountName: plan.serviceAccountName,
    runAsUser: plan.runAsUser,
    name: 'drill',
    command: agentCommand('drill', `${POD_PATHS.config}/${DRILL_PLAN_FILE}`),
    env,
    volumes,
    mounts,
  });
}
