/**
 * The floor of synthesis, run as its own process: the same inventory validated, the very same objects written as the
 * same YAML text (lib/synth/yaml.ts, the serializer synth uses) to the same files, streamed through the same atomic
 * writer, with the yaml library alone (no cdk8s, no constructs, no plans). The objects come from a dump of a CLI run
 * (bench/synth.ts writes it and checks that the output is identical); reading the dump is work the CLI does not do,
 * so the floor times it and reports it (`--report`), and the bench takes it off the floor's wall time.
 *
 *   node build/bench/floor.js --inventory F --objects OBJECTS.ndjson --out D --report R.json
 */
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadInventory } from '../lib/inventory/load';
import { replaceDirectory } from '../lib/synth/write';
import { toYaml } from '../lib/synth/yaml';
import { DUMP_REF } from './dump';

const { values } = parseArgs({ options: { inventory: { type: 'string' }, objects: { type: 'string' }, out: { type: 'string' }, report: { type: 'string' } } });
if (!values.inventory || !values.objects || !values.out || !values.report) throw new Error('usage: floor.js --inventory F --objects J --out D --report R');

let loadMs = 0;
const now = () => Number(process.hrtime.bigint()) / 1e6;

/** Puts the shared large strings back where the dump replaced them with `{ [DUMP_REF]: index }`. */
function revive(value: unknown, table: readonly string[]): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => revive(item, table));
  const object = value as Record<string, unknown>;
  if (typeof object[DUMP_REF] === 'number') return table[object[DUMP_REF] as number];
  for (const key of Object.keys(object)) object[key] = revive(object[key], table);
  return object;
}

/** The dump's entries one by one (line 1: the string table; then one `[path, object]` a line); times its own work only. */
function* dump(file: string): Generator<[string, unknown]> {
  const fd = openSync(file, 'r');
  const chunk = Buffer.alloc(1 << 20);
  let pending = '';
  let table: string[] | undefined;
  try {
    for (;;) {
      let started = now();
      const read = readSync(fd, chunk, 0, chunk.length, null);
      const text = pending + chunk.toString('utf8', 0, read);
      const lines = text.split('\n');
      pending = read === 0 ? '' : lines.pop()!;
      for (const line of lines) {
        if (!line) continue;
        const parsed = JSON.parse(line);
        if (!table) {
          table = parsed as string[];
          continue;
        }
        const entry = revive(parsed, table) as [string, unknown];
        loadMs += now() - started;
        yield entry;
        started = now();
      }
      loadMs += now() - started;
      if (read === 0) break;
    }
  } finally {
    closeSync(fd);
  }
}

function* files(): Generator<[string, string]> {
  for (const [path, object] of dump(values.objects!)) {
    // Non-YAML files (SUMMARY.md, RUNBOOK.md) are dumped as { text }.
    yield [path, path.endsWith('.yaml') ? toYaml(object) : (object as { text: string }).text];
  }
}

loadInventory(values.inventory);
replaceDirectory(values.out, files());
writeFileSync(values.report, JSON.stringify({ loadMs }));
