import { describe, expect, it } from 'vitest';
import {
  describeDeployments, replicaDecision, revertingOwners, replicaProgress, startFrom, transition, validationReason, WORKING_PHASES, type State,
} from '../../lib/agent/restore/coordinator-machine';

const done = { kind: 'done' } as const;

describe('coordinator state machine', () => {
  it('walks every phase in order from Pending to Succeeded', () => {
    let state: State = transition({ phase: 'Pending' }, { kind: 'start' });
    const seen: string[] = [state.phase];
    while (state.phase !== 'Succeeded') {
      state = transition(state, done);
      seen.push(state.phase);
    }
    expect(seen).toEqual([...WORKING_PHASES, 'Succeeded']);
  });

  it('fails from any working phase with the reason, message and exit code', () => {
    for (const phase of WORKING_PHASES) {
      expect(transition({ phase }, { kind: 'failed', reason: 'ApiError', message: 'm', exitCode: 9 }))
        .toEqual({ phase: 'Failed', reason: 'ApiError', message: 'm', exitCode: 9 });
    }
  });

  it('never leaves a final state, and only start leaves Pending', () => {
    const failed: State = { phase: 'Failed', reason: 'EtcdStartFailed', message: 'x', exitCode: 10 };
    expect(transition(failed, done)).toBe(failed);
    expect(transition({ phase: 'Succeeded' }, { kind: 'failed', reason: 'ApiError', message: '', exitCode: 9 })).toEqual({ phase: 'Succeeded' });
    expect(transition({ phase: 'Pending' }, done)).toEqual({ phase: 'Pending' });
    expect(transition({ phase: 'StoppingEtcd' }, { kind: 'start' })).toEqual({ phase: 'StoppingEtcd' });
  });

  it('starts fresh, skips, refuses or replays from the recorded phase', () => {
    expect(startFrom(undefined)).toEqual({ kind: 'run' });
    expect(startFrom('')).toEqual({ kind: 'run' });
    expect(startFrom('Pending')).toEqual({ kind: 'run' });
    expect(startFrom('Succeeded')).toEqual({ kind: 'skip' });
    expect(startFrom('Failed', 'RestoreJobFailed', 'why')).toEqual({ kind: 'refuse', reason: 'RestoreJobFailed', message: 'why' });
    expect(startFrom('StoppingEtcd')).toEqual({ kind: 'run', resumedFrom: 'StoppingEtcd' });
    expect(startFrom('Paused')).toEqual({ kind: 'invalid', phase: 'Paused' });
  });

  it('maps a failed fetch or verification to its Validating reason', () => {
    expect(validationReason(2, 'checksum mismatch')).toBe('SnapshotInvalid');
    expect(validationReason(3, 'decryption key missing: create the Secret')).toBe('DecryptionKeyError');
    expect(validationReason(3, 'wrong decryption key: the age identity in /x does not match')).toBe('DecryptionKeyError');
    expect(validationReason(3, 'SNAPSHOT_NAME must be latest or ...')).toBe('ConfigInvalid');
    expect(validationReason(4, 'cannot list')).toBe('SnapshotFetchFailed');
    expect(validationReason(1, 'other')).toBe('SnapshotInvalid');
  });

  it('reads the replicas\' reports', () => {
    expect(replicaProgress({ 'replica-0': 'restored', 'replica-1': 'failed: disk full', 'replica-5': 'restored' }, 3))
      .toEqual({ restored: [0], pending: [2], failed: ['replica-1: failed: disk full'] });
    expect(replicaProgress({}, 1)).toEqual({ restored: [], pending: [0], failed: [] });
  });

  it('tells a replica when to act, wait, skip or stop', () => {
    expect(replicaDecision('RestoringSnapshot', '', 'r1', 0, '/m')).toEqual({ kind: 'act' });
    for (const phase of ['', 'Pending', 'Validating', 'DrainingControlPlane', 'StoppingEtcd']) expect(replicaDecision(phase, '', 'r1', 0, '/m')).toEqual({ kind: 'wait' });
    expect(replicaDecision('Failed', 'SnapshotInvalid', 'r1', 0, '/m')).toEqual({ kind: 'stop', message: 'restore r1 Failed (SnapshotInvalid) before this replica acted: data untouched' });
    expect(replicaDecision('Succeeded', '', 'r1', 0, '/m').kind).toBe('skip');
    expect(replicaDecision('StartingEtcd', '', 'r1', 2, '/m')).toEqual({ kind: 'stop', message: 'restore r1 is in phase StartingEtcd but replica 2 has no marker (/m): data untouched; check the volume binding' });
  });

  it('describes the drained Deployments', () => {
    expect(describeDeployments([])).toBe('none');
    expect(describeDeployments([['a', 2], ['b', 1]])).toBe('a (was 2), b (was 1)');
  });

  it('finds the owners that would revert a scale-down', () => {
    const none = { labels: {}, annotations: {}, ownerReferences: [] };
    expect(revertingOwners('sts', none)).toEqual([]);
    // Helm alone changes nothing between its runs; a non-controller owner reference is no controller
    expect(revertingOwners('sts', { ...none, labels: { 'app.kubernetes.io/managed-by': 'Helm' }, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x' }] })).toEqual([]);
    expect(revertingOwners('sts', { ...none, annotations: { 'argocd.argoproj.io/tracking-id': 'tenant-x:apps/StatefulSet:tenant-a/etcd' } }).map((o) => o.owner)).toEqual(['Argo CD Application argocd/tenant-x']);
    expect(revertingOwners('sts', { ...none, labels: { 'argocd.argoproj.io/instance': 'legacy' } }).map((o) => o.owner)).toEqual(['Argo CD Application argocd/legacy']);
    // Applications in any namespace: "<namespace>_<name>"
    expect(revertingOwners('sts', { ...none, labels: { 'argocd.argoproj.io/instance': 'apps_tenant-x' } }, { namespace: 'tenant-a', argocdNamespace: 'argocd' })[0].ref)
      .toEqual({ kind: 'Application', namespace: 'apps', name: 'tenant-x' });
    expect(revertingOwners('sts', { ...none, ownerReferences: [{ apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'TenantControlPlane', name: 't', controller: true }] }, { namespace: 'tenant-a', argocdNamespace: 'argocd' })[0].ref)
      .toEqual({ kind: 'TenantControlPlane', namespace: 'tenant-a', name: 't' });
    expect(revertingOwners('sts', { ...none, labels: { 'helm.toolkit.fluxcd.io/name': 'etcd', 'helm.toolkit.fluxcd.io/namespace': 'tenant-a' } })[0])
      .toEqual({ object: 'sts', owner: 'Flux HelmRelease tenant-a/etcd', pauseByHand: 'flux suspend helmrelease etcd -n tenant-a (flux resume ... after the restore)', ref: { kind: 'HelmRelease', namespace: 'tenant-a', name: 'etcd' } });
    expect(revertingOwners('sts', { ...none, ownerReferences: [{ apiVersion: 'example.com/v1', kind: 'EtcdCluster', name: 'e', controller: true }] }).map((o) => o.owner)).toEqual(['EtcdCluster e (example.com/v1)']);
  });
});
