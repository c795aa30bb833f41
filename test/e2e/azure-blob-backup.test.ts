// An azureBlob storage end to end: the synthesized backup and drill CronJobs' pods run the agent from the tools image's
// root (test/support/pod-runner.ts: uid 65532, read-only root) against a TLS etcd and azurite on 127.0.0.1 in a
// private netns, with a connection-string Secret (azurite's account key). Azure Workload Identity cannot be exercised
// against azurite (no Entra ID): its ServiceAccount annotations and pod label are checked statically in
// test/constructs/cloud-identity.test.ts.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderInventory } from '../../lib/synth/render';
import { inventoryOf } from '../support/inventory';
import { AZURITE_ACCOUNT, startAzurite, type Azurite } from '../support/azurite';
import { startEtcdWorld, type EtcdWorld } from '../support/world';
import { runPod, type PodRunResult } from '../support/pod-runner';
import { nextSecond, sha256 } from '../support/agent';

let world: EtcdWorld;
let azurite: Azurite;
const IDENTITY_SECRET = 'prod-1-drill-identity';

beforeAll(async () => {
  world = await startEtcdWorld('e2e-azure', { keys: 1000, netnsSeconds: 400 });
  azurite = await startAzurite({ netns: world.netns, containers: ['backups'] });
});

afterAll(async () => {
  await azurite?.stop();
  await world?.stop();
});

function recipient(): string {
  return readFileSync(world.keys.recipients, 'utf8').split('\n').find((line) => line.startsWith('age1'))!;
}

/** kubeadm cluster prod-1 backing up to an azurite container through a connection-string Secret. */
function inventoryDocument(prefix: string, retention: object = { keepLast: 5 }): Record<string, any> {
  return {
    apiVersion: 'controlplane-backup.io/v1',
    kind: 'Inventory',
    storages: {
      azmain: {
        azureBlob: { account: AZURITE_ACCOUNT, container: 'backups', prefix, endpoint: azurite.endpoint, insecure: true },
        credentials: { existingSecret: { name: 'azure-creds' } },
      },
    },
    defaults: {
      backup: {
        storages: ['azmain'],
        encryption: { recipients: [recipient()] },
        minSnapshotSize: '64Ki',
        retention,
        snapshotTimeoutSeconds: 10,
        activeDeadlineSeconds: 120,
        drill: { identitySecret: IDENTITY_SECRET },
      },
    },
    clusters: { 'prod-1': { kubeadm: { members: [{ name: 'cp-1', ip: '10.0.0.1' }] } } },
  };
}

function synthesized(document: Record<string, any>) {
  const files = renderInventory(inventoryOf(document));
  const objects = [...files].filter(([path]) => path.startsWith('prod-1/') && !path.endsWith('kustomization.yaml')).map(([, text]) => parse(text));
  const cronJob = (name: string) => objects.find((o) => o.kind === 'CronJob' && o.metadata.name === name);
  return {
    backupPod: cronJob('prod-1-etcd-backup').spec.jobTemplate.spec.template.spec,
    drillPod: cronJob('prod-1-etcd-drill').spec.jobTemplate.spec.template.spec,
    configMaps: Object.fromEntries(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data])),
  };
}

const secretOf = (connectionString: string) => ({ 'azure-creds': { AZURE_STORAGE_CONNECTION_STRING: connectionString } });

async function backup(document: Record<string, any>, connectionString = azurite.connectionString): Promise<PodRunResult> {
  const { backupPod, configMaps } = synthesized(document);
  await nextSecond();
  return runPod({
    podSpec: backupPod, netns: world.netns, configMaps, nodeName: 'cp-1', timeoutMs: 60_000,
    secrets: secretOf(connectionString), volumes: { pki: world.pki.dir },
  });
}

function resultOf(pod: PodRunResult, container: string): Record<string, any> {
  const found = pod.results.find((r) => r.name === container)!;
  const lines = found.stdout.trim().split('\n');
  expect(lines, found.stderr).toHaveLength(1);
  return JSON.parse(lines[0]);
}

describe('azureBlob storage through the synthesized Jobs', () => {
  it('uploads complete sets, prunes by retention, and the drill restores the newest one and stores its report', async () => {
    const document = inventoryDocument('etcd', { keepLast: 2 });
    const bases: string[] = [];
    for (let i = 0; i < 3; i++) {
      const pod = await backup(document);
      expect(pod.ok, pod.results.map((r) => r.stderr).join('\n')).toBe(true);
      const result = resultOf(pod, 'upload');
      expect(result.destinations).toEqual([expect.objectContaining({ name: 'azmain', kind: 'azureBlob', status: 'ok' })]);
      bases.push(result.base);
    }
    // keepLast 2: the oldest set is gone, the two newest are whole.
    const newest = bases[2];
    const names = (base: string) => [`${base}.db.zst.age`, `${base}.meta.json`, `${base}.pki.tar.zst.age`, `${base}.sha256`];
    expect(await azurite.list('backups', 'etcd/prod-1/')).toEqual([...names(bases[1]), ...names(bases[2])].map((name) => `etcd/prod-1/${name}`).sort());
    const sidecar = (await azurite.get('backups', `etcd/prod-1/${newest}.sha256`)).toString();
    for (const name of names(newest).filter((n) => !n.endsWith('.sha256'))) {
      expect(sidecar).toContain(`${sha256(await azurite.get('backups', `etcd/prod-1/${name}`))}  ${name}`);
    }

    const { drillPod, configMaps } = synthesized(document);
    const drill = await runPod({
      podSpec: drillPod, netns: world.netns, configMaps, timeoutMs: 120_000,
      secrets: { ...secretOf(azurite.connectionString), [IDENTITY_SECRET]: { 'identity.txt': readFileSync(world.keys.identity) } },
    });
    const drilled = resultOf(drill, 'drill');
    expect(drilled, drill.results.map((r) => r.stderr).join('\n')).toMatchObject({ status: 'ok', result: 'passed', snapshot: newest, reportUploaded: true });
    const report = JSON.parse((await azurite.get('backups', `etcd/prod-1/${newest}.drill.json`)).toString());
    expect(report).toMatchObject({ kind: 'DrillReport', cluster: 'prod-1', base: newest, result: 'passed' });
  });

  it('fails in the upload container naming the storage and the fix, and leaves no sidecar, when the account key is wrong', async () => {
    const wrongKey = azurite.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.alloc(64, 1).toString('base64')}`);
    const pod = await backup(inventoryDocument('badkey'), wrongKey);
    const upload = pod.results.find((r) => r.name === 'upload')!;
    expect(upload.exitCode).toBe(4);
    expect(upload.stderr).toContain(`access denied to azure://${AZURITE_ACCOUNT}/backups/badkey/prod-1/`);
    expect(upload.stderr).toContain('for the connection string in Secret azure-creds (key AZURE_STORAGE_CONNECTION_STRING): it needs the role "Storage Blob Data Contributor"');
    expect((await azurite.list('backups', 'badkey/')).filter((key) => key.endsWith('.sha256'))).toEqual([]);
  });
});
