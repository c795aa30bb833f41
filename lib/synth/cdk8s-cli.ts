/**
 * `cdk8s synth` empties its output folder before it runs the app and then expects manifests in it. Our output is
 * dist/, replaced atomically by our own writer; the cdk8s-cli folder gets hard links to it (no copy), so that
 * cdk8s lists what was written, and its deleting that folder never touches dist/.
 */
import { copyFileSync, linkSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export function mirrorInto(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) mirrorInto(source, target);
    else {
      try {
        linkSync(source, target);
      } catch {
        copyFileSync(source, target);
      }
    }
  }
}
