import { App } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { ControlPlaneBackup, InvalidInventoryError, objectFile, type InventoryInput } from '../../lib';
import { renderInventory } from '../../lib/synth/render';
import { exampleDocument, inventoryOf, minimalDocument } from '../support/inventory';

describe('ControlPlaneBackup', () => {
  it('gives the CLI\'s objects for the same inventory, one chart per cluster named after it', () => {
    const document = exampleDocument();
    const fleet = new ControlPlaneBackup(new App(), 'fleet', { inventory: document as InventoryInput });
    expect(fleet.charts.map((c) => c.node.id)).toEqual(Object.keys(document.clusters));
    const cli = renderInventory(inventoryOf(document));
    let objects = 0;
    for (const chart of fleet.charts) {
      for (const object of chart.toJson()) {
        const { path, text } = objectFile(chart.node.id, object);
        expect(text, path).toBe(cli.get(path));
        objects++;
      }
    }
    // every object file of the cluster folders (their parts included), none left out
    expect(objects).toBe([...cli.keys()].filter((p) => /^[^/]+\/(alerts\/)?[^/]+\.yaml$/.test(p) && !/^(argocd|flux)\//.test(p) && !p.endsWith('/kustomization.yaml')).length);
  });

  it('fails if the props break a rule, with the inventory\'s own messages and paths', () => {
    const document = minimalDocument();
    document.defaults.backup.shedule = '0 * * * *';
    document.clusters[Object.keys(document.clusters)[0]].backup = { storages: ['primray'] };
    let error: unknown;
    try {
      new ControlPlaneBackup(new App(), 'fleet', { inventory: document as InventoryInput });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidInventoryError);
    const lines = (error as Error).message.split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines).toContain('ControlPlaneBackup fleet: defaults.backup.shedule: unknown key "shedule"; did you mean "schedule"?');
    expect(lines.some((l) => /^ControlPlaneBackup fleet: clusters\.[^.]+\.backup\.storages\[0\]: "primray" is not a storage/.test(l))).toBe(true);
  });
});
