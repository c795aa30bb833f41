/**
 * Fleet-level GitOps output: `argocd/` (an Application per cluster, or one ApplicationSet) and `flux/` (a
 * GitRepository and a Kustomization per cluster), each folder with a kustomization.yaml listing its files.
 * A cluster's objects are named after it, so editing one cluster changes its own files only (Applications mode).
 */
import { App, type Chart } from 'cdk8s';
import { ClusterGitopsChart, FleetGitopsChart, fluxSourceOf } from '../constructs/gitops';
import type { Inventory } from '../inventory/model';
import { argoSettings } from '../plan/gitops';
import { GITOPS_FLEET_NAME } from '../plan/names';

interface GitopsObjectJson {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly labels: Record<string, string> };
}

/** `argocd` or `flux`, by API group. */
function folderOf(object: GitopsObjectJson): 'argocd' | 'flux' {
  return object.apiVersion.startsWith('argoproj.io/') ? 'argocd' : 'flux';
}

/**
 * `application-<cluster>.yaml`, `application-<cluster>.alerts.yaml`, `kustomization-<cluster>.yaml`,
 * `gitrepository-controlplane-backup.yaml`: the kind and the object's name without the common prefix.
 */
function fileNameOf(object: GitopsObjectJson): string {
  const name = object.metadata.name.startsWith(`${GITOPS_FLEET_NAME}-`) ? object.metadata.name.slice(GITOPS_FLEET_NAME.length + 1) : object.metadata.name;
  return `${object.kind.toLowerCase()}-${name}.yaml`;
}

/** Files under `argocd/` and `flux/`, by path; empty when the inventory has no `gitops`. */
export function renderGitops(inventory: Inventory, toYaml: (value: unknown) => string, kustomization: (files: readonly string[]) => string): Map<string, string> {
  const files = new Map<string, string>();
  if (!inventory.gitops) return files;
  const folders = { argocd: [] as string[], flux: [] as string[] };
  const add = (chart: Chart) => {
    for (const object of chart.toJson() as GitopsObjectJson[]) {
      const folder = folderOf(object);
      const name = fileNameOf(object);
      const path = `${folder}/${name}`;
      if (files.has(path)) throw new Error(`two GitOps objects would both be written to ${path}`);
      files.set(path, toYaml(object));
      folders[folder].push(name);
    }
  };
  const fluxSource = fluxSourceOf(inventory);
  // A chart (and App) per cluster: one App with every chart would make toJson walk the whole fleet each time.
  add(new FleetGitopsChart(new App({ outdir: '/nonexistent' }), { inventory, fluxSource }));
  for (const cluster of inventory.clusters) {
    add(new ClusterGitopsChart(new App({ outdir: '/nonexistent' }), { inventory, cluster, fluxSource }));
  }
  if (argoSettings(inventory)) files.set('argocd/kustomization.yaml', kustomization(folders.argocd));
  if (fluxSource) files.set('flux/kustomization.yaml', kustomization(folders.flux));
  return files;
}
