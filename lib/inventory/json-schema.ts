/** JSON Schema of inventory.yaml, generated from the zod schema, for editors (yaml-language-server). */
import { z } from 'zod';
import { inventorySchema } from './schema';

export function inventoryJsonSchema(): Record<string, unknown> {
  // "input": what a person writes, so keys with defaults are optional.
  const schema = z.toJSONSchema(inventorySchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: 'https://controlplane-backup.io/schema/inventory-v1.json',
    title: 'controlplane-backup inventory',
    description: 'Clusters, storages and defaults from which controlplane-backup generates etcd and PKI backup and restore manifests.',
    ...Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$schema')),
  };
}
