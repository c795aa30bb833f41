// backup.sh against real components: TLS etcd (Debian), s3rver, age, zstd, rclone — in a private netns.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEtcdWorld, type EtcdWorld } from '../support/world';
import type { NetNs } from '../support/netns';
import { type Pki, listFiles } from '../support/pki';
import { type EtcdServer, snapshotSave, snapshotStatus, keyspaceDigest } from '../support/etcd';
import type { S3Server } from '../support/s3';
import { run, runOk } from '../support/proc';
import { runBackup, sha256, Shell } from './helpers';

let world: EtcdWorld;
let tmp: string;
let netns: NetNs;
let pki: Pki;
let etcd: EtcdServer;
let s3: S3Server;
let keys: { identity: string; recipients: string };
const KEYS = 3000;

beforeAll(async () => {
  world = await startEtcdWorld('backup', { keys: KEYS });
  ({ tmp, netns, pki, keys, etcd, s3 } = world);
});

afterAll(async () => {
  await world?.stop();
});

describe('happy path', () => {
  for (const shell of ['dash', 'busybox'] as Shell[]) {
    it(`backs up etcd + PKI to s3 and a local dir under ${shell}`, async () => {
      const cluster = `prod-${shell}`;
      const scratch = join(tmp, `scratch-${shell}`);
      mkdirSync(scratch, { recursive: true });
      const snap = join(scratch, 'snapshot.db');
      // the init container
      const init = await snapshotSave(netns, snap, { cacert: pki.etcdCa.cert, client: pki.apiserverEtcdClient, commandTimeoutS: 20 });
      expect(init.code, init.stderr).toBe(0);
      const original = readFileSync(snap);
      const status = await snapshotStatus(snap);
      expect(status.totalKey).toBeGreaterThanOrEqual(KEYS);
      const digest = await keyspaceDigest(etcd);
      expect(digest.count).toBe(KEYS);

      const local = join(tmp, `local-${shell}`);
      const dests = join(tmp, `dests-${shell}`);
      writeFileSync(dests, `# name remote keep_last max_age h d w m ca\nprimary primary:backups/clusters/${cluster} 7 720 24 7 4 6 -\nlocal-copy ${local}  3 0 0 0 0 0 -\n`);
      const r = await runBackup(netns, {
        CLUSTER_NAME: cluster, SNAPSHOT_FILE: snap, MIN_SNAPSHOT_BYTES: '4096', COMPRESSION: 'zstd', SNAPSHOT_ENCRYPTION: 'age',
        AGE_RECIPIENTS_FILE: keys.recipients, PKI_BACKUP: 'true', PKI_PATHS: pki.dir, DESTINATIONS_FILE: dests,
        NODE_NAME: 'node-1', ETCD_ENDPOINT: etcd.endpoint, ETCDCTL_CACERT: pki.etcdCa.cert,
        ETCDCTL_CERT: pki.etcdHealthcheckClient.cert, ETCDCTL_KEY: pki.etcdHealthcheckClient.key, BACKUP_REQUEST: 'manual-1',
        ...s3.rcloneEnv('primary'),
      }, { shell });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim().split('\n')).toHaveLength(1);
      for (const l of r.stderr.trim().split('\n')) expect(l).toMatch(/^controlplane-backup: /);
      const res = r.result!;
      expect(res.status).toBe('ok');
      const base: string = res.base;
      expect(base).toMatch(new RegExp(`^${cluster}-\\d{8}T\\d{6}Z$`));
      expect(res.revision).toBe(status.revision);
      expect(res.totalKeys).toBe(status.totalKey);
      expect(res.destinations.map((d: any) => d.status)).toEqual(['ok', 'ok']);
      const names = [`${base}.db.zst.age`, `${base}.pki.tar.zst.age`, `${base}.meta.json`, `${base}.sha256`];

      // both destinations hold exactly the four objects, byte-identical
      expect(await s3.list('backups', `clusters/${cluster}`)).toEqual([...names].sort());
      expect(listFiles(local)).toEqual([...names].sort());
      for (const n of names) expect(sha256(await s3.get('backups', `clusters/${cluster}/${n}`))).toBe(sha256(readFileSync(join(local, n))));

      // sidecar verifies (sha256sum -c) and covers every other object
      const check = await run('sha256sum', ['-c', `${base}.sha256`], { cwd: local });
      expect(check.code, check.stdout + check.stderr).toBe(0);
      const sidecar = readFileSync(join(local, `${base}.sha256`), 'utf8').trim().split('\n').map((l) => l.split(/\s+/)[1]);
      expect(sidecar.sort()).toEqual(names.slice(0, 3).sort());

      // metadata
      const meta = JSON.parse(readFileSync(join(local, `${base}.meta.json`), 'utf8'));
      expect(meta.cluster).toBe(cluster);
      expect(meta.request).toBe('manual-1');
      expect(meta.node).toBe('node-1');
      expect(meta.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(meta.etcd.revision).toBe(status.revision);
      expect(meta.etcd.totalKeys).toBe(status.totalKey);
      expect(meta.etcd.dbSize).toBe(original.length);
      expect(meta.etcd.serverVersion).toMatch(/^3\.5\.\d+$/); // the test world's etcd: Debian trixie's 3.5
      expect(meta.encryption).toEqual({ snapshot: 'age', pki: 'age', recipients: 1 });
      expect(JSON.stringify(meta)).not.toMatch(/AGE-SECRET-KEY/);
      for (const o of meta.objects) {
        const b = readFileSync(join(local, o.key));
        expect(o.size).toBe(b.length);
        expect(o.sha256).toBe(sha256(b));
      }

      // snapshot decrypts + decompresses to the original bytes
      const dec = await runOk('sh', ['-c', `age -d -i "$1" "$2" | zstd -d -q -c`, 'sh', keys.identity, join(local, names[0])]);
      expect(dec.stdoutBuf.equals(original)).toBe(true);

      // PKI bundle decrypts; files byte-identical to the PKI dir
      const out = join(tmp, `pki-out-${shell}`);
      mkdirSync(out);
      await runOk('sh', ['-c', `age -d -i "$1" "$2" | zstd -d -q -c | tar -x -f - -C "$3"`, 'sh', keys.identity, join(local, names[1]), out]);
      const extracted = join(out, pki.dir.replace(/^\//, ''));
      const want = listFiles(pki.dir);
      expect(want).toContain('etcd/ca.key');
      expect(listFiles(extracted)).toEqual(want);
      for (const f of want) expect(readFileSync(join(extracted, f)).equals(readFileSync(join(pki.dir, f)))).toBe(true);
      // scratch: intermediates removed
      expect(listFiles(scratch)).toEqual([]);
    });
  }
});

describe('snapshot init container faults (etcdctl, bounded)', () => {
  it('etcd unreachable: etcdctl fails within its command timeout', async () => {
    const snap = join(tmp, 'unreach', 'snapshot.db');
    mkdirSync(join(tmp, 'unreach'));
    const r = await snapshotSave(netns, snap, { cacert: pki.etcdCa.cert, client: pki.apiserverEtcdClient, endpoint: 'https://127.0.0.1:2999', commandTimeoutS: 3 });
    expect(r.code).not.toBe(0);
    expect(r.timedOut).toBe(false);
    expect(r.durationMs).toBeLessThan(20_000);
    expect(r.stderr).toMatch(/deadline exceeded|connection refused|context/i);
    expect(existsSync(snap)).toBe(false);
  });

  it('foreign-CA client cert: etcdctl fails within its command timeout, nothing saved', async () => {
    const snap = join(tmp, 'foreign', 'snapshot.db');
    mkdirSync(join(tmp, 'foreign-run'), { recursive: true });
    mkdirSync(join(tmp, 'foreign'), { recursive: true });
    const r = await snapshotSave(netns, snap, { cacert: pki.etcdCa.cert, client: pki.foreign.client, commandTimeoutS: 3 });
    expect(r.code).not.toBe(0);
    expect(r.timedOut).toBe(false);
    expect(r.durationMs).toBeLessThan(20_000);
    expect(r.stderr).toMatch(/deadline exceeded|certificate|tls/i);
    expect(existsSync(snap)).toBe(false);
    // the upload container then refuses: no snapshot -> exit 2
    copyFileSync(pki.etcdCa.cert, join(tmp, 'foreign', 'unrelated'));
    writeFileSync(join(tmp, 'dests-foreign'), `local ${join(tmp, 'foreign-run', 'out')} 1 0 0 0 0 0 -\n`);
    const b = await runBackup(netns, { CLUSTER_NAME: 'prod-x', SNAPSHOT_FILE: snap, DESTINATIONS_FILE: join(tmp, 'dests-foreign') });
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/snapshot file missing/);
    expect(existsSync(join(tmp, 'foreign-run', 'out'))).toBe(false);
  });
});
