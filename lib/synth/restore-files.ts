/**
 * The files of a cluster's restore requests: `restore-<id>/` with its objects, kustomization.yaml and RUNBOOK.md, and
 * for kubeadm `static-pods/<member>.yaml` (the restore without an API server, outside the kustomization).
 */
import { App } from 'cdk8s';
import { RestoreChart, RestoreStaticPodsChart, restorePlans } from '../constructs/restore';
import { STATIC_POD_FILES } from '../plan/restore';
import type { Cluster, Inventory } from '../inventory/model';
import { kustomization, objectFileName } from './files';
import { toYaml } from './yaml';
import { restoreRunbook } from './runbook';

export function* renderRestoreFiles(inventory: Inventory, cluster: Cluster): Generator<[string, string]> {
  for (const plan of restorePlans(inventory, cluster)) {
    const chart = new RestoreChart(new App({ outdir: '/nonexistent' }), `${cluster.name}-${plan.folder}`, { inventory, cluster, plan });
    const folder = `${cluster.name}/${plan.folder}`;
    const names: string[] = [];
    for (const object of chart.toJson() as Parameters<typeof objectFileName>[0][]) {
      const name = objectFileName(object);
      names.push(name);
      yield [`${folder}/${name}`, toYaml(object)];
    }
    // kubeadm without an API server: one static pod per member, copied onto its node by hand (never in kustomization.yaml)
    if (cluster.topology.kind === 'kubeadm') {
      const pods = new RestoreStaticPodsChart(new App({ outdir: '/nonexistent' }), `${cluster.name}-${plan.folder}-static-pods`, { inventory, cluster, plan });
      for (const [member, pod] of pods.pods) yield [`${folder}/${STATIC_POD_FILES.folder}/${member}.yaml`, toYaml(pod.toJson())];
    }
    yield [`${folder}/kustomization.yaml`, kustomization(names)];
    yield [`${folder}/RUNBOOK.md`, restoreRunbook(cluster, plan)];
  }
}
