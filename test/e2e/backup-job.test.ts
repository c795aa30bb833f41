// The synthesized backup Job, run for real: its containers, commands, env and scripts come from the manifests that
// synth writes (never a hand-copied script), against a TLS etcd and s3rver on 127.0.0.1 in a private netns.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderInventory } from '../../lib/synth/render';
import { inventoryOf } from '../support/inventory';
import { keyspaceDigest, type EtcdServer } from '../support/etcd';
import { startEtcdWorld, type EtcdWorld } from '../support/world';
import type { NetNs } from '../support/netns';
import { listFiles, type Pki } from '../support/pki';
import { runPod, type PodRunResult } from '../support/pod-runner';
import { etcdBinary } from '../support/roots';
import { run, runOk } from '../support/proc';
import type { S3Server } from '../support/s3';
import { nextSecond, sha256 } from '../support/agent';

let world: EtcdWorld;
let tmp: string;
let netns: NetNs;
let pki: Pki;
let etcd: EtcdServer;
let s3: S3Server;
let keys: { identity: string; recipients: string };
const KEYS = 2000;

beforeAll(async () => {
  world = await startEtcdWorld('e2e-backup', { keys: KEYS });
  ({ tmp, netns, pki, keys, etcd, s3 } = world);
});

afterAll(async () => {
  await world?.stop();
});

function recipient(): string {
  return readFileSync(keys.recipients, 'utf8').split('\n').find((line) => line.startsWith('age1'))!;
}

/** An inventory pointing at the test's servers; `retention` and topology per test. */
function inventoryDocument(overrides: { retention?: object; accessKeyId?: string } = {}): Record<string, any> {
  return {
    apiVersion: 'controlplane-backup.io/v1',
    kind: 'Inventory',
    storages: {
      s3main: {
        s3: { endpoint: s3.endpoint, bucket: 'backups', prefix: 'etcd', pathStyle: true, insecure: true },
        credentials: { existingSecret: { name: 's3-creds' } },
      },
      disk: { local: { path: '/var/lib/controlplane-backup' } },
    },
    defaults: {
      backup: {
        storages: ['s3main'],
        encryption: { recipients: [recipient()] },
        minSnapshotSize: '64Ki',
        retention: overrides.retention ?? { keepLast: 5 },
        snapshotTimeoutSeconds: 10,
      },
    },
    clusters: {
      'prod-1': {
        kubeadm: { members: [{ name: 'cp-1', ip: '10.0.0.1' }] },
        backup: { storages: ['s3main', 'disk'] },
      },
      'tenant-1': {
        hosted: {
          namespace: 'tenant-1',
          statefulSet: 'tenant-1-etcd',
          replicas: 1,
          clientEndpoint: 'https://127.0.0.1:2379',
          clientCertSecret: { name: 'tenant-1-etcd-certs' },
          pkiSecrets: ['tenant-1-ca'],
        },
      },
    },
  };
}

interface Synthesized {
  podSpec: any;
  configMaps: Record<string, Record<string, string>>;
}

/** The backup CronJob's pod and the ConfigMaps of one cluster folder, parsed from synthesized YAML. */
function synthesized(document: Record<string, any>, cluster: string): Synthesized {
  const files = renderInventory(inventoryOf(document));
  const objects = [...files].filter(([path]) => path.startsWith(`${cluster}/`) && !path.endsWith('kustomization.yaml')).map(([, text]) => parse(text));
  const cronJob = objects.find((o) => o.kind === 'CronJob');
  const configMaps = Object.fromEntries(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data]));
  return { podSpec: cronJob.spec.jobTemplate.spec.template.spec, configMaps };
}

const S3_SECRET = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

async function runKubeadmBackup(document: Record<string, any>, local: string, secret = S3_SECRET): Promise<PodRunResult> {
  const { podSpec, configMaps } = synthesized(document, 'prod-1');
  // hostPath volumes map to the test's directories; everything else is what the manifest says.
  return runPod({
    podSpec, netns, configMaps, nodeName: 'cp-1', timeoutMs: 60_000,
    secrets: { 's3-creds': secret },
    volumes: { pki: pki.dir, 'local-disk': local },
  });
}

function resultOf(pod: PodRunResult, container = 'upload'): Record<string, any> {
  const upload = pod.results.find((r) => r.name === container)!;
  const lines = upload.stdout.trim().split('\n');
  expect(lines, upload.stderr).toHaveLength(1);
  return JSON.parse(lines[0]);
}

async function decrypt(data: Buffer, out: string): Promise<void> {
  const encrypted = `${out}.age`;
  writeFileSync(encrypted, data);
  await runOk('age', ['-d', '-i', keys.identity, '-o', out, encrypted]);
}

describe('kubeadm backup Job from the synthesized manifest', () => {
  it('snapshots etcd and uploads snapshot, PKI bundle, metadata and sidecar to S3 and the node', async () => {
    const local = join(tmp, 'local-happy');
    mkdirSync(local, { recursive: true });
    const pod = await runKubeadmBackup(inventoryDocument(), local);
    const upload = pod.results.find((r) => r.name === 'upload');
    expect(pod.results.map((r) => [r.name, r.exitCode])).toEqual([['snapshot', 0], ['upload', 0]]);
    expect(pod.ok, upload?.stderr).toBe(true);
    const result = resultOf(pod);
    const base: string = result.base;
    expect(base).toMatch(/^prod-1-\d{8}T\d{6}Z$/);
    const names = [`${base}.db.zst.age`, `${base}.meta.json`, `${base}.pki.tar.zst.age`, `${base}.sha256`];
    expect(await s3.list('backups', 'etcd/prod-1')).toEqual(names);
    // The node directory (hostPath) holds the cluster's folder directly.
    expect(listFiles(join(local, 'prod-1'))).toEqual(names);

    // The sidecar lists every other object with its sha256.
    const sidecar = (await s3.get('backups', `etcd/prod-1/${base}.sha256`)).toString();
    for (const name of names.filter((n) => !n.endsWith('.sha256'))) {
      expect(sidecar).toContain(`${sha256(await s3.get('backups', `etcd/prod-1/${name}`))}  ${name}`);
    }

    // The snapshot decrypts and decompresses to a valid etcd snapshot with every key.
    const snapshotFile = join(tmp, 'restored.db');
    await decrypt(await s3.get('backups', `etcd/prod-1/${base}.db.zst.age`), `${snapshotFile}.zst`);
    await runOk('zstd', ['-d', '-q', '-f', `${snapshotFile}.zst`, '-o', snapshotFile]);
    const status = JSON.parse((await runOk(etcdBinary('etcdutl'), ['snapshot', 'status', '-w', 'json', snapshotFile])).stdout);
    const metadata = JSON.parse((await s3.get('backups', `etcd/prod-1/${base}.meta.json`)).toString());
    expect(metadata).toMatchObject({ cluster: 'prod-1', node: 'cp-1', base, etcd: { revision: status.revision, totalKeys: status.totalKey } });
    expect(status.totalKey).toBeGreaterThanOrEqual(KEYS);

    // The PKI bundle decrypts with the age identity and holds the node's PKI byte for byte.
    const bundle = join(tmp, 'pki-bundle.tar.zst');
    await decrypt(await s3.get('backups', `etcd/prod-1/${base}.pki.tar.zst.age`), bundle);
    const unpacked = join(tmp, 'pki-unpacked');
    mkdirSync(unpacked, { recursive: true });
    await runOk('sh', ['-c', `zstd -d -q -c '${bundle}' | tar -x -C '${unpacked}'`]);
    const restoredPki = join(unpacked, 'etc', 'kubernetes', 'pki');
    expect(listFiles(restoredPki)).toEqual(listFiles(pki.dir));
    for (const file of listFiles(pki.dir)) {
      expect(readFileSync(join(restoredPki, file)).equals(readFileSync(join(pki.dir, file))), file).toBe(true);
    }
  });

  it('keeps the newest sets by the retention policy over several runs, and never touches foreign objects', async () => {
    const local = join(tmp, 'local-retention');
    mkdirSync(local, { recursive: true });
    const document = inventoryDocument({ retention: { keepLast: 2 } });
    document.storages.s3main.s3.prefix = 'retention';
    const foreign = ['retention/prod-1/notes.txt', 'retention/prod-10/prod-10-20200101T000000Z.db.zst', 'retention/prod-1/prod-1-latest.db'];
    for (const key of foreign) await s3.put('backups', key, 'keep me');
    const bases: string[] = [];
    for (let i = 0; i < 3; i++) {
      await nextSecond();
      const pod = await runKubeadmBackup(document, local);
      expect(pod.ok, pod.results.map((r) => r.stderr).join('\n')).toBe(true);
      bases.push(resultOf(pod).base);
    }
    const remaining = await s3.list('backups', 'retention/prod-1');
    const sets = [...new Set(remaining.filter((key) => key.startsWith('prod-1-2')).map((key) => key.replace(/\..*$/, '')))];
    expect(sets).toEqual(bases.slice(1));
    expect(remaining).toContain('notes.txt');
    expect(remaining).toContain('prod-1-latest.db');
    expect(await s3.list('backups', 'retention/prod-10')).toEqual(['prod-10-20200101T000000Z.db.zst']);
  });

  it('fails in the upload container with the cause named, and leaves no complete-looking set, when the access key is wrong', async () => {
    const local = join(tmp, 'local-badkey');
    mkdirSync(local, { recursive: true });
    const document = inventoryDocument();
    document.storages.s3main.s3.prefix = 'badkey';
    document.clusters['prod-1'].backup.storages = ['s3main'];
    const pod = await runKubeadmBackup(document, local, { AWS_ACCESS_KEY_ID: 'WRONG', AWS_SECRET_ACCESS_KEY: 'x' });
    const upload = pod.results.find((r) => r.name === 'upload')!;
    expect(upload.exitCode).toBe(4);
    expect(upload.stderr).toMatch(/s3main/);
    expect((await s3.list('backups', 'badkey')).filter((key) => key.endsWith('.sha256'))).toEqual([]);
  });

  it('stops at the snapshot container, bounded by its timeouts, when the client certificate is from a foreign CA', async () => {
    const foreignPki = join(tmp, 'foreign-pki');
    await runOk('cp', ['-r', pki.dir, foreignPki]);
    await runOk('cp', [pki.foreign.client.cert, join(foreignPki, 'etcd', 'healthcheck-client.crt')]);
    await runOk('cp', [pki.foreign.client.key, join(foreignPki, 'etcd', 'healthcheck-client.key')]);
    const { podSpec, configMaps } = synthesized(inventoryDocument(), 'prod-1');
    const started = Date.now();
    const pod = await runPod({ podSpec, netns, configMaps, nodeName: 'cp-1', secrets: { 's3-creds': S3_SECRET }, volumes: { pki: foreignPki, 'local-disk': join(tmp, 'unused') } });
    expect(pod.ok).toBe(false);
    expect(pod.results.map((r) => r.name)).toEqual(['snapshot']);
    expect(pod.results[0].exitCode).not.toBe(0);
    expect(pod.results[0].stderr).toMatch(/context deadline exceeded|certificate|tls/i);
    expect(Date.now() - started).toBeLessThan(45_000);
  });
});

describe('hosted backup Job from the synthesized manifest', () => {
  it('reaches etcd with the client certificate Secret and bundles the PKI Secrets', async () => {
    const { podSpec, configMaps } = synthesized(inventoryDocument(), 'tenant-1');
    const file = (path: string) => readFileSync(path);
    const pod = await runPod({
      podSpec, netns, configMaps, nodeName: 'mgmt-node-1', timeoutMs: 60_000,
      secrets: {
        's3-creds': S3_SECRET,
        'tenant-1-etcd-certs': { 'ca.crt': file(pki.etcdCa.cert), 'tls.crt': file(pki.apiserverEtcdClient.cert), 'tls.key': file(pki.apiserverEtcdClient.key) },
        'tenant-1-ca': { 'ca.crt': file(pki.ca.cert), 'ca.key': file(pki.ca.key) },
      },
    });
    expect(pod.ok, pod.results.map((r) => r.stderr).join('\n')).toBe(true);
    const base: string = resultOf(pod).base;
    expect(await s3.list('backups', 'etcd/tenant-1')).toEqual([`${base}.db.zst.age`, `${base}.meta.json`, `${base}.pki.tar.zst.age`, `${base}.sha256`]);
    const bundle = join(tmp, 'tenant-pki.tar.zst');
    await decrypt(await s3.get('backups', `etcd/tenant-1/${base}.pki.tar.zst.age`), bundle);
    const listing = (await runOk('sh', ['-c', `zstd -d -q -c '${bundle}' | tar -t`])).stdout.split('\n').filter(Boolean).sort();
    expect(listing).toEqual(['var/run/controlplane-backup/pki/tenant-1-ca/ca.crt', 'var/run/controlplane-backup/pki/tenant-1-ca/ca.key']);
    const digest = await keyspaceDigest(etcd);
    expect(digest.count).toBeGreaterThanOrEqual(KEYS);
    void run;
  });
});

describe('on-demand backup Job and prune from the synthesized manifests', () => {
  /** The objects of prod-1's folder. */
  function objectsOf(document: Record<string, any>): any[] {
    const files = renderInventory(inventoryOf(document));
    return [...files].filter(([path]) => path.startsWith('prod-1/') && !path.endsWith('kustomization.yaml')).map(([, text]) => parse(text));
  }
  const configMapsOf = (objects: any[]) => Object.fromEntries(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data]));

  it('runs the on-demand Job with its own plan (its request in meta.json, its storages only)', async () => {
    const document = inventoryDocument();
    document.storages.s3main.s3.prefix = 'ondemand';
    document.clusters['prod-1'].onDemandBackups = [{ name: 'pre-upgrade', storages: ['s3main'] }];
    const objects = objectsOf(document);
    const job = objects.find((o) => o.kind === 'Job' && o.metadata.name === 'prod-1-backup-pre-upgrade');
    const pod = await runPod({
      podSpec: job.spec.template.spec, netns, configMaps: configMapsOf(objects), nodeName: 'cp-1', timeoutMs: 60_000,
      secrets: { 's3-creds': S3_SECRET }, volumes: { pki: pki.dir },
    });
    expect(pod.ok, pod.results.map((r) => r.stderr).join('\n')).toBe(true);
    const { base, destinations } = resultOf(pod);
    expect(destinations.map((d: any) => [d.name, d.status])).toEqual([['s3main', 'ok']]);
    expect(JSON.parse((await s3.get('backups', `ondemand/prod-1/${base}.meta.json`)).toString())).toMatchObject({ request: 'pre-upgrade', node: 'cp-1' });
  });

  it('prune (the backup plan, retention alone) keeps keepLast, removes what maxAge ends, never touches a future set', async () => {
    const document = inventoryDocument({ retention: { keepLast: 2, maxAge: '1h' } });
    document.storages.s3main.s3.prefix = 'prune';
    document.clusters['prod-1'].backup.storages = ['s3main'];
    const objects = objectsOf(document);
    const backupPod = objects.find((o) => o.kind === 'CronJob' && o.metadata.name === 'prod-1-etcd-backup').spec.jobTemplate.spec.template.spec;
    const bases: string[] = [];
    for (let i = 0; i < 3; i++) {
      await nextSecond();
      const pod = await runPod({ podSpec: backupPod, netns, configMaps: configMapsOf(objects), nodeName: 'cp-1', timeoutMs: 60_000, secrets: { 's3-creds': S3_SECRET }, volumes: { pki: pki.dir } });
      expect(pod.ok, pod.results.map((r) => r.stderr).join('\n')).toBe(true);
      bases.push(resultOf(pod).base);
    }
    // complete copies of the newest set, one dated a year ahead (a node with a wrong clock wrote it), one a year back
    const copy = async (name: string) => {
      for (const suffix of ['.db.zst.age', '.pki.tar.zst.age', '.meta.json']) {
        await s3.put('backups', `prune/prod-1/${name}${suffix}`, await s3.get('backups', `prune/prod-1/${bases[2]}${suffix}`));
      }
      await s3.put('backups', `prune/prod-1/${name}.sha256`, (await s3.get('backups', `prune/prod-1/${bases[2]}.sha256`)).toString().split(bases[2]).join(name));
    };
    const future = bases[2].replace(/-(\d{4})/, (_, year) => `-${Number(year) + 1}`);
    const old = bases[2].replace(/-(\d{4})/, (_, year) => `-${Number(year) - 1}`);
    await copy(future);
    await copy(old);
    // prune runs the backup pod's plan with the agent's prune command
    const upload = backupPod.containers[0];
    const prunePod = { ...backupPod, initContainers: [], containers: [{ ...upload, command: upload.command.map((word: string) => (word === 'backup' ? 'prune' : word)) }] };
    const pod = await runPod({ podSpec: prunePod, netns, configMaps: configMapsOf(objects), nodeName: 'cp-1', timeoutMs: 60_000, secrets: { 's3-creds': S3_SECRET }, volumes: { pki: pki.dir } });
    const result = resultOf(pod);
    expect(pod.ok, pod.results.map((r) => r.stderr).join('\n')).toBe(true);
    expect(result).toMatchObject({ command: 'prune', status: 'ok', future: [future] });
    expect(pod.results[0].stderr).toContain(`${future} is dated in the future`);
    const sets = [...new Set((await s3.list('backups', 'prune/prod-1')).map((key) => key.replace(/\..*$/, '')))];
    expect(sets).toEqual([bases[1], bases[2], future]);
    expect(result.deleted).toBe(4); // the year-old copy (maxAge); bases[0] went with the third backup's retention (keepLast)
  });

  it('with pruneCredentials the backup Jobs never delete, and the prune CronJob applies retention with the prune Secret alone', async () => {
    const document = inventoryDocument({ retention: { keepLast: 1 } });
    document.storages.s3main.s3.prefix = 'separate';
    document.storages.s3main.pruneCredentials = { existingSecret: { name: 's3-prune-creds' } };
    document.clusters['prod-1'].backup.storages = ['s3main'];
    const objects = objectsOf(document);
    const cronJob = (name: string) => objects.find((o) => o.kind === 'CronJob' && o.metadata.name === name).spec.jobTemplate.spec.template.spec;
    const backupPod = cronJob('prod-1-etcd-backup');
    const bases: string[] = [];
    for (let i = 0; i < 3; i++) {
      await nextSecond();
      // The writers' Secret only: the backup pod never sees the prune credentials.
      const pod = await runPod({ podSpec: backupPod, netns, configMaps: configMapsOf(objects), nodeName: 'cp-1', timeoutMs: 60_000, secrets: { 's3-creds': S3_SECRET }, volumes: { pki: pki.dir } });
      expect(pod.ok, pod.results.map((r) => r.stderr).join('\n')).toBe(true);
      const result = resultOf(pod);
      expect(result.destinations).toMatchObject([{ name: 's3main', status: 'ok', deleted: 0, retentionSkipped: 'retention runs in the prune CronJob (the storage has pruneCredentials)' }]);
      bases.push(result.base);
    }
    const setsNow = async () => [...new Set((await s3.list('backups', 'separate/prod-1')).map((key) => key.replace(/\..*$/, '')))];
    expect(await setsNow()).toEqual(bases);

    // The prune CronJob's pod, with the prune Secret and nothing else (no node, no writers' Secret, no etcd).
    const prunePod = cronJob('prod-1-etcd-prune');
    expect(prunePod.hostNetwork).toBeUndefined();
    expect(prunePod.volumes.map((v: any) => v.name).sort()).toEqual(['config', 'scratch']);
    const pod = await runPod({ podSpec: prunePod, netns, configMaps: configMapsOf(objects), nodeName: 'worker-1', timeoutMs: 60_000, secrets: { 's3-prune-creds': S3_SECRET } });
    expect(pod.ok, pod.results.map((r) => r.stderr).join('\n')).toBe(true);
    const result = resultOf(pod, 'prune');
    expect(result).toMatchObject({ command: 'prune', status: 'ok', deleted: 8 });
    expect(await setsNow()).toEqual([bases[2]]);
  });
});
