// Issue 15 item 1, run for real: the synthesized backup pod of a hosted cluster (tools image root, uid 65532,
// read-only root) whose storage says `workloadIdentity: {aws: {mechanism: projectedToken}}` gets no key at all: the
// kubelet's projected ServiceAccount token (a JWT; moto does not verify its signature) and AWS_ROLE_ARN let the SDK
// call STS AssumeRoleWithWebIdentity on the moto server, and the set lands in moto's S3. Without the token the agent
// says what is missing.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderInventory } from '../../lib/synth/render';
import { inventoryOf } from '../support/inventory';
import { startMoto, type MotoServer } from '../support/moto';
import { runPod, type PodRunResult } from '../support/pod-runner';
import { startEtcdWorld, type EtcdWorld } from '../support/world';

const ROLE = 'arn:aws:iam::123456789012:role/etcd-backup';
let world: EtcdWorld;
let moto: MotoServer;

beforeAll(async () => {
  world = await startEtcdWorld('e2e-identity', { keys: 200 });
  moto = await startMoto({ netns: world.netns });
  await moto.send('CreateBucket', { Bucket: 'backups' });
}, 90_000);

afterAll(async () => {
  await moto?.stop();
  await world?.stop();
});

function synthesized() {
  const recipient = readFileSync(world.keys.recipients, 'utf8').split('\n').find((line) => line.startsWith('age1'))!;
  const inventory = inventoryOf({
    apiVersion: 'controlplane-backup.io/v1',
    kind: 'Inventory',
    storages: {
      aws: {
        s3: { endpoint: moto.endpoint, bucket: 'backups', prefix: 'etcd', pathStyle: true, insecure: true },
        credentials: { workloadIdentity: { aws: { roleArn: ROLE, mechanism: 'projectedToken' } } },
      },
    },
    defaults: { backup: { storages: ['aws'], encryption: { recipients: [recipient] }, minSnapshotSize: '16Ki', snapshotTimeoutSeconds: 10 } },
    clusters: {
      'tenant-1': {
        hosted: {
          namespace: 'tenant-1', statefulSet: 'tenant-1-etcd', replicas: 1, clientEndpoint: 'https://127.0.0.1:2379',
          clientCertSecret: { name: 'tenant-1-etcd-certs' }, pkiSecrets: ['tenant-1-ca'],
        },
      },
    },
  });
  const objects = [...renderInventory(inventory)].filter(([path]) => path.startsWith('tenant-1/') && path.endsWith('.yaml')).map(([, text]) => parse(text));
  const cronJob = objects.find((object) => object.kind === 'CronJob' && object.metadata.name.endsWith('-backup'));
  const configMaps = Object.fromEntries(objects.filter((object) => object.kind === 'ConfigMap').map((object) => [object.metadata.name, object.data]));
  return { podSpec: cronJob.spec.jobTemplate.spec.template.spec, configMaps };
}

/** The projected token volume as the kubelet writes it: the atomic writer's timestamped dir, `..data`, `token`. */
function projectedToken(dir: string, audience: string): string {
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const jwt = [
    b64({ alg: 'RS256', kid: 'test' }),
    b64({ iss: 'https://oidc.tenant-1.example', sub: 'system:serviceaccount:tenant-1:tenant-1-etcd-backup', aud: [audience], iat: now, exp: now + 3600 }),
    Buffer.from('not-a-real-signature').toString('base64url'),
  ].join('.');
  const stamped = join(dir, '..2026_12_02_00_00_00.000000001');
  mkdirSync(stamped, { recursive: true });
  writeFileSync(join(stamped, 'token'), jwt, { mode: 0o444 });
  symlinkSync('..2026_12_02_00_00_00.000000001', join(dir, '..data'));
  symlinkSync('..data/token', join(dir, 'token'));
  return dir;
}

function runBackup(podSpec: any, configMaps: Record<string, any>, volumes: Record<string, string>): Promise<PodRunResult> {
  const { pki } = world;
  const file = (path: string) => readFileSync(path);
  // The test's STS is moto: the one thing the pod is told here that a cluster on AWS would not need.
  const upload = podSpec.containers.find((container: any) => container.name === 'upload');
  upload.env.push({ name: 'AWS_ENDPOINT_URL_STS', value: moto.endpoint });
  return runPod({
    podSpec, netns: world.netns, configMaps, nodeName: 'mgmt-node-1', timeoutMs: 60_000, volumes,
    secrets: {
      'tenant-1-etcd-certs': { 'ca.crt': file(pki.etcdCa.cert), 'tls.crt': file(pki.apiserverEtcdClient.cert), 'tls.key': file(pki.apiserverEtcdClient.key) },
      'tenant-1-ca': { 'ca.crt': file(pki.ca.cert), 'ca.key': file(pki.ca.key) },
    },
  });
}

const resultOf = (pod: PodRunResult) => JSON.parse(pod.results.find((result) => result.name === 'upload')!.stdout.trim());

describe('S3 workload identity with a projected ServiceAccount token', () => {
  it('writes a complete backup set with credentials from AssumeRoleWithWebIdentity, no key anywhere', async () => {
    const { podSpec, configMaps } = synthesized();
    const upload = podSpec.containers.find((container: any) => container.name === 'upload');
    expect(JSON.stringify(podSpec)).not.toContain('secretKeyRef');
    expect(podSpec.securityContext.runAsUser).toBe(65532);
    expect(upload.securityContext.readOnlyRootFilesystem).toBe(true);
    const tokenVolume = podSpec.volumes.find((volume: any) => volume.projected);
    const audience = tokenVolume.projected.sources[0].serviceAccountToken.audience;
    expect(audience).toBe('sts.amazonaws.com');
    const pod = await runBackup(podSpec, configMaps, { [tokenVolume.name]: projectedToken(join(world.tmp, 'token'), audience) });
    expect(pod.ok, pod.results.map((result) => result.stderr).join('\n')).toBe(true);
    const { base, destinations } = resultOf(pod);
    expect(destinations.map((destination: any) => [destination.name, destination.status])).toEqual([['aws', 'ok']]);
    const listed = await moto.send('ListObjectsV2', { Bucket: 'backups', Prefix: 'etcd/tenant-1/' });
    expect(listed.Contents.map((object: any) => object.Key).sort()).toEqual(
      [`${base}.db.zst.age`, `${base}.meta.json`, `${base}.pki.tar.zst.age`, `${base}.sha256`].map((name) => `etcd/tenant-1/${name}`),
    );
  });

  it('fails with exit 3 and names the missing token when the token volume is not mounted', async () => {
    const { podSpec, configMaps } = synthesized();
    // A pod without the projected volume (an edited or older spec): AWS_WEB_IDENTITY_TOKEN_FILE points at nothing.
    podSpec.volumes = podSpec.volumes.filter((volume: any) => !volume.projected);
    for (const container of podSpec.containers) container.volumeMounts = container.volumeMounts.filter((mount: any) => mount.name !== 'aws-identity-token');
    const pod = await runBackup(podSpec, configMaps, {});
    const upload = pod.results.find((result) => result.name === 'upload')!;
    expect(upload.exitCode).toBe(3);
    expect(resultOf(pod).message).toBe('destination aws uses workload identity aws-projectedToken, but the web identity token '
      + '/var/run/secrets/controlplane-backup/aws/token (AWS_WEB_IDENTITY_TOKEN_FILE) cannot be read (ENOENT): '
      + 'the projected ServiceAccount token volume is not mounted into this container');
  });
});
