/** Inventory -> file tree (relative path -> text), in memory. Pure apart from reading the bundled scripts. */
import { App } from 'cdk8s';
import { ClusterChart } from '../constructs/cluster-chart';
import { planCluster } from '../plan/cluster';
import { renderRestoreFiles } from './restore-files';
import type { Inventory } from '../inventory/model';
import { renderGitops } from './gitops';
import { renderSummary } from './summary';
import { generatedHeader } from '../plan/version';
import { partFolder, partOfKind } from '../plan/gitops';
import { toYaml } from './yaml';
import { kustomization, objectFileName, type ApiObjectJson } from './files';

export type FileTree = Map<string, string>;

export interface RenderOptions {
  /** Called after each cluster, for progress on a terminal. */
  readonly onCluster?: (done: number, total: number, cluster: string) => void;
}

/**
 * Where synth writes one object of a cluster's chart (its part's folder) and the file's exact text, header included:
 * a user's own cdk8s app writes the same files with it.
 */
export function objectFile(cluster: string, object: ApiObjectJson): { readonly path: string; readonly text: string } {
  const path = `${objectFolder(cluster, object)}/${objectFileName(object)}`;
  return { path, text: generatedHeader(path) + toYaml(object) };
}

/** The core objects in the cluster folder, each optional part (alerts) in a folder of its own, synced on its own. */
function objectFolder(cluster: string, object: ApiObjectJson): string {
  return [cluster, partFolder(partOfKind(object.kind))].filter(Boolean).join('/');
}

export function renderInventory(inventory: Inventory, options: RenderOptions = {}): FileTree {
  return new Map(renderFiles(inventory, options));
}

/** renderFiles with the one-line generated-file header on every file: what the writer puts on disk. */
export function* renderFiles(inventory: Inventory, options: RenderOptions = {}): Generator<[string, string]> {
  for (const [path, text] of renderBodies(inventory, options)) yield [path, generatedHeader(path) + text];
}

/**
 * The files of renderInventory one by one, cluster after cluster: the writer can put each on disk as it comes, so
 * memory holds one cluster's output rather than the whole tree (about 490 MB of text at 10,000 clusters).
 */
function* renderBodies(inventory: Inventory, options: RenderOptions): Generator<[string, string]> {
  const total = inventory.clusters.length;
  for (const [index, cluster] of inventory.clusters.entries()) {
    // One App per chart: Chart.toJson() walks every construct of its App to resolve dependencies, so one shared App
    // made synthesis quadratic in the number of clusters (and kept every cluster's construct tree alive).
    const plan = planCluster(inventory, cluster);
    const chart = new ClusterChart(new App({ outdir: '/nonexistent' }), { plan });
    const parts = new Map<string, string[]>();
    for (const object of chart.toJson() as ApiObjectJson[]) {
      const folder = objectFolder(cluster.name, object);
      const name = objectFileName(object);
      const names = parts.get(folder) ?? [];
      if (names.includes(name)) throw new Error(`two objects of cluster ${cluster.name} would both be written to ${folder}/${name}`);
      names.push(name);
      parts.set(folder, names);
      yield [`${folder}/${name}`, toYaml(object)];
    }
    for (const [folder, names] of parts) yield [`${folder}/kustomization.yaml`, kustomization(names)];
    // Restore requests: their own folders, outside the cluster's kustomization (never applied by a sync).
    yield* renderRestoreFiles(plan);
    options.onCluster?.(index + 1, total, cluster.name);
  }
  // Fleet-level output: argocd/, flux/ and SUMMARY.md (each linear in the number of clusters).
  yield* renderGitops(inventory, toYaml, kustomization);
  yield ['SUMMARY.md', renderSummary(inventory)];
}
