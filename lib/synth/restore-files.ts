/** The files of a cluster's restore requests: `restore-<id>/` with its objects, kustomization.yaml and RUNBOOK.md. */
import { App } from 'cdk8s';
import { RestoreChart, restorePlans } from '../constructs/restore';
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
    yield [`${folder}/kustomization.yaml`, kustomization(names)];
    yield [`${folder}/RUNBOOK.md`, restoreRunbook(cluster, plan)];
  }
}
