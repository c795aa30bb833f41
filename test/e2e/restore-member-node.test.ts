// `agent restore-member` on a one-member kubeadm-like node: real TLS etcd run by a fake kubelet, s3rver, age, zstd,
// in a private netns. The backup is made with `agent backup` first, exactly as the backup CronJob does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNetns, NetNs } from '../support/netns';
import { startEtcdCluster, EtcdCluster, ClusterNode, Digest } from '../support/etcd-cluster';
import { startS3, S3Server } from '../support/s3';
import { mkTemp, rmTemp, runOk } from '../support/proc';
import { ageKeypair } from '../support/agent';
import { BUCKET, expectFailed, fileContents, isResultFile, listing, makeBackup, memberPlan, runRestore } from '../support/restore-member';
import type { RestoreMemberPlan } from '../../lib/agent/restore/plans';

const CLUSTER = 'prod-1';
let tmp: string;
let netns: NetNs;
let s3: S3Server;
let c: EtcdCluster;
let node: ClusterNode;
let keys: { identity: string; recipients: string };
let base: string;
let atBackup: Digest;
let pkiAtBackup: Map<string, Buffer>;

const notSaved = (rel: string) => rel.startsWith('.before-restore-');
const env = (restoreId: string, snapshot: string, o: { folder?: string; pki?: boolean; over?: Partial<RestoreMemberPlan> } = {}) =>
  memberPlan(c, node, s3, { cluster: CLUSTER, restoreId, snapshot, identity: keys.identity, ...o });

beforeAll(async () => {
  tmp = mkTemp('restore-member');
  netns = await startNetns(300);
  keys = await ageKeypair(tmp);
  [s3, c] = await Promise.all([
    startS3({ netns, dir: tmp, buckets: [BUCKET] }),
    startEtcdCluster({ netns, root: join(tmp, 'nodes'), size: 1 }),
  ]);
  node = c.nodes[0];
  await c.loadKeys({ count: 2000, valueBytes: 300 });
  atBackup = await c.digest(node);
  pkiAtBackup = fileContents(node.pkiDir);
  base = await makeBackup(netns, s3, node, { cluster: CLUSTER, recipients: keys.recipients, scratch: join(tmp, 'backup-scratch') });
}, 90_000);

afterAll(async () => {
  await c?.stop();
  await s3?.stop();
  await netns?.stop();
  rmTemp(tmp);
});

/** the node exactly as it was: data dir entries, etcd process, keyspace, manifest in place, no staging, no scratch */
async function expectUntouched(before: { data: string[]; pid: number | undefined; digest: Digest }) {
  expect(listing(node.dataDir, { skip: isResultFile })).toEqual(before.data);
  expect(node.pid()).toBe(before.pid);
  expect(await c.digest(node)).toEqual(before.digest);
  expect(existsSync(node.manifest)).toBe(true);
  expect(listing(node.manifestsDir)).toEqual(['etcd.yaml f ' + readFileSync(node.manifest).length]);
  expect(listing(join(node.root, 'var/lib/controlplane-backup/scratch'))).toEqual([]);
}

async function snapshotOfNode() {
  return { data: listing(node.dataDir, { skip: isResultFile }), pid: node.pid(), digest: await c.digest(node) };
}

describe('single member', () => {
  it('restores the backup: keyspace as at backup time, later key gone, old data kept, marker written', async () => {
    await c.put('/registry/later/key', 'written-after-the-backup');
    const oldMember = listing(join(node.dataDir, 'member'));
    const pidBefore = node.pid();
    const r = await runRestore(netns, env('r1', 'latest'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    for (const l of r.stderr.trim().split('\n')) expect(l).toMatch(/^controlplane-backup: /);
    const res = r.result!;
    expect(res).toMatchObject({ status: 'ok', exitCode: 0, cluster: CLUSTER, restoreId: 'r1', member: 'node-1', snapshot: base, pkiRestored: false });
    // Debian's etcd 3.4 has no --bump-revision: not bumped, and the log says what to restart
    expect(res.revisionBumped).toBe(false);
    expect(r.stderr).toMatch(/restart every kube-apiserver, kube-controller-manager, kube-scheduler and kubelet/);
    console.log('single-member restore durationsMs', JSON.stringify(res.durationsMs));
    for (const k of ['fetch', 'restore', 'stopEtcd', 'swap', 'startEtcd', 'total']) expect(res.durationsMs[k]).toBeGreaterThanOrEqual(0);

    expect(node.pid()).not.toBe(pidBefore); // etcd was restarted by the kubelet
    expect((await c.health()).every(Boolean)).toBe(true);
    const after = await c.digest(node);
    expect(after).toEqual(atBackup);
    expect((await node.ctl(['get', '/registry/later/key', '--print-value-only'])).stdout.trim()).toBe('');
    // the old data is kept beside the restored one; the marker records the snapshot
    // (etcd kept writing until it stopped: compare file names, and find the later write in the saved data)
    const names = (l: string[]) => l.map((x) => x.split(' ')[0]).filter((x) => !x.endsWith('.tmp'));
    const saved = join(node.dataDir, 'member.before-restore-r1');
    expect(names(listing(saved))).toEqual(names(oldMember));
    const savedBytes = Buffer.concat([...fileContents(saved).values()]);
    expect(savedBytes.includes('written-after-the-backup')).toBe(true);
    const marker = readFileSync(join(node.dataDir, '.controlplane-backup-restore-r1.done'), 'utf8');
    expect(marker).toContain(`snapshot=${base}\n`);
    expect(marker).toMatch(/restoredAt=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
    // nothing left behind: no staging, manifest back, scratch empty
    const resultFile = readFileSync(join(node.dataDir, '.controlplane-backup-restore-r1.result.json'), 'utf8');
    expect(res).toMatchObject(JSON.parse(resultFile));
    expect(listing(node.dataDir).filter((l) => !l.startsWith('member'))).toEqual(['.controlplane-backup-restore-r1.done f ' + marker.length, '.controlplane-backup-restore-r1.result.json f ' + resultFile.length]);
    expect(listing(node.manifestsDir).map((l) => l.split(' ')[0])).toEqual(['etcd.yaml']);
    expect(listing(join(node.root, 'var/lib/controlplane-backup/scratch'))).toEqual([]);
  });

  it('a re-run of the same restore prints skipped and changes nothing', async () => {
    // the agent's work dir comes and goes in the scratch volume
    const skip = (rel: string) => rel === 'etcd.log' || rel === 'var/lib/controlplane-backup/scratch';
    const before = listing(node.root, { mtimes: true, skip });
    const pid = node.pid();
    const r = await runRestore(netns, env('r1', 'latest'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.result).toMatchObject({ status: 'skipped', exitCode: 0, restoreId: 'r1', snapshot: base });
    expect(r.stderr).toMatch(/already restored/);
    expect(listing(node.root, { mtimes: true, skip })).toEqual(before);
    expect(node.pid()).toBe(pid);
  });

  it('restores the PKI: files byte-identical to backup time, the current ones saved', async () => {
    const changed = join(node.pkiDir, 'sa.pub');
    writeFileSync(changed, 'rotated by someone after the backup\n');
    const current = fileContents(node.pkiDir, notSaved);
    const r = await runRestore(netns, env('r2', base, { pki: true }));
    expect(r.code, r.stderr).toBe(0);
    expect(r.result).toMatchObject({ status: 'ok', snapshot: base, pkiRestored: true });
    const restored = fileContents(node.pkiDir, notSaved);
    expect([...restored.keys()].sort()).toEqual([...pkiAtBackup.keys()].sort());
    for (const [f, b] of pkiAtBackup) expect(restored.get(f)!.equals(b), f).toBe(true);
    const saved = fileContents(join(node.pkiDir, '.before-restore-r2'));
    expect([...saved.keys()].sort()).toEqual([...current.keys()].sort());
    for (const [f, b] of current) expect(saved.get(f)!.equals(b), f).toBe(true);
    expect(saved.get('sa.pub')!.toString()).toBe('rotated by someone after the backup\n');
    expect((await c.health()).every(Boolean)).toBe(true);
    expect(await c.digest(node)).toEqual(atBackup);
  });
});

describe('faults: exit code, message, node untouched', () => {
  let n = 0;
  /** a copy of the good backup set in its own folder, to damage */
  async function copySet(): Promise<{ dir: string; prefix: string }> {
    const prefix = `faults/${++n}`;
    const r = await s3.rclone(['copy', `s3:${BUCKET}/clusters/${CLUSTER}`, `s3:${BUCKET}/${prefix}`, '--exclude', 'restores/**']);
    expect(r.code, r.stderr).toBe(0);
    return { dir: prefix, prefix };
  }

  async function plainSnapshot(): Promise<Buffer> {
    const enc = await s3.get(BUCKET, `clusters/${CLUSTER}/${base}.db.zst.age`);
    const f = join(tmp, 'enc.db.zst.age');
    writeFileSync(f, enc);
    return (await runOk('sh', ['-c', 'age -d -i "$1" "$2" | zstd -d -q -c', 'sh', keys.identity, f])).stdoutBuf;
  }

  /** a plain (uncompressed, unencrypted) set whose sidecar matches the given snapshot bytes (and its metadata) */
  async function plainSet(db: Buffer): Promise<string> {
    const prefix = `faults/${++n}`;
    const meta = Buffer.from(`{"cluster":"${CLUSTER}"}\n`);
    const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    await s3.put(BUCKET, `${prefix}/${base}.db`, db);
    await s3.put(BUCKET, `${prefix}/${base}.meta.json`, meta);
    await s3.put(BUCKET, `${prefix}/${base}.sha256`, `${hex(db)}  ${base}.db\n${hex(meta)}  ${base}.meta.json\n#size ${base}.db ${db.length}\n#size ${base}.meta.json ${meta.length}\n`);
    return prefix;
  }

  it('wrong checksum (object corrupted in storage) -> exit 2 naming the object', async () => {
    const before = await snapshotOfNode();
    const { dir, prefix } = await copySet();
    const key = `${prefix}/${base}.db.zst.age`;
    const b = await s3.get(BUCKET, key);
    b[Math.floor(b.length / 2)] ^= 0xff;
    await s3.put(BUCKET, key, b);
    const r = await runRestore(netns, env('f-checksum', base, { folder: dir }));
    expectFailed(r, 2, new RegExp(`checksum mismatch: ${base}\\.db\\.zst\\.age \\(sidecar [0-9a-f]{64}, downloaded [0-9a-f]{64}\\): the object is corrupt`));
    await expectUntouched(before);
  });

  it('truncated snapshot (sidecar matches, trailer does not) -> exit 2', async () => {
    const before = await snapshotOfNode();
    const db = await plainSnapshot();
    const dir = await plainSet(db.subarray(0, Math.floor(db.length / 2) + 100));
    const r = await runRestore(netns, env('f-trunc', base, { folder: dir }));
    expectFailed(r, 2, new RegExp(`${base}\\.db: snapshot truncated or corrupt: size \\d+ is not 512\\*n\\+32`));
    await expectUntouched(before);
  });

  it('snapshot with overwritten bytes (size intact) -> exit 2 trailer mismatch', async () => {
    const before = await snapshotOfNode();
    const db = Buffer.from(await plainSnapshot());
    db.fill(0x41, 8192, 8192 + 64);
    const dir = await plainSet(db);
    const r = await runRestore(netns, env('f-trailer', base, { folder: dir }));
    expectFailed(r, 2, new RegExp(`${base}\\.db: snapshot corrupt: sha256 trailer mismatch`));
    await expectUntouched(before);
  });

  it('missing sidecar -> exit 2 incomplete backup', async () => {
    const before = await snapshotOfNode();
    const { dir, prefix } = await copySet();
    expect((await s3.rclone(['deletefile', `s3:${BUCKET}/${prefix}/${base}.sha256`])).code).toBe(0);
    const r = await runRestore(netns, env('f-sidecar', base, { folder: dir }));
    expectFailed(r, 2, new RegExp(`no checksum sidecar: ${base} is an incomplete backup`));
    await expectUntouched(before);
  });

  it('latest with nothing complete in the folder -> exit 2', async () => {
    const before = await snapshotOfNode();
    const { dir, prefix } = await copySet();
    expect((await s3.rclone(['deletefile', `s3:${BUCKET}/${prefix}/${base}.sha256`])).code).toBe(0);
    await s3.put(BUCKET, `${prefix}/other-cluster-20240101T000000Z.sha256`, 'x\n'); // another cluster's set: not ours
    const r = await runRestore(netns, env('f-latest', 'latest', { folder: dir }));
    expectFailed(r, 2, new RegExp(`no complete backup of ${CLUSTER} in s3://${BUCKET} at \\S+/${dir}`));
    expect(r.result!.snapshot).toBe(null);
    await expectUntouched(before);
  });

  it('decryption key missing -> exit 3 telling to create the Secret', async () => {
    const before = await snapshotOfNode();
    const r = await runRestore(netns, env('f-nokey', base, { over: { identityFile: join(tmp, 'no-such-identity') } }));
    expectFailed(r, 3, /decryption key missing: create the Secret mounted at \S+no-such-identity with the age identity/);
    await expectUntouched(before);
  });

  it('wrong decryption key -> exit 3', async () => {
    const before = await snapshotOfNode();
    const other = await ageKeypair(join(tmp, 'nodes')); // a different identity
    const r = await runRestore(netns, env('f-wrongkey', base, { over: { identityFile: other.identity } }));
    expectFailed(r, 3, new RegExp(`${base}\\.db\\.zst\\.age could not be decrypted with the given identity \\(age exited 1: .*no identity matched`));
    await expectUntouched(before);
  });

  it('storage unreachable -> exit 4, bounded', async () => {
    const before = await snapshotOfNode();
    const run = env('f-unreach', base);
    const r = await runRestore(netns, { ...run, plan: { ...run.plan, source: { ...run.plan.source, endpoint: 'http://127.0.0.1:9' } as RestoreMemberPlan['source'] } });
    expectFailed(r, 4, /cannot list s3:\/\/backups at http:\/\/127\.0\.0\.1:9\/clusters\/prod-1: /);
    expect(r.durationMs).toBeLessThan(30_000);
    await expectUntouched(before);
  });

  it('bad configuration -> exit 3 before anything is touched', async () => {
    const before = await snapshotOfNode();
    const r = await runRestore(netns, env('f-config', base, { over: { members: [{ name: 'node-1', peerUrl: 'https://127.0.0.9:2380' }] } }));
    expectFailed(r, 3, /invalid plan \(\S+\): member\.peerUrl: members says https:\/\/127\.0\.0\.9:2380 for node-1/);
    await expectUntouched(before);
  });
});
