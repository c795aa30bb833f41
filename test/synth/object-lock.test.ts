// Issue 13 item 4 (second half): S3 Object Lock in the inventory, the agent's plan and SUMMARY.md.
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../lib/inventory/errors';
import { parseInventory } from '../../lib/inventory/load';
import { renderInventory } from '../../lib/synth/render';
import { inventoryOf, minimalDocument, withToolsImage } from '../support/inventory';

function locked(objectLock: object, retention?: object) {
  const document = minimalDocument();
  document.storages.s3main.s3.objectLock = objectLock;
  if (retention) document.defaults.backup.retention = retention;
  return document;
}

describe('Object Lock', () => {
  it('fails if days is below 1 or not whole, at the value', () => {
    const text = (days: string) => withToolsImage(`apiVersion: controlplane-backup.io/v1
kind: Inventory
storages:
  primary:
    s3: { endpoint: https://s3.example.com, bucket: bkt, objectLock: { mode: GOVERNANCE, days: ${days} } }
    credentials: { existingSecret: { name: s } }
clusters: {}
`);
    const problems = (days: string) => { const result = parseInventory(text(days), 'inventory.yaml'); return result.ok ? [] : result.problems.map(formatProblem); };
    expect(problems('0')).toEqual(['inventory.yaml:5:96: storages.primary.s3.objectLock.days: must be at least 1 (a day)']);
    expect(problems('1.5')).toEqual(['inventory.yaml:5:96: storages.primary.s3.objectLock.days: must be a whole number of days']);
  });

  it('renders the lock into the agent plan and says in SUMMARY.md that a maxAge shorter than the lock keeps sets longer', () => {
    const files = renderInventory(inventoryOf(locked({ mode: 'COMPLIANCE', days: 30 }, { keepLast: 3, maxAge: '7d' })));
    const config = [...files].find(([path, text]) => path.startsWith('alpha/') && text.includes('backup-plan.json'))![1];
    expect(config).toContain('"objectLock": {');
    expect(config).toContain('"mode": "COMPLIANCE"');
    expect(files.get('SUMMARY.md')).toContain('Object Lock COMPLIANCE for 30 days: retention deletes a set only once its lock has ended (longer than maxAge: sets stay 30 days at least)');
    expect(renderInventory(inventoryOf(locked({ mode: 'GOVERNANCE', days: 1 }))).get('SUMMARY.md')).toContain('Object Lock GOVERNANCE for 1 day: retention deletes a set only once its lock has ended.');
  });
});
