// Issue 13 item 3, authenticity, in the real world: the synthesized backup CronJob (tools image root, read-only, via
// test/support/pod-runner.ts) signs its set in s3rver with the cluster's key from a Secret. An attacker who holds only
// the storage credential then plants newer sets: one with a signature of their own key, one with none. Both are
// genuine in every other way (age-encrypted to the public recipient, digests and sizes right, dated a minute ahead,
// inside the clock skew). The drill and a restore of `latest` take the signed set; a restore that names a planted
// set is refused with exit 13 and the pinned message, unless the request says `allowUnsigned: true`.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderInventory } from '../../lib/synth/render';
import { formatSidecar, formatStamp, parseSidecar, signSidecar } from '../../lib/storage';
import { inventoryOf } from '../support/inventory';
import { startEtcdCluster, type Digest, type EtcdCluster } from '../support/etcd-cluster';
import { startNetns, type NetNs } from '../support/netns';
import { runPod, type PodRunResult } from '../support/pod-runner';
import { mkTemp, rmTemp } from '../support/proc';
import { startS3, type S3Server } from '../support/s3';
import { ageKeypair } from '../support/agent';

const S3_SECRET = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
const NAME = 'prod-1';
const FOLDER = `etcd/${NAME}`;
const CLUSTER_KEY = generateKeyPairSync('ed25519');
const ATTACKER_KEY = generateKeyPairSync('ed25519');
const PUBLIC_KEY = CLUSTER_KEY.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const SIGNING_SECRET = { 'signing-key.pem': CLUSTER_KEY.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };

interface World {
  tmp: string;
  netns: NetNs;
  s3: S3Server;
  cluster: EtcdCluster;
  keys: { identity: string; recipients: string };
}

/** The cluster with its signing key (signed: false is the attacker's view: the same storage, no key). */
function inventoryFor(world: World, o: { signed?: boolean; restores?: object[] } = {}): Record<string, any> {
  const recipient = readFileSync(world.keys.recipients, 'utf8').split('\n').find((line) => line.startsWith('age1'))!;
  return {
    apiVersion: 'controlplane-backup.io/v1',
    kind: 'Inventory',
    storages: { s3main: { s3: { endpoint: world.s3.endpoint, bucket: 'backups', prefix: 'etcd', pathStyle: true, insecure: true }, credentials: { existingSecret: { name: 's3-creds' } } } },
    defaults: { backup: { storages: ['s3main'], encryption: { recipients: [recipient] }, minSnapshotSize: '64Ki', snapshotTimeoutSeconds: 20, drill: { identitySecret: 'drill-identity' } } },
    clusters: {
      [NAME]: {
        kubeadm: { members: world.cluster.nodes.map((node) => ({ name: node.name, ip: node.ip })) },
        ...(o.signed === false ? {} : { backup: { signing: { publicKey: PUBLIC_KEY } } }),
        restores: o.restores ?? [],
      },
    },
  };
}

function objectsOf(document: Record<string, any>, folder: string): any[] {
  const files = renderInventory(inventoryOf(document));
  return [...files].filter(([path]) => path.startsWith(`${folder}/`) && path.endsWith('.yaml') && !path.slice(folder.length + 1).includes('/') && !path.endsWith('kustomization.yaml')).map(([, text]) => parse(text));
}

const configMapsOf = (objects: any[]) => Object.fromEntries(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data ?? {}]));
const resultOf = (pod: PodRunResult) => JSON.parse(pod.results[pod.results.length - 1].stdout.trim().split('\n').pop()!);

/** The synthesized backup CronJob's pod; `signingSecret: false` runs it without the Secret. */
async function backUp(world: World, o: { signed?: boolean; signingSecret?: boolean } = {}): Promise<PodRunResult> {
  const objects = objectsOf(inventoryFor(world, { signed: o.signed }), NAME);
  const cronJob = objects.find((object) => object.kind === 'CronJob' && object.metadata.name === `${NAME}-etcd-backup`);
  return runPod({
    podSpec: cronJob.spec.jobTemplate.spec.template.spec, netns: world.netns, configMaps: configMapsOf(objects), nodeName: world.cluster.nodes[0].name,
    secrets: { 's3-creds': S3_SECRET, ...(o.signingSecret === false ? {} : { [`${NAME}-backup-signing`]: SIGNING_SECRET }) },
    volumes: { pki: world.cluster.nodes[0].pkiDir }, timeoutMs: 60_000,
  });
}

/**
 * What an attacker with the storage credential can do: copy a set they made (unsigned, from their own run) under a
 * newer name, with the sidecar rewritten for the new names (same digests and sizes), and optionally a signature made
 * with a key of their own.
 */
async function plant(world: World, from: string, at: Date, signature: 'attacker' | 'none'): Promise<string> {
  const name = `${NAME}-${formatStamp(at)}`;
  const sidecar = parseSidecar((await world.s3.get('backups', `${FOLDER}/${from}.sha256`)).toString());
  if ('error' in sidecar) throw new Error(sidecar.error);
  const entries = [];
  for (const entry of sidecar.entries) {
    const file = `${name}${entry.file.slice(from.length)}`;
    await world.s3.put('backups', `${FOLDER}/${file}`, await world.s3.get('backups', `${FOLDER}/${entry.file}`));
    entries.push({ ...entry, file });
  }
  const text = formatSidecar(entries);
  if (signature === 'attacker') await world.s3.put('backups', `${FOLDER}/${name}.sha256.sig`, signSidecar(ATTACKER_KEY.privateKey, NAME, name, text));
  await world.s3.put('backups', `${FOLDER}/${name}.sha256`, text);
  return name;
}

/** The synthesized restore Job of the one member. */
async function restore(world: World, request: Record<string, unknown>): Promise<PodRunResult> {
  const id = request.id as string;
  const folder = `${NAME}/restore-${id}`;
  const objects = objectsOf(inventoryFor(world, { restores: [request] }), folder);
  const [job] = objects.filter((o) => o.kind === 'Job');
  const node = world.cluster.nodes[0];
  return runPod({
    podSpec: job.spec.template.spec, netns: world.netns, configMaps: configMapsOf(objects), nodeName: node.name, timeoutMs: 180_000,
    secrets: { 's3-creds': S3_SECRET, [`${NAME}-restore-${id}-identity`]: { 'identity.txt': readFileSync(world.keys.identity) } },
    volumes: { 'etcd-data': node.dataDir, manifests: node.manifestsDir, pki: node.pkiDir },
  });
}

describe('signed backup sets against an attacker who holds the storage credential', () => {
  let world: World;
  let genuine: string;
  let atBackup: Digest;
  let forged: string;
  let unsigned: string;

  beforeAll(async () => {
    const tmp = mkTemp('e2e-signed');
    const netns = await startNetns(400);
    const keys = await ageKeypair(tmp);
    const [s3, cluster] = await Promise.all([
      startS3({ netns, dir: tmp, buckets: ['backups'] }),
      startEtcdCluster({ netns, root: join(tmp, 'nodes'), size: 1 }),
    ]);
    world = { tmp, netns, s3, cluster, keys };
    await cluster.loadKeys({ count: 500, valueBytes: 200 });
    atBackup = await cluster.digest(cluster.nodes[0]);
    const pod = await backUp(world);
    expect(pod.ok, pod.results.map((r) => r.stderr).join('\n')).toBe(true);
    genuine = resultOf(pod).base;
    // The attacker's own content: a key that must never come back with a restore of latest.
    await cluster.put('/planted', 'by the attacker');
    const theirs = await backUp(world, { signed: false, signingSecret: false });
    expect(theirs.ok, theirs.results.map((r) => r.stderr).join('\n')).toBe(true);
    const source = resultOf(theirs).base;
    const soon = Date.now() + 60_000; // a minute ahead: inside the clock skew, so "latest" before signatures
    forged = await plant(world, source, new Date(soon), 'attacker');
    unsigned = await plant(world, source, new Date(soon - 1000), 'none');
  }, 180_000);

  afterAll(async () => {
    await world?.cluster.stop();
    await world?.s3.stop();
    await world?.netns.stop();
    rmTemp(world?.tmp);
  });

  it('the backup pod signs its set with the key from the Secret, and refuses to run without it (exit 3)', async () => {
    const keys = await world.s3.list('backups', FOLDER);
    expect(keys).toContain(`${genuine}.sha256.sig`);
    const sidecar = (await world.s3.get('backups', `${FOLDER}/${genuine}.sha256`)).toString();
    expect((await world.s3.get('backups', `${FOLDER}/${genuine}.sha256.sig`)).toString()).toBe(signSidecar(CLUSTER_KEY.privateKey, NAME, genuine, sidecar));
    const pod = await backUp(world, { signingSecret: false });
    const upload = pod.results.find((r) => r.name === 'upload')!;
    expect(upload.exitCode).toBe(3);
    expect(resultOf(pod).message).toBe(`signing key missing: /var/run/controlplane-backup/signing/signing-key.pem (ENOENT) is not mounted; the Secret named by backup.signing.secretName holds it under key signing-key.pem: create it once in this cluster with \`controlplane-backup keygen --cluster ${NAME} --namespace <backup namespace> | kubectl create -f -\` (README, "Signed backups")`);
  }, 120_000);

  it('the drill skips the newer planted sets and drills the signed one', async () => {
    const objects = objectsOf(inventoryFor(world), NAME);
    const cronJob = objects.find((object) => object.kind === 'CronJob' && object.metadata.name === `${NAME}-etcd-drill`);
    const pod = await runPod({
      podSpec: cronJob.spec.jobTemplate.spec.template.spec, netns: world.netns, configMaps: configMapsOf(objects), timeoutMs: 120_000,
      secrets: { 's3-creds': S3_SECRET, 'drill-identity': { 'identity.txt': readFileSync(world.keys.identity) } },
    });
    const result = resultOf(pod);
    expect(result, pod.results.map((r) => r.stderr).join('\n')).toMatchObject({ command: 'drill', exitCode: 0, result: 'passed', snapshot: genuine, signature: 'valid' });
  }, 180_000);

  it('a restore that names the forged set is refused with exit 13 and touches nothing', async () => {
    const before = await world.cluster.digest(world.cluster.nodes[0]);
    const pod = await restore(world, { id: 'forged', snapshot: `${FOLDER}/${forged}.db.zst.age`, confirm: forged });
    expect(pod.results[0].exitCode).toBe(13);
    expect(resultOf(pod).message).toMatch(new RegExp(`^refusing ${forged}: it is forged: ${forged}\\.sha256\\.sig was made with key [0-9a-f]{16}, not the cluster's signing key [0-9a-f]{16}; it was not written by this cluster's backup \\(or before backup\\.signing was set\\)\\. Restore a signed set, or, if you know where this one comes from, set \`allowUnsigned: true\` on the restore request$`));
    expect(await world.cluster.digest(world.cluster.nodes[0])).toEqual(before);
  }, 240_000);

  it('a restore of latest restores the signed set, never the newer planted ones', async () => {
    const pod = await restore(world, { id: 'latest', snapshot: 'latest', confirm: NAME });
    expect(pod.ok, pod.results[0].stderr).toBe(true);
    expect(resultOf(pod)).toMatchObject({ status: 'ok', snapshot: genuine });
    await world.cluster.waitHealthy(60_000);
    expect(await world.cluster.digest(world.cluster.nodes[0])).toEqual(atBackup);
  }, 240_000);

  it('allowUnsigned: true restores a named unsigned set (the person who asked knows where it comes from)', async () => {
    const pod = await restore(world, { id: 'unsigned', snapshot: `${FOLDER}/${unsigned}.db.zst.age`, confirm: unsigned, allowUnsigned: true });
    expect(pod.ok, pod.results[0].stderr).toBe(true);
    expect(resultOf(pod)).toMatchObject({ status: 'ok', snapshot: unsigned });
    expect(pod.results[0].stderr).toContain(`WARNING: restoring ${unsigned} although it is unsigned: no signature ${unsigned}.sha256.sig (the request says allowUnsigned: true)`);
    await world.cluster.waitHealthy(60_000);
    expect((await world.cluster.nodes[0].ctl(['get', '/planted', '--print-value-only'])).stdout.trim()).toBe('by the attacker');
  }, 240_000);
});
