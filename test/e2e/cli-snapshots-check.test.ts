// `snapshots` and `check` against s3rver (a real S3 API server) on 127.0.0.1: what is listed is exactly what the
// server holds, and check's verdicts follow the inventory's schedules, --now and the drill reports.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../lib/cli/main';
import { formatBytes, snapshots } from '../../lib/cli/snapshots';
import { isAlive } from '../support/proc';
import { formatSidecar, sha256 } from '../../lib/storage';
import { closedPort, startLocalS3, type LocalS3 } from '../support/s3';
import { withToolsImage } from '../support/inventory';
import { captureIo as capture, runCli as cli } from '../support/cli';

const BUCKET = 'cpb';
const NOW = '2026-03-01T12:00:00Z';
const RECIPIENT = 'age1xzcq5v8xm62cefatuwlqdcla6gp6pu7fw85q30nvf3xppuhtpgfsk9272a';

let work: string;
let s3: LocalS3;
let deadPort: number;
let inventory: string;
const savedEnv = { ...process.env };

const body = (bytes: number) => 'x'.repeat(bytes);
const drill = (cluster: string, base: string, result: string, checkedAt: string, message: string) =>
  JSON.stringify({ apiVersion: 'controlplane-backup/v1', kind: 'DrillReport', cluster, base, checkedAt, result, message, expected: null });
const DRILL_PASSED = drill('prod-1', 'prod-1-20260301T060000Z', 'passed', '2026-03-01T07:00:00Z', 'restored 1200 keys at revision 5000');
const DRILL_OLD_FAILED = drill('prod-1', 'prod-1-20260301T000000Z', 'failed', '2026-03-01T01:00:00Z', 'etcd did not start');
const DRILL_EDGE_FAILED = drill('edge-1', 'edge-1-20260301T060000Z', 'failed', '2026-03-01T07:00:00Z', 'snapshot sha256 mismatch');

/** A complete set: snapshot, optional PKI bundle, meta.json, sidecar last. */
async function seedSet(folder: string, base: string, snapshotSuffix: string, pki: boolean) {
  const objects = [[`${base}${snapshotSuffix}`, 400], ...(pki ? [[`${base}.pki.tar.zst.age`, 200]] : []), [`${base}.meta.json`, 100]] as [string, number][];
  for (const [file, size] of objects) await s3.put(`${folder}/${file}`, body(size));
  await s3.put(`${folder}/${base}.sha256`, formatSidecar(objects.map(([file, size]) => ({ file, size, sha256: sha256(body(size)) }))));
}

/** An inventory of one kubeadm cluster backing up to the test's s3rver (`schedule` as the CronJob's), written to a file. */
function oneClusterInventory(cluster: string, schedule?: string): string {
  const file = join(work, `${cluster}.yaml`);
  writeFileSync(file, withToolsImage(`apiVersion: controlplane-backup.io/v1
kind: Inventory
storages:
  primary:
    s3: { endpoint: "${s3.endpoint}", bucket: ${BUCKET}, prefix: etcd, pathStyle: true, insecure: true }
    credentials: { existingSecret: { name: s3-credentials } }
defaults:
  backup: { ${schedule ? `schedule: "${schedule}", ` : ''}storages: [primary], encryption: { recipients: [${RECIPIENT}] } }
clusters:
  ${cluster}:
    kubeadm: { members: [{ name: cp-1, ip: 10.0.0.1 }] }
`));
  return file;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cpb-cli-storage-'));
  s3 = await startLocalS3(join(work, 's3rver'), BUCKET);
  deadPort = await closedPort();
  // The SDK's default chain reads these; no instance metadata lookups from a test.
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_EC2_METADATA_DISABLED: 'true' });
  delete process.env.AWS_PROFILE;

  // prod-1: newest set still uploading (no sidecar); a complete encrypted set with PKI and a passed drill; an
  // older unencrypted set whose drill failed; two objects that are not backups.
  await s3.put('etcd/prod-1/prod-1-20260301T120000Z.db.zst.age', body(400));
  await seedSet('etcd/prod-1', 'prod-1-20260301T060000Z', '.db.zst.age', true);
  await s3.put('etcd/prod-1/prod-1-20260301T060000Z.drill.json', DRILL_PASSED);
  await seedSet('etcd/prod-1', 'prod-1-20260301T000000Z', '.db.zst', false);
  await s3.put('etcd/prod-1/prod-1-20260301T000000Z.drill.json', DRILL_OLD_FAILED);
  await s3.put('etcd/prod-1/notes.txt', body(12));
  await s3.put('etcd/prod-1/prod-1-latest.db', body(30));
  // prod-10: its folder shares a prefix with prod-1's; its only backup is 36 hours old.
  await seedSet('etcd/prod-10', 'prod-10-20260228T000000Z', '.db.gz.age', true);
  // edge-1: fresh, but its newest drill failed.
  await seedSet('etcd/edge-1', 'edge-1-20260301T060000Z', '.db', false);
  await s3.put('etcd/edge-1/edge-1-20260301T060000Z.drill.json', DRILL_EDGE_FAILED);
  // far-1: fresh in primary; its second storage is unreachable.
  await seedSet('etcd/far-1', 'far-1-20260301T060000Z', '.db.zst.age', true);
  // tenant-a: in a bucket claim's bucket (prefix obc).
  await seedSet('obc/tenant-a', 'tenant-a-20260301T060000Z', '.db.zst.age', true);

  inventory = join(work, 'inventory.yaml');
  writeFileSync(inventory, withToolsImage(`apiVersion: controlplane-backup.io/v1
kind: Inventory
storages:
  primary:
    s3: { endpoint: "${s3.endpoint}", bucket: ${BUCKET}, prefix: etcd, pathStyle: true, insecure: true }
    credentials: { existingSecret: { name: s3-credentials } }
  offsite:
    s3: { endpoint: "http://127.0.0.1:${deadPort}", bucket: ${BUCKET}, pathStyle: true, insecure: true }
    credentials: { existingSecret: { name: offsite-credentials } }
  claims:
    objectBucketClaim: { storageClassName: rook-ceph-bucket, generateBucketName: backups, prefix: obc, scheme: http, port: 80, insecure: true }
  node:
    local: { path: /var/lib/controlplane-backup }
defaults:
  backup:
    schedule: "0 */6 * * *"
    timeZone: Etc/UTC
    storages: [primary]
    encryption: { recipients: [${RECIPIENT}] }
clusters:
  prod-1:
    kubeadm: { members: [{ name: cp-1, ip: 10.0.0.1 }] }
    backup: { storages: [primary, node] }
  prod-10:
    kubeadm: { members: [{ name: cp-1, ip: 10.0.1.1 }] }
  edge-1:
    kubeadm: { members: [{ name: cp-1, ip: 10.0.2.1 }] }
  far-1:
    kubeadm: { members: [{ name: cp-1, ip: 10.0.3.1 }] }
    backup: { storages: [primary, offsite] }
  tenant-a:
    hosted:
      namespace: tenant-a
      statefulSet: tenant-a-etcd
      replicas: 1
      clientEndpoint: https://tenant-a-etcd.tenant-a.svc:2379
      clientCertSecret: { name: tenant-a-etcd-certs }
      pkiSecrets: [tenant-a-ca]
    backup: { storages: [claims] }
`));
});

afterAll(async () => {
  const pid = s3?.pid;
  await s3?.stop();
  if (pid) expect(isAlive(pid)).toBe(false);
  process.env = savedEnv;
  rmSync(work, { recursive: true, force: true });
});

const claimFlags = () => ['--bucket', `claims=${BUCKET}`, '--endpoint', `claims=127.0.0.1:${s3.endpoint.split(':')[2]}`];

// Set sizes: snapshot 400 + PKI 200 + meta 100 + sidecar 64 (+ drill report).
/** The objects of a seeded set and its sidecar (whose length depends on the names). */
const sidecarSize = (base: string, suffix: string, pki: boolean) => formatSidecar([
  { file: `${base}${suffix}`, size: 400, sha256: '0'.repeat(64) }, ...(pki ? [{ file: `${base}.pki.tar.zst.age`, size: 200, sha256: '0'.repeat(64) }] : []),
  { file: `${base}.meta.json`, size: 100, sha256: '0'.repeat(64) },
]).length;
const setSize = (base: string, suffix: string, pki: boolean) => 400 + (pki ? 200 : 0) + 100 + sidecarSize(base, suffix, pki);
const SIZE_FULL = setSize('prod-1-20260301T060000Z', '.db.zst.age', true);
const SIZE_PLAIN = setSize('prod-1-20260301T000000Z', '.db.zst', false);

describe('snapshots', () => {
  it('lists every set of a cluster as a table: newest first, incomplete and other objects apart', async () => {
    const result = await cli('snapshots', '--inventory', inventory, '--cluster', 'prod-1', '--now', NOW);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe([
      `prod-1 in primary (s3://cpb/etcd/prod-1/): 3 backups, 2 complete, 2 other objects`,
      `NAME                     CREATED (UTC)        AGE     SIZE     COMPLETE  SIGNED  ENCRYPTED  PKI  DRILL`,
      `prod-1-20260301T120000Z  2026-03-01 12:00:00  0m      400 B    no        -       yes        no   -`,
      `prod-1-20260301T060000Z  2026-03-01 06:00:00  6h 0m   ${formatBytes(SIZE_FULL + DRILL_PASSED.length)}  yes       -       yes        yes  passed`,
      `prod-1-20260301T000000Z  2026-03-01 00:00:00  12h 0m  ${formatBytes(SIZE_PLAIN + DRILL_OLD_FAILED.length).padEnd(7)}  yes       -       no         no   failed`,
      `other objects (not backups):`,
      `  notes.txt         12 B`,
      `  prod-1-latest.db  30 B`,
      ``,
      `prod-1 in node: skipped: local storage: the backups are on the control-plane nodes' disks (/var/lib/controlplane-backup/prod-1), not reachable from here`,
      ``,
    ].join('\n'));
  });
});

describe('snapshots --json', () => {
  const prod1 = () => ({
    cluster: 'prod-1', storage: 'primary', storageKind: 's3', status: 'listed', message: null,
    endpoint: s3.endpoint, bucket: 'cpb', folder: 'etcd/prod-1',
    backups: [
      {
        name: 'prod-1-20260301T120000Z', createdAt: '2026-03-01T12:00:00Z', ageSeconds: 0, sizeBytes: 400, objectCount: 1,
        complete: false, future: false, problems: ['no checksum sidecar prod-1-20260301T120000Z.sha256'], signature: 'not-checked', signatureProblem: null, trusted: false, encrypted: true, pki: false, compression: 'zstd', snapshotKey: 'etcd/prod-1/prod-1-20260301T120000Z.db.zst.age', drill: null, verified: null,
      },
      {
        name: 'prod-1-20260301T060000Z', createdAt: '2026-03-01T06:00:00Z', ageSeconds: 21600, sizeBytes: SIZE_FULL + DRILL_PASSED.length, objectCount: 5,
        complete: true, future: false, problems: [], signature: 'not-checked', signatureProblem: null, trusted: true, encrypted: true, pki: true, compression: 'zstd', snapshotKey: 'etcd/prod-1/prod-1-20260301T060000Z.db.zst.age',
        drill: { result: 'passed', checkedAt: '2026-03-01T07:00:00Z', message: 'restored 1200 keys at revision 5000' }, verified: null,
      },
      {
        name: 'prod-1-20260301T000000Z', createdAt: '2026-03-01T00:00:00Z', ageSeconds: 43200, sizeBytes: SIZE_PLAIN + DRILL_OLD_FAILED.length, objectCount: 4,
        complete: true, future: false, problems: [], signature: 'not-checked', signatureProblem: null, trusted: true, encrypted: false, pki: false, compression: 'zstd', snapshotKey: 'etcd/prod-1/prod-1-20260301T000000Z.db.zst',
        drill: { result: 'failed', checkedAt: '2026-03-01T01:00:00Z', message: 'etcd did not start' }, verified: null,
      },
    ],
    otherObjects: [{ key: 'etcd/prod-1/notes.txt', sizeBytes: 12 }, { key: 'etcd/prod-1/prod-1-latest.db', sizeBytes: 30 }],
  });
  const node = {
    cluster: 'prod-1', storage: 'node', storageKind: 'local', status: 'skipped',
    message: "local storage: the backups are on the control-plane nodes' disks (/var/lib/controlplane-backup/prod-1), not reachable from here",
    endpoint: null, bucket: null, folder: 'prod-1', backups: [], otherObjects: [],
  };

  it('prints a SnapshotList with stable field names', async () => {
    const result = await cli('snapshots', '--inventory', inventory, '--cluster', 'prod-1', '--now', NOW, '--json');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ apiVersion: 'controlplane-backup.io/v1', kind: 'SnapshotList', now: '2026-03-01T12:00:00.000Z', locations: [prod1(), node] });
  });

  it('--verify without a signing key: every object of each complete set matches its sidecar, the incomplete set is not checked', async () => {
    const { io, out, err } = capture();
    expect(await snapshots({ inventory, cluster: 'prod-1', storage: 'primary', now: NOW, json: true, verify: true }, io)).toBe(0);
    expect(err()).toBe('snapshots --verify: every object of 2 complete sets matches its sidecar\n');
    const [location] = JSON.parse(out()).locations;
    expect(location.backups.map((backup: { name: string; verified: unknown }) => [backup.name, backup.verified])).toEqual([
      ['prod-1-20260301T120000Z', { status: 'not-checked', problems: [] }],
      ['prod-1-20260301T060000Z', { status: 'ok', problems: [] }],
      ['prod-1-20260301T000000Z', { status: 'ok', problems: [] }],
    ]);
    expect(location.untrustedNewest).toBeUndefined();
  });

  it('follows continuation tokens: pages of 2 list exactly what one page lists', async () => {
    const { io, out, err } = capture();
    expect(await snapshots({ inventory, cluster: 'prod-1', storage: 'primary', now: NOW, json: true, pageSize: 2 }, io)).toBe(0);
    expect(err()).toBe('');
    expect(JSON.parse(out()).locations).toEqual([prod1()]);
  });

  it("keeps prod-10's folder apart from prod-1's, and reads a gzip set", async () => {
    const result = await cli('snapshots', '--inventory', inventory, '--cluster', 'prod-10', '--now', NOW, '--json');
    const [location] = JSON.parse(result.stdout).locations;
    expect(location.backups.map((backup: { name: string; compression: string; sizeBytes: number }) => [backup.name, backup.compression, backup.sizeBytes]))
      .toEqual([['prod-10-20260228T000000Z', 'gzip', setSize('prod-10-20260228T000000Z', '.db.gz.age', true)]]);
    expect(location.otherObjects).toEqual([]);
  });

  it('skips a bucket claim with a note, and lists it with --bucket and --endpoint', async () => {
    const skipped = await cli('snapshots', '--inventory', inventory, '--cluster', 'tenant-a', '--now', NOW);
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toBe('tenant-a in claims: skipped: objectBucketClaim storage: its bucket name and endpoint are known only in the cluster '
      + '(ConfigMap controlplane-backup-claims: BUCKET_NAME, BUCKET_HOST, BUCKET_PORT); pass --bucket claims=NAME --endpoint claims=HOST:PORT\n');
    const listed = await cli('snapshots', '--inventory', inventory, '--cluster', 'tenant-a', '--now', NOW, ...claimFlags());
    expect(listed.code).toBe(0);
    expect(listed.stdout).toBe([
      'tenant-a in claims (s3://cpb/obc/tenant-a/): 1 backup, 1 complete, 0 other objects',
      'NAME                       CREATED (UTC)        AGE    SIZE     COMPLETE  SIGNED  ENCRYPTED  PKI  DRILL',
      `tenant-a-20260301T060000Z  2026-03-01 06:00:00  6h 0m  ${formatBytes(setSize('tenant-a-20260301T060000Z', '.db.zst.age', true))}  yes       -       yes        yes  -`,
      '',
    ].join('\n'));
  });

  it('reports an unreachable storage and exits 3, listing the others', async () => {
    const result = await cli('snapshots', '--inventory', inventory, '--cluster', 'far-1', '--now', NOW);
    expect(result.code).toBe(3);
    const refused = `unreachable: http://127.0.0.1:${deadPort} (ECONNREFUSED)`;
    expect(result.stdout).toContain('far-1 in primary (s3://cpb/etcd/far-1/): 1 backup, 1 complete, 0 other objects\n');
    expect(result.stdout).toContain(`\nfar-1 in offsite: FAILED: ${refused}\n`);
    expect(result.stderr).toBe(`snapshots: far-1 in offsite: ${refused}\n`);
  });

  it('shows progress on a terminal only', async () => {
    const terminal = capture(true);
    expect(await run(['snapshots', '--inventory', inventory, '--cluster', 'prod-1', '--storage', 'primary', '--now', NOW], terminal.io)).toBe(0);
    expect(terminal.err()).toBe('\rsnapshots: 12 objects listed, 0/1 folders\rsnapshots: 12 objects listed, 1/1 folders\n');
    const piped = capture(false);
    expect(await run(['snapshots', '--inventory', inventory, '--cluster', 'prod-1', '--storage', 'primary', '--now', NOW], piped.io)).toBe(0);
    expect(piped.err()).toBe('');
  });

  it('fails with exit 2 on a bad command line', async () => {
    expect(await cli('snapshots', '--inventory', inventory, '--cluster', 'nope')).toEqual({
      code: 2, stdout: '', stderr: 'controlplane-backup: --cluster: no cluster "nope" in the inventory (clusters: edge-1, far-1, prod-1, prod-10, tenant-a)\nRun `controlplane-backup snapshots --help` for usage.\n',
    });
    expect((await cli('snapshots', '--inventory', inventory, '--bucket', 'primary=x')).stderr)
      .toBe('controlplane-backup: --bucket primary=x: storage "primary" is an s3 storage; --bucket is for objectBucketClaim storages, whose bucket the inventory does not know\nRun `controlplane-backup snapshots --help` for usage.\n');
    expect((await cli('snapshots', '--inventory', inventory, '--now', 'yesterday')).stderr)
      .toBe('controlplane-backup: --now "yesterday" is not an ISO-8601 time with a zone, such as 2026-03-01T12:00:00Z\nRun `controlplane-backup snapshots --help` for usage.\n');
    expect((await cli('snapshots', '--inventory', inventory, '--cluster', 'prod-10', '--storage', 'offsite')).stderr)
      .toBe('controlplane-backup: --storage: no selected cluster backs up to storage "offsite"\nRun `controlplane-backup snapshots --help` for usage.\n');
  });
});

describe('snapshots with more than 1000 objects', () => {
  it('lists every object across ListObjectsV2 pages of the S3 maximum (1000)', async () => {
    // 1005 sets of one sidecar each in bulk-1's folder, 16 uploads at a time.
    const keys = Array.from({ length: 1005 }, (_, i) => {
      const at = new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString().replace(/[-:]|\.000/g, '');
      return `etcd/bulk-1/bulk-1-${at}.sha256`;
    });
    for (let i = 0; i < keys.length; i += 16) await Promise.all(keys.slice(i, i + 16).map((key) => s3.put(key, 'x')));
    const bulk = oneClusterInventory('bulk-1');
    const terminal = capture(true);
    expect(await run(['snapshots', '--inventory', bulk, '--json', '--now', NOW], terminal.io)).toBe(0);
    const [location] = JSON.parse(terminal.out()).locations;
    expect(location.backups).toHaveLength(1005);
    expect(location.backups[0].name).toBe('bulk-1-20260211T200000Z') // 1004 hours after the first;
    expect(location.backups[1004].name).toBe('bulk-1-20260101T000000Z');
    // Two pages: the progress shows the first thousand, then all.
    expect(terminal.err()).toBe('\rsnapshots: 1000 objects listed, 0/1 folders\rsnapshots: 1005 objects listed, 0/1 folders\rsnapshots: 1005 objects listed, 1/1 folders\n');
  });
});

describe('check', () => {
  it('passes on a fresh cluster whose newest drill passed: a summary line on stderr only', async () => {
    expect(await cli('check', '--inventory', inventory, '--cluster', 'prod-1', '--now', NOW)).toEqual({
      code: 0, stdout: '',
      stderr: 'check: 1 cluster ok at 2026-03-01T12:00:00.000Z: newest complete backup within its threshold, no failed drill; skipped prod-1 in node (not reachable from here)\n',
    });
  });

  it('fails with exit 3 once the newest complete backup is older than the stale alert\'s threshold', async () => {
    // 0 */6 * * * in UTC: worst-case RPO 6 hours; x 1.5 + 40 minutes (starting + active deadline) = 9 hours 40 minutes after 06:00.
    expect((await cli('check', '--inventory', inventory, '--cluster', 'prod-1', '--now', '2026-03-01T15:40:00Z')).code).toBe(0);
    const stale = await cli('check', '--inventory', inventory, '--cluster', 'prod-1', '--now', '2026-03-01T15:41:00Z');
    expect(stale.code).toBe(3);
    expect(stale.stdout).toBe('prod-1: newest complete backup prod-1-20260301T060000Z (in primary) is 9 hours 41 minutes old; '
      + 'threshold 9 hours 40 minutes (worst-case RPO 6 hours × 1.5 + start and run allowance 40 minutes)\n');
    expect(stale.stderr).toBe('check: 1 problem in 1 of 1 cluster at 2026-03-01T15:41:00.000Z; skipped prod-1 in node (not reachable from here)\n');
  });

  it('takes the same storage selection as snapshots (--storage), and reports as JSON with --json', async () => {
    const one = await cli('check', '--inventory', inventory, '--cluster', 'prod-1', '--storage', 'primary', '--now', '2026-03-01T15:41:00Z', '--json');
    expect(one.code).toBe(3);
    expect(JSON.parse(one.stdout)).toEqual({
      ok: false, now: '2026-03-01T15:41:00.000Z', clusters: ['prod-1'], skipped: [],
      problems: ['prod-1: newest complete backup prod-1-20260301T060000Z (in primary) is 9 hours 41 minutes old; '
        + 'threshold 9 hours 40 minutes (worst-case RPO 6 hours × 1.5 + start and run allowance 40 minutes)'],
    });
    expect((await cli('check', '--inventory', inventory, '--cluster', 'prod-10', '--storage', 'offsite')).stderr)
      .toBe('controlplane-backup: --storage: no selected cluster backs up to storage "offsite"\nRun `controlplane-backup check --help` for usage.\n');
  });

  it('names every problem of the fleet: a stale cluster, a failed newest drill, an unreachable storage, an unchecked claim', async () => {
    const result = await cli('check', '--inventory', inventory, '--now', NOW);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe([
      'edge-1: newest drill report failed: edge-1-20260301T060000Z (in primary), checked 2026-03-01T07:00:00Z: snapshot sha256 mismatch',
      `far-1: storage offsite: unreachable: http://127.0.0.1:${deadPort} (ECONNREFUSED)`,
      'prod-10: newest complete backup prod-10-20260228T000000Z (in primary) is 36 hours old; threshold 9 hours 40 minutes (worst-case RPO 6 hours × 1.5 + start and run allowance 40 minutes)',
      'tenant-a: no storage could be checked; claims: objectBucketClaim storage: its bucket name and endpoint are known only in the cluster '
        + '(ConfigMap controlplane-backup-claims: BUCKET_NAME, BUCKET_HOST, BUCKET_PORT); pass --bucket claims=NAME --endpoint claims=HOST:PORT',
      '',
    ].join('\n'));
    expect(result.stderr).toBe('check: 4 problems in 4 of 5 clusters at 2026-03-01T12:00:00.000Z; skipped prod-1 in node (not reachable from here)\n');
  });

  it('reports a storage that denies access, naming the credentials to check', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'WRONG'; // s3rver checks the key id (not the signature)
    try {
      const result = await cli('check', '--inventory', inventory, '--cluster', 'prod-10', '--now', NOW);
      expect(result.code).toBe(3);
      expect(result.stdout).toBe('prod-10: storage primary: access denied to s3://cpb/etcd/prod-10 (InvalidAccessKeyId): '
        + 'check the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) and their permissions\n');
    } finally {
      process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    }
  });

  it('checks a bucket claim given --bucket and --endpoint', async () => {
    const result = await cli('check', '--inventory', inventory, '--cluster', 'tenant-a', '--now', NOW, ...claimFlags());
    expect(result).toEqual({ code: 0, stdout: '', stderr: 'check: 1 cluster ok at 2026-03-01T12:00:00.000Z: newest complete backup within its threshold, no failed drill\n' });
  });

  it('fails when a cluster has no complete backup at all', async () => {
    await s3.put('etcd/fresh-1/fresh-1-20260301T110000Z.db.zst.age', body(10));
    const file = oneClusterInventory('fresh-1', '@daily');
    const result = await cli('check', '--inventory', file, '--now', NOW);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('fresh-1: no complete backup in primary; threshold 36 hours 40 minutes (worst-case RPO 24 hours × 1.5 + start and run allowance 40 minutes)\n');
  });

  it('never takes a set dated in the future as the newest, and reports it; a lone sidecar is no backup', async () => {
    await seedSet('etcd/skew-1', 'skew-1-20270301T000000Z', '.db.zst.age', true);
    await s3.put('etcd/skew-1/skew-1-20260301T110000Z.sha256', 'lone');
    await seedSet('etcd/skew-1', 'skew-1-20260225T000000Z', '.db.zst.age', true);
    const file = oneClusterInventory('skew-1', '@daily');
    const result = await cli('check', '--inventory', file, '--now', NOW);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe([
      'skew-1: storage primary: backup skew-1-20270301T000000Z is dated in the future (now 2026-03-01T12:00:00.000Z): it is never used as latest nor removed by retention; check the clock of the node or pod that wrote it',
      'skew-1: newest complete backup skew-1-20260225T000000Z (in primary) is 4 days 12 hours old; threshold 36 hours 40 minutes (worst-case RPO 24 hours × 1.5 + start and run allowance 40 minutes)',
      '',
    ].join('\n'));
    const listed = JSON.parse((await cli('snapshots', '--inventory', file, '--now', NOW, '--json')).stdout).locations[0].backups;
    expect(listed.map((backup: any) => [backup.name, backup.complete, backup.future, backup.problems])).toEqual([
      ['skew-1-20270301T000000Z', true, true, []],
      ['skew-1-20260301T110000Z', false, false, ['sidecar skew-1-20260301T110000Z.sha256 is unreadable: line 1 is not "<sha256>  <file>": "lone"']],
      ['skew-1-20260225T000000Z', true, false, []],
    ]);
  });
});
