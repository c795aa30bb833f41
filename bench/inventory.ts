/**
 * Generated inventories for the synthesis benchmarks: a fleet that looks like a real one at any size. Every fourth
 * cluster is hosted, the rest are kubeadm with three members; five storages of every kind; every tenth cluster has
 * an on-demand backup, every seventh its own schedule and retention. Deterministic: the same size gives the same text.
 */
import { stringify } from 'yaml';
import { TEST_TOOLS_IMAGE } from '../test/support/roots';

const RECIPIENTS = [
  'age1xzcq5v8xm62cefatuwlqdcla6gp6pu7fw85q30nvf3xppuhtpgfsk9272a',
  'age139zep4uwrh3wchvwy7yc0eakpmsk20attrd5nyapnqtsvmmdwupssc5p28',
];

/** Cluster names of a generated inventory, in order. */
export function clusterName(index: number): string {
  return `c${String(index).padStart(5, '0')}`;
}

function cluster(index: number): Record<string, unknown> {
  const name = clusterName(index);
  const octet = (n: number) => `10.${Math.floor(index / 250) % 250}.${index % 250}.${n}`;
  const entry: Record<string, unknown> =
    index % 4 === 3
      ? {
          hosted: {
            namespace: `tenant-${name}`,
            statefulSet: `${name}-etcd`,
            replicas: 3,
            clientEndpoint: `https://${name}-etcd-client.tenant-${name}.svc:2379`,
            clientCertSecret: { name: `${name}-etcd-certs` },
            pkiSecrets: [`${name}-ca`, `${name}-sa-certificate`],
          },
          backup: { storages: ['tenant-buckets', 'primary'] },
        }
      : {
          kubeadm: { members: [1, 2, 3].map((n) => ({ name: `${name}-cp-${n}`, ip: octet(n) })) },
          backup: { storages: index % 2 === 0 ? ['primary', 'node-local'] : ['primary', 'offsite', 'node-local'] },
        };
  const backup = entry.backup as Record<string, unknown>;
  if (index % 7 === 0) {
    backup.schedule = `${index % 60} */4 * * *`;
    backup.retention = { keepLast: 12, daily: 7, maxAge: '30d' };
  }
  if (index % 10 === 0) entry.onDemandBackups = [{ name: 'before-upgrade', storages: ['archive'] }];
  return entry;
}

/** The inventory document of `count` clusters; `changed` alters one cluster's schedule (incremental synth). */
export function inventoryDocument(count: number, changed?: number): Record<string, unknown> {
  const clusters: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) clusters[clusterName(i)] = cluster(i);
  if (changed !== undefined) {
    const entry = clusters[clusterName(changed)] as { backup: Record<string, unknown> };
    entry.backup.schedule = '17 3 * * *';
  }
  return {
    apiVersion: 'controlplane-backup.io/v1',
    kind: 'Inventory',
    storages: {
      primary: {
        s3: { endpoint: 'https://s3.eu-central-1.amazonaws.com', region: 'eu-central-1', bucket: 'acme-controlplane-backups', prefix: 'etcd' },
        credentials: { externalSecret: { secretStoreRef: { name: 'aws-secrets-manager' }, remoteKey: 'platform/controlplane-backup/s3' } },
      },
      offsite: {
        s3: { endpoint: 'https://minio.backup.acme.internal:9000', bucket: 'controlplane-offsite', pathStyle: true, caBundle: { configMap: 'acme-internal-ca' } },
        credentials: { existingSecret: { name: 'offsite-s3-credentials' } },
      },
      archive: {
        s3: { endpoint: 'https://s3.us-west-2.amazonaws.com', region: 'us-west-2', bucket: 'acme-controlplane-archive' },
        credentials: { existingSecret: { name: 'archive-s3-credentials' } },
      },
      'tenant-buckets': { objectBucketClaim: { storageClassName: 'rook-ceph-bucket', generateBucketName: 'managed-k8s-backups', scheme: 'http', insecure: true, port: 80 } },
      'node-local': { local: { path: '/var/lib/controlplane-backup' }, retention: { keepLast: 6 } },
    },
    defaults: {
      backup: {
        schedule: '0 */6 * * *',
        images: { tools: TEST_TOOLS_IMAGE },
        storages: ['primary'],
        encryption: { recipients: RECIPIENTS },
        retention: { keepLast: 8, daily: 7, weekly: 4, monthly: 6, maxAge: '200d' },
      },
    },
    clusters,
  };
}

export function inventoryText(count: number, changed?: number): string {
  return stringify(inventoryDocument(count, changed), { lineWidth: 0 });
}
