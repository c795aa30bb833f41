/** Issue 12 item 4: a hosted cluster's NetworkPolicy opens exactly the ports its pods need, for every storage kind. */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderInventory } from '../../lib/synth/render';
import { inventoryOf, minimalDocument } from '../support/inventory';

function policyOf(document: Record<string, any>): any {
  const text = renderInventory(inventoryOf(document)).get('beta/networkpolicy-beta-etcd-backup.yaml');
  return text === undefined ? undefined : parse(text);
}

describe('hosted NetworkPolicy', () => {
  it('allows the S3 endpoint port, the claim\'s port and the on-demand backups\' storages, nothing else', () => {
    const document = minimalDocument();
    document.storages.ceph = { objectBucketClaim: { storageClassName: 'rook-ceph-bucket', generateBucketName: 'etcd', scheme: 'http', port: 8080, insecure: true } };
    document.storages.offsite = { s3: { endpoint: 'http://minio.example.com:9000', bucket: 'offsite', insecure: true }, credentials: { existingSecret: { name: 'offsite' } } };
    document.clusters.beta.backup = { storages: ['s3main', 'ceph'] };
    document.clusters.beta.onDemandBackups = [{ name: 'before-move', storages: ['offsite'] }];
    const policy = policyOf(document);
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.ingress).toBeUndefined();
    expect(policy.spec.egress).toEqual([
      { to: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: 2379 }] },
      { to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] },
      { ports: [{ protocol: 'TCP', port: 443 }, { protocol: 'TCP', port: 8080 }, { protocol: 'TCP', port: 9000 }] },
    ]);
    // No rule without ports: egress is never open to everything.
    expect(policy.spec.egress.every((rule: any) => rule.ports?.length > 0)).toBe(true);
  });

  it('is not written for a kubeadm cluster (hostNetwork pods are outside NetworkPolicy)', () => {
    const files = renderInventory(inventoryOf(minimalDocument()));
    expect([...files.keys()].filter((path) => path.startsWith('alpha/networkpolicy-'))).toEqual([]);
  });
});
