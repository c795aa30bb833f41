/**
 * GitOps wiring of the synthesized folders: Argo CD Applications (or one ApplicationSet) and Flux Kustomizations
 * with their GitRepository. Every decision is made in lib/plan/gitops.ts; these constructs only write objects.
 */
import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { Application, type ApplicationSpec, toJson_ApplicationSpec } from '../../imports/applications-argoproj.io';
import { GitRepository } from '../../imports/gitrepositories-source.toolkit.fluxcd.io';
import { Kustomization, KustomizationSpecSourceRefKind } from '../../imports/kustomizations-kustomize.toolkit.fluxcd.io';
import type { Cluster, Inventory } from '../inventory/model';
import {
  ARGOCD_IGNORE_DIFFERENCES, ARGOCD_RESOURCES_FINALIZER, ARGOCD_SYNC_OPTIONS, type ArgoApplicationPlan, argoSettings, clusterParts,
  type FluxKustomizationPlan, type FluxSourcePlan, fluxSettings, planArgoApplication, planFluxKustomization, planFluxSource,
} from '../plan/gitops';
import { GITOPS_FLEET_NAME } from '../plan/names';
import { objectMeta } from './metadata';

/** The Application spec of one cluster; the ApplicationSet template is the same with placeholders. */
function applicationSpec(plan: ArgoApplicationPlan): ApplicationSpec {
  return {
    project: plan.project,
    source: { repoUrl: plan.repoURL, targetRevision: plan.revision, path: plan.path },
    destination: plan.destination,
    ignoreDifferences: ARGOCD_IGNORE_DIFFERENCES.map((entry) => ({ ...entry, jsonPointers: [...entry.jsonPointers] })),
    syncPolicy: {
      ...(plan.automated ? { automated: { prune: plan.automated.prune, selfHeal: plan.automated.selfHeal } } : {}),
      syncOptions: [...ARGOCD_SYNC_OPTIONS],
    },
  };
}

/** Props of a construct that writes one cluster's GitOps object: that object's plan (lib/plan/gitops.ts). */
export interface GitopsObjectProps<Plan> {
  readonly plan: Plan;
}

export type ArgoCdApplicationProps = GitopsObjectProps<ArgoApplicationPlan>;

/** One cluster's folder, synced by Argo CD to the cluster (kubeadm) or to the management cluster (hosted). */
class ArgoCdApplication extends Construct {
  constructor(scope: Construct, id: string, props: ArgoCdApplicationProps) {
    super(scope, id);
    const { plan } = props;
    const metadata = objectMeta(plan.cluster, 'gitops', plan.name, plan.namespace);
    new Application(this, 'Resource', {
      metadata: { ...metadata, ...(plan.cascadeDelete ? { finalizers: [ARGOCD_RESOURCES_FINALIZER] } : {}) },
      spec: applicationSpec(plan),
    });
  }
}

export interface ArgoCdApplicationSetProps {
  readonly plans: readonly ArgoApplicationPlan[];
}

/**
 * One ApplicationSet with a list generator: an element per cluster, the same Applications as in `applications`
 * mode. Written as a plain ApiObject (validated against its CRD by the tests): its generated class is 3 MB of code.
 */
class ArgoCdApplicationSet extends Construct {
  constructor(scope: Construct, id: string, props: ArgoCdApplicationSetProps) {
    super(scope, id);
    const [first] = props.plans;
    // Empty strings: Argo CD reads an empty `server` or `name` as unset, so each element sets exactly one.
    const elements = props.plans.map((plan) => ({
      cluster: plan.cluster,
      name: plan.name,
      path: plan.path,
      destinationName: 'name' in plan.destination ? plan.destination.name : '',
      destinationServer: 'server' in plan.destination ? plan.destination.server : '',
      namespace: plan.destination.namespace,
    }));
    const template = {
      ...first,
      path: '{{.path}}',
      destination: { name: '{{.destinationName}}', server: '{{.destinationServer}}', namespace: '{{.namespace}}' },
    } as unknown as ArgoApplicationPlan;
    new ApiObject(this, 'Resource', {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'ApplicationSet',
      metadata: objectMeta(GITOPS_FLEET_NAME, 'gitops', GITOPS_FLEET_NAME, first.namespace),
      spec: {
        goTemplate: true,
        goTemplateOptions: ['missingkey=error'],
        generators: [{ list: { elements } }],
        template: {
          metadata: {
            ...objectMeta('{{.cluster}}', 'gitops', '{{.name}}'),
            ...(first.cascadeDelete ? { finalizers: [ARGOCD_RESOURCES_FINALIZER] } : {}),
          },
          spec: toJson_ApplicationSpec(applicationSpec(template)),
        },
      },
    });
  }
}

export interface FluxGitRepositoryProps {
  readonly source: FluxSourcePlan & { readonly gitRepository: NonNullable<FluxSourcePlan['gitRepository']> };
}

/** The Git source of every cluster's Kustomization (unless `flux.sourceRef` names one that exists). */
class FluxGitRepository extends Construct {
  constructor(scope: Construct, id: string, props: FluxGitRepositoryProps) {
    super(scope, id);
    const { name, gitRepository: git } = props.source;
    new GitRepository(this, 'Resource', {
      metadata: objectMeta(GITOPS_FLEET_NAME, 'gitops', name, git.namespace),
      spec: {
        url: git.url,
        ref: git.ref,
        interval: git.interval,
        ...(git.secretRef ? { secretRef: { name: git.secretRef } } : {}),
      },
    });
  }
}

export type FluxKustomizationProps = GitopsObjectProps<FluxKustomizationPlan>;

/** One cluster's folder, applied by Flux to the cluster through its kubeconfig (kubeadm) or where Flux runs (hosted). */
class FluxKustomization extends Construct {
  constructor(scope: Construct, id: string, props: FluxKustomizationProps) {
    super(scope, id);
    const { plan } = props;
    new Kustomization(this, 'Resource', {
      metadata: objectMeta(plan.cluster, 'gitops', plan.name, plan.namespace),
      spec: {
        interval: plan.interval,
        path: plan.path,
        prune: plan.prune,
        wait: plan.wait,
        ...(plan.dependsOn.length ? { dependsOn: plan.dependsOn.map((name) => ({ name })) } : {}),
        sourceRef: {
          kind: plan.source.kind === 'OCIRepository' ? KustomizationSpecSourceRefKind.OCI_REPOSITORY : KustomizationSpecSourceRefKind.GIT_REPOSITORY,
          name: plan.source.name,
        },
        ...(plan.kubeConfigSecret ? { kubeConfig: { secretRef: { name: plan.kubeConfigSecret, key: 'value' } } } : {}),
      },
    });
  }
}

export interface ClusterGitopsChartProps {
  readonly inventory: Inventory;
  readonly cluster: Cluster;
  /** The fleet's Flux source, planned once. */
  readonly fluxSource?: FluxSourcePlan;
}

/** The GitOps objects of one cluster: an Application (applications mode) and a Flux Kustomization per part. */
export class ClusterGitopsChart extends Chart {
  constructor(scope: Construct, props: ClusterGitopsChartProps) {
    super(scope, `gitops-${props.cluster.name}`, { disableResourceNameHashes: true });
    const { inventory, cluster, fluxSource } = props;
    for (const part of clusterParts(cluster)) {
      // The core keeps the ids it always had; an optional part adds its own.
      const suffix = part === 'core' ? '' : `-${part}`;
      if (argoSettings(inventory)?.argocd.mode === 'applications') {
        new ArgoCdApplication(this, `Application${suffix}`, { plan: planArgoApplication(inventory, cluster, part) });
      }
      if (fluxSource) {
        new FluxKustomization(this, `Kustomization${suffix}`, { plan: planFluxKustomization(inventory, cluster, fluxSource, part) });
      }
    }
  }
}

export interface FleetGitopsChartProps {
  readonly inventory: Inventory;
  readonly fluxSource?: FluxSourcePlan;
}

/** Fleet-level GitOps objects: the ApplicationSet (applicationSet mode) and the Flux GitRepository. */
export class FleetGitopsChart extends Chart {
  constructor(scope: Construct, props: FleetGitopsChartProps) {
    super(scope, 'gitops', { disableResourceNameHashes: true });
    const { inventory, fluxSource } = props;
    if (argoSettings(inventory)?.argocd.mode === 'applicationSet' && inventory.clusters.length > 0) {
      const plans = inventory.clusters.flatMap((cluster) => clusterParts(cluster).map((part) => planArgoApplication(inventory, cluster, part)));
      new ArgoCdApplicationSet(this, 'ApplicationSet', { plans });
    }
    if (fluxSource?.gitRepository) {
      new FluxGitRepository(this, 'GitRepository', { source: { ...fluxSource, gitRepository: fluxSource.gitRepository } });
    }
  }
}

/** The fleet's Flux source when Flux is used. */
export function fluxSourceOf(inventory: Inventory): FluxSourcePlan | undefined {
  return fluxSettings(inventory) ? planFluxSource(inventory) : undefined;
}
