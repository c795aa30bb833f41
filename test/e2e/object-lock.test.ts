// Issue 13 item 4 (second half): S3 Object Lock against the moto server, in a bucket created with Object Lock. The
// agent's backups write every object locked (mode and retain-until date, with the checksums Object Lock requires,
// multipart included); retention never deletes a set whose lock may last, reports when it becomes deletable, and
// deletes (every version) once the lock has passed. The clock is injected into the agent's commands: a set stamped
// three days ago was locked until two days ago, for real, in moto.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../lib/agent/backup';
import { Context } from '../../lib/agent/context';
import { EXIT } from '../../lib/agent/exit-codes';
import { prune } from '../../lib/agent/prune';
import { snapshots } from '../../lib/cli/snapshots';
import { stringify } from 'yaml';
import { withToolsImageDocument } from '../support/inventory';
import { startMoto, type MotoServer } from '../support/moto';
import { testBackupPlan, writeSyntheticSnapshot } from '../support/agent';

const DAY = 86_400_000;
const CLUSTER = 'prod-1';
const DEADLINE_SECONDS = 1800;
let moto: MotoServer;
const dir = mkdtempSync(join(tmpdir(), 'cpb-object-lock-'));

beforeAll(async () => {
  moto = await startMoto();
  await moto.send('CreateBucket', { Bucket: 'locked', ObjectLockEnabledForBucket: true });
}, 40_000);

afterAll(async () => {
  await moto?.stop();
});

function planFile(): string {
  const file = join(dir, 'plan.json');
  writeFileSync(file, JSON.stringify(testBackupPlan({
    cluster: CLUSTER, snapshotFile: join(dir, 'snapshot.db'), compression: 'none', deadlineSeconds: DEADLINE_SECONDS,
    destinations: [{
      name: 'vault', kind: 's3', endpoint: moto.endpoint, region: 'us-east-1', pathStyle: true, bucket: 'locked', folder: CLUSTER,
      credentials: { accessKeyIdEnv: 'KEY_ID', secretAccessKeyEnv: 'SECRET' }, caFile: null, sse: null, insecure: true,
      objectLock: { mode: 'GOVERNANCE', days: 1 }, retention: { keepLast: 1, maxAgeHours: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0 },
    }],
  })));
  return file;
}

async function agent(command: typeof backup, at: Date) {
  const log: string[] = [];
  const ctx = new Context(command === backup ? 'backup' : 'prune', { out: () => undefined, err: (text) => log.push(text) },
    { PATH: process.env.PATH, KEY_ID: 'testing', SECRET: 'testing', TMPDIR: dir }, () => at);
  try {
    const outcome = await command({ path: planFile() }, ctx);
    return { ...outcome, result: ctx.result as Record<string, any>, log: log.join('') };
  } finally {
    ctx.close();
  }
}

async function keysOf(prefix: string): Promise<string[]> {
  const versions = await moto.send('ListObjectVersions', { Bucket: 'locked', Prefix: prefix });
  return [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])].map((version: any) => version.Key).sort();
}

describe('S3 Object Lock', () => {
  const now = new Date();
  const stamps = [new Date(now.getTime() - 3 * DAY), new Date(now.getTime() - 3_600_000), now];
  const bases: string[] = [];

  it('writes every object of a set locked, a multipart snapshot too', async () => {
    // 10 MiB: two parts of 8 MiB at most, each with its CRC32.
    writeSyntheticSnapshot(join(dir, 'snapshot.db'), 20_480);
    const first = await agent(backup, stamps[0]);
    expect(first.code, first.log).toBe(EXIT.ok);
    bases.push(first.result.base);
    const big = await moto.send('HeadObject', { Bucket: 'locked', Key: `${CLUSTER}/${bases[0]}.db` });
    expect(big.ContentLength).toBe(20_480 * 512 + 32);
    expect(big.ObjectLockMode).toBe('GOVERNANCE');
    for (const at of stamps.slice(1, 2)) {
      writeSyntheticSnapshot(join(dir, 'snapshot.db'));
      const run = await agent(backup, at);
      expect(run.code, run.log).toBe(EXIT.ok);
      bases.push(run.result.base);
    }
    const objects = (await moto.send('ListObjectsV2', { Bucket: 'locked', Prefix: `${CLUSTER}/${bases[1]}` })).Contents.map((object: any) => object.Key);
    expect(objects).toEqual([`${bases[1]}.db`, `${bases[1]}.meta.json`, `${bases[1]}.sha256`].map((name) => `${CLUSTER}/${name}`));
    for (const key of objects) {
      const head = await moto.send('HeadObject', { Bucket: 'locked', Key: key });
      expect(head.ObjectLockMode).toBe('GOVERNANCE');
      // Locked for a day from the upload, by the agent's clock.
      const until = new Date(head.ObjectLockRetainUntilDate).getTime();
      expect(until - stamps[1].getTime()).toBeGreaterThanOrEqual(DAY);
      expect(until - stamps[1].getTime()).toBeLessThan(DAY + 60_000);
    }
  }, 60_000);

  it('keeps a set whose lock may last and says when it becomes deletable; deletes every version of a set whose lock passed', async () => {
    // The second backup's retention already removed the first set (its lock passed two days ago): the third run's
    // retention finds the second set due, and locked.
    expect(await keysOf(`${CLUSTER}/${bases[0]}`)).toEqual([]);
    writeSyntheticSnapshot(join(dir, 'snapshot.db'));
    const run = await agent(backup, stamps[2]);
    expect(run.code, run.log).toBe(EXIT.ok);
    bases.push(run.result.base);
    const [destination] = run.result.destinations;
    // keepLast 1: both older sets are due. The one stamped three days ago was locked until two days ago: gone, every
    // version. The one of an hour ago is locked for almost a day more: kept, reported.
    // The set's stamp has whole seconds.
    const deletableAfter = new Date(Math.floor(stamps[1].getTime() / 1000) * 1000 + DAY + (DEADLINE_SECONDS + 300) * 1000).toISOString();
    expect(destination.locked).toEqual([{ name: bases[1], deletableAfter }]);
    expect(destination.deleted).toBe(0);
    expect(await keysOf(`${CLUSTER}/${bases[1]}`)).toHaveLength(3);
    expect(run.log).toContain(`destination vault: ${bases[1]} is due for deletion but under S3 Object Lock: kept, deletable after ${deletableAfter}`);
    // The lock is real: the store itself refuses to delete that version.
    const version = (await moto.send('ListObjectVersions', { Bucket: 'locked', Prefix: `${CLUSTER}/${bases[1]}.db` })).Versions[0].VersionId;
    await expect(moto.send('DeleteObject', { Bucket: 'locked', Key: `${CLUSTER}/${bases[1]}.db`, VersionId: version })).rejects.toThrow(/AccessDenied/);
  }, 60_000);

  it('prune reports the locked set while its date has not passed', async () => {
    const before = await agent(prune, new Date(now.getTime() + 2 * 3_600_000));
    expect(before.code, before.log).toBe(EXIT.ok);
    expect(before.result.destinations[0]).toMatchObject({ name: 'vault', deleted: 0, locked: [{ name: bases[1] }] });
    expect(await keysOf(`${CLUSTER}/${bases[1]}`)).toHaveLength(3);
  }, 60_000);

  it('snapshots shows until when each set may be locked', async () => {
    const inventory = join(dir, 'inventory.yaml');
    writeFileSync(inventory, stringify(withToolsImageDocument({
      apiVersion: 'controlplane-backup.io/v1',
      kind: 'Inventory',
      storages: {
        vault: {
          s3: { endpoint: moto.endpoint, bucket: 'locked', pathStyle: true, insecure: true, objectLock: { mode: 'GOVERNANCE', days: 1 } },
          credentials: { existingSecret: { name: 'vault' } },
        },
      },
      clusters: { [CLUSTER]: { kubeadm: { members: [{ name: 'cp-1', ip: '10.0.0.1' }] }, backup: { storages: ['vault'], pki: false } } },
    })));
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' });
    const out: string[] = [];
    try {
      const io = { out: (text: string) => out.push(text), err: (text: string) => out.push(text), interactive: false };
      expect(await snapshots({ inventory, json: true }, io)).toBe(0);
    } finally {
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID; else process.env.AWS_ACCESS_KEY_ID = saved.id;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY; else process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }
    const [location] = JSON.parse(out.join('')).locations;
    const lockedUntil = (stamp: Date) => new Date(Math.floor(stamp.getTime() / 1000) * 1000 + DAY + (DEADLINE_SECONDS + 300) * 1000).toISOString().replace('.000Z', 'Z');
    expect(location.backups.map((backup: any) => [backup.name, backup.lockedUntil])).toEqual([
      [bases[2], lockedUntil(stamps[2])],
      [bases[1], lockedUntil(stamps[1])],
    ]);
  }, 60_000);
});
