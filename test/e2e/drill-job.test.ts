// The synthesized restore drill CronJob, run for real against backups made by the synthesized backup CronJob: both
// pods come from the manifests synth writes (containers, commands, env, plans), run by test/support/pod-runner.ts
// against a TLS etcd and s3rver on 127.0.0.1 in a private netns, with Debian's etcd as the throwaway etcd.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderInventory } from '../../lib/synth/render';
import { inventoryOf } from '../support/inventory';
import { keyspaceDigest, loadKeys, type EtcdServer } from '../support/etcd';
import { startEtcdWorld, type EtcdWorld } from '../support/world';
import type { NetNs } from '../support/netns';
import type { Pki } from '../support/pki';
import { runPod, type PodRunResult } from '../support/pod-runner';
import type { S3Server } from '../support/s3';
import { runOk } from '../support/proc';
import { nextSecond, sha256 } from '../support/agent';

let world: EtcdWorld;
let tmp: string;
let netns: NetNs;
let pki: Pki;
let etcd: EtcdServer;
let s3: S3Server;
let keys: { identity: string; recipients: string };
const KEYS = 1500;
const S3_SECRET = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
const IDENTITY_SECRET = 'prod-1-drill-identity';

beforeAll(async () => {
  world = await startEtcdWorld('e2e-drill', { keys: KEYS, netnsSeconds: 400 });
  ({ tmp, netns, pki, keys, etcd, s3 } = world);
  // overwrite some keys: the snapshot then holds more revisions than live keys
  await loadKeys(etcd, { count: 200, valueBytes: 100 });
});

afterAll(async () => {
  await world?.stop();
});

function recipient(): string {
  return readFileSync(keys.recipients, 'utf8').split('\n').find((line) => line.startsWith('age1'))!;
}

/** kubeadm cluster prod-1 backing up to the node first and to S3 second: the drill must read S3 (the first remote). */
function inventoryDocument(prefix: string, o: { encrypted?: boolean } = {}): Record<string, any> {
  return {
    apiVersion: 'controlplane-backup.io/v1',
    kind: 'Inventory',
    storages: {
      disk: { local: { path: '/var/lib/controlplane-backup' } },
      s3main: {
        s3: { endpoint: s3.endpoint, bucket: 'backups', prefix, pathStyle: true, insecure: true },
        credentials: { existingSecret: { name: 's3-creds' } },
      },
    },
    defaults: {
      backup: {
        storages: ['disk', 's3main'],
        encryption: { recipients: [recipient()], snapshot: o.encrypted ?? true },
        minSnapshotSize: '64Ki',
        retention: { keepLast: 5 },
        snapshotTimeoutSeconds: 10,
        activeDeadlineSeconds: 120,
        drill: { identitySecret: IDENTITY_SECRET },
      },
    },
    clusters: { 'prod-1': { kubeadm: { members: [{ name: 'cp-1', ip: '10.0.0.1' }] } } },
  };
}

interface Synthesized {
  backupPod: any;
  drillPod: any;
  drillCronJob: any;
  configMaps: Record<string, Record<string, string>>;
}

function synthesized(document: Record<string, any>): Synthesized {
  const files = renderInventory(inventoryOf(document));
  const objects = [...files].filter(([path]) => path.startsWith('prod-1/') && !path.endsWith('kustomization.yaml')).map(([, text]) => parse(text));
  const cronJob = (name: string) => objects.find((o) => o.kind === 'CronJob' && o.metadata.name === name);
  const configMaps = Object.fromEntries(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data]));
  return {
    backupPod: cronJob('prod-1-etcd-backup').spec.jobTemplate.spec.template.spec,
    drillCronJob: cronJob('prod-1-etcd-drill'),
    drillPod: cronJob('prod-1-etcd-drill').spec.jobTemplate.spec.template.spec,
    configMaps,
  };
}

async function backup(document: Record<string, any>): Promise<string> {
  const { backupPod, configMaps } = synthesized(document);
  const local = join(tmp, `local-${Math.random().toString(36).slice(2)}`);
  mkdirSync(local, { recursive: true });
  await nextSecond();
  const pod = await runPod({
    podSpec: backupPod, netns, configMaps, nodeName: 'cp-1', timeoutMs: 60_000,
    secrets: { 's3-creds': S3_SECRET }, volumes: { pki: pki.dir, 'local-disk': local },
  });
  expect(pod.ok, pod.results.map((r) => r.stderr).join('\n')).toBe(true);
  return JSON.parse(pod.results.find((r) => r.name === 'upload')!.stdout.trim()).base;
}

async function drill(document: Record<string, any>, o: { identity?: boolean | Buffer } = {}): Promise<{ pod: PodRunResult; result: Record<string, any>; stderr: string; exitCode: number | null }> {
  const { drillPod, configMaps } = synthesized(document);
  const secrets: Record<string, Record<string, string | Buffer>> = { 's3-creds': S3_SECRET };
  if (o.identity) secrets[IDENTITY_SECRET] = { 'identity.txt': o.identity === true ? readFileSync(keys.identity) : o.identity };
  const pod = await runPod({ podSpec: drillPod, netns, configMaps, secrets, timeoutMs: 120_000 });
  const container = pod.results.find((r) => r.name === 'drill')!;
  const lines = container.stdout.trim().split('\n');
  expect(lines, container.stderr).toHaveLength(1);
  return { pod, result: JSON.parse(lines[0]), stderr: container.stderr, exitCode: container.exitCode };
}

async function report(prefix: string, base: string): Promise<Record<string, any>> {
  return JSON.parse((await s3.get('backups', `${prefix}/prod-1/${base}.drill.json`)).toString());
}

async function meta(prefix: string, base: string): Promise<Record<string, any>> {
  return JSON.parse((await s3.get('backups', `${prefix}/prod-1/${base}.meta.json`)).toString());
}

describe('restore drill CronJob from the synthesized manifest', () => {
  it('restores the newest encrypted backup into a throwaway etcd, matches its metadata and uploads a passed report', async () => {
    const document = inventoryDocument('good');
    await backup(document);
    const newest = await backup(document);
    const live = await keyspaceDigest(etcd);
    const { result, stderr, exitCode } = await drill(document, { identity: true });
    expect(exitCode, stderr).toBe(0);
    expect(result).toMatchObject({ command: 'drill', status: 'ok', exitCode: 0, result: 'passed', cluster: 'prod-1', snapshot: newest, report: `${newest}.drill.json`, reportUploaded: true });

    const recorded = (await meta('good', newest)).etcd;
    const drillReport = await report('good', newest);
    expect(drillReport).toMatchObject({
      apiVersion: 'controlplane-backup/v1', kind: 'DrillReport', cluster: 'prod-1', base: newest, result: 'passed',
      expected: { revision: recorded.revision, totalKeys: recorded.totalKeys, dbSize: recorded.dbSize },
      observed: {
        revision: recorded.revision, snapshotRevision: recorded.revision, snapshotTotalKeys: recorded.totalKeys, dbSize: recorded.dbSize,
        // what the throwaway etcd serves is what the live etcd served at backup time (nothing wrote in between)
        keys: live.count,
      },
    });
    expect(Object.keys(drillReport)).toEqual(['apiVersion', 'kind', 'cluster', 'base', 'checkedAt', 'result', 'message', 'expected', 'observed', 'durationsMs']);
    expect(drillReport.checkedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(drillReport.observed.keys).toBeGreaterThanOrEqual(KEYS);
    // bbolt's key count holds every revision: more than the live keys here (200 keys were overwritten)
    expect(recorded.totalKeys).toBeGreaterThan(drillReport.observed.keys);
    expect(drillReport.observed.verifiedObjects).toEqual(expect.arrayContaining([`${newest}.meta.json`, `${newest}.db.zst.age`, `${newest}.pki.tar.zst.age`]));
    expect(drillReport.durationsMs).toMatchObject({ fetch: expect.any(Number), restore: expect.any(Number), start: expect.any(Number), total: expect.any(Number) });
    expect(stderr).toMatch(/throwaway etcd \(pid \d+\) stopped/);
    // only the newest backup got a report
    expect((await s3.list('backups', 'good/prod-1')).filter((key) => key.endsWith('.drill.json'))).toEqual([`${newest}.drill.json`]);
  });

  it('fails with a clear message, and a failed report, when the newest backup is corrupted', async () => {
    const document = inventoryDocument('corrupt');
    await backup(document);
    const newest = await backup(document);
    const key = `corrupt/prod-1/${newest}.db.zst.age`;
    const data = await s3.get('backups', key);
    data[Math.floor(data.length / 2)] ^= 0xff;
    await s3.put('backups', key, data);

    const { result, stderr, exitCode } = await drill(document, { identity: true });
    expect(exitCode, stderr).toBe(2);
    expect(result).toMatchObject({ status: 'failed', result: 'failed', snapshot: newest, reportUploaded: true });
    expect(result.message).toMatch(new RegExp(`^checksum mismatch: ${newest}\\.db\\.zst\\.age \\(sidecar [0-9a-f]{64}, downloaded [0-9a-f]{64}\\): the object is corrupt$`));
    expect(stderr).toContain('checksum mismatch');
    const drillReport = await report('corrupt', newest);
    expect(drillReport).toMatchObject({ kind: 'DrillReport', base: newest, result: 'failed', message: result.message, observed: { revision: null, keys: null } });
  });

  it('fails, and says what differs, when the restored etcd does not match the metadata', async () => {
    const document = inventoryDocument('mismatch');
    const newest = await backup(document);
    // a metadata file (and its sidecar line) that claims another revision and key count
    const metaKey = `mismatch/prod-1/${newest}.meta.json`;
    const recorded = await meta('mismatch', newest);
    const forged = Buffer.from(JSON.stringify({ ...recorded, etcd: { ...recorded.etcd, revision: recorded.etcd.revision + 7, totalKeys: 3 } }) + '\n');
    await s3.put('backups', metaKey, forged);
    const sidecarKey = `mismatch/prod-1/${newest}.sha256`;
    const sidecar = (await s3.get('backups', sidecarKey)).toString().replace(/^[0-9a-f]{64}(?=  .*\.meta\.json$)/m, sha256(forged))
      .replace(/^(#size \S+\.meta\.json) [0-9]+$/m, `$1 ${forged.length}`);
    await s3.put('backups', sidecarKey, sidecar);

    const { result, stderr, exitCode } = await drill(document, { identity: true });
    expect(exitCode, stderr).toBe(11);
    const r = recorded.etcd.revision;
    expect(result.message).toBe(`backup ${newest} restored, but the restored etcd does not match its metadata: `
      + `snapshot revision ${r}, metadata says ${r + 7}; the restored etcd serves revision ${r}, metadata says ${r + 7}; `
      + `snapshot holds ${recorded.etcd.totalKeys} keys (all revisions), metadata says 3; `
      + `the restored etcd serves ${result.observed.keys} keys, more than the 3 (all revisions) in the backup`);
    expect(await report('mismatch', newest)).toMatchObject({ result: 'failed', message: result.message, observed: { revision: r } });
    expect(stderr).toMatch(/throwaway etcd \(pid \d+\) stopped/);
  });

  it('verifies an encrypted backup without the drill identity, says it did not restore, and does not exit 0', async () => {
    const document = inventoryDocument('nokey');
    const newest = await backup(document);
    const { result, stderr, exitCode } = await drill(document, { identity: false });
    expect(exitCode, stderr).toBe(12);
    expect(result).toMatchObject({ status: 'failed', result: 'verified-not-restored', snapshot: newest, reportUploaded: true });
    expect(result.message).toMatch(/verified but NOT restored/);
    expect(result.message).toContain(`Secret ${IDENTITY_SECRET}, key identity.txt`);
    expect(stderr).not.toMatch(/throwaway etcd/);
    const drillReport = await report('nokey', newest);
    expect(drillReport).toMatchObject({ result: 'verified-not-restored', observed: { revision: null, keys: null } });
    expect(drillReport.observed.verifiedObjects).toEqual([`${newest}.meta.json`, `${newest}.db.zst.age`, `${newest}.pki.tar.zst.age`]);
  });

  it('restores an unencrypted snapshot without any identity', async () => {
    const document = inventoryDocument('plain', { encrypted: false });
    const newest = await backup(document);
    const { result, stderr, exitCode } = await drill(document, { identity: false });
    expect(exitCode, stderr).toBe(0);
    expect(result).toMatchObject({ result: 'passed', snapshot: newest });
    const drillReport = await report('plain', newest);
    expect(drillReport.result).toBe('passed');
    // the PKI bundle (always encrypted) was checked against its sidecar entry only: no key to open it
    expect(drillReport.observed.verifiedObjects).toEqual([`${newest}.meta.json`, `${newest}.db.zst`]);
  });

  it('fails with exit 3 and a failed report when the drill identity does not open the backup', async () => {
    const document = inventoryDocument('wrongkey');
    const newest = await backup(document);
    const other = join(tmp, 'other-identity.txt');
    await runOk('age-keygen', ['-o', other]);
    const { result, stderr, exitCode } = await drill(document, { identity: readFileSync(other) });
    expect(exitCode, stderr).toBe(3);
    expect(result).toMatchObject({ status: 'failed', result: 'failed', snapshot: newest, reportUploaded: true, stage: 'fetch' });
    expect(result.message).toMatch(new RegExp(`^${newest}\\.db\\.zst\\.age could not be decrypted with the given identity \\(age exited 1: .*no identity matched.*\\): is its recipient in encryption\\.recipients\\?$`));
    expect(await report('wrongkey', newest)).toMatchObject({ result: 'failed', observed: { revision: null } });
  });

  it('never drills a set dated in the future, and says so in its result line', async () => {
    const document = inventoryDocument('skew');
    const newest = await backup(document);
    const future = newest.replace(/-(\d{4})/, (_, year) => `-${Number(year) + 1}`);
    for (const suffix of ['.db.zst.age', '.pki.tar.zst.age', '.meta.json']) {
      await s3.put('backups', `skew/prod-1/${future}${suffix}`, await s3.get('backups', `skew/prod-1/${newest}${suffix}`));
    }
    await s3.put('backups', `skew/prod-1/${future}.sha256`, (await s3.get('backups', `skew/prod-1/${newest}.sha256`)).toString().split(newest).join(future));
    const { result, stderr, exitCode } = await drill(document, { identity: true });
    expect(exitCode, stderr).toBe(0);
    expect(result).toMatchObject({ result: 'passed', snapshot: newest, future: [future] });
  });
});
