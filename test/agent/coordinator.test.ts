// The coordinator's phases against an in-memory API (the same requests the fake API server of the end-to-end tests
// answers): what it records, what it scales and what it leaves, on success and on each failure path.
import { describe, expect, it } from 'vitest';
import { KubeError, type RestoreKube } from '../../lib/agent/kube';
import { Coordinator, type CoordinatorPlan } from '../../lib/agent/restore/coordinator';
import type { ObjectMetadata } from '../../lib/agent/restore/coordinator-machine';
import { AgentError as RestoreFailure } from '../../lib/agent/exit-codes';

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
  async statefulSet() { this.check('get-sts'); return { metadata: this.stsMeta, replicas: this.sts, readyReplicas: this.ready, matchLabels: { app: 'etcd' } }; }
  async deploymentMetadata(name: string) { this.check(`get-deployment-${name}`); return this.deploymentMeta[name] ?? { labels: {}, annotations: {}, ownerReferences: [] }; }
  async scaleOf(kind: string, name: string) { this.check(`get-scale-${name}`); return kind === 'statefulset' ? this.sts : this.deployments[name]; }
  async setScale(kind: string, name: string, n: number) {
    this.check(`scale-${name}-${n}`);
    this.scaleLog.push(`${name}=${n}`);
    if (kind === 'statefulset') { this.sts = n; this.pods = n; this.ready = n; } else this.deployments[name] = n;
  }
  async podCount() { this.check('pods'); return this.pods; }
}

const phases = (k: MemoryKube) => k.patches.map((p) => p.phase).filter(Boolean);
const playReplicas = (k: MemoryKube) => {
  if (k.status.phase === 'RestoringSnapshot') for (let i = 0; i < 3; i++) k.status[`replica-${i}`] = 'restored';
};

function coordinator(kube: MemoryKube, verify: (name: string) => Promise<string> = async () => 'c-20261201T000000Z') {
  let t = 0;
  return new Coordinator(plan, { kube, verifySnapshot: verify, log: () => undefined, sleep: async (ms) => { t += ms; }, now: () => t });
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
    expect(kube.status.message).toBe('statefulset ns/etcd is managed by Kamaji TenantControlPlane tenant-x: scale the Kamaji controller to 0 (it reconciles TenantControlPlane tenant-x), and back after the restore; '
      + 'deployment ns/api is managed by Flux Kustomization flux-system/tenants: flux suspend kustomization tenants -n flux-system (flux resume ... after the restore). '
      + 'It would scale back what the restore holds at 0 (and could start etcd on half-restored data). Nothing was changed: pause it, then start a new restore with a new id.');
    expect(kube.scaleLog).toEqual([]);
    expect(kube.status.snapshot).toBeUndefined();
  });
});
