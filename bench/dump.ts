/**
 * The objects of a synthesized tree, as bench/floor.ts reads them: NDJSON, line 1 a table of the large strings
 * (the scripts every cluster ships, stored once), then one `[path, object]` a line with those strings as
 * `{ [DUMP_REF]: index }`; SUMMARY.md and other non-YAML files as `{ text }`.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const DUMP_REF = '\u0000ref';
const LARGE = 1024;

export function writeDump(dir: string, paths: readonly string[], file: string): void {
  const table: string[] = [];
  const index = new Map<string, number>();
  const shrink = (value: unknown): unknown => {
    if (typeof value === 'string' && value.length >= LARGE) {
      let at = index.get(value);
      if (at === undefined) {
        at = table.push(value) - 1;
        index.set(value, at);
      }
      return { [DUMP_REF]: at };
    }
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map(shrink);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shrink(v)]));
  };
  const lines = paths.map((path) => {
    const text = readFileSync(join(dir, path), 'utf8');
    return JSON.stringify([path, path.endsWith('.yaml') ? shrink(parse(text)) : { text }]);
  });
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, `${JSON.stringify(table)}\n`);
    for (const line of lines) writeSync(fd, `${line}\n`);
  } finally {
    closeSync(fd);
  }
}
