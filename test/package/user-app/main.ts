// A user's own cdk8s app, compiled and run against the PACKED controlplane-backup (test/package/packed.test.ts):
// node main.js INVENTORY OUT writes every cluster's objects as the CLI names and renders them.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { App } from 'cdk8s';
import { parse } from 'yaml';
import { ControlPlaneBackup, objectFile, type InventoryInput } from 'controlplane-backup';

const [inventoryFile, out] = process.argv.slice(2);
const inventory = parse(readFileSync(inventoryFile, 'utf8')) as InventoryInput;

const app = new App({ outdir: join(out, 'cdk8s.out') });
const fleet = new ControlPlaneBackup(app, 'fleet', { inventory });
for (const chart of fleet.charts) {
  for (const object of chart.toJson()) {
    const { path, text } = objectFile(chart.node.id, object);
    mkdirSync(dirname(join(out, path)), { recursive: true });
    writeFileSync(join(out, path), text);
  }
}
app.synth(); // cdk8s' own output works too
