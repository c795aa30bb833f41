/**
 * The files of a cluster's restore requests: `restore-<id>/` with its objects, kustomization.yaml and RUNBOOK.md, and
 * for kubeadm `static-pods/<member>.yaml` (the restore without an API server, outside the kustomization).
 */
import { App } from 'cdk8s';
import { RestoreChart, RestoreStaticPodsChart } from '../constructs/restore';
import type { ClusterPlan } from '../plan/cluster';
import { kustomization, objectFileName } from './files';
import { toYaml } from './yaml';
import { restoreRunbook } from './runbook';

export function* renderRestoreFiles({ cluster, restores }: ClusterPlan): Generator<[string, string]> {
  for (const plan of restores) {
    const chart = new RestoreChart(new App({ outdir: '/nonexistent' }), `${cluster.name}-${plan.folder}`, { cluster, plan });
    const folder = `${cluster.name}/${plan.folder}`;
    const names: string[] = [];
    for (const object of chart.toJson() as Parameters<typeof objectFileName>[0][]) {
      const name = objectFileName(object);
      names.push(name);
      yield [`${folder}/${name}`, toYaml(object)];
    }
    // kubeadm without an API server: one static pod per member, copied onto its node by hand (never in kustomization.yaml)
    if (plan.staticPods) {
      const pods = new RestoreStaticPodsChart(new App({ outdir: '/nonexistent' }), `${cluster.name}-${plan.folder}-static-pods`, { cluster, plan });
      for (const [file, pod] of pods.pods) yield [`${folder}/${file}`, toYaml(pod.toJson())];
    }
    yield [`${folder}/kustomization.yaml`, kustomization(names)];
    yield [`${folder}/RUNBOOK.md`, restoreRunbook(cluster, plan)];
  }
}
