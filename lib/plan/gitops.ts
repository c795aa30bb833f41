/**
 * Pure GitOps decisions: which folder of the GitOps repository holds a cluster, where Argo CD sends it, how Flux
 * reaches it. kubeadm clusters get their objects on the cluster itself; hosted clusters' objects live in the
 * management cluster, beside the tenant's etcd.
 */
import type { Cluster, Inventory } from '../inventory/model';
import type { GitopsSpec } from '../inventory/schema';
import { GITOPS_FLEET_NAME, gitopsObjectName } from './names';

/** Path of a cluster's folder in the GitOps repository: `<gitops.path>/<cluster>`. */
export function clusterFolder(gitops: Pick<GitopsSpec, 'path'>, cluster: string): string {
  return gitops.path ? `${gitops.path.replace(/\/+$/, '')}/${cluster}` : cluster;
}

/** Argo CD destination cluster: by API server URL (`server`) or by the name it is registered under (`name`). */
export type ArgoDestination = { readonly server: string } | { readonly name: string };

const looksLikeUrl = (value: string) => /^https?:\/\//.test(value);

export function argoDestination(inventory: Inventory, cluster: Cluster): ArgoDestination {
  const target = cluster.topology.kind === 'kubeadm'
    ? cluster.gitops.argocdCluster ?? cluster.name
    : inventory.gitops?.argocd?.managementCluster ?? 'in-cluster';
  return looksLikeUrl(target) ? { server: target } : { name: target };
}

/** Flux: the kubeconfig Secret (key `value`) of a kubeadm cluster; none for hosted ones (Flux runs where they live). */
export function fluxKubeConfigSecret(cluster: Cluster): string | undefined {
  if (cluster.topology.kind !== 'kubeadm') return undefined;
  return cluster.gitops.fluxKubeConfigSecret ?? `${cluster.name}-kubeconfig`;
}

/** Git reference of a revision: a full commit id, a full ref name (`refs/tags/v1`), or a branch. */
export function gitReference(revision: string): { readonly commit: string } | { readonly name: string } | { readonly branch: string } {
  if (/^[0-9a-f]{40}$/.test(revision)) return { commit: revision };
  if (revision.startsWith('refs/')) return { name: revision };
  return { branch: revision };
}

/** Argo CD syncs each cluster folder with these options: the Namespace is ours (kubeadm) or the tenant's (hosted). */
export const ARGOCD_SYNC_OPTIONS = ['CreateNamespace=false', 'ServerSideApply=true'] as const;
/** Deleting the Application deletes what it deployed, as removing a cluster from the inventory removes its folder. */
export const ARGOCD_RESOURCES_FINALIZER = 'resources-finalizer.argocd.argoproj.io';

export interface ArgoApplicationPlan {
  readonly cluster: string;
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

export function planArgoApplication(inventory: Inventory, cluster: Cluster): ArgoApplicationPlan {
  const settings = argoSettings(inventory);
  if (!settings) throw new Error('planArgoApplication needs gitops.argocd in the inventory');
  const { gitops, argocd } = settings;
  return {
    cluster: cluster.name,
    name: gitopsObjectName(cluster.name),
    namespace: argocd.namespace,
    project: argocd.project,
    repoURL: gitops.repoURL,
    revision: gitops.revision,
    path: clusterFolder(gitops, cluster.name),
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

/** No dependsOn: the clusters are independent of each other, and a Kustomization waits for its source by itself. */
export function planFluxKustomization(inventory: Inventory, cluster: Cluster, source: FluxSourcePlan): FluxKustomizationPlan {
  const settings = fluxSettings(inventory);
  if (!settings) throw new Error('planFluxKustomization needs gitops.flux in the inventory');
  const { gitops, flux } = settings;
  const kubeConfigSecret = fluxKubeConfigSecret(cluster);
  return {
    cluster: cluster.name,
    name: gitopsObjectName(cluster.name),
    namespace: flux.namespace,
    path: `./${clusterFolder(gitops, cluster.name)}`,
    interval: flux.interval,
    prune: flux.prune,
    wait: flux.wait,
    source: { kind: source.kind, name: source.name },
    ...(kubeConfigSecret ? { kubeConfigSecret } : {}),
  };
}
