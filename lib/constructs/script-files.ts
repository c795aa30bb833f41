/** The POSIX sh that runs in the pods lives in lib/scripts/; constructs ship it in ConfigMaps byte for byte. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let root: string | undefined;

/** The package root (where package.json is), from source (lib/...) or compiled (build/lib/...) code alike. */
export function packageRoot(): string {
  if (root) return root;
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the controlplane-backup package root above ${__dirname}`);
    dir = parent;
  }
  root = dir;
  return dir;
}

const cache = new Map<string, string>();

export function scriptText(file: string): string {
  let text = cache.get(file);
  if (text === undefined) {
    text = readFileSync(join(packageRoot(), 'lib', 'scripts', file), 'utf8');
    cache.set(file, text);
  }
  return text;
}
