// `agent restore-member` on a 3-member kubeadm-like cluster: three concurrent runs (one per node, as the three Jobs run),
// meeting at the barrier in s3rver. Real TLS etcd members run by fake kubelets, in a private netns.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startNetns, NetNs } from '../support/netns';
import { startEtcdCluster, EtcdCluster, Digest } from '../support/etcd-cluster';
import { startS3, S3Server } from '../support/s3';
import { mkTemp, rmTemp } from '../support/proc';
import { ageKeypair } from '../support/agent';
import { BUCKET, expectFailed, isResultFile, listing, makeBackup, memberPlan, runRestore } from '../support/restore-member';

const CLUSTER = 'prod-3';
let tmp: string;
let netns: NetNs;
let s3: S3Server;
let c: EtcdCluster;
let keys: { identity: string; recipients: string };
let base: string;
let atBackup: Digest;

beforeAll(async () => {
  tmp = mkTemp('restore-cluster');
  netns = await startNetns(300);
  keys = await ageKeypair(tmp);
  [s3, c] = await Promise.all([
    startS3({ netns, dir: tmp, buckets: [BUCKET] }),
    startEtcdCluster({ netns, root: join(tmp, 'nodes'), size: 3 }),
  ]);
  await c.loadKeys({ count: 2000, valueBytes: 300 });
  atBackup = await c.digest(c.nodes[0]);
  base = await makeBackup(netns, s3, c.nodes[0], { cluster: CLUSTER, recipients: keys.recipients, scratch: join(tmp, 'backup-scratch') });
}, 90_000);

afterAll(async () => {
  await c?.stop();
  await s3?.stop();
  await netns?.stop();
  rmTemp(tmp);
});

const env = (i: number, restoreId: string, barrierSeconds = 60) =>
  memberPlan(c, c.nodes[i], s3, { cluster: CLUSTER, restoreId, snapshot: 'latest', identity: keys.identity, over: { timeouts: { barrierSeconds, stopSeconds: 30, healthSeconds: 60 } } });

describe('three members', () => {
  it('barrier timeout (only 2 of 3 members run) -> exit 6, nodes untouched, staging removed', async () => {
    const before = c.nodes.map((n) => ({ data: listing(n.dataDir, { skip: isResultFile }), pid: n.pid() }));
    const digests = await c.digests();
    const rs = await Promise.all([0, 1].map((i) => runRestore(netns, env(i, 'b1', 4))));
    for (const r of rs) {
      expectFailed(r, 6, /barrier timeout: after 4s still waiting for member\(s\): node-3 at s3:\/\/backups at \S+\/clusters\/prod-3\/restores\/b1 .*nothing on this node was changed/);
      expect(r.result!.stage).toBe('barrier');
      expect(r.result!.snapshot).toBe(base);
    }
    c.nodes.forEach((n, i) => {
      expect(listing(n.dataDir, { skip: isResultFile })).toEqual(before[i].data); // no staging dir, no swap
      expect(n.pid()).toBe(before[i].pid);
      expect(existsSync(n.manifest)).toBe(true);
      expect(listing(join(n.root, 'var/lib/controlplane-backup/scratch'))).toEqual([]);
    });
    expect(await c.digests()).toEqual(digests);
    expect((await s3.list(BUCKET, `clusters/${CLUSTER}/restores/b1`)).sort()).toEqual(['node-1.result.json', 'node-1.staged', 'node-2.result.json', 'node-2.staged']);
  });

  it('members on different snapshots (latest moved between their runs) -> exit 6, node untouched', async () => {
    const before = { data: listing(c.nodes[0].dataDir, { skip: isResultFile }), pid: c.nodes[0].pid() };
    const other = `${CLUSTER}-20240101T000000Z`;
    for (const m of ['node-2', 'node-3']) await s3.put(BUCKET, `clusters/${CLUSTER}/restores/d1/${m}.staged`, `${other}\n`);
    const r = await runRestore(netns, env(0, 'd1'));
    expectFailed(r, 6, new RegExp(`members resolved different snapshots \\(node-1=${base}, node-2=${other}, node-3=${other}\\): start a new restore`));
    expect(listing(c.nodes[0].dataDir, { skip: isResultFile })).toEqual(before.data);
    expect(c.nodes[0].pid()).toBe(before.pid);
  });

  it('restores all three concurrently: healthy, one leader, every member serves the backup', async () => {
    const before = await c.statuses();
    expect(before).toHaveLength(3);
    await c.put('/registry/later/key', 'written-after-the-backup');
    const t0 = Date.now();
    const rs = await Promise.all([0, 1, 2].map((i) => runRestore(netns, env(i, 'r1'))));
    const wall = Date.now() - t0;
    rs.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(0);
      expect(r.result).toMatchObject({ status: 'ok', member: `node-${i + 1}`, snapshot: base, restoreId: 'r1' });
      expect(r.stderr).toMatch(/barrier passed: all 3 members staged/);
    });
    console.log('3-member restore wall ms', wall, rs.map((r) => JSON.stringify(r.result!.durationsMs)));
    expect((await c.health()).every(Boolean)).toBe(true);
    expect(await c.leaderCount()).toBe(1);
    const after = await c.statuses();
    expect(after).toHaveLength(3);
    expect(new Set(after.map((s) => s.clusterId)).size).toBe(1); // one cluster...
    expect(after[0].clusterId).not.toBe(before[0].clusterId); // ...a new one
    expect(new Set(after.map((s) => s.leader)).size).toBe(1);
    const digests = await c.digests(); // serializable reads: each member's own data
    for (const d of digests) expect(d).toEqual(atBackup);
    for (const n of c.nodes) {
      expect(existsSync(join(n.dataDir, 'member.before-restore-r1'))).toBe(true);
      expect(existsSync(join(n.dataDir, '.controlplane-backup-restore-r1.done'))).toBe(true);
      expect(existsSync(join(n.dataDir, '.restore-r1.staging'))).toBe(false);
    }
    // writes work on the restored cluster
    await c.put('/registry/after/restore', 'ok', c.nodes[2]);
    expect((await c.nodes[0].ctl(['get', '/registry/after/restore', '--print-value-only'])).stdout.trim()).toBe('ok');
  });
});
