// Retention: the awk decision on tables, and several real runs against s3rver + a local dir with seeded sets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startNetns, NetNs } from '../support/netns';
import { startS3, S3Server } from '../support/s3';
import { mkTemp, rmTemp, runOk } from '../support/proc';
import { RETENTION_AWK, runBackup, writeSyntheticSnapshot, stamp, nextSecond } from './helpers';

const set = (c: string, ts: string, complete = true) => [`${c}-${ts}.db.zst.age`, `${c}-${ts}.meta.json`, ...(complete ? [`${c}-${ts}.sha256`] : [])];

async function decide(names: string[], v: Record<string, string | number>): Promise<string[]> {
  const args: string[] = [];
  for (const [k, x] of Object.entries({ cluster: 'prod-1', keep_last: 0, max_age_hours: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0, ...v })) args.push('-v', `${k}=${x}`);
  const r = await runOk('awk', [...args, '-f', RETENTION_AWK], { input: names.join('\n') + '\n' });
  return r.stdout.split('\n').filter(Boolean).sort();
}
const tsOf = (names: string[]) => [...new Set(names.map((n) => n.replace(/^prod-1-/, '').slice(0, 16)))].sort();

describe('retention decision (retention.awk)', () => {
  const T = ['20240101T100000Z', '20240102T100000Z', '20240103T100000Z', '20240104T100000Z', '20240105T100000Z'];
  const cur = 'prod-1-20240105T100000Z';
  const all = T.flatMap((t) => set('prod-1', t));

  it('nothing set: nothing removed (even incomplete sets)', async () => {
    expect(await decide([...all, ...set('prod-1', '20231231T000000Z', false)], { current: cur })).toEqual([]);
  });

  it('keep_last N newest complete; older incomplete removed, newer incomplete kept', async () => {
    const names = [...all, ...set('prod-1', '20240101T120000Z', false), ...set('prod-1', '20240106T000000Z', false)];
    expect(tsOf(await decide(names, { current: cur, keep_last: 2 }))).toEqual(['20240101T100000Z', '20240101T120000Z', '20240102T100000Z', '20240103T100000Z']);
  });

  it('hourly tier: newest set of each of the last N hours with a backup', async () => {
    const names = ['20240105T100500Z', '20240105T104000Z', '20240105T111000Z', '20240105T120000Z'].flatMap((t) => set('prod-1', t));
    expect(tsOf(await decide(names, { current: 'prod-1-20240105T120000Z', hourly: 2 }))).toEqual(['20240105T100500Z', '20240105T104000Z']);
    expect(tsOf(await decide(names, { current: 'prod-1-20240105T120000Z', hourly: 3 }))).toEqual(['20240105T100500Z']);
  });

  it('daily tier', async () => {
    const names = ['20240103T230000Z', '20240104T010000Z', '20240104T220000Z', '20240105T100000Z'].flatMap((t) => set('prod-1', t));
    expect(tsOf(await decide(names, { current: 'prod-1-20240105T100000Z', daily: 2 }))).toEqual(['20240103T230000Z', '20240104T010000Z']);
  });

  it('weekly tier uses ISO weeks (Monday start)', async () => {
    // 2024-01-01 Mon, 01-07 Sun (same week), 01-08 Mon (next week), 01-09 current
    const names = ['20240101T100000Z', '20240107T100000Z', '20240108T100000Z', '20240109T100000Z'].flatMap((t) => set('prod-1', t));
    expect(tsOf(await decide(names, { current: 'prod-1-20240109T100000Z', weekly: 2 }))).toEqual(['20240101T100000Z', '20240108T100000Z']);
    // across a year end: 2020-12-31 (Thu) and 2021-01-03 (Sun) are both ISO week 2020-W53
    const y = ['20201228T000000Z', '20201231T000000Z', '20210103T000000Z', '20210104T000000Z'].flatMap((t) => set('prod-1', t));
    expect(tsOf(await decide(y, { current: 'prod-1-20210104T000000Z', weekly: 2 }))).toEqual(['20201228T000000Z', '20201231T000000Z']);
  });

  it('monthly tier', async () => {
    const names = ['20240131T100000Z', '20240201T100000Z', '20240215T100000Z', '20240301T100000Z'].flatMap((t) => set('prod-1', t));
    expect(tsOf(await decide(names, { current: 'prod-1-20240301T100000Z', monthly: 2 }))).toEqual(['20240131T100000Z', '20240201T100000Z']);
  });

  it('max_age is a hard ceiling over tiers; alone it keeps everything within', async () => {
    expect(tsOf(await decide(all, { current: cur, keep_last: 5, max_age_hours: 48 }))).toEqual(['20240101T100000Z', '20240102T100000Z']);
    expect(tsOf(await decide(all, { current: cur, max_age_hours: 72 }))).toEqual(['20240101T100000Z']);
  });

  it('never removes the current set nor the newest complete set', async () => {
    // current is incomplete from the listing's view (e.g. eventual consistency) and everything is beyond max age
    const names = [...set('prod-1', '20240101T000000Z'), ...set('prod-1', '20240102T000000Z'), ...set('prod-1', '20240110T000000Z', false)];
    expect(tsOf(await decide(names, { current: 'prod-1-20240110T000000Z', max_age_hours: 1, keep_last: 1 }))).toEqual(['20240101T000000Z']);
  });

  it('touches only this cluster\'s keys (prod-1 vs prod-10, foreign names)', async () => {
    const foreign = [...set('prod-10', '20240101T100000Z'), 'prod-1-notes.txt', 'prod-1-20240101T100000Z', 'random.bin', 'prod-1-2024010T100000Z.db', 'xprod-1-20240101T100000Z.db'];
    const out = await decide([...all, ...foreign], { current: cur, keep_last: 1 });
    expect(out.every((n) => n.startsWith('prod-1-2024010') && !foreign.includes(n))).toBe(true);
    expect(tsOf(out)).toEqual(T.slice(0, 4));
  });
});

describe('retention over several runs (s3rver + local dir)', () => {
  let tmp: string;
  let netns: NetNs;
  let s3: S3Server;
  beforeAll(async () => {
    tmp = mkTemp('retention');
    netns = await startNetns(300);
    s3 = await startS3({ netns, dir: tmp, buckets: ['backups'] });
  });
  afterAll(async () => {
    await s3?.stop();
    await netns?.stop();
    rmTemp(tmp);
  });

  it('keeps exactly the expected sets and never touches foreign objects', async () => {
    const C = 'prod-1';
    const day0 = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
    const at = (daysAgo: number, hour: number) => stamp(new Date(day0 - daysAgo * 86400_000 + hour * 3600_000));
    const Y12 = at(1, 12), Y06 = at(1, 6), Y09 = at(1, 9), T2 = at(2, 12), T3 = at(3, 12), T5 = at(5, 12);
    const FUT = stamp(new Date(Date.now() + 2 * 3600_000));
    const seeds = [...set(C, Y12), ...set(C, Y06), ...set(C, Y09, false), ...set(C, T2), ...set(C, T3), ...set(C, T5), ...set(C, FUT, false)];
    const foreign = [...set('prod-10', Y06), ...set('prod-10', T5), 'random.txt', `${C}-notes.txt`, `${C}-${T5}`];
    const seedDir = join(tmp, 'seed');
    mkdirSync(join(seedDir, 'sub'), { recursive: true });
    for (const k of [...seeds, ...foreign]) writeFileSync(join(seedDir, k), `seed ${k}\n`);
    writeFileSync(join(seedDir, 'sub', `${C}-${T5}.sha256`), 'nested\n');
    const local = join(tmp, 'local');
    await runOk('cp', ['-r', seedDir, local]);
    const up = await s3.rclone(['copy', seedDir, `s3:backups/${C}`]);
    expect(up.code, up.stderr).toBe(0);

    const run = async (rules: string) => {
      const dir = mkTemp('retention-run');
      const snap = join(dir, 'snapshot.db');
      writeSyntheticSnapshot(snap);
      writeFileSync(join(dir, 'dests'), `primary primary:backups/${C} ${rules} -\nlocal ${local} ${rules} -\n`);
      await nextSecond();
      const r = await runBackup(netns, { CLUSTER_NAME: C, SNAPSHOT_FILE: snap, DESTINATIONS_FILE: join(dir, 'dests'), ...s3.rcloneEnv('primary') });
      rmTemp(dir);
      expect(r.code, r.stderr).toBe(0);
      return r.result!;
    };
    const listS3 = async () => (await s3.list('backups', C)).filter((k) => !k.startsWith('sub/'));
    const listLocal = () => readdirSync(local).filter((f) => f !== 'sub').sort();
    const expectSets = async (sets: string[][]) => {
      const want = [...sets.flat(), ...foreign].sort();
      expect(await listS3()).toEqual(want);
      expect(listLocal()).toEqual(want);
      expect((await s3.list('backups', `${C}/sub`))).toEqual([`${C}-${T5}.sha256`]);
      expect(readdirSync(join(local, 'sub'))).toEqual([`${C}-${T5}.sha256`]);
    };
    const cur = (r: any) => [`${r.base}.db.zst`, `${r.base}.meta.json`, `${r.base}.sha256`];

    // run 1: keep_last 2, daily 6, max_age 96 h
    const r1 = await run('2 96 0 6 0 0');
    await expectSets([cur(r1), set(C, Y12), set(C, T2), set(C, T3), set(C, FUT, false)]);
    expect(r1.deleted).toBe(2 * (3 + 2 + 3)); // Y06 (same day as Y12), Y09 incomplete, T5 (beyond max age), per destination

    // run 2: same rules: both runs of today kept by keep_last
    const r2 = await run('2 96 0 6 0 0');
    await expectSets([cur(r2), cur(r1), set(C, Y12), set(C, T2), set(C, T3), set(C, FUT, false)]);
    expect(r2.deleted).toBe(0);

    // run 3: keep_last 1 only: everything older goes; the newer incomplete set (a run in progress) stays
    const r3 = await run('1 0 0 0 0 0');
    await expectSets([cur(r3), set(C, FUT, false)]);

    // run 4: no rule at all: nothing removed
    const r4 = await run('0 0 0 0 0 0');
    await expectSets([cur(r4), cur(r3), set(C, FUT, false)]);
    expect(r4.deleted).toBe(0);
  });
});
