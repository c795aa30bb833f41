// The coordinator's phases against an in-memory API (the same requests the fake API server of the end-to-end tests
// answers): what it records, what it scales and what it leaves, on success and on each failure path.
import { describe, expect, it } from 'vitest';
import { KubeError, type OwnerObject, type RestoreKube } from '../../lib/agent/kube';
import { Coordinator, type CoordinatorPlan, type VerifiedBackup } from '../../lib/agent/restore/coordinator';
import { ownerKey, pauseStateOf, type ObjectMetadata } from '../../lib/agent/restore/coordinator-machine';
import type { OwnerRef } from '../../lib/agent/restore/plans';
import { AgentError as RestoreFailure } from '../../lib/agent/exit-codes';
import { mergePatch } from '../support/fake-kube-api';

const STATUS = 'c-restore-r1-status';
const plan: CoordinatorPlan = {
  cluster: 'c', restoreId: 'r1', namespace: 'ns', statefulSet: 'etcd', replicas: 3, controlPlaneDeployments: ['api', 'cm'],
  statusConfigMap: STATUS, snapshotName: 'latest', snapshotLocation: 's3://b/etcd/c',
  timeouts: { stopSeconds: 5, restoreSeconds: 5, startSeconds: 5, pollSeconds: 1 },
};

class MemoryKube implements RestoreKube {
  namespace = 'ns';
  status: Record<string, string> = {};
  patches: Record<string, string | null>[] = [];
  sts = 3;
  ready = 3;
  pods = 3;
  deployments: Record<string, number> = { api: 2, cm: 1 };
  scaleLog: string[] = [];
  /** called on every poll of the status: lets a test play the replicas */
  onStatusRead?: (k: MemoryKube) => void;
  fail?: (op: string) => boolean;

  private check(op: string) { if (this.fail?.(op)) throw new KubeError(`${op}: HTTP 500: boom`, 500); }
  async configMapData() { this.check('get-status'); this.onStatusRead?.(this); return { ...this.status }; }
  async patchConfigMapData(_: string, data: Record<string, string | null>) {
    this.check(`patch-status${data.phase ? `-${data.phase}` : ''}`);
    this.patches.push(data);
    for (const [k, v] of Object.entries(data)) { if (v === null) delete this.status[k]; else this.status[k] = v; }
  }
  stsMeta: ObjectMetadata = { labels: {}, annotations: {}, ownerReferences: [] };
  deploymentMeta: Record<string, ObjectMetadata> = {};
  async statefulSet() {
    this.check('get-sts');
    return { metadata: this.stsMeta, replicas: this.sts, readyReplicas: this.ready, matchLabels: { app: 'etcd' }, etcdImage: this.etcdImage, claimStorage: this.claimStorage };
  }
  async deploymentMetadata(name: string) { this.check(`get-deployment-${name}`); return this.deploymentMeta[name] ?? { labels: {}, annotations: {}, ownerReferences: [] }; }
  async scaleOf(kind: string, name: string) { this.check(`get-scale-${name}`); return kind === 'statefulset' ? this.sts : this.deployments[name]; }
  async setScale(kind: string, name: string, n: number) {
    this.check(`scale-${name}-${n}`);
    this.scaleLog.push(`${name}=${n}`);
    if (kind === 'statefulset') { this.sts = n; this.pods = n; this.ready = n; } else this.deployments[name] = n;
    this.operator?.(this);
  }
  async podCount() { this.check('pods'); this.operator?.(this); return this.pods; }
  etcdImage = 'registry.k8s.io/etcd:3.5.16-0';
  claimStorage: Record<string, string> = { data: '1Gi' };
  /** owner objects by ownerKey */
  ownerObjects: Record<string, { metadata?: { annotations?: Record<string, string> }; spec?: Record<string, any> }> = {};
  ownerLog: string[] = [];
  /** a controller that runs between requests: e.g. one that scales back while not paused */
  operator?: (k: MemoryKube) => void;
  async ownerObject(ref: OwnerRef): Promise<OwnerObject> {
    this.check(`get-owner-${ref.name}`);
    const o = this.ownerObjects[ownerKey(ref)];
    if (!o) throw new KubeError(`GET ${ref.kind} ${ref.namespace}/${ref.name}: HTTP 404: not found`, 404);
    return structuredClone(o);
  }
  async patchOwner(ref: OwnerRef, patch: object) {
    this.check(`patch-owner-${ref.name}`);
    this.ownerLog.push(`${ref.name} ${JSON.stringify(patch)}`);
    this.ownerObjects[ownerKey(ref)] = mergePatch(this.ownerObjects[ownerKey(ref)], patch) as never;
  }
}

/** The controller of `ref`: while it is not paused it puts the replicas back to what Git says (3, api 2, cm 1). */
const revertingOperator = (ref: OwnerRef) => (k: MemoryKube) => {
  if (pauseStateOf(ref.kind, k.ownerObjects[ownerKey(ref)]).alreadyPaused) return;
  if (k.sts !== 3) { k.scaleLog.push('operator: etcd=3'); k.sts = 3; k.pods = 3; k.ready = 3; }
  for (const [name, n] of Object.entries({ api: 2, cm: 1 })) if (k.deployments[name] !== n) { k.scaleLog.push(`operator: ${name}=${n}`); k.deployments[name] = n; }
};

const phases = (k: MemoryKube) => k.patches.map((p) => p.phase).filter(Boolean);
const playReplicas = (k: MemoryKube) => {
  if (k.status.phase === 'RestoringSnapshot') for (let i = 0; i < 3; i++) k.status[`replica-${i}`] = 'restored';
};

const BACKUP: VerifiedBackup = { name: 'c-20261201T000000Z', bytes: 100 * 1048576, cluster: 'c', etcdVersion: '3.5.16' };

function coordinator(kube: MemoryKube, verify: (name: string) => Promise<string | VerifiedBackup> = async () => BACKUP, extra: Partial<CoordinatorPlan> = {}) {
  let t = 0;
  const verifySnapshot = async (name: string) => { const got = await verify(name); return typeof got === 'string' ? { ...BACKUP, name: got } : got; };
  return new Coordinator({ ...plan, dataVolumeClaimTemplate: 'data', ...extra }, { kube, verifySnapshot, log: () => undefined, sleep: async (ms) => { t += ms; }, now: () => t });
}

describe('restore coordinator', () => {
  it('walks the phases, records the originals and the snapshot, scales down and back', async () => {
    const kube = new MemoryKube();
    kube.onStatusRead = playReplicas;
    const result = await coordinator(kube).run();
    expect(result).toMatchObject({ status: 'ok', exitCode: 0, phase: 'Succeeded', reason: '', snapshot: 'c-20261201T000000Z', role: 'coordinator', replicas: 3 });
    expect(phases(kube)).toEqual(['Validating', 'DrainingControlPlane', 'StoppingEtcd', 'RestoringSnapshot', 'StartingEtcd', 'StartingControlPlane', 'Succeeded']);
    expect(kube.status).toMatchObject({ phase: 'Succeeded', reason: '', snapshot: 'c-20261201T000000Z', 'original-statefulset-replicas': '3', 'original-deployment-api': '2', 'original-deployment-cm': '1' });
    expect(kube.scaleLog).toEqual(['api=0', 'cm=0', 'etcd=0', 'etcd=3', 'api=2', 'cm=1']);
    expect(kube.patches.every((p) => typeof p.updatedAt === 'string')).toBe(true);
  });

  it('is a no-op when the status says Succeeded, and refuses a Failed restore (exit 10)', async () => {
    const kube = new MemoryKube();
    kube.status = { phase: 'Succeeded', snapshot: 'c-20261201T000000Z' };
    expect(await coordinator(kube).run()).toMatchObject({ status: 'skipped', exitCode: 0, phase: 'Succeeded', snapshot: 'c-20261201T000000Z' });
    kube.status = { phase: 'Failed', reason: 'RestoreJobFailed', message: 'm' };
    const refused = await coordinator(kube).run();
    expect(refused).toMatchObject({ status: 'failed', exitCode: 10, phase: 'Failed', reason: 'RestoreJobFailed' });
    expect(refused.message).toBe('restore r1 already Failed (RestoreJobFailed): m -- a Failed restore is never resumed; start a new restore with a new id');
    expect(kube.patches).toEqual([]);
    expect(kube.scaleLog).toEqual([]);
  });

  it('fails at Validating with the reason of the verification, nothing scaled', async () => {
    for (const [error, reason, code] of [
      [new RestoreFailure(2, 'checksum mismatch: c-x.db.zst.age'), 'SnapshotInvalid', 2],
      [new RestoreFailure(3, 'decryption key missing: create the Secret'), 'DecryptionKeyError', 3],
      [new RestoreFailure(4, 'cannot list s3://b'), 'SnapshotFetchFailed', 4],
    ] as const) {
      const kube = new MemoryKube();
      const result = await coordinator(kube, async () => { throw error; }).run();
      expect(result).toMatchObject({ status: 'failed', exitCode: code, phase: 'Failed', reason });
      expect(kube.status).toMatchObject({ phase: 'Failed', reason, message: `backup not usable, nothing was changed: ${error.message}` });
      expect(kube.scaleLog).toEqual([]);
    }
  });

  it('fails with ReplicaCountMismatch when the StatefulSet has another replica count, nothing scaled', async () => {
    const kube = new MemoryKube();
    kube.sts = 2;
    const result = await coordinator(kube).run();
    expect(result).toMatchObject({ exitCode: 10, reason: 'ReplicaCountMismatch' });
    expect(kube.status.message).toContain('StatefulSet ns/etcd has 2 replicas, the inventory expects 3');
    expect(kube.scaleLog).toEqual([]);
  });

  it('a failed replica fails the restore with RestoreJobFailed and leaves etcd and the control plane at 0', async () => {
    const kube = new MemoryKube();
    kube.onStatusRead = (k) => { if (k.status.phase === 'RestoringSnapshot') { k.status['replica-0'] = 'restored'; k.status['replica-1'] = 'failed: disk full'; } };
    const result = await coordinator(kube).run();
    expect(result).toMatchObject({ exitCode: 10, reason: 'RestoreJobFailed', phase: 'Failed' });
    expect(kube.status.message).toMatch(/^replica-1: failed: disk full; restored: 0; not finished: 2\. etcd StatefulSet etcd left at 0 replicas \(was 3\)/);
    expect(kube.sts).toBe(0);
    expect(kube.deployments).toEqual({ api: 0, cm: 0 });
  });

  it('times out waiting for the replicas with RestoreJobFailed', async () => {
    const kube = new MemoryKube();
    const result = await coordinator(kube).run();
    expect(result).toMatchObject({ exitCode: 10, reason: 'RestoreJobFailed' });
    expect(kube.status.message).toMatch(/^replica Job\(s\) of ordinal\(s\) 0 1 2 did not report within 5s/);
  });

  it('scales everything back when etcd does not stop (EtcdStopTimeout)', async () => {
    const kube = new MemoryKube();
    kube.setScale = async function (this: MemoryKube, kind: string, name: string, n: number) {
      this.scaleLog.push(`${name}=${n}`);
      if (kind === 'statefulset') this.sts = n; else this.deployments[name] = n; // pods never go away
    };
    const result = await coordinator(kube).run();
    expect(result).toMatchObject({ exitCode: 10, reason: 'EtcdStopTimeout' });
    expect(kube.scaleLog).toEqual(['api=0', 'cm=0', 'etcd=0', 'etcd=3', 'api=2', 'cm=1']);
    expect(kube.status.message).toContain('3 etcd pod(s) of etcd still present after 5s');
  });

  it('leaves the control plane at 0 when etcd does not become ready (EtcdStartFailed)', async () => {
    const kube = new MemoryKube();
    kube.onStatusRead = playReplicas;
    const setScale = kube.setScale.bind(kube);
    kube.setScale = async (kind, name, n) => { await setScale(kind, name, n); if (kind === 'statefulset' && n > 0) kube.ready = 1; };
    const result = await coordinator(kube).run();
    expect(result).toMatchObject({ exitCode: 10, reason: 'EtcdStartFailed' });
    expect(kube.deployments).toEqual({ api: 0, cm: 0 });
    expect(kube.status.message).toContain('only 1 of 3 replicas ready after 5s');
  });

  it('an API error while draining scales the drained Deployments back (ApiError, exit 9)', async () => {
    const kube = new MemoryKube();
    kube.fail = (op) => op === 'scale-cm-0';
    const result = await coordinator(kube).run();
    expect(result).toMatchObject({ exitCode: 9, reason: 'ApiError' });
    expect(kube.deployments).toEqual({ api: 2, cm: 1 });
    expect(kube.status.message).toBe('scale-cm-0: HTTP 500: boom; Deployments scaled back: api (was 2), cm (was 1); etcd untouched');
  });

  it('replays an interrupted run with the recorded snapshot and originals', async () => {
    const kube = new MemoryKube();
    kube.onStatusRead = playReplicas;
    kube.status = { phase: 'StartingEtcd', snapshot: 'c-20261130T000000Z', 'original-statefulset-replicas': '3', 'original-deployment-api': '4', 'original-deployment-cm': '1' };
    kube.sts = 0;
    kube.deployments = { api: 0, cm: 0 };
    const verified: string[] = [];
    const result = await coordinator(kube, async (name) => { verified.push(name); return name; }).run();
    expect(result).toMatchObject({ status: 'ok', snapshot: 'c-20261130T000000Z' });
    expect(verified).toEqual(['c-20261130T000000Z']);
    expect(kube.deployments).toEqual({ api: 4, cm: 1 });
    expect(kube.sts).toBe(3);
  });

  it('cannot read the status ConfigMap: exit 9, nothing written', async () => {
    const kube = new MemoryKube();
    kube.fail = (op) => op === 'get-status';
    const result = await coordinator(kube).run();
    expect(result).toMatchObject({ status: 'failed', exitCode: 9, phase: 'Pending' });
    expect(result.message).toBe('get-status: HTTP 500: boom (the restore bundle creates it with data.phase=Pending)');
  });

  it('stops at Validating with OwnerWouldRevert when a controller would scale back, nothing scaled', async () => {
    const kube = new MemoryKube();
    kube.stsMeta = { labels: {}, annotations: {}, ownerReferences: [{ apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'TenantControlPlane', name: 'tenant-x', controller: true }] };
    kube.deploymentMeta.api = { labels: { 'kustomize.toolkit.fluxcd.io/name': 'tenants', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' }, annotations: {}, ownerReferences: [] };
    const result = await coordinator(kube).run();
    expect(result).toMatchObject({ exitCode: 10, reason: 'OwnerWouldRevert', phase: 'Failed' });
    expect(kube.status.message).toBe('statefulset ns/etcd is managed by Kamaji TenantControlPlane tenant-x: kubectl annotate tenantcontrolplane tenant-x -n ns kamaji.clastix.io/paused=true (remove the annotation after the restore); '
      + 'deployment ns/api is managed by Flux Kustomization flux-system/tenants: flux suspend kustomization tenants -n flux-system (flux resume ... after the restore). '
      + 'It would scale back what the restore holds at 0 (and could start etcd on half-restored data). Nothing was changed: pause it, then start a new restore with a new id. '
      + 'Or let the restore pause and resume them: add {kind: TenantControlPlane, name: tenant-x, namespace: ns} and {kind: Kustomization, name: tenants, namespace: flux-system} '
      + 'to clusters.c.hosted.owners in the inventory, synthesize, and apply the restore folder with a new id.');
    expect(kube.scaleLog).toEqual([]);
    expect(kube.status.snapshot).toBeUndefined();
  });

  describe('owners the inventory names are paused and resumed (issue 11 item 4)', () => {
    const release: OwnerRef = { kind: 'HelmRelease', namespace: 'flux-system', name: 'tenant-c' };
    const fluxLabels = { 'helm.toolkit.fluxcd.io/name': 'tenant-c', 'helm.toolkit.fluxcd.io/namespace': 'flux-system' };
    const withRelease = (suspend?: boolean) => {
      const kube = new MemoryKube();
      kube.stsMeta = { labels: fluxLabels, annotations: {}, ownerReferences: [] };
      kube.deploymentMeta.api = { labels: fluxLabels, annotations: {}, ownerReferences: [] };
      kube.ownerObjects[ownerKey(release)] = { spec: { interval: '5m', ...(suspend === undefined ? {} : { suspend }) } };
      kube.operator = revertingOperator(release);
      return kube;
    };

    it('reproduces the finding: an operator that is not paused scales the StatefulSet back while the restore holds it at 0', async () => {
      // What the coordinator did before owners were paused: drain and stop etcd with the HelmRelease still reconciling.
      const kube = withRelease();
      kube.stsMeta = { labels: {}, annotations: {}, ownerReferences: [] }; // no label: nothing detects it, nothing pauses it
      kube.deploymentMeta.api = { labels: {}, annotations: {}, ownerReferences: [] };
      kube.onStatusRead = playReplicas;
      await coordinator(kube).run();
      expect(kube.scaleLog).toContain('operator: etcd=3');
    });

    it('suspends a named Flux HelmRelease before the scale-down, records it first, and puts back exactly what was there on success', async () => {
      const kube = withRelease(false);
      kube.onStatusRead = playReplicas;
      const result = await coordinator(kube, undefined, { owners: [release] }).run();
      expect(result).toMatchObject({ status: 'ok', phase: 'Succeeded' });
      expect(kube.scaleLog.filter((l) => l.startsWith('operator'))).toEqual([]);
      expect(kube.ownerLog).toEqual(['tenant-c {"spec":{"suspend":true}}', 'tenant-c {"spec":{"suspend":false}}']);
      expect(kube.ownerObjects[ownerKey(release)]).toEqual({ spec: { interval: '5m', suspend: false } });
      // the record comes before the pause, then says resumed
      const key = 'owner-helmrelease.flux-system.tenant-c';
      const recordAt = kube.patches.findIndex((p) => p[key]?.includes('"paused"'));
      expect(recordAt).toBeGreaterThan(-1);
      expect(kube.patches.findIndex((p) => p.phase === 'DrainingControlPlane')).toBeGreaterThan(recordAt);
      expect(JSON.parse(kube.status[key])).toEqual({ ref: release, original: false, state: 'resumed' });
      expect(kube.status.message).toContain('Resumed: Flux HelmRelease flux-system/tenant-c.');
    });

    it('a HelmRelease without spec.suspend gets no spec.suspend back', async () => {
      const kube = withRelease();
      kube.onStatusRead = playReplicas;
      expect(await coordinator(kube, undefined, { owners: [release] }).run()).toMatchObject({ status: 'ok' });
      expect(kube.ownerObjects[ownerKey(release)]).toEqual({ spec: { interval: '5m' } });
    });

    it('resumes the owner when a failure after the pause scales everything back (ApiError while draining, EtcdStopTimeout)', async () => {
      const kube = withRelease(false);
      kube.fail = (op) => op === 'scale-cm-0';
      const result = await coordinator(kube, undefined, { owners: [release] }).run();
      expect(result).toMatchObject({ exitCode: 9, reason: 'ApiError', phase: 'Failed' });
      expect(kube.ownerObjects[ownerKey(release)].spec!.suspend).toBe(false);
      expect(kube.status.message).toBe('scale-cm-0: HTTP 500: boom; Deployments scaled back: api (was 2), cm (was 1); etcd untouched. Resumed: Flux HelmRelease flux-system/tenant-c.');
      expect(result.message).toBe(kube.status.message);

      const stuck = withRelease(false);
      stuck.podCount = async () => 3; // the pods never go away
      const timedOut = await coordinator(stuck, undefined, { owners: [release] }).run();
      expect(timedOut).toMatchObject({ reason: 'EtcdStopTimeout' });
      expect(stuck.ownerObjects[ownerKey(release)].spec!.suspend).toBe(false);
      expect(stuck.sts).toBe(3);
    });

    it('says so, and exits 9, when the API refuses the resume after a successful restore', async () => {
      const kube = withRelease(false);
      kube.onStatusRead = playReplicas;
      let patches = 0;
      kube.fail = (op) => op === 'patch-owner-tenant-c' && ++patches === 2;
      const result = await coordinator(kube, undefined, { owners: [release] }).run();
      expect(result).toMatchObject({ status: 'failed', exitCode: 9, phase: 'Succeeded' });
      expect(kube.status.phase).toBe('Succeeded');
      expect(kube.status.message).toMatch(/ NOT resumed: Flux HelmRelease flux-system\/tenant-c \(patch-owner-tenant-c: HTTP 500: boom\): put back spec\.suspend false by hand\.$/);
      expect(JSON.parse(kube.status[ownerKey(release)]).state).toBe('paused');
    });

    it('a coordinator stopped by a signal names the owners it leaves paused', async () => {
      const kube = withRelease(false);
      const c = coordinator(kube, undefined, { owners: [release] });
      kube.onStatusRead = (k) => { if (k.status.phase === 'RestoringSnapshot') void c.onSignal(); };
      await c.run();
      const message = kube.patches.map((p) => p.message ?? '').find((m) => m.startsWith('coordinator terminated by a signal'));
      expect(message).toBe('coordinator terminated by a signal during RestoringSnapshot; a retry of the Job resumes from the recorded state (and resumes the owners it paused), otherwise start a new restore; '
        + 'owners still paused: Flux HelmRelease flux-system/tenant-c (put back spec.suspend false; recorded in owner-helmrelease.flux-system.tenant-c)');
    });

    it('keeps the owner paused when a replica failed: resuming would start etcd on half-restored data', async () => {
      const kube = withRelease(false);
      kube.onStatusRead = (k) => { if (k.status.phase === 'RestoringSnapshot') { k.status['replica-0'] = 'restored'; k.status['replica-1'] = 'failed: disk full'; } };
      const result = await coordinator(kube, undefined, { owners: [release] }).run();
      expect(result).toMatchObject({ reason: 'RestoreJobFailed' });
      expect(kube.sts).toBe(0);
      expect(kube.ownerObjects[ownerKey(release)].spec!.suspend).toBe(true);
      expect(kube.status.message).toMatch(/\. Owners kept paused, because resuming them now would scale etcd up on half-restored data: Flux HelmRelease flux-system\/tenant-c \(put back spec\.suspend false; recorded in owner-helmrelease\.flux-system\.tenant-c\); resume them once etcd is restored or rolled back\.$/);
    });

    it('a re-run after a crash mid-restore resumes from the recorded original, not from the paused live object', async () => {
      const kube = withRelease(true); // paused by the run that crashed
      kube.onStatusRead = playReplicas;
      kube.status = {
        phase: 'StoppingEtcd', snapshot: 'c-20261201T000000Z', 'original-deployment-api': '2', 'original-deployment-cm': '1',
        [ownerKey(release)]: JSON.stringify({ ref: release, original: false, state: 'paused' }),
      };
      kube.deployments = { api: 0, cm: 0 };
      const result = await coordinator(kube, undefined, { owners: [release] }).run();
      expect(result).toMatchObject({ status: 'ok' });
      expect(kube.ownerObjects[ownerKey(release)].spec!.suspend).toBe(false);
      expect(kube.scaleLog.filter((l) => l.startsWith('operator'))).toEqual([]);
    });

    it('leaves an owner that was paused already as it is', async () => {
      const kube = withRelease(true);
      kube.onStatusRead = playReplicas;
      expect(await coordinator(kube, undefined, { owners: [release] }).run()).toMatchObject({ status: 'ok' });
      expect(kube.ownerLog).toEqual([]);
      expect(JSON.parse(kube.status[ownerKey(release)])).toEqual({ ref: release, state: 'already-paused' });
    });

    it('turns off automated sync of an Argo CD Application and puts back exactly the automated block', async () => {
      const app: OwnerRef = { kind: 'Application', namespace: 'argocd', name: 'tenant-c' };
      const kube = new MemoryKube();
      kube.stsMeta = { labels: {}, annotations: { 'argocd.argoproj.io/tracking-id': 'tenant-c:apps/StatefulSet:ns/etcd' }, ownerReferences: [] };
      const automated = { prune: true, selfHeal: true, allowEmpty: false };
      kube.ownerObjects[ownerKey(app)] = { spec: { project: 'default', syncPolicy: { automated, syncOptions: ['ServerSideApply=true'] } } };
      kube.operator = revertingOperator(app);
      kube.onStatusRead = playReplicas;
      expect(await coordinator(kube, undefined, { owners: [app], argocdNamespace: 'argocd' }).run()).toMatchObject({ status: 'ok' });
      expect(kube.scaleLog.filter((l) => l.startsWith('operator'))).toEqual([]);
      expect(kube.ownerLog[0]).toBe('tenant-c {"spec":{"syncPolicy":{"automated":null}}}');
      expect(kube.ownerObjects[ownerKey(app)]).toEqual({ spec: { project: 'default', syncPolicy: { automated, syncOptions: ['ServerSideApply=true'] } } });
    });

    it('pauses a Kamaji TenantControlPlane with its paused annotation and removes it after', async () => {
      const tcp: OwnerRef = { kind: 'TenantControlPlane', namespace: 'ns', name: 'tenant-c' };
      const kube = new MemoryKube();
      kube.stsMeta = { labels: {}, annotations: {}, ownerReferences: [{ apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'TenantControlPlane', name: 'tenant-c', controller: true }] };
      kube.ownerObjects[ownerKey(tcp)] = { metadata: { annotations: { keep: 'me' } } };
      kube.operator = revertingOperator(tcp);
      kube.onStatusRead = playReplicas;
      expect(await coordinator(kube, undefined, { owners: [tcp] }).run()).toMatchObject({ status: 'ok' });
      expect(kube.scaleLog.filter((l) => l.startsWith('operator'))).toEqual([]);
      expect(kube.ownerLog).toEqual(['tenant-c {"metadata":{"annotations":{"kamaji.clastix.io/paused":"true"}}}', 'tenant-c {"metadata":{"annotations":{"kamaji.clastix.io/paused":null}}}']);
      expect(kube.ownerObjects[ownerKey(tcp)]).toEqual({ metadata: { annotations: { keep: 'me' } } });
    });

    it('an owner the inventory does not name stops the restore at Validating with the inventory lines to add, nothing touched', async () => {
      const kube = withRelease(false);
      const other: OwnerRef = { kind: 'HelmRelease', namespace: 'flux-system', name: 'other' };
      const result = await coordinator(kube, undefined, { owners: [other] }).run();
      expect(result).toMatchObject({ exitCode: 10, reason: 'OwnerWouldRevert' });
      expect(kube.status.message).toBe('statefulset ns/etcd is managed by Flux HelmRelease flux-system/tenant-c: flux suspend helmrelease tenant-c -n flux-system (flux resume ... after the restore); '
        + 'deployment ns/api is managed by Flux HelmRelease flux-system/tenant-c: flux suspend helmrelease tenant-c -n flux-system (flux resume ... after the restore). '
        + 'It would scale back what the restore holds at 0 (and could start etcd on half-restored data). Nothing was changed: pause it, then start a new restore with a new id. '
        + 'Or let the restore pause and resume it: add {kind: HelmRelease, name: tenant-c, namespace: flux-system} to clusters.c.hosted.owners in the inventory, synthesize, and apply the restore folder with a new id.');
      expect(kube.scaleLog).toEqual([]);
      expect(kube.ownerLog).toEqual([]);
    });
  });

  describe('checks before anything is scaled (issue 11 item 5)', () => {
    const failsWith = async (kube: MemoryKube, backup: VerifiedBackup, message: string, extra: Partial<CoordinatorPlan> = {}) => {
      const result = await coordinator(kube, async () => backup, extra).run();
      expect(result).toMatchObject({ exitCode: 10, phase: 'Failed', reason: 'PreRestoreCheckFailed' });
      expect(kube.status.message).toBe(message);
      expect(kube.scaleLog).toEqual([]);
    };

    it('fails if the backup is of another cluster, unless allowCrossCluster', async () => {
      await failsWith(new MemoryKube(), { ...BACKUP, cluster: 'staging' },
        'cluster: the backup was taken of cluster staging (its meta.json), this restore is for c: pick a backup of c, or set allowCrossCluster: true on the restore request if this is on purpose. Nothing was changed.');
      const kube = new MemoryKube();
      kube.onStatusRead = playReplicas;
      expect(await coordinator(kube, async () => ({ ...BACKUP, cluster: 'staging' }), { allowCrossCluster: true }).run()).toMatchObject({ status: 'ok' });
    });

    it('fails if the snapshot was taken by a newer etcd minor than the StatefulSet runs', async () => {
      await failsWith(new MemoryKube(), { ...BACKUP, etcdVersion: '3.6.1' },
        'etcd-version: the snapshot was taken by etcd 3.6.1, StatefulSet ns/etcd runs etcd 3.5.16 (image registry.k8s.io/etcd:3.5.16-0): upgrade the StatefulSet\'s etcd to 3.6 or newer first, or restore a backup taken by etcd 3.5.16. Nothing was changed.');
    });

    it('fails if a data PVC cannot hold twice the snapshot', async () => {
      const kube = new MemoryKube();
      kube.claimStorage = { data: '150Mi' };
      await failsWith(kube, BACKUP,
        'free-space: each PVC of volumeClaimTemplate data of StatefulSet ns/etcd (storage request 150Mi) holds 150.0 MiB, the restore needs at least twice the snapshot (2 x 100.0 MiB = 200.0 MiB) for the restored copy beside the data: grow the PVCs (a storage class with allowVolumeExpansion) before restoring. Nothing was changed.');
    });
  });
});
