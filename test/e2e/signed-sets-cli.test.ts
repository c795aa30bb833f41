// `snapshots` and `check` report each set's signature against the cluster's signing key, read from s3rver (a real
// S3 API server on 127.0.0.1): a set planted by someone with the storage credential (signed with another key, or not
// at all, newer than the genuine one) is shown as FORGED / NO and never counted as the newest backup by check.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSidecar, sha256, signSidecar } from '../../lib/storage';
import { startLocalS3, type LocalS3 } from '../support/s3';
import { withToolsImage } from '../support/inventory';
import { runCli as cli } from '../support/cli';

const BUCKET = 'cpb';
const NOW = '2026-03-01T12:00:00Z';
const CLUSTER_KEY = generateKeyPairSync('ed25519');
const ATTACKER_KEY = generateKeyPairSync('ed25519');
const PUBLIC_KEY = CLUSTER_KEY.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

let work: string;
let s3: LocalS3;
let inventory: string;
const savedEnv = { ...process.env };

/** A complete set; its sidecar signed with `key`, or unsigned. */
async function seedSet(base: string, key: 'cluster' | 'attacker' | 'none') {
  const folder = 'etcd/prod-1';
  const objects = [[`${base}.db.zst.age`, 400], [`${base}.meta.json`, 100]] as [string, number][];
  for (const [file, size] of objects) await s3.put(`${folder}/${file}`, 'x'.repeat(size));
  const sidecar = formatSidecar(objects.map(([file, size]) => ({ file, size, sha256: sha256('x'.repeat(size)) })));
  if (key !== 'none') await s3.put(`${folder}/${base}.sha256.sig`, signSidecar((key === 'cluster' ? CLUSTER_KEY : ATTACKER_KEY).privateKey, 'prod-1', base, sidecar));
  await s3.put(`${folder}/${base}.sha256`, sidecar);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cpb-signed-cli-'));
  s3 = await startLocalS3(join(work, 's3rver'), BUCKET);
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_EC2_METADATA_DISABLED: 'true' });
  delete process.env.AWS_PROFILE;
  await seedSet('prod-1-20260301T060000Z', 'cluster');
  await seedSet('prod-1-20260301T113000Z', 'none');
  await seedSet('prod-1-20260301T114500Z', 'attacker');
  inventory = join(work, 'inventory.yaml');
  writeFileSync(inventory, withToolsImage(`apiVersion: controlplane-backup.io/v1
kind: Inventory
storages:
  main:
    s3: { endpoint: ${s3.endpoint}, bucket: ${BUCKET}, prefix: etcd, pathStyle: true, insecure: true }
    credentials: { existingSecret: { name: s3-creds } }
defaults:
  backup:
    storages: [main]
    encryption: { recipients: [age1xzcq5v8xm62cefatuwlqdcla6gp6pu7fw85q30nvf3xppuhtpgfsk9272a] }
    schedule: '0 */6 * * *'
    drill: { enabled: false }
clusters:
  prod-1:
    kubeadm: { members: [{ name: cp-1, ip: 10.0.0.1 }] }
    backup:
      signing: { publicKey: ${PUBLIC_KEY} }
`));
}, 60_000);

afterAll(async () => {
  await s3?.stop();
  process.env = savedEnv;
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('snapshots and check with a signing key', () => {
  it('snapshots names each set\'s signature: yes, NO, FORGED', async () => {
    const { code, stdout } = await cli('snapshots', '--inventory', inventory, '--now', NOW, '--json');
    expect(code).toBe(0);
    const backups = JSON.parse(stdout).locations[0].backups;
    expect(backups.map((b: any) => [b.name, b.complete, b.signature, b.trusted])).toEqual([
      ['prod-1-20260301T114500Z', true, 'invalid', false],
      ['prod-1-20260301T113000Z', true, 'unsigned', false],
      ['prod-1-20260301T060000Z', true, 'valid', true],
    ]);
    expect(backups[0].signatureProblem).toMatch(/^forged: prod-1-20260301T114500Z\.sha256\.sig was made with key [0-9a-f]{16}, not the cluster's signing key [0-9a-f]{16}$/);
    const table = (await cli('snapshots', '--inventory', inventory, '--now', NOW)).stdout;
    expect(table).toContain('3 backups, 3 complete, 1 FORGED (signature does not verify: never used), 0 other objects');
    expect(table).toMatch(/NAME +CREATED \(UTC\) +AGE +SIZE +COMPLETE +SIGNED +ENCRYPTED +PKI +DRILL/);
    expect(table).toMatch(/prod-1-20260301T114500Z .* yes +FORGED +yes/);
    expect(table).toMatch(/prod-1-20260301T113000Z .* yes +NO +yes/);
    expect(table).toMatch(/prod-1-20260301T060000Z .* yes +yes +yes/);
  });

  it('check counts only the signed set for freshness and reports the planted ones', async () => {
    const { code, stdout } = await cli('check', '--inventory', inventory, '--now', NOW);
    expect(code).toBe(3);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^prod-1: storage main: backup prod-1-20260301T113000Z is unsigned: no signature prod-1-20260301T113000Z\.sha256\.sig: never used as latest nor restored without allowUnsigned; it was written without the cluster's signing key/);
    expect(lines[0]).toMatch(/^prod-1: storage main: backup prod-1-20260301T114500Z is forged: prod-1-20260301T114500Z\.sha256\.sig was made with key [0-9a-f]{16}, not the cluster's signing key [0-9a-f]{16}: never used as latest nor restored without allowUnsigned; someone with the storage credential may have planted it: rotate that credential and remove the set$/);
    // 6 h old, within the threshold: the forged 15-minute-old set would not have hidden a stale backup either way
    const later = await cli('check', '--inventory', inventory, '--now', '2026-03-02T12:00:00Z', '--json');
    expect(JSON.parse(later.stdout).problems.some((p: string) => p.startsWith('prod-1: newest complete backup prod-1-20260301T060000Z (in main) is '))).toBe(true);
  });

  // Last: it tampers with the genuine set.
  it('snapshots --verify downloads every object, fails on a planted newest set and on an object that does not match the signed sidecar', async () => {
    const plain = await cli('snapshots', '--inventory', inventory, '--now', NOW, '--json');
    expect(JSON.parse(plain.stdout).locations[0].backups.every((b: any) => b.verified === null)).toBe(true);

    const first = await cli('snapshots', '--inventory', inventory, '--now', NOW, '--json', '--verify');
    expect(first.code).toBe(3);
    const location = JSON.parse(first.stdout).locations[0];
    expect(location.backups.map((b: any) => [b.name, b.verified])).toEqual([
      ['prod-1-20260301T114500Z', { status: 'ok', problems: [] }],
      ['prod-1-20260301T113000Z', { status: 'ok', problems: [] }],
      ['prod-1-20260301T060000Z', { status: 'ok', problems: [] }],
    ]);
    expect(location.untrustedNewest).toMatch(/^the newest complete set prod-1-20260301T114500Z is forged: /);
    expect(first.stderr).toMatch(/^snapshots --verify: prod-1 in main: the newest complete set prod-1-20260301T114500Z is forged: .*"latest" is only ever a set signed with the cluster's signing key\n$/);

    // Same size, other bytes: the listing (and so `snapshots` without --verify) cannot tell.
    await s3.put('etcd/prod-1/prod-1-20260301T060000Z.db.zst.age', 'y'.repeat(400));
    expect((await cli('snapshots', '--inventory', inventory, '--now', NOW, '--json')).code).toBe(0);
    const tampered = await cli('snapshots', '--inventory', inventory, '--now', NOW, '--verify');
    expect(tampered.code).toBe(3);
    expect(tampered.stderr).toMatch(/^snapshots --verify: prod-1 in main: prod-1-20260301T060000Z: checksum mismatch: prod-1-20260301T060000Z\.db\.zst\.age \(sidecar [0-9a-f]{64}, downloaded [0-9a-f]{64}\): the object is corrupt$/m);
    expect(tampered.stdout).toMatch(/prod-1-20260301T060000Z .* yes +yes +yes/);
  });
});
