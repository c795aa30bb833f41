/**
 * The hosted restore coordinator as a typed state machine: phases, failure reasons and the pure decisions between
 * them. No I/O here; `coordinator.ts` performs each phase's work and feeds the outcome back into `transition`.
 *
 * Pending -> Validating -> DrainingControlPlane -> StoppingEtcd -> RestoringSnapshot -> StartingEtcd
 *   -> StartingControlPlane -> Succeeded; any working phase -> Failed (with a reason). Succeeded and Failed are final.
 */
import type { MetadataView } from '../kube';

/** The phases written to `data.phase` of the status ConfigMap, in order. */
export const WORKING_PHASES = ['Validating', 'DrainingControlPlane', 'StoppingEtcd', 'RestoringSnapshot', 'StartingEtcd', 'StartingControlPlane'] as const;
export type WorkingPhase = (typeof WORKING_PHASES)[number];
export type Phase = 'Pending' | WorkingPhase | 'Succeeded' | 'Failed';

/** `data.reason` of a Failed restore. */
export type FailureReason =
  | 'ConfigInvalid' | 'SnapshotInvalid' | 'DecryptionKeyError' | 'SnapshotFetchFailed' | 'ReplicaCountMismatch'
  | 'OwnerWouldRevert' | 'ApiError' | 'EtcdStopTimeout' | 'RestoreJobFailed' | 'EtcdStartFailed';

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
  /** "Argo CD Application tenant-x", "Flux Kustomization flux-system/tenants", ... */
  readonly owner: string;
  /** what a person does before starting a new restore */
  readonly pauseByHand: string;
}

/**
 * The owners of one object that would revert a scale-down: Argo CD (tracking label or annotation), Flux (Kustomization
 * or HelmRelease labels), Kamaji (a TenantControlPlane owner reference) and any other controlling owner reference.
 * A Helm label alone is no controller: `helm` changes nothing between its runs.
 */
export function revertingOwners(object: string, meta: ObjectMetadata): RevertingOwner[] {
  const owners: RevertingOwner[] = [];
  const { labels, annotations } = meta;
  const argo = annotations['argocd.argoproj.io/tracking-id']?.split(':')[0] ?? labels['argocd.argoproj.io/instance'];
  if (argo) {
    owners.push({ object, owner: `Argo CD Application ${argo}`, pauseByHand: `disable automated sync of Argo CD Application ${argo} (argocd app set ${argo} --sync-policy none), and enable it again after the restore` });
  }
  for (const [kind, group] of [['Kustomization', 'kustomize'], ['HelmRelease', 'helm']] as const) {
    const name = labels[`${group}.toolkit.fluxcd.io/name`];
    if (name) {
      const ns = labels[`${group}.toolkit.fluxcd.io/namespace`] ?? '';
      const ref = ns ? `${ns}/${name}` : name;
      owners.push({ object, owner: `Flux ${kind} ${ref}`, pauseByHand: `flux suspend ${kind === 'Kustomization' ? 'kustomization' : 'helmrelease'} ${name}${ns ? ` -n ${ns}` : ''} (flux resume ... after the restore)` });
    }
  }
  for (const ref of meta.ownerReferences) {
    if (!ref.controller) continue;
    if (ref.kind === 'TenantControlPlane' && ref.apiVersion.startsWith('kamaji.clastix.io/')) {
      owners.push({ object, owner: `Kamaji TenantControlPlane ${ref.name}`, pauseByHand: `scale the Kamaji controller to 0 (it reconciles TenantControlPlane ${ref.name}), and back after the restore` });
    } else {
      owners.push({ object, owner: `${ref.kind} ${ref.name} (${ref.apiVersion})`, pauseByHand: `pause the controller of ${ref.kind} ${ref.name}, and resume it after the restore` });
    }
  }
  return owners;
}

/** The message of OwnerWouldRevert: every owner found and what to pause by hand. */
export function ownerMessage(owners: readonly RevertingOwner[]): string {
  const lines = owners.map((o) => `${o.object} is managed by ${o.owner}: ${o.pauseByHand}`);
  return `${lines.join('; ')}. It would scale back what the restore holds at 0 (and could start etcd on half-restored data). Nothing was changed: pause it, then start a new restore with a new id.`;
}
