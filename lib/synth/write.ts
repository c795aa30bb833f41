/**
 * Replaces an output folder with a file tree, atomically as far as the file system allows: the tree is written
 * beside the folder and swapped in with two renames, so a failed run leaves the previous output exactly as it was.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
/** Writes `files` (relative path -> text; a FileTree or renderFiles' stream) and returns how many it wrote. */
export function replaceDirectory(outDir: string, files: Iterable<readonly [string, string]>): number {
  const target = resolve(outDir);
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true });
  const staging = join(parent, `.${basename(target)}.staging-${process.pid}`);
  const previous = join(parent, `.${basename(target)}.previous-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  let count = 0;
  try {
    const made = new Set<string>();
    for (const [relative, text] of files) {
      const file = join(staging, relative);
      const folder = dirname(file);
      if (!made.has(folder)) {
        mkdirSync(folder, { recursive: true });
        made.add(folder);
      }
      writeFileSync(file, text);
      count += 1;
    }
    if (count === 0) mkdirSync(staging, { recursive: true });
    if (existsSync(target)) renameSync(target, previous);
    renameSync(staging, target);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(target) && existsSync(previous)) renameSync(previous, target);
    throw error;
  }
  rmSync(previous, { recursive: true, force: true });
  return count;
}
