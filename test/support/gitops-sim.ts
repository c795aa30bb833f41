/**
 * A model of how Flux's kustomize-controller and Argo CD apply and remove a folder, faithful to what the GitOps
 * tests rely on (each rule from the tools' documentation, or measured on a real API server):
 * - the API server knows built-in kinds and the CRDs installed; a server-side dry run of an unknown kind fails with
 *   `no matches for kind "K" in version "V"`, of an object in a missing namespace with `namespaces "N" not found`, and
 *   an update of an immutable field with `field is immutable` (IMMUTABLE_FIELDS);
 * - Flux applies Namespaces (and CRDs) first, then dry-runs every other object of the Kustomization and applies
 *   nothing more when any dry run fails: the Kustomization fails whole and says why; a Kustomization whose dependsOn
 *   is not Ready waits (`dependency 'NS/NAME' is not ready`); `kustomize.toolkit.fluxcd.io/ssa: IfNotPresent` objects
 *   are created when absent and never patched; pruning (and deleting the Kustomization) removes what its inventory
 *   lists, except objects with `kustomize.toolkit.fluxcd.io/prune: disabled`;
 * - Argo CD, with RespectIgnoreDifferences, syncs the live value of every ignoreDifferences pointer instead of Git's;
 *   deleting an Application that has the resources finalizer deletes what it tracks, except `Delete=false` objects.
 */
import { parse } from 'yaml';
import { groupKind, immutableChanges } from './immutable-fields';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string>; finalizers?: string[] };
  [field: string]: any;
}

export const BUILTIN_KINDS = [
  'v1/Namespace', 'v1/ConfigMap', 'v1/Secret', 'v1/ServiceAccount', 'v1/Service', 'batch/v1/CronJob', 'batch/v1/Job',
  'apps/v1/StatefulSet', 'apps/v1/Deployment', 'networking.k8s.io/v1/NetworkPolicy', 'rbac.authorization.k8s.io/v1/Role',
  'rbac.authorization.k8s.io/v1/RoleBinding',
];
const CLUSTER_SCOPED = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding']);

export const keyOf = (object: KubeObject) => `${groupKind(object)}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
const describe = (object: KubeObject) => [object.kind, object.metadata.namespace, object.metadata.name].filter(Boolean).join('/');

export class FakeApiServer {
  readonly objects = new Map<string, KubeObject>();
  private readonly kinds: Set<string>;

  constructor(crdKinds: readonly string[] = []) {
    this.kinds = new Set([...BUILTIN_KINDS, ...crdKinds]);
  }

  installCrd(apiVersionKind: string): void {
    this.kinds.add(apiVersionKind);
  }

  get(object: KubeObject): KubeObject | undefined {
    return this.objects.get(keyOf(object));
  }

  /** What a server-side apply dry run answers: undefined when the apply would pass. */
  dryRun(object: KubeObject): string | undefined {
    if (!this.kinds.has(`${object.apiVersion}/${object.kind}`)) return `no matches for kind "${object.kind}" in version "${object.apiVersion}"`;
    const namespace = object.metadata.namespace;
    if (!CLUSTER_SCOPED.has(object.kind) && namespace && !this.objects.has(`core/Namespace//${namespace}`)) return `namespaces "${namespace}" not found`;
    const live = this.get(object);
    const changed = live ? immutableChanges(live, object) : [];
    if (changed.length) return `${object.kind} "${object.metadata.name}" is invalid: ${changed.join(', ')}: field is immutable`;
    return undefined;
  }

  apply(object: KubeObject): void {
    const error = this.dryRun(object);
    if (error) throw new Error(error);
    this.objects.set(keyOf(object), structuredClone(object));
  }

  delete(key: string): void {
    this.objects.delete(key);
  }
}

/** The objects a kustomization.yaml lists, from a rendered file tree (paths relative to dist/). */
export function buildFolder(files: ReadonlyMap<string, string>, folder: string): KubeObject[] {
  const text = files.get(`${folder}/kustomization.yaml`);
  if (text === undefined) throw new Error(`kustomize build ${folder}: no kustomization.yaml`);
  return (parse(text).resources as string[]).map((resource) => parse(files.get(`${folder}/${resource}`)!) as KubeObject);
}

export interface FluxStatus {
  ready: boolean;
  message: string;
  /** Keys of the objects applied (the Kustomization's status.inventory). */
  inventory: string[];
}

const IF_NOT_PRESENT = (object: KubeObject) => object.metadata.annotations?.['kustomize.toolkit.fluxcd.io/ssa'] === 'IfNotPresent';
const PRUNE_DISABLED = (object: KubeObject) => object.metadata.annotations?.['kustomize.toolkit.fluxcd.io/prune'] === 'disabled';

/** kustomize-controller over a set of Kustomizations (paths `./dist/...` inside `files`, which is dist/). */
export class FluxController {
  readonly status = new Map<string, FluxStatus>();
  /** Names in the order they became Ready, for the dependency-order assertions. */
  readonly appliedOrder: string[] = [];

  constructor(private readonly serverOf: (kustomization: KubeObject) => FakeApiServer) {}

  /** One pass of every Kustomization, each after its dependencies (as the controller's requeues converge to). */
  reconcileAll(kustomizations: readonly KubeObject[], files: ReadonlyMap<string, string>): void {
    const pending = new Map(kustomizations.map((k) => [k.metadata.name, k]));
    const done = new Set<string>();
    const previous = new Set(this.status.keys());
    while (pending.size) {
      const ready = [...pending.values()].filter((k) => (k.spec.dependsOn ?? []).every((d: { name: string }) => done.has(d.name) || !pending.has(d.name)));
      if (ready.length === 0) throw new Error('dependency cycle');
      for (const kustomization of ready) {
        pending.delete(kustomization.metadata.name);
        done.add(kustomization.metadata.name);
        const blocked = (kustomization.spec.dependsOn ?? []).find((d: { name: string }) => !this.status.get(d.name)?.ready);
        if (blocked) {
          const old = this.status.get(kustomization.metadata.name);
          this.status.set(kustomization.metadata.name, { ready: false, message: `dependency '${kustomization.metadata.namespace}/${blocked.name}' is not ready`, inventory: old?.inventory ?? [] });
          continue;
        }
        this.reconcile(kustomization, buildFolder(files, kustomization.spec.path.replace(/^\.\/dist\//, '')));
      }
    }
    // A Kustomization gone from its source is pruned by its parent: its finalizer garbage-collects what it applied.
    for (const name of previous) if (!kustomizations.some((k) => k.metadata.name === name)) this.remove(name);
  }

  private removed = new Map<string, KubeObject>();
  private servers = new Map<string, FakeApiServer>();

  reconcile(kustomization: KubeObject, objects: readonly KubeObject[]): FluxStatus {
    const name = kustomization.metadata.name;
    const server = this.serverOf(kustomization);
    this.servers.set(name, server);
    this.removed.set(name, kustomization);
    const old = this.status.get(name);
    const fail = (message: string) => {
      const status = { ready: false, message, inventory: old?.inventory ?? [] };
      this.status.set(name, status);
      return status;
    };
    // Stage 1: cluster-wide definitions (Namespaces, CRDs) are applied before the rest is dry-run.
    const first = objects.filter((o) => o.kind === 'Namespace' || o.kind === 'CustomResourceDefinition');
    const rest = objects.filter((o) => !first.includes(o));
    for (const stage of [first, rest]) {
      const errors = stage.filter((o) => !(IF_NOT_PRESENT(o) && server.get(o))).map((o) => [o, server.dryRun(o)] as const).filter(([, e]) => e);
      if (errors.length) return fail(errors.map(([o, e]) => `${describe(o)} dry-run failed: ${e}`).join('\n'));
      for (const object of stage) if (!(IF_NOT_PRESENT(object) && server.get(object))) server.apply(object);
    }
    const inventory = objects.map(keyOf);
    if (kustomization.spec.prune) {
      for (const key of old?.inventory ?? []) {
        const live = server.objects.get(key);
        if (!inventory.includes(key) && live && !PRUNE_DISABLED(live)) server.delete(key);
      }
    }
    const status = { ready: true, message: `Applied revision: main`, inventory };
    this.status.set(name, status);
    this.appliedOrder.push(name);
    return status;
  }

  /** The Kustomization is deleted: with prune, its inventory goes, except what says `prune: disabled`. */
  remove(name: string): void {
    const kustomization = this.removed.get(name);
    const server = this.servers.get(name);
    const status = this.status.get(name);
    this.status.delete(name);
    if (!kustomization?.spec.prune || !server || !status) return;
    for (const key of status.inventory) {
      const live = server.objects.get(key);
      if (live && !PRUNE_DISABLED(live)) server.delete(key);
    }
  }
}

const syncOptions = (object: KubeObject) => (object.metadata.annotations?.['argocd.argoproj.io/sync-options'] ?? '').split(',').map((o) => o.trim());

/** Argo CD syncing one Application's folder (server-side apply, annotation tracking). */
export class ArgoApplicationController {
  readonly tracked = new Set<string>();

  constructor(private readonly application: KubeObject, private readonly server: FakeApiServer) {}

  /** Objects in sync-wave order; the sync stops at the first failure. Returns the failure, if any. */
  sync(objects: readonly KubeObject[]): string | undefined {
    const respect = (this.application.spec.syncPolicy?.syncOptions ?? []).includes('RespectIgnoreDifferences=true');
    const ignore: { group?: string; kind: string; jsonPointers?: string[] }[] = this.application.spec.ignoreDifferences ?? [];
    const wave = (o: KubeObject) => Number(o.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);
    for (const desired of [...objects].sort((a, b) => wave(a) - wave(b))) {
      const live = this.server.get(desired);
      const object = structuredClone(desired);
      if (live && respect) {
        for (const entry of ignore) {
          if (groupKind(desired) !== `${entry.group || 'core'}/${entry.kind}`) continue;
          for (const pointer of entry.jsonPointers ?? []) {
            const path = pointer.split('/').slice(1);
            const parent = path.slice(0, -1).reduce((value: any, key) => value?.[key], object);
            const liveValue = path.reduce((value: any, key) => value?.[key], live);
            if (parent) parent[path[path.length - 1]] = structuredClone(liveValue);
          }
        }
      }
      const error = this.server.dryRun(object);
      if (error) return `${describe(object)}: ${error}`;
      this.server.apply(object);
      this.tracked.add(keyOf(object));
    }
    return undefined;
  }

  /** The Application is deleted: with the resources finalizer, what it tracks goes, except `Delete=false` objects. */
  delete(): void {
    if (!(this.application.metadata as any).finalizers?.includes('resources-finalizer.argocd.argoproj.io')) return;
    for (const key of this.tracked) {
      const live = this.server.objects.get(key);
      if (live && !syncOptions(live).includes('Delete=false')) this.server.delete(key);
    }
    this.tracked.clear();
  }
}
