// Hosted restore of a 3-replica etcd StatefulSet (simulated) through the fake API server: happy path, re-run, faults.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { shim } from '../scripts/helpers';
import { COORDINATOR, HAPPY_PHASES, makeWorld, REPLICA, runRestore, World } from './world';

let w: World;
beforeAll(async () => {
  w = await makeWorld({ replicas: 3, keys: 3000, cluster: 'tenant-x' });
}, 120_000);
afterAll(async () => { await w?.stop(); });

describe('hosted restore, 3 replicas', () => {
  it('restores every replica concurrently, phases in order, etcd healthy with the backup-time keyspace', async () => {
    const cm = w.newRestore('r1');
    const before = w.api.requests.length;
    const { coordinator, replicas, durationMs } = await runRestore(w, 'r1', { shell: 'dash' });
    expect(coordinator.code, coordinator.stderr).toBe(0);
    for (const r of replicas) expect(r.code, r.stderr).toBe(0);
    expect(coordinator.result).toMatchObject({ status: 'ok', phase: 'Succeeded', snapshot: w.backupBase, role: 'coordinator' });
    for (const [i, r] of replicas.entries()) expect(r.result).toMatchObject({ status: 'ok', ordinal: i, member: w.sim.memberName(i), snapshot: w.backupBase });
    expect(w.api.phasesOf(cm)).toEqual(HAPPY_PHASES);
    const status = w.api.configMaps[cm];
    expect(status).toMatchObject({
      phase: 'Succeeded', reason: '', snapshot: w.backupBase, 'original-statefulset-replicas': '3',
      [`original-deployment-${w.cluster}-apiserver`]: '2', [`original-deployment-${w.cluster}-controller-manager`]: '1',
      'replica-0': 'restored', 'replica-1': 'restored', 'replica-2': 'restored',
    });
    expect(status.updatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // every replica reported only after StoppingEtcd's pods were gone: replica patches come after RestoringSnapshot
    const patches = w.api.patchesOf(cm);
    const restoringAt = patches.findIndex((p) => p.phase === 'RestoringSnapshot');
    patches.forEach((p, k) => { if (Object.keys(p).some((key) => key.startsWith('replica-'))) expect(k).toBeGreaterThan(restoringAt); });
    // scaled down and back, in this order
    expect(w.sim.scaleLog.slice(-2)).toEqual([0, 3]);
    expect(w.api.deployments).toEqual(w.deployments);
    const scalePatches = w.api.requests.slice(before).filter((r) => r.method === 'PATCH' && r.path.endsWith('/scale')).map((r) => `${r.path.split('/').slice(-2, -1)[0]}=${r.body.spec.replicas}`);
    expect(scalePatches).toEqual([`${w.cluster}-apiserver=0`, `${w.cluster}-controller-manager=0`, `${w.sim.name}=0`, `${w.sim.name}=3`, `${w.cluster}-apiserver=2`, `${w.cluster}-controller-manager=1`]);

    // etcd: 3 healthy members, one leader, the new cluster token's members, backup-time keyspace, later key absent
    await w.waitHealthy(3);
    const st = await w.sim.ctl(['endpoint', 'status', '-w', 'json']);
    expect(st.code, st.stderr).toBe(0);
    const statuses = JSON.parse(st.stdout) as { Status: { header: { member_id: string; cluster_id: string }; leader: string } }[];
    expect(statuses).toHaveLength(3);
    expect(new Set(statuses.map((s) => String(s.Status.leader))).size).toBe(1);
    expect(new Set(statuses.map((s) => String(s.Status.header.cluster_id))).size).toBe(1);
    expect(statuses.map((s) => String(s.Status.header.member_id))).toContain(String(statuses[0].Status.leader));
    const ml = await w.sim.ctl(['member', 'list', '-w', 'simple']);
    expect(ml.stdout.trim().split('\n').map((l) => l.split(', ')[2]).sort()).toEqual([0, 1, 2].map((i) => w.sim.memberName(i)));
    expect(await w.digest()).toEqual(w.digestAtBackup);
    const later = await w.sim.ctl(['get', '/registry/test/written-after-backup']);
    expect(later.stdout.trim()).toBe('');
    // data dirs: restored member/, previous data kept, marker, no staging left
    for (let i = 0; i < 3; i++) {
      const entries = readdirSync(w.sim.dataDir(i)).sort();
      expect(entries).toEqual(['.controlplane-backup-restore-r1.done', 'member', 'member.before-restore-r1']);
      expect(readdirSync(w.sim.pvcDir(i)).filter((e) => e.includes('staging'))).toEqual([]);
    }
    console.log(`3-replica restore (dash): ${durationMs} ms`);
  }, 180_000);

  it('a re-run of the coordinator and the replicas is a no-op', async () => {
    const scaleLog = [...w.sim.scaleLog];
    const before = w.api.patchesOf(`${w.cluster}-restore-r1-status`).length;
    for (const shell of ['dash', 'busybox'] as const) {
      const { coordinator, replicas } = await runRestore(w, 'r1', { shell });
      expect(coordinator.code, coordinator.stderr).toBe(0);
      expect(coordinator.result).toMatchObject({ status: 'skipped', phase: 'Succeeded' });
      for (const r of replicas) {
        expect(r.code, r.stderr).toBe(0);
        expect(r.result?.status).toBe('skipped');
      }
    }
    expect(w.sim.scaleLog).toEqual(scaleLog);
    // only the replicas' idempotent "restored" reports
    const after = w.api.patchesOf(`${w.cluster}-restore-r1-status`).slice(before);
    for (const p of after) expect(Object.entries(p).filter(([k]) => k !== 'updatedAt').every(([k, v]) => k.startsWith('replica-') && v === 'restored')).toBe(true);
    for (let i = 0; i < 3; i++) expect(readdirSync(w.sim.dataDir(i))).not.toContain('member.before-restore-r1.1');
  }, 120_000);

  it('fails at Validating on a checksum mismatch, nothing scaled', async () => {
    // a copy of the backup set whose snapshot object is corrupt (one byte changed)
    const dir = `clusters/${w.cluster}-corrupt`;
    for (const f of await w.s3.list('backups', `clusters/${w.cluster}`)) {
      let b = await w.s3.get('backups', `clusters/${w.cluster}/${f}`);
      if (f.endsWith('.db.zst.age')) { b = Buffer.from(b); b[b.length - 100] ^= 0xff; }
      await w.s3.put('backups', `${dir}/${f}`, b);
    }
    const cm = w.newRestore('corrupt');
    const scaleLog = [...w.sim.scaleLog];
    const { coordinator, replicas } = await runRestore(w, 'corrupt', {
      coordinatorOver: { SNAPSHOT_DIR: `primary:backups/${dir}`, RESTORE_TIMEOUT_SECONDS: '5' },
      replicaOver: () => ({ SNAPSHOT_DIR: `primary:backups/${dir}`, RESTORE_TIMEOUT_SECONDS: '20' }),
    });
    expect(coordinator.code).toBe(2);
    expect(w.api.phasesOf(cm)).toEqual(['Validating', 'Failed']);
    expect(w.api.configMaps[cm]).toMatchObject({ phase: 'Failed', reason: 'SnapshotInvalid' });
    expect(w.api.configMaps[cm].message).toMatch(/^backup not usable, nothing was changed: checksum mismatch: tenant-x-\d{8}T\d{6}Z\.db\.zst\.age/);
    expect(w.sim.scaleLog).toEqual(scaleLog);
    expect(w.api.deployments).toEqual(w.deployments);
    for (const r of replicas) {
      expect(r.code).toBe(10);
      expect(r.result?.message).toMatch(/Failed \(SnapshotInvalid\) before this replica acted: data untouched/);
    }
    await w.waitHealthy(3);
  }, 120_000);

  it('fails at Validating when the decryption key is missing (exit 3), nothing scaled', async () => {
    const cm = w.newRestore('nokey');
    const scaleLog = [...w.sim.scaleLog];
    const r = await w.run(COORDINATOR, w.coordinatorEnv('nokey', { AGE_IDENTITY_FILE: join(w.tmp, 'no-such-identity') }));
    expect(r.code).toBe(3);
    expect(w.api.configMaps[cm]).toMatchObject({ phase: 'Failed', reason: 'DecryptionKeyError' });
    expect(w.api.configMaps[cm].message).toMatch(/decryption key missing/);
    expect(w.sim.scaleLog).toEqual(scaleLog);
  });

  it('fails with ReplicaCountMismatch when the StatefulSet has another replica count, nothing scaled', async () => {
    const cm = w.newRestore('mismatch');
    const scaleLog = [...w.sim.scaleLog];
    const r = await w.run(COORDINATOR, w.coordinatorEnv('mismatch', { REPLICAS: '2' }));
    expect(r.code).toBe(10);
    expect(r.result).toMatchObject({ status: 'failed', phase: 'Failed', reason: 'ReplicaCountMismatch' });
    expect(w.api.configMaps[cm]).toMatchObject({ phase: 'Failed', reason: 'ReplicaCountMismatch' });
    expect(w.api.configMaps[cm].message).toMatch(/has 3 replicas, the inventory expects 2/);
    expect(w.sim.scaleLog).toEqual(scaleLog);
    expect(w.api.deployments).toEqual(w.deployments);
    // a Failed restore is never resumed
    const again = await w.run(COORDINATOR, w.coordinatorEnv('mismatch'));
    expect(again.code).toBe(10);
    expect(again.result?.message).toMatch(/already Failed \(ReplicaCountMismatch\)/);
  });

  it('a failing replica fails the restore with RestoreJobFailed and leaves etcd at 0', async () => {
    const cm = w.newRestore('bad');
    const shims = join(w.tmp, 'shims-failing-etcdctl');
    mkdirSync(shims, { recursive: true });
    shim(shims, 'etcdctl', 'echo "etcdctl: simulated disk failure" >&2; exit 1');
    const { coordinator, replicas } = await runRestore(w, 'bad', { replicaPath: (i) => (i === 1 ? shims : undefined) });
    expect(coordinator.code).toBe(10);
    expect(w.api.phasesOf(cm)).toEqual(['Validating', 'DrainingControlPlane', 'StoppingEtcd', 'RestoringSnapshot', 'Failed']);
    const st = w.api.configMaps[cm];
    expect(st).toMatchObject({ phase: 'Failed', reason: 'RestoreJobFailed' });
    expect(st['replica-1']).toMatch(/^failed: etcdctl snapshot restore failed \(exit 1\): etcdctl: simulated disk failure/);
    expect(st.message).toMatch(/etcd StatefulSet tenant-x-etcd left at 0 replicas \(was 3\)/);
    expect(replicas[1].code).toBe(1);
    expect(w.sim.replicas).toBe(0);
    expect(w.sim.pods()).toEqual([]);
    expect(Object.values(w.api.deployments)).toEqual([0, 0]);
    expect(existsSync(join(w.sim.dataDir(1), '.controlplane-backup-restore-bad.done'))).toBe(false);
  }, 120_000);

  it('the replica script refuses a member missing from INITIAL_CLUSTER (exit 3)', async () => {
    const r = await w.run(REPLICA, w.replicaEnv('cfg', 0, { INITIAL_CLUSTER: 'other=https://x:2380' }));
    expect(r.code).toBe(3);
    expect(r.result?.message).toMatch(/INITIAL_CLUSTER must contain tenant-x-etcd-0=/);
  });
});
