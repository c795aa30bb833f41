// Hosted restore of a 1-replica etcd StatefulSet (the Kube-DC shape) under busybox sh, plus a re-run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAPPY_PHASES, makeWorld, runRestore, World } from './world';

let w: World;
beforeAll(async () => {
  w = await makeWorld({ replicas: 1, keys: 2000, cluster: 'solo' });
}, 120_000);
afterAll(async () => { await w?.stop(); });

describe('hosted restore, 1 replica', () => {
  it('restores the single replica under busybox sh', async () => {
    const cm = w.newRestore('one');
    const { coordinator, replicas, durationMs } = await runRestore(w, 'one', { shell: 'busybox' });
    expect(coordinator.code, coordinator.stderr).toBe(0);
    expect(replicas[0].code, replicas[0].stderr).toBe(0);
    expect(w.api.phasesOf(cm)).toEqual(HAPPY_PHASES);
    expect(w.api.configMaps[cm]).toMatchObject({ phase: 'Succeeded', 'replica-0': 'restored', snapshot: w.backupBase });
    await w.waitHealthy(1);
    expect(await w.digest()).toEqual(w.digestAtBackup);
    expect((await w.sim.ctl(['get', '/registry/test/written-after-backup'])).stdout.trim()).toBe('');
    expect(w.api.deployments).toEqual(w.deployments);
    console.log(`1-replica restore (busybox): ${durationMs} ms`);
    const again = await runRestore(w, 'one', { shell: 'busybox' });
    expect(again.coordinator.result).toMatchObject({ status: 'skipped', phase: 'Succeeded' });
    expect(again.replicas[0].result?.status).toBe('skipped');
  }, 120_000);
});
