/** Files the package ships (crds/, schema/, images/, package.json) are found from here, in this clone or installed. */
import { existsSync } from 'node:fs';
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
