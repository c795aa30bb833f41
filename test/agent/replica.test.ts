// The hosted replica's steps against an in-memory status ConfigMap, with a stand-in etcdutl.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RestoreKube } from '../../lib/agent/kube';
import { AgentError as RestoreFailure } from '../../lib/agent/exit-codes';
import { Replica, type ReplicaDeps, type ReplicaPlan } from '../../lib/agent/restore/replica';
import { mkTemp, rmTemp } from '../support/proc';
import { fakeEtcdutl } from '../support/fake-etcdutl';

const NAME = 'c-20261201T000000Z';
let tmp: string;
let volume: string;
let savedPath: string | undefined;

function kube(status: Record<string, string>, onRead?: () => void): RestoreKube & { patches: Record<string, string | null>[] } {
  const patches: Record<string, string | null>[] = [];
  return {
    namespace: 'ns', patches,
    configMapData: async () => { onRead?.(); return { ...status }; },
    patchConfigMapData: async (_n, data) => { patches.push(data); for (const [k, v] of Object.entries(data)) if (v !== null) status[k] = v; },
    statefulSet: async () => { throw new Error('not for replicas'); },
    deploymentMetadata: async () => { throw new Error('not for replicas'); },
    scaleOf: async () => { throw new Error('not for replicas'); },
    setScale: async () => { throw new Error('not for replicas'); },
    podCount: async () => { throw new Error('not for replicas'); },
    ownerObject: async () => { throw new Error('not for replicas'); },
    patchOwner: async () => { throw new Error('not for replicas'); },
  };
}

const plan = (): ReplicaPlan => ({
  cluster: 'c', restoreId: 'r1', namespace: 'ns', statusConfigMap: 's', ordinal: 1, memberName: 'etcd-1',
  peerUrl: 'https://etcd-1.etcd-hl.ns.svc:2380', initialCluster: 'etcd-0=https://etcd-0.etcd-hl.ns.svc:2380,etcd-1=https://etcd-1.etcd-hl.ns.svc:2380',
  initialClusterToken: 'c-restore-r1', dataDir: join(volume, 'default.etcd'), bumpRevision: true, timeouts: { restoreSeconds: 10, pollSeconds: 1 },
});

function deps(k: RestoreKube, over: Partial<ReplicaDeps> = {}): ReplicaDeps {
  let t = 0;
  return {
    kube: k,
    fetchVerified: async (name) => {
      const file = join(tmp, 'snapshot.db');
      writeFileSync(file, `db of ${name}`);
      return { file, dispose: () => undefined };
    },
    log: () => undefined, sleep: async (ms) => { t += ms; }, now: () => t, ...over,
  };
}

beforeEach(() => {
  tmp = mkTemp('replica');
  volume = join(tmp, 'volume');
  mkdirSync(join(volume, 'default.etcd/member'), { recursive: true });
  savedPath = process.env.PATH;
  process.env.PATH = `${fakeEtcdutl(tmp)}:${savedPath}`;
});
afterEach(() => {
  process.env.PATH = savedPath;
  rmTemp(tmp);
});

describe('restore-replica', () => {
  it('waits for RestoringSnapshot, restores the recorded backup, leaves the marker and reports restored', async () => {
    const status: Record<string, string> = { phase: 'StoppingEtcd' };
    let reads = 0;
    const k = kube(status, () => { if (++reads === 3) Object.assign(status, { phase: 'RestoringSnapshot', snapshot: NAME }); });
    const result = await new Replica(plan(), deps(k)).run();
    expect(result).toMatchObject({ status: 'ok', role: 'replica', ordinal: 1, member: 'etcd-1', snapshot: NAME, revisionBumped: true });
    expect(reads).toBe(3);
    expect(readdirSync(join(volume, 'default.etcd')).sort()).toEqual(['.controlplane-backup-restore-r1.done', 'member', 'member.before-restore-r1']);
    expect(readFileSync(join(volume, 'default.etcd/member/snap/db'), 'utf8')).toBe(`db of ${NAME}`);
    expect(readdirSync(volume)).toEqual(['default.etcd']);
    expect(k.patches.map((p) => p['replica-1'])).toEqual(['restored']);

    // a second run: the marker reports restored again, nothing else
    const again = await new Replica(plan(), deps(kube({ phase: 'Succeeded' }))).run();
    expect(again).toMatchObject({ status: 'skipped', exitCode: 0 });
  });

  it('stops without touching data when the restore Failed before it acted (exit 10)', async () => {
    const k = kube({ phase: 'Failed', reason: 'SnapshotInvalid' });
    const result = await new Replica(plan(), deps(k)).run();
    expect(result).toMatchObject({ status: 'failed', exitCode: 10, message: 'restore r1 Failed (SnapshotInvalid) before this replica acted: data untouched' });
    expect(k.patches).toEqual([]);
    expect(existsSync(join(volume, 'default.etcd/member.before-restore-r1'))).toBe(false);
  });

  it('reports a failed fetch as failed: <message>, with the verifier\'s exit code', async () => {
    const k = kube({ phase: 'RestoringSnapshot', snapshot: NAME });
    const result = await new Replica(plan(), deps(k, { fetchVerified: async () => { throw new RestoreFailure(4, 'download failed'); } })).run();
    expect(result).toMatchObject({ status: 'failed', exitCode: 4 });
    expect(k.patches.map((p) => p['replica-1'])).toEqual(['failed: download failed']);
  });

  it('reports a wait that timed out, so that the coordinator does not wait for it', async () => {
    const k = kube({ phase: 'Validating' });
    const result = await new Replica(plan(), deps(k)).run();
    expect(result).toMatchObject({ exitCode: 10, message: 'phase RestoringSnapshot not reached within 10s (last phase: Validating): data untouched' });
    expect(k.patches.map((p) => p['replica-1'])).toEqual([`failed: ${result.message}`]);
  });

  it('refuses an unmounted volume (exit 3) and an unresolved snapshot (exit 3, reported)', async () => {
    const bad = { ...plan(), dataDir: '/nonexistent/volume/default.etcd' };
    expect(await new Replica(bad, deps(kube({}))).run()).toMatchObject({ exitCode: 3, message: 'the volume is not mounted: /nonexistent/volume does not exist' });
    const k = kube({ phase: 'RestoringSnapshot', snapshot: 'latest' });
    expect(await new Replica(plan(), deps(k)).run()).toMatchObject({ exitCode: 3 });
    expect(k.patches[0]['replica-1']).toMatch(/^failed: the status ConfigMap has no resolved snapshot/);
  });
});
