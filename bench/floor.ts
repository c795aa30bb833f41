/**
 * The floor of synthesis, run as its own process: the same inventory validated, the very same objects written as the
 * same YAML text to the same files through the same atomic writer, with the yaml library alone (no cdk8s, no
 * constructs). The objects come from a JSON dump of a CLI run (bench/synth.ts checks that the output is identical).
 *
 *   node build/bench/floor.js --inventory F --objects OBJECTS.json --out D
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { loadInventory } from '../lib/inventory/load';
import { replaceDirectory } from '../lib/synth/write';

const { values } = parseArgs({ options: { inventory: { type: 'string' }, objects: { type: 'string' }, out: { type: 'string' } } });
if (!values.inventory || !values.objects || !values.out) throw new Error('usage: floor.js --inventory F --objects J --out D');

loadInventory(values.inventory);
const objects = JSON.parse(readFileSync(values.objects, 'utf8')) as [string, unknown][];
const files = new Map<string, string>();
// The options of lib/synth/render.ts toYaml (that module imports cdk8s, so they are repeated here).
for (const [path, object] of objects) {
  // Non-YAML files (SUMMARY.md) are dumped as { text }.
  const text = path.endsWith('.yaml') ? stringify(object, { lineWidth: 0, indent: 2, aliasDuplicateObjects: false }) : (object as { text: string }).text;
  files.set(path, text);
}
replaceDirectory(values.out, files);
