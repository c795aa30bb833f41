// `snapshots` and `check` of an azureBlob storage against azurite (Microsoft's Azure Storage server, npm) on
// 127.0.0.1, with the user's own credentials: the connection string in AZURE_STORAGE_CONNECTION_STRING.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSidecar, sha256 } from '../../lib/storage';
import { AZURITE_ACCOUNT, startAzurite, type Azurite } from '../support/azurite';
import { mkTemp, rmTemp } from '../support/proc';
import { withToolsImage } from '../support/inventory';
import { runCli as cli } from '../support/cli';

const NOW = '2026-03-01T12:00:00Z';
const RECIPIENT = 'age1xzcq5v8xm62cefatuwlqdcla6gp6pu7fw85q30nvf3xppuhtpgfsk9272a';
let work: string;
let azurite: Azurite;
let inventory: string;
const savedConnectionString = process.env.AZURE_STORAGE_CONNECTION_STRING;

const body = (bytes: number) => 'x'.repeat(bytes);

beforeAll(async () => {
  work = mkTemp('cli-azure');
  azurite = await startAzurite({ containers: ['etcd'] });
  // One complete set (sidecar last) and a newer one still uploading (no sidecar).
  const objects: [string, number][] = [['prod-1-20260301T060000Z.db.zst.age', 400], ['prod-1-20260301T060000Z.meta.json', 100]];
  for (const [file, size] of objects) await azurite.put('etcd', `clusters/prod-1/${file}`, body(size));
  await azurite.put('etcd', 'clusters/prod-1/prod-1-20260301T060000Z.sha256', formatSidecar(objects.map(([file, size]) => ({ file, size, sha256: sha256(body(size)) }))));
  await azurite.put('etcd', 'clusters/prod-1/prod-1-20260301T120000Z.db.zst.age', body(300));
  inventory = join(work, 'inventory.yaml');
  writeFileSync(inventory, withToolsImage(`apiVersion: controlplane-backup.io/v1
kind: Inventory
storages:
  blob:
    azureBlob: { account: ${AZURITE_ACCOUNT}, container: etcd, prefix: clusters, endpoint: "${azurite.endpoint}", insecure: true }
    credentials:
      workloadIdentity:
        azure: { clientId: 11111111-2222-3333-4444-555555555555 }
clusters:
  prod-1:
    hosted:
      namespace: prod-1
      statefulSet: prod-1-etcd
      replicas: 1
      clientEndpoint: https://prod-1-etcd.prod-1.svc:2379
      clientCertSecret: { name: prod-1-etcd-certs }
    backup:
      storages: [blob]
      encryption: { recipients: [${RECIPIENT}] }
`));
  process.env.AZURE_STORAGE_CONNECTION_STRING = azurite.connectionString;
});

afterAll(async () => {
  if (savedConnectionString === undefined) delete process.env.AZURE_STORAGE_CONNECTION_STRING;
  else process.env.AZURE_STORAGE_CONNECTION_STRING = savedConnectionString;
  await azurite?.stop();
  rmTemp(work);
});

describe('snapshots and check of an azureBlob storage', () => {
  it('lists the complete and the incomplete set under the container\'s blob URL', async () => {
    const result = await cli('snapshots', '--inventory', inventory, '--now', NOW);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [heading] = result.stdout.split('\n');
    expect(heading).toBe(`prod-1 in blob (${azurite.endpoint}/etcd/clusters/prod-1/): 2 backups, 1 complete, 0 other objects`);
    const json = JSON.parse((await cli('snapshots', '--inventory', inventory, '--now', NOW, '--json')).stdout);
    expect(json.locations[0]).toMatchObject({
      storage: 'blob', storageKind: 'azureBlob', status: 'listed', endpoint: azurite.endpoint, bucket: 'etcd', folder: 'clusters/prod-1',
    });
    expect(json.locations[0].backups.map((backup: any) => [backup.name, backup.complete])).toEqual([['prod-1-20260301T120000Z', false], ['prod-1-20260301T060000Z', true]]);
  });

  it('checks the newest complete backup against the schedule', async () => {
    expect((await cli('check', '--inventory', inventory, '--now', NOW)).code).toBe(0);
    const stale = await cli('check', '--inventory', inventory, '--now', '2026-03-01T15:41:00Z');
    expect(stale.code).toBe(3);
    expect(stale.stdout).toContain('prod-1: newest complete backup prod-1-20260301T060000Z (in blob) is 9 hours 41 minutes old');
  });

  it('says which container is missing', async () => {
    const missing = inventory.replace('inventory.yaml', 'missing.yaml');
    writeFileSync(missing, readFileSync(inventory, 'utf8').replace('container: etcd', 'container: nope'));
    const result = await cli('snapshots', '--inventory', missing, '--now', NOW);
    expect(result.stdout).toContain(`prod-1 in blob: FAILED: container "nope" does not exist in storage account "${AZURITE_ACCOUNT}" (${azurite.endpoint}): create it, or fix \`azureBlob.container\``);
  });
});
