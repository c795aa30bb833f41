/**
 * The restore drill of one cluster: a CronJob whose pod takes the newest complete backup from object storage,
 * verifies and restores it into scratch space, serves it with a throwaway etcd on 127.0.0.1 inside the pod, compares
 * it with the backup's metadata and records `<base>.drill.json` beside the backup (`agent drill`). It never
 * talks to the cluster's live etcd and needs no node access, so it meets Pod Security `restricted` everywhere.
 */
import { k8s } from 'cdk8s-plus-28';
import type { Cluster } from '../inventory/model';
import { DRILL_PLAN_FILE } from '../plan/agent';
import { DRILL_IDENTITY_KEY, DRILL_PATHS, type DrillPlan } from '../plan/drill';
import { caBundleVolume, destinationEnv, toolsPodSpec, type MountedVolume } from './pod';

/** The drill pod: one tools container, no host access, Pod Security `restricted`. */
export function drillPodSpec(cluster: Cluster, plan: DrillPlan): k8s.PodSpec {
  const { source } = plan;
  const volumes: MountedVolume[] = [];
  if (plan.identitySecret) {
    // Optional: without the Secret the drill still verifies, and says plainly that it did not restore.
    volumes.push({
      volume: {
        name: 'identity',
        secret: { secretName: plan.identitySecret, optional: true, defaultMode: 0o400, items: [{ key: DRILL_IDENTITY_KEY, path: DRILL_IDENTITY_KEY }] },
      },
      mount: { name: 'identity', mountPath: DRILL_PATHS.identity, readOnly: true },
    });
  }
  if (source.caBundle) volumes.push(caBundleVolume('ca-source', source.caBundle));
  return toolsPodSpec(cluster, {
    serviceAccountName: plan.serviceAccountName,
    runAsUser: plan.runAsUser,
    command: 'drill',
    // The drill's plan is in the backup's config ConfigMap.
    configMapName: plan.configMapName,
    planFile: DRILL_PLAN_FILE,
    // Everything else is in the plan; the env carries the storage's credentials (and a bucket claim's values).
    env: destinationEnv(source),
    volumes,
    destinations: [source],
  });
}
