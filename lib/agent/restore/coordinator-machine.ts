/**
 * The hosted restore coordinator as a typed state machine: phases, failure reasons and the pure decisions between
 * them. No I/O here; `coordinator.ts` performs each phase's work and feeds the outcome back into `transition`.
 *
 * Pending -> Validating -> DrainingControlPlane -> StoppingEtcd -> RestoringSnapshot -> StartingEtcd
 *   -> StartingControlPlane -> Succeeded; any working phase -> Failed (with a reason). Succeeded and Failed are final.
 */
import type { MetadataView } from '../kube';

import type { OwnerKind, OwnerRef } from './plans';

/** The phases written to `data.phase` of the status ConfigMap, in order. */
export const WORKING_PHASES = ['Validating', 'DrainingControlPlane', 'StoppingEtcd', 'RestoringSnapshot', 'StartingEtcd', 'StartingControlPlane'] as const;
export type WorkingPhase = (typeof WORKING_PHASES)[number];
export type Phase = 'Pending' | WorkingPhase | 'Succeeded' | 'Failed';

/** `data.reason` of a Failed restore. */
export type FailureReason =
  | 'ConfigInvalid' | 'SnapshotInvalid' | 'SnapshotUnsigned' | 'DecryptionKeyError' | 'SnapshotFetchFailed' | 'ReplicaCountMismatch'
  | 'OwnerWouldRevert' | 'PreRestoreCheckFailed' | 'ApiError' | 'EtcdStopTimeout' | 'RestoreJobFailed' | 'EtcdStartFailed';

export type State =
  | { readonly phase: 'Pending' }
  | { readonly phase: WorkingPhase }
  | { readonly phase: 'Succeeded' }
  | { readonly phase: 'Failed'; readonly reason: FailureReason; readonly message: string; readonly exitCode: number };

/** What a phase's work ended with. */
export type Outcome =
  | { readonly kind: 'done' }
  | { readonly kind: 'failed'; readonly reason: FailureReason; readonly message: string; readonly exitCode: number };

/** The next state after `state`'s work ended with `outcome`. Final states never move. */
export function transition(state: State, outcome: Outcome | { readonly kind: 'start' }): State {
  if (state.phase === 'Succeeded' || state.phase === 'Failed') return state;
  if (outcome.kind === 'start') return state.phase === 'Pending' ? { phase: 'Validating' } : state;
  if (state.phase === 'Pending') return state; // only 'start' leaves Pending
  if (outcome.kind === 'failed') return { phase: 'Failed', reason: outcome.reason, message: outcome.message, exitCode: outcome.exitCode };
  const next = WORKING_PHASES.indexOf(state.phase) + 1;
  return next < WORKING_PHASES.length ? { phase: WORKING_PHASES[next] } : { phase: 'Succeeded' };
}

/** What a (re-)run does with the phase recorded in the status ConfigMap. */
export type Start =
  | { readonly kind: 'run'; readonly resumedFrom?: WorkingPhase }
  | { readonly kind: 'skip' }
  | { readonly kind: 'refuse'; readonly reason: string; readonly message: string }
  | { readonly kind: 'invalid'; readonly phase: string };

/**
 * Succeeded: nothing to do. Failed: final, a new restore needs a new id. Any working phase: an interrupted run,
 * replayed from Validating with the recorded snapshot and originals (every replica that finished left a marker).
 */
export function startFrom(recorded: string | undefined, reason = '', message = ''): Start {
  if (recorded === undefined || recorded === '' || recorded === 'Pending') return { kind: 'run' };
  if (recorded === 'Succeeded') return { kind: 'skip' };
  if (recorded === 'Failed') return { kind: 'refuse', reason, message };
  if ((WORKING_PHASES as readonly string[]).includes(recorded)) return { kind: 'run', resumedFrom: recorded as WorkingPhase };
  return { kind: 'invalid', phase: recorded };
}

/** Exit codes of a failed fetch/verify (the agent's table) mapped to the reason recorded at Validating. */
export function validationReason(exitCode: number, message: string): FailureReason {
  if (exitCode === 3) return /decrypt|identity/.test(message) ? 'DecryptionKeyError' : 'ConfigInvalid';
  if (exitCode === 4) return 'SnapshotFetchFailed';
  if (exitCode === 13) return 'SnapshotUnsigned';
  return 'SnapshotInvalid';
}

export interface ReplicaProgress {
  readonly restored: readonly number[];
  readonly pending: readonly number[];
  /** "replica-<i>: failed: <message>" for each failed ordinal */
  readonly failed: readonly string[];
}

/** The replica Jobs' reports (`data.replica-<i>`: "restored" or "failed: <message>") for ordinals 0..replicas-1. */
export function replicaProgress(data: Readonly<Record<string, string>>, replicas: number): ReplicaProgress {
  const restored: number[] = [];
  const pending: number[] = [];
  const failed: string[] = [];
  for (let i = 0; i < replicas; i++) {
    const value = data[`replica-${i}`] ?? '';
    if (value === 'restored') restored.push(i);
    else if (value.startsWith('failed')) failed.push(`replica-${i}: ${value}`);
    else pending.push(i);
  }
  return { restored, pending, failed };
}

/** The replica's view: what it does when it sees `phase` while waiting to act. */
export type ReplicaDecision =
  | { readonly kind: 'act' }
  | { readonly kind: 'wait' }
  | { readonly kind: 'skip'; readonly message: string }
  | { readonly kind: 'stop'; readonly message: string };

export function replicaDecision(phase: string, reason: string, id: string, ordinal: number, marker: string): ReplicaDecision {
  switch (phase) {
    case 'RestoringSnapshot': return { kind: 'act' };
    case 'Failed': return { kind: 'stop', message: `restore ${id} Failed (${reason}) before this replica acted: data untouched` };
    case 'Succeeded': return { kind: 'skip', message: `restore ${id} already Succeeded without this replica's marker: data untouched` };
    case 'StartingEtcd':
    case 'StartingControlPlane':
      return { kind: 'stop', message: `restore ${id} is in phase ${phase} but replica ${ordinal} has no marker (${marker}): data untouched; check the volume binding` };
    default: return { kind: 'wait' };
  }
}

/** "a (was 2), b (was 1)" or "none": how the control plane's Deployments are described in messages. */
export function describeDeployments(originals: ReadonlyArray<readonly [string, number]>): string {
  return originals.length ? originals.map(([name, replicas]) => `${name} (was ${replicas})`).join(', ') : 'none';
}

/** What the API says about who manages an object. */
export type ObjectMetadata = MetadataView;

/** A controller that would scale an object back while the restore holds it at 0. */
export interface RevertingOwner {
  /** "statefulset tenant-a/etcd" */
  readonly object: string;
  /** "Argo CD Application argocd/tenant-x", "Flux Kustomization flux-system/tenants", ... */
  readonly owner: string;
  /** what a person does before starting a new restore */
  readonly pauseByHand: string;
  /** the object the restore pauses when the inventory names it (hosted.owners); none for other controllers */
  readonly ref?: OwnerRef;
}

/** Where the owners of the tenant's objects are looked for. */
export interface OwnerContext {
  /** the tenant's namespace: a TenantControlPlane owner reference points there */
  readonly namespace: string;
  /** Argo CD's namespace: an Application named without one ("tenant-x", not "apps_tenant-x") is there */
  readonly argocdNamespace: string;
}

/**
 * The owners of one object that would revert a scale-down: Argo CD (tracking label or annotation), Flux (Kustomization
 * or HelmRelease labels), Kamaji (a TenantControlPlane owner reference) and any other controlling owner reference.
 * A Helm label alone is no controller: `helm` changes nothing between its runs, so plain Helm needs no pause.
 */
export function revertingOwners(object: string, meta: ObjectMetadata, where: OwnerContext = { namespace: '', argocdNamespace: 'argocd' }): RevertingOwner[] {
  const owners: RevertingOwner[] = [];
  const { labels, annotations } = meta;
  // "<app>" or, with Applications in any namespace, "<namespace>_<app>"
  const argo = annotations['argocd.argoproj.io/tracking-id']?.split(':')[0] ?? labels['argocd.argoproj.io/instance'];
  if (argo) {
    const [namespace, name] = argo.includes('_') ? argo.split('_', 2) : [where.argocdNamespace, argo];
    owners.push({
      object, owner: `Argo CD Application ${namespace}/${name}`, ref: { kind: 'Application', namespace, name },
      pauseByHand: `disable automated sync of Argo CD Application ${namespace}/${name} (argocd app set ${namespace}/${name} --sync-policy none), and enable it again after the restore`,
    });
  }
  for (const [kind, group] of [['Kustomization', 'kustomize'], ['HelmRelease', 'helm']] as const) {
    const name = labels[`${group}.toolkit.fluxcd.io/name`];
    if (name) {
      const ns = labels[`${group}.toolkit.fluxcd.io/namespace`] ?? '';
      const ref = ns ? `${ns}/${name}` : name;
      owners.push({
        object, owner: `Flux ${kind} ${ref}`, ...(ns ? { ref: { kind, namespace: ns, name } } : {}),
        pauseByHand: `flux suspend ${kind === 'Kustomization' ? 'kustomization' : 'helmrelease'} ${name}${ns ? ` -n ${ns}` : ''} (flux resume ... after the restore)`,
      });
    }
  }
  for (const ref of meta.ownerReferences) {
    if (!ref.controller) continue;
    if (ref.kind === 'TenantControlPlane' && ref.apiVersion.startsWith('kamaji.clastix.io/')) {
      owners.push({
        object, owner: `Kamaji TenantControlPlane ${ref.name}`, ...(where.namespace ? { ref: { kind: 'TenantControlPlane' as const, namespace: where.namespace, name: ref.name } } : {}),
        pauseByHand: `kubectl annotate tenantcontrolplane ${ref.name}${where.namespace ? ` -n ${where.namespace}` : ''} kamaji.clastix.io/paused=true (remove the annotation after the restore)`,
      });
    } else {
      owners.push({ object, owner: `${ref.kind} ${ref.name} (${ref.apiVersion})`, pauseByHand: `pause the controller of ${ref.kind} ${ref.name}, and resume it after the restore` });
    }
  }
  return owners;
}

/** "{kind: HelmRelease, name: tenant-x, namespace: flux-system}": an entry of hosted.owners, as YAML. */
export function ownerInventoryEntry(ref: OwnerRef): string {
  return `{kind: ${ref.kind}, name: ${ref.name}, namespace: ${ref.namespace}}`;
}

/**
 * The message of OwnerWouldRevert: every owner found, and for each either the inventory lines that let the restore
 * pause it (a kind it knows) or what to pause by hand.
 */
export function ownerMessage(owners: readonly RevertingOwner[], cluster = ''): string {
  const lines = owners.map((o) => `${o.object} is managed by ${o.owner}: ${o.pauseByHand}`);
  const pausable = [...new Map(owners.filter((o) => o.ref).map((o) => [ownerKey(o.ref!), o.ref!])).values()];
  const inventory = pausable.length
    ? ` Or let the restore pause and resume ${pausable.length === 1 ? 'it' : 'them'}: add ${pausable.map(ownerInventoryEntry).join(' and ')} to clusters.${cluster || '<cluster>'}.hosted.owners in the inventory, synthesize, and apply the restore folder with a new id.`
    : '';
  return `${lines.join('; ')}. It would scale back what the restore holds at 0 (and could start etcd on half-restored data). Nothing was changed: pause it, then start a new restore with a new id.${inventory}`;
}

/** The status ConfigMap key that records one owner's pause: `owner-<kind>.<namespace>.<name>`. */
export function ownerKey(ref: OwnerRef): string {
  return `owner-${ref.kind.toLowerCase()}.${ref.namespace}.${ref.name}`;
}

/** "Flux HelmRelease flux-system/tenant-x" */
export function describeOwner(ref: OwnerRef): string {
  const product = ref.kind === 'Application' ? 'Argo CD' : ref.kind === 'TenantControlPlane' ? 'Kamaji' : 'Flux';
  return `${product} ${ref.kind} ${ref.namespace}/${ref.name}`;
}

/** What pausing found: whether the owner was paused already (then left alone) and what to put back on resume. */
export interface PauseState {
  readonly alreadyPaused: boolean;
  /** the field's value before the pause (undefined: absent) */
  readonly original: unknown;
}

const KAMAJI_PAUSED = 'kamaji.clastix.io/paused';

/** Reads the pause state of an owner object (the API's JSON). */
export function pauseStateOf(kind: OwnerKind, object: { metadata?: { annotations?: Record<string, string> }; spec?: Record<string, any> }): PauseState {
  switch (kind) {
    case 'HelmRelease':
    case 'Kustomization':
      return { alreadyPaused: object.spec?.suspend === true, original: object.spec?.suspend };
    case 'Application': {
      const automated = object.spec?.syncPolicy?.automated;
      // Without automated sync Argo CD applies nothing by itself: nothing to pause.
      return { alreadyPaused: automated === undefined || automated === null, original: automated };
    }
    case 'TenantControlPlane': {
      const annotations = object.metadata?.annotations ?? {};
      return { alreadyPaused: KAMAJI_PAUSED in annotations, original: undefined };
    }
  }
}

/** The merge patch that pauses an owner. */
export function pausePatch(kind: OwnerKind): object {
  switch (kind) {
    case 'HelmRelease':
    case 'Kustomization':
      return { spec: { suspend: true } };
    case 'Application':
      return { spec: { syncPolicy: { automated: null } } };
    case 'TenantControlPlane':
      return { metadata: { annotations: { [KAMAJI_PAUSED]: 'true' } } };
  }
}

/** The merge patch that puts back exactly what was there before the pause. */
export function resumePatch(kind: OwnerKind, original: unknown): object {
  switch (kind) {
    case 'HelmRelease':
    case 'Kustomization':
      return { spec: { suspend: original ?? null } };
    case 'Application':
      return { spec: { syncPolicy: { automated: original ?? null } } };
    case 'TenantControlPlane':
      return { metadata: { annotations: { [KAMAJI_PAUSED]: null } } };
  }
}
