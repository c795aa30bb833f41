/** The POSIX sh that runs in the pods lives in lib/scripts/; constructs ship it in ConfigMaps byte for byte. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root';

const cache = new Map<string, string>();

export function scriptText(file: string): string {
  let text = cache.get(file);
  if (text === undefined) {
    text = readFileSync(join(packageRoot(), 'lib', 'scripts', file), 'utf8');
    cache.set(file, text);
  }
  return text;
}
