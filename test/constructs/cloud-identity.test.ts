/**
 * Issue 15 items 2 and 3: gcs and azureBlob storages in the synthesized manifests. With workload identity the
 * ServiceAccounts carry the provider's annotations (and Azure's pods its label), no key Secret is referenced, the
 * hosted NetworkPolicy opens the identity service; with a key Secret the agent reads it from env, and an
 * ExternalSecret or SealedSecret writes the one key the pod reads. Azure Workload Identity cannot run against azurite
 * (no Entra ID), so this is where it is tested.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderInventory } from '../../lib/synth/render';
import { inventoryOf, minimalDocument } from '../support/inventory';

const CLIENT_ID = '11111111-2222-3333-4444-555555555555';
const TENANT_ID = '99999999-8888-7777-6666-555555555555';
const GOOGLE_SA = 'etcd-backup@acme-prod.iam.gserviceaccount.com';
const SEALED = `Ag${'B'.repeat(120)}`;

function render(storage: Record<string, unknown>, withKubeadm = false) {
  const document = minimalDocument();
  document.storages = { cloud: storage };
  document.defaults.backup.storages = ['cloud'];
  document.defaults.backup.drill = { enabled: true };
  if (!withKubeadm) delete document.clusters.alpha;
  document.clusters.beta.restores = [{ id: 'r1', snapshot: 'latest', confirm: 'beta' }];
  return renderInventory(inventoryOf(document));
}

const objects = (files: Map<string, string>, prefix: string) =>
  Object.fromEntries([...files].filter(([path]) => path.startsWith(prefix) && path.endsWith('.yaml')).map(([path, text]) => [path.slice(path.lastIndexOf('/') + 1), parse(text)]));
const podOf = (cronJob: any) => cronJob.spec.jobTemplate.spec.template;
const planOf = (folder: Record<string, any>, file: string) => {
  const config = Object.values(folder).find((object: any) => object.kind === 'ConfigMap' && object.data?.[file]) as any;
  return JSON.parse(config.data[file]);
};

describe('azureBlob with Azure Workload Identity (hosted)', () => {
  const files = render({
    azureBlob: { account: 'acmebackups', container: 'etcd', prefix: 'clusters' },
    credentials: { workloadIdentity: { azure: { clientId: CLIENT_ID, tenantId: TENANT_ID } } },
  });
  const beta = objects(files, 'beta/');

  it('annotates the backup, drill and restore ServiceAccounts with the client and tenant id', () => {
    const accounts = Object.entries(beta).filter(([, object]) => object.kind === 'ServiceAccount');
    expect(accounts.map(([name]) => name).sort()).toEqual(['serviceaccount-beta-etcd-backup.yaml', 'serviceaccount-beta-etcd-drill.yaml', 'serviceaccount-beta-restore-r1.yaml']);
    for (const [, account] of accounts) {
      expect(account.metadata.annotations).toMatchObject({ 'azure.workload.identity/client-id': CLIENT_ID, 'azure.workload.identity/tenant-id': TENANT_ID });
    }
  });

  it('labels the backup and drill pods for the webhook and references no Secret for the storage', () => {
    for (const name of ['cronjob-beta-etcd-backup.yaml', 'cronjob-beta-etcd-drill.yaml']) {
      const template = podOf(beta[name]);
      expect(template.metadata.labels['azure.workload.identity/use'], name).toBe('true');
      expect(JSON.stringify(template.spec.containers[0].env ?? [])).not.toContain('secretKeyRef');
    }
    expect(Object.values(beta).filter((object: any) => ['ExternalSecret', 'SealedSecret'].includes(object.kind))).toEqual([]);
  });

  it('keeps the webhook\'s token out of the backup pod\'s snapshot container (Azure separates names with ";")', () => {
    const backup = podOf(beta['cronjob-beta-etcd-backup.yaml']);
    expect(backup.spec.initContainers.map((c: any) => c.name)).toEqual(['snapshot']);
    expect(backup.metadata.annotations).toEqual({ 'azure.workload.identity/skip-containers': 'snapshot' });
    // The drill has one container: nothing to keep out.
    expect(podOf(beta['cronjob-beta-etcd-drill.yaml']).metadata.annotations).toBeUndefined();
  });

  it('gives the agent the container, the public endpoint and the client id, and no connection string', () => {
    const destination = planOf(beta, 'backup-plan.json').destinations[0];
    expect(destination).toEqual({
      name: 'cloud', kind: 'azureBlob', account: 'acmebackups', container: 'etcd', folder: 'clusters/beta',
      endpoint: 'https://acmebackups.blob.core.windows.net', connectionStringEnv: null, clientId: CLIENT_ID, tenantId: TENANT_ID,
      authenticatesAs: `Azure workload identity ${CLIENT_ID}`, retention: expect.any(Object),
    });
    expect(planOf(beta, 'drill-plan.json').source).toMatchObject({ kind: 'azureBlob', container: 'etcd', folder: 'clusters/beta' });
  });

  it('opens egress to the blob endpoint and Entra ID (443), and names the credential kind in SUMMARY.md', () => {
    const policy = Object.values(beta).find((object: any) => object.kind === 'NetworkPolicy') as any;
    expect(policy.spec.egress.flatMap((rule: any) => rule.ports.map((port: any) => port.port))).toContain(443);
    expect(files.get('SUMMARY.md')).toContain(`Azure Blob Storage account \`acmebackups\`, \`etcd/clusters/beta/\`; credentials \`workloadIdentity:azure-workloadIdentity\`: workload identity ${CLIENT_ID}; you create a federated identity credential`);
  });
});

describe('gcs with GKE Workload Identity (hosted)', () => {
  const files = render({ gcs: { bucket: 'acme-etcd-backups' }, credentials: { workloadIdentity: { gcp: { serviceAccount: GOOGLE_SA } } } });
  const beta = objects(files, 'beta/');

  it('annotates the ServiceAccounts with the Google service account and labels no pod', () => {
    const accounts = Object.values(beta).filter((object: any) => object.kind === 'ServiceAccount') as any[];
    expect(accounts).toHaveLength(3);
    for (const account of accounts) expect(account.metadata.annotations['iam.gke.io/gcp-service-account']).toBe(GOOGLE_SA);
    expect(podOf(beta['cronjob-beta-etcd-backup.yaml']).metadata.labels?.['azure.workload.identity/use']).toBeUndefined();
  });

  it('gives the agent no key (Application Default Credentials) and opens the GKE metadata server', () => {
    expect(planOf(beta, 'backup-plan.json').destinations[0]).toMatchObject({ kind: 'gcs', bucket: 'acme-etcd-backups', folder: 'beta', endpoint: null, keyJsonEnv: null });
    const policy = Object.values(beta).find((object: any) => object.kind === 'NetworkPolicy') as any;
    const ports = policy.spec.egress.flatMap((rule: any) => rule.ports.map((port: any) => port.port));
    expect(ports).toEqual(expect.arrayContaining([443, 80, 988]));
    expect(files.get('SUMMARY.md')).toContain(`Google Cloud Storage \`gs://acme-etcd-backups/beta/\`; credentials \`workloadIdentity:gcp-workloadIdentity\`: workload identity ${GOOGLE_SA}`);
  });
});

describe('key Secrets of gcs and azureBlob', () => {
  it('reads an existing Secret\'s key into the agent\'s env (kubeadm: a GCS key works on the host network)', () => {
    const files = render({ gcs: { bucket: 'acme-etcd-backups' }, credentials: { existingSecret: { name: 'gcs-key', key: 'key.json' } } }, true);
    const alpha = objects(files, 'alpha/');
    const upload = podOf(alpha['cronjob-alpha-etcd-backup.yaml']).spec.containers[0];
    expect(upload.env).toContainEqual({ name: 'CPB_CLOUD_GCS_KEY_JSON', valueFrom: { secretKeyRef: { name: 'gcs-key', key: 'key.json' } } });
    expect(planOf(alpha, 'backup-plan.json').destinations[0]).toMatchObject({ keyJsonEnv: 'CPB_CLOUD_GCS_KEY_JSON', authenticatesAs: 'the service-account key in Secret gcs-key (key key.json)' });
    expect(files.get('SUMMARY.md')).toContain('credentials `existingSecret`: service-account key from existing Secret `gcs-key`');
  });

  it('writes an ExternalSecret with the one connection-string key the pod reads', () => {
    const files = render({
      azureBlob: { account: 'acmebackups', container: 'etcd' },
      credentials: { externalSecret: { secretStoreRef: { name: 'vault' }, remoteKey: 'platform/azure', property: 'connection' } },
    });
    const beta = objects(files, 'beta/');
    const external = Object.values(beta).find((object: any) => object.kind === 'ExternalSecret') as any;
    expect(external.spec.data).toEqual([{ secretKey: 'AZURE_STORAGE_CONNECTION_STRING', remoteRef: { key: 'platform/azure', property: 'connection' } }]);
    const upload = podOf(beta['cronjob-beta-etcd-backup.yaml']).spec.containers[0];
    expect(upload.env).toContainEqual({ name: 'CPB_CLOUD_AZURE_CONNECTION_STRING', valueFrom: { secretKeyRef: { name: external.spec.target.name, key: 'AZURE_STORAGE_CONNECTION_STRING' } } });
  });

  it('writes a SealedSecret with the ciphertext of the service-account key only', () => {
    const files = render({ gcs: { bucket: 'acme-etcd-backups' }, credentials: { sealedSecret: { serviceAccountKey: SEALED } } });
    const sealed = Object.values(objects(files, 'beta/')).find((object: any) => object.kind === 'SealedSecret') as any;
    expect(sealed.spec.encryptedData).toEqual({ 'service-account.json': SEALED });
  });
});
