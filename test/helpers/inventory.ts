/** Builds inventories for tests from plain objects, through the same parser and validator users get. */
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { formatProblem } from '../../lib/inventory/errors';
import { parseInventory } from '../../lib/inventory/load';
import type { Inventory } from '../../lib/inventory/model';

export const EXAMPLE = 'examples/inventory.yaml';

export function exampleDocument(): Record<string, any> {
  return parse(readFileSync(EXAMPLE, 'utf8'));
}

/** Validates and resolves; fails the test with every problem when the inventory is invalid. */
export function inventoryOf(document: unknown, file = 'test.yaml'): Inventory {
  const result = parseInventory(stringify(document), file);
  if (!result.ok) throw new Error(`test inventory is invalid:\n${result.problems.map(formatProblem).join('\n')}`);
  return result.inventory;
}

export const RECIPIENT = 'age1xzcq5v8xm62cefatuwlqdcla6gp6pu7fw85q30nvf3xppuhtpgfsk9272a';

/** A minimal valid inventory with one kubeadm and one hosted cluster. */
export function minimalDocument(): Record<string, any> {
  return {
    apiVersion: 'controlplane-backup.io/v1',
    kind: 'Inventory',
    storages: {
      s3main: {
        s3: { endpoint: 'https://s3.example.com', bucket: 'backups', prefix: 'etcd' },
        credentials: { existingSecret: { name: 's3-creds' } },
      },
    },
    defaults: { backup: { storages: ['s3main'], encryption: { recipients: [RECIPIENT] } } },
    clusters: {
      alpha: { kubeadm: { members: [{ name: 'cp-1', ip: '10.0.0.1' }] } },
      beta: {
        hosted: {
          namespace: 'tenant-beta',
          statefulSet: 'beta-etcd',
          replicas: 3,
          clientEndpoint: 'https://beta-etcd-client.tenant-beta.svc:2379',
          clientCertSecret: { name: 'beta-etcd-certs' },
          pkiSecrets: ['beta-ca'],
        },
      },
    },
  };
}
