// Fault injection: each run must fail with its exit code, name the cause, write no sidecar, run no retention,
// and leave older backups intact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync, symlinkSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { startNetns, NetNs } from '../support/netns';
import { startS3, S3Server } from '../support/s3';
import { mkTemp, rmTemp, run } from '../support/proc';
import { ageKeypair, runBackup, writeSyntheticSnapshot, shim, stamp, HOST_PATH } from './helpers';

let tmp: string;
let netns: NetNs;
let s3: S3Server;
let keys: { identity: string; recipients: string };
let n = 0;
const CLUSTER = 'prod-1';
const OLD = [stamp(new Date(Date.now() - 3 * 86400_000)), stamp(new Date(Date.now() - 2 * 86400_000))];
const seeded = (p: string) => OLD.flatMap((t) => [`${CLUSTER}-${t}.db.zst`, `${CLUSTER}-${t}.meta.json`, `${CLUSTER}-${t}.sha256`].map((k) => p + k));

beforeAll(async () => {
  tmp = mkTemp('faults');
  netns = await startNetns(300);
  [s3, keys] = await Promise.all([startS3({ netns, dir: tmp, buckets: ['backups'] }), ageKeypair(tmp)]);
  const seed = join(tmp, 'seed');
  mkdirSync(seed);
  for (const k of seeded('')) writeFileSync(join(seed, k), `old ${k}\n`);
  const r = await s3.rclone(['copy', seed, 's3:backups/prod-1']);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await s3?.stop();
  await netns?.stop();
  rmTemp(tmp);
});

/** fresh scratch with a valid synthetic snapshot; destinations: s3 (keep_last 1: retention WOULD delete the seeds) */
function setup(dests?: string) {
  const dir = join(tmp, `run-${++n}`);
  mkdirSync(join(dir, 'scratch'), { recursive: true });
  const snap = join(dir, 'scratch', 'snapshot.db');
  writeSyntheticSnapshot(snap);
  const df = join(dir, 'dests');
  writeFileSync(df, dests ?? `primary primary:backups/${CLUSTER} 1 0 0 0 0 0 -\n`);
  const env: Record<string, string> = {
    CLUSTER_NAME: CLUSTER, SNAPSHOT_FILE: snap, DESTINATIONS_FILE: df, COMPRESSION: 'zstd', ...s3.rcloneEnv('primary'),
  };
  return { dir, snap, env };
}

async function expectIntact() {
  const objs = await s3.list('backups', CLUSTER);
  expect(objs.filter((o) => o.endsWith('.sha256'))).toEqual(seeded('').filter((k) => k.endsWith('.sha256')));
  expect(objs).toEqual(seeded('').sort());
}

function expectFailed(r: Awaited<ReturnType<typeof runBackup>>, code: number, msg: RegExp) {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr).toMatch(msg);
  expect(r.result?.status).toBe('failed');
  expect(r.result?.exitCode).toBe(code);
  expect(r.stdout.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/retention removed/);
}

describe('faults', () => {
  it('S3 unreachable -> exit 4, bounded', async () => {
    const { env } = setup();
    const r = await runBackup(netns, { ...env, RCLONE_CONFIG_PRIMARY_ENDPOINT: 'http://127.0.0.1:9', RCLONE_RETRIES: '1', RCLONE_CONTIMEOUT: '2s' });
    expectFailed(r, 4, /destination primary .*upload of prod-1-\S+\.db\.zst failed: .*(connection refused|connect)/i);
    expect(r.durationMs).toBeLessThan(30_000);
    await expectIntact();
  });

  it('wrong access key id -> exit 4 naming the cause', async () => {
    const { env } = setup();
    const r = await runBackup(netns, { ...env, RCLONE_CONFIG_PRIMARY_ACCESS_KEY_ID: 'NOTAKEY', RCLONE_RETRIES: '1' });
    expectFailed(r, 4, /destination primary .*(InvalidAccessKeyId|403|Forbidden).*access denied/);
    await expectIntact();
  });

  it('missing bucket -> exit 4 (bucket is never created)', async () => {
    const { env } = setup(`primary primary:no-such-bucket/${CLUSTER} 1 0 0 0 0 0 -\n`);
    const r = await runBackup(netns, { ...env, RCLONE_RETRIES: '1' });
    expectFailed(r, 4, /NoSuchBucket|bucket/i);
    const b = await s3.rclone(['lsd', 's3:']);
    expect(b.stdout).not.toMatch(/no-such-bucket/);
    await expectIntact();
  });

  it('compressor failing mid-stream -> exit 1, nothing uploaded', async () => {
    const { dir, env } = setup();
    const shims = join(dir, 'shims');
    shim(shims, 'zstd', 'head -c 3000 /dev/urandom\nexit 1');
    const r = await runBackup(netns, env, { pathPrefix: shims });
    expectFailed(r, 1, /zstd exited 1/);
    await expectIntact();
  });

  it('upload killed mid-way -> exit 4, partial objects of this run removed', async () => {
    const { dir, env } = setup();
    const shims = join(dir, 'shims');
    // the upload of the small objects dies (the streamed snapshot object is already uploaded by then)
    shim(shims, 'rclone', `if [ "$1" = copy ]; then echo "simulated crash" >&2; kill -9 $$; fi
exec /usr/bin/rclone "$@"`);
    const r = await runBackup(netns, env, { pathPrefix: shims });
    expectFailed(r, 4, /destination primary .*upload of prod-1-\S+\.meta\.json failed/);
    await expectIntact();
  });

  it('streamed snapshot upload killed mid-way -> exit 4, partial objects removed, other destinations complete', async () => {
    const local = join(tmp, 'rcat-killed-local');
    const { dir, env } = setup(`primary primary:backups/${CLUSTER} 1 0 0 0 0 0 -\nlocal ${local} 1 0 0 0 0 0 -\n`);
    const shims = join(dir, 'shims');
    // the S3 rcat reads part of the stream, then dies; the local one must still get the whole snapshot
    shim(shims, 'rclone', `case "$1 $2" in "rcat primary:"*) head -c 1000 >/dev/null; echo "simulated crash" >&2; kill -9 $$ ;; esac
exec /usr/bin/rclone "$@"`);
    const r = await runBackup(netns, { ...env, SNAPSHOT_ENCRYPTION: 'age', AGE_RECIPIENTS_FILE: keys.recipients }, { pathPrefix: shims });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/destination primary .*upload of prod-1-\S+\.db\.zst\.age failed/);
    expect(r.result?.destinations.map((d: any) => [d.name, d.status])).toEqual([['primary', 'upload-failed'], ['local', 'ok']]);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(local).filter((f) => f.endsWith('.sha256'))).toHaveLength(1);
    const check = await run('sha256sum', ['-c', readdirSync(local).find((f) => f.endsWith('.sha256'))!], { cwd: local });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    await expectIntact();
  });

  it('a stored snapshot of the wrong size -> exit 4, no sidecar', async () => {
    const { dir, env } = setup();
    const shims = join(dir, 'shims');
    // rcat "succeeds" but stores a truncated object (what a broken store or proxy could do)
    shim(shims, 'rclone', `if [ "$1" = rcat ]; then head -c 100 | /usr/bin/rclone "$@"; s=$?; cat >/dev/null; exit $s; fi
exec /usr/bin/rclone "$@"`);
    const r = await runBackup(netns, env, { pathPrefix: shims });
    expectFailed(r, 4, /upload of prod-1-\S+\.db\.zst failed: stored size 100, \d+ bytes produced/);
    await expectIntact();
  });

  it('truncated snapshot -> exit 2 before any upload', async () => {
    const { snap, env } = setup();
    truncateSync(snap, readFileSync(snap).length - 100);
    const r = await runBackup(netns, env);
    expectFailed(r, 2, /truncated or corrupt: size \d+ is not 512\*n\+32/);
    await expectIntact();
  });

  it('corrupt snapshot (bytes overwritten) -> exit 2, trailer mismatch', async () => {
    const { snap, env } = setup();
    const b = readFileSync(snap);
    b.write('garbage', 1000);
    writeFileSync(snap, b);
    const r = await runBackup(netns, env);
    expectFailed(r, 2, /sha256 trailer mismatch/);
    await expectIntact();
  });

  it('snapshot smaller than MIN_SNAPSHOT_BYTES -> exit 2', async () => {
    const { env } = setup();
    const r = await runBackup(netns, { ...env, MIN_SNAPSHOT_BYTES: '100000000' });
    expectFailed(r, 2, /snapshot too small/);
    await expectIntact();
  });

  it('PKI wanted but no recipients -> exit 3', async () => {
    const { env } = setup();
    const r = await runBackup(netns, { ...env, PKI_BACKUP: 'true', PKI_PATHS: tmp });
    expectFailed(r, 3, /refusing PKI backup without encryption/);
    const r2 = await runBackup(netns, { ...env, PKI_BACKUP: 'true', PKI_PATHS: tmp, AGE_RECIPIENTS_FILE: join(tmp, 'dests-none') });
    expect(r2.code).toBe(3);
    await expectIntact();
  });

  it('a missing tool -> exit 3 naming it', async () => {
    const { dir, env } = setup();
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    for (const t of 'awk cat cut date find head mkdir mkfifo od rm sha256sum sort tail tar tee timeout tr wc zstd etcdctl age dash'.split(' ')) {
      const p = HOST_PATH.split(':').map((d) => join(d, t)).find((f) => { try { readFileSync(f, { flag: 'r' }); return true; } catch { return false; } });
      if (p) symlinkSync(p, join(bin, t));
    }
    const r = await runBackup(netns, { ...env, PATH: bin });
    expectFailed(r, 3, /missing required tool\(s\): rclone/);
    await expectIntact();
  });

  it('bad config -> exit 3', async () => {
    const { env } = setup('primary primary:backups/x 1 0 0\n');
    const r = await runBackup(netns, env);
    expectFailed(r, 3, /expected 9 columns/);
    const r2 = await runBackup(netns, { ...env, CLUSTER_NAME: 'Prod_1' });
    expectFailed(r2, 3, /DNS label/);
    await expectIntact();
  });

  it('one destination failing does not skip the others', async () => {
    const local = join(tmp, 'multi-local');
    const { env } = setup(`bad primary:no-such-bucket/x 1 0 0 0 0 0 -\nlocal ${local} 1 0 0 0 0 0 -\n`);
    const r = await runBackup(netns, { ...env, RCLONE_RETRIES: '1', SNAPSHOT_ENCRYPTION: 'age', AGE_RECIPIENTS_FILE: keys.recipients });
    expect(r.code).toBe(4);
    expect(r.result?.destinations.map((d: any) => [d.name, d.status])).toEqual([['bad', 'upload-failed'], ['local', 'ok']]);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(local).filter((f) => f.endsWith('.sha256'))).toHaveLength(1);
    await expectIntact();
  });
});
