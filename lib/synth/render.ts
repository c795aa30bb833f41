/** Inventory -> file tree (relative path -> text), in memory. Pure apart from reading the bundled scripts. */
import { App } from 'cdk8s';
import { stringify } from 'yaml';
import { ClusterChart } from '../constructs/cluster-chart';
import type { Inventory } from '../inventory/model';

export type FileTree = Map<string, string>;

export interface RenderOptions {
  /** Called after each cluster, for progress on a terminal. */
  readonly onCluster?: (done: number, total: number, cluster: string) => void;
}

export function toYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0, indent: 2, aliasDuplicateObjects: false });
}

interface ApiObjectJson {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
}

/** `cronjob-prod-eu-1-etcd-backup.yaml`: kind and name, unique within a cluster folder (the namespace is one per folder). */
export function objectFileName(object: ApiObjectJson): string {
  return `${object.kind.toLowerCase()}-${object.metadata.name}.yaml`;
}

export function kustomization(resources: readonly string[]): string {
  return toYaml({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [...resources].sort() });
}

export function renderInventory(inventory: Inventory, options: RenderOptions = {}): FileTree {
  const files: FileTree = new Map();
  const app = new App({ outdir: '/nonexistent' });
  inventory.clusters.forEach((cluster, index) => {
    const chart = new ClusterChart(app, { inventory, cluster });
    const names: string[] = [];
    for (const object of chart.toJson() as ApiObjectJson[]) {
      const name = objectFileName(object);
      if (names.includes(name)) throw new Error(`two objects of cluster ${cluster.name} would both be written to ${name}`);
      names.push(name);
      files.set(`${cluster.name}/${name}`, toYaml(object));
    }
    files.set(`${cluster.name}/kustomization.yaml`, kustomization(names));
    options.onCluster?.(index + 1, inventory.clusters.length, cluster.name);
  });
  return files;
}
