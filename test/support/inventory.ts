/** Builds inventories for tests from plain objects, through the same parser and validator users get. */
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { formatProblem } from '../../lib/inventory/errors';
import { parseInventory } from '../../lib/inventory/load';
import type { Inventory } from '../../lib/inventory/model';
import { TEST_TOOLS_IMAGE } from './roots';

/** The tools image every test inventory names (there is no default): the pod runner runs it in the built image's root. */
export const TOOLS_IMAGE = TEST_TOOLS_IMAGE;

/**
 * An inventory text that names the tools image: inside a flow-style `defaults.backup: { ... }` (no line moves), at
 * the end of a block-style `defaults.backup` (lines after it move down by one), else appended as a `defaults` block.
 */
export function withToolsImage(text: string): string {
  if (/\btools: /.test(text)) return text;
  if (/^defaults:\n {2}backup: \{/m.test(text)) return text.replace(/^( {2}backup: \{)/m, `$1 images: { tools: "${TOOLS_IMAGE}" },`);
  if (/^defaults:\n {2}backup:\n/m.test(text)) return text.replace(/^clusters:/m, `    images: { tools: "${TOOLS_IMAGE}" }\nclusters:`);
  return `${text}${text.endsWith('\n') ? '' : '\n'}defaults:\n  backup:\n    images: { tools: "${TOOLS_IMAGE}" }\n`;
}

export const EXAMPLE = 'examples/inventory.yaml';

export function exampleDocument(): Record<string, any> {
  return parse(readFileSync(EXAMPLE, 'utf8'));
}

/**
 * Validates and resolves; fails the test with every problem when the inventory is invalid. A document that names no
 * tools image gets TOOLS_IMAGE in `defaults.backup.images.tools` (the tests that check the missing image parse directly).
 */
export function inventoryOf(document: unknown, file = 'test.yaml'): Inventory {
  const result = parseInventory(stringify(withToolsImageDocument(document)), file);
  if (!result.ok) throw new Error(`test inventory is invalid:\n${result.problems.map(formatProblem).join('\n')}`);
  return result.inventory;
}

/** The document with TOOLS_IMAGE as `defaults.backup.images.tools`, unless it names a tools image itself. */
export function withToolsImageDocument(document: unknown): unknown {
  if (!document || typeof document !== 'object' || Array.isArray(document)) return document;
  const d = document as Record<string, any>;
  const named = d.defaults?.backup?.images?.tools !== undefined
    || Object.values(d.clusters ?? {}).some((c: any) => c?.backup?.images?.tools !== undefined);
  if (named) return document;
  const backup = d.defaults?.backup ?? {};
  return { ...d, defaults: { ...(d.defaults ?? {}), backup: { ...backup, images: { ...(backup.images ?? {}), tools: TOOLS_IMAGE } } } };
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
