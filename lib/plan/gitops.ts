/**
 * Pure GitOps decisions: which folder of the GitOps repository holds a cluster, where Argo CD sends it, how Flux
 * reaches it. kubeadm clusters get their objects on the cluster itself; hosted clusters' objects live in the
 * management cluster, beside the tenant's etcd.
 */
import type { Cluster, Inventory } from '../inventory/model';
import { INVENTORY_DEFAULTS } from '../inventory/defaults';
import type { GitopsSpec } from '../inventory/schema';
import { GITOPS_FLEET_NAME, gitopsObjectName } from './names';

/** Path of a cluster's folder in the GitOps repository: `<gitops.path>/<cluster>`. */
function gitopsClusterFolder(gitops: Pick<GitopsSpec, 'path'>, cluster: string): string {
  return gitops.path ? `${gitops.path.replace(/\/+$/, '')}/${cluster}` : cluster;
}

/** Path of a part of a cluster folder. */
function partPath(folder: string, part: ClusterPart): string {
  return part === 'core' ? folder : `${folder}/${partFolder(part)}`;
}

/** Argo CD destination cluster: by API server URL (`server`) or by the name it is registered under (`name`). */
export type ArgoDestination = { readonly server: string } | { readonly name: string };

const looksLikeUrl = (value: string) => /^https?:\/\//.test(value);

function argoDestination(inventory: Inventory, cluster: Cluster): ArgoDestination {
  const target = cluster.topology.kind === 'kubeadm'
    ? cluster.gitops.argocdCluster ?? cluster.name
    : inventory.gitops?.argocd?.managementCluster ?? INVENTORY_DEFAULTS.gitops.argocd.managementCluster;
  return looksLikeUrl(target) ? { server: target } : { name: target };
}

/** Flux: the kubeconfig Secret (key `value`) of a kubeadm cluster; none for hosted ones (Flux runs where they live). */
function fluxKubeConfigSecret(cluster: Cluster): string | undefined {
  if (cluster.topology.kind !== 'kubeadm') return undefined;
  return cluster.gitops.fluxKubeConfigSecret ?? `${cluster.name}-kubeconfig`;
}

/** Git reference of a revision: a full commit id, a full ref name (`refs/tags/v1`), or a branch. */
export function gitReference(revision: string): { readonly commit: string } | { readonly name: string } | { readonly branch: string } {
  if (/^[0-9a-f]{40}$/.test(revision)) return { commit: revision };
  if (revision.startsWith('refs/')) return { name: revision };
  return { branch: revision };
}

/**
 * Argo CD syncs each cluster folder with these options: the Namespace is ours (kubeadm) or the tenant's (hosted);
 * server-side apply, as Flux does; and the ignoreDifferences below are respected when syncing, not only when diffing.
 */
export const ARGOCD_SYNC_OPTIONS = ['CreateNamespace=false', 'ServerSideApply=true', 'RespectIgnoreDifferences=true'] as const;

/**
 * An on-demand backup Job is created once and never updated: its pod template is immutable in the API server, so
 * applying an edited spec would fail the sync (and, with Flux, the whole Kustomization). Argo CD keeps the live
 * `spec` of every Job of the folder (the only Jobs in a cluster folder are on-demand backups; the CronJob's Jobs are
 * not the Application's); Flux is told the same by the Job's `kustomize.toolkit.fluxcd.io/ssa: IfNotPresent`.
 */
export const ARGOCD_IGNORE_DIFFERENCES = [{ group: 'batch', kind: 'Job', jsonPointers: ['/spec'] }] as const;

/**
 * The parts of a cluster folder, each synced by its own Application / Kustomization: `core` (namespace, identity,
 * credentials, configuration, CronJobs, on-demand Jobs) and the optional parts, whose kinds come from CRDs a
 * cluster may lack. A missing CRD then fails the optional part alone, and says so there; the backups still run.
 */
export type ClusterPart = 'core' | 'alerts';

const OPTIONAL_PART_OF_KIND: Readonly<Record<string, Exclude<ClusterPart, 'core'>>> = { PrometheusRule: 'alerts' };

/** The part an object of this kind belongs to. */
export const partOfKind = (kind: string): ClusterPart => OPTIONAL_PART_OF_KIND[kind] ?? 'core';

/** Folder of a part inside the cluster's folder: the core is the cluster folder itself, `alerts` is `alerts/`. */
export const partFolder = (part: ClusterPart): string => (part === 'core' ? '' : part);

/** The parts a cluster has: the core always, alerts when enabled. */
export function clusterParts(cluster: Cluster): ClusterPart[] {
  return ['core', ...(cluster.backup.alerts.enabled ? ['alerts' as const] : [])];
}

/**
 * Annotations that tell Argo CD and Flux how to treat objects of a kind (sources: Argo CD's user guide, "Sync
 * Options": Prune=false, Delete=false, SkipDryRunOnMissingResource, RespectIgnoreDifferences; Flux's
 * kustomize-controller, "Kustomization": `kustomize.toolkit.fluxcd.io/ssa` and `kustomize.toolkit.fluxcd.io/prune`), written on the object so both tools (and a
 * reader of dist/) see them:
 * - Namespace: never pruned or deleted with the Application / Kustomization; it may hold Secrets people created
 *   (drill and restore identities, existingSecret credentials). Removing a cluster leaves it, empty of our objects.
 * - Job (on-demand backups): created if absent, never updated (see ARGOCD_IGNORE_DIFFERENCES).
 * - PrometheusRule: Argo CD skips its dry run when the CRD is missing, so the rest of its sync is not held back.
 */
export const GITOPS_ANNOTATIONS_BY_KIND: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  Namespace: { 'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false', 'kustomize.toolkit.fluxcd.io/prune': 'disabled' },
  Job: { 'kustomize.toolkit.fluxcd.io/ssa': 'IfNotPresent' },
  PrometheusRule: { 'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true' },
};
/** Deleting the Application deletes what it deployed, as removing a cluster from the inventory removes its folder. */
export const ARGOCD_RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';

export interface ArgoApplicationPlan {
  readonly cluster: string;
  readonly part: ClusterPart;
  /** Application name, in the Argo CD namespace. */
  readonly name: string;
  readonly namespace: string;
  readonly project: string;
  readonly repoURL: string;
  readonly revision: string;
  readonly path: string;
  readonly destination: ArgoDestination & { readonly namespace: string };
  /** Undefined: manual sync. */
  readonly automated?: { readonly prune: boolean; readonly selfHeal: boolean };
  /** Set the resources finalizer (when pruning): a removed Application takes its objects with it. */
  readonly cascadeDelete: boolean;
}

/** Argo CD settings of the inventory with their defaults applied, or undefined when Argo CD is not used. */
export function argoSettings(inventory: Inventory) {
  return inventory.gitops?.argocd && { gitops: inventory.gitops, argocd: inventory.gitops.argocd };
}

export function planArgoApplication(inventory: Inventory, cluster: Cluster, part: ClusterPart = 'core'): ArgoApplicationPlan {
  const settings = argoSettings(inventory);
  if (!settings) throw new Error('planArgoApplication needs gitops.argocd in the inventory');
  const { gitops, argocd } = settings;
  return {
    cluster: cluster.name,
    part,
    name: gitopsObjectName(cluster.name, part),
    namespace: argocd.namespace,
    project: argocd.project,
    repoURL: gitops.repoURL,
    revision: gitops.revision,
    path: partPath(gitopsClusterFolder(gitops, cluster.name), part),
    destination: { ...argoDestination(inventory, cluster), namespace: cluster.topology.namespace },
    ...(argocd.automated ? { automated: { prune: argocd.prune, selfHeal: argocd.selfHeal } } : {}),
    cascadeDelete: argocd.prune,
  };
}

export interface FluxSourcePlan {
  readonly kind: 'GitRepository' | 'OCIRepository';
  readonly name: string;
  /** Set when this tool writes the GitRepository; undefined when `flux.sourceRef` names an existing source. */
  readonly gitRepository?: {
    readonly namespace: string;
    readonly url: string;
    readonly ref: ReturnType<typeof gitReference>;
    readonly secretRef?: string;
    readonly interval: string;
  };
}

export interface FluxKustomizationPlan {
  readonly cluster: string;
  readonly part: ClusterPart;
  /** The optional parts wait for the core to be ready: a failing alert never holds back a backup, nor the reverse. */
  readonly dependsOn: readonly string[];
  readonly name: string;
  readonly namespace: string;
  /** `./<gitops.path>/<cluster>`, relative to the source's root. */
  readonly path: string;
  readonly interval: string;
  readonly prune: boolean;
  readonly wait: boolean;
  readonly source: { readonly kind: 'GitRepository' | 'OCIRepository'; readonly name: string };
  /** kubeadm: the Secret (key `value`) with the kubeconfig of the cluster; hosted: none. */
  readonly kubeConfigSecret?: string;
}

export function fluxSettings(inventory: Inventory) {
  return inventory.gitops?.flux && { gitops: inventory.gitops, flux: inventory.gitops.flux };
}

export function planFluxSource(inventory: Inventory): FluxSourcePlan {
  const settings = fluxSettings(inventory);
  if (!settings) throw new Error('planFluxSource needs gitops.flux in the inventory');
  const { gitops, flux } = settings;
  if (flux.sourceRef) return { kind: flux.sourceRef.kind, name: flux.sourceRef.name };
  return {
    kind: 'GitRepository',
    name: GITOPS_FLEET_NAME,
    gitRepository: {
      namespace: flux.namespace,
      url: gitops.repoURL,
      ref: gitReference(gitops.revision),
      ...(flux.secretRef ? { secretRef: flux.secretRef } : {}),
      interval: flux.interval,
    },
  };
}

/**
 * Clusters are independent of each other (no dependsOn between them); within a cluster, an optional part depends on
 * the core, so Flux applies the backups first and reports a missing CRD on the optional part alone.
 */
export function planFluxKustomization(inventory: Inventory, cluster: Cluster, source: FluxSourcePlan, part: ClusterPart = 'core'): FluxKustomizationPlan {
  const settings = fluxSettings(inventory);
  if (!settings) throw new Error('planFluxKustomization needs gitops.flux in the inventory');
  const { gitops, flux } = settings;
  const kubeConfigSecret = fluxKubeConfigSecret(cluster);
  return {
    cluster: cluster.name,
    part,
    dependsOn: part === 'core' ? [] : [gitopsObjectName(cluster.name)],
    name: gitopsObjectName(cluster.name, part),
    namespace: flux.namespace,
    path: `./${partPath(gitopsClusterFolder(gitops, cluster.name), part)}`,
    interval: flux.interval,
    prune: flux.prune,
    wait: flux.wait,
    source: { kind: source.kind, name: source.name },
    ...(kubeConfigSecret ? { kubeConfigSecret } : {}),
  };
}
