/**
 * Issue 13, item 1: `--out` deleted whatever it named (the inventory's folder with .git, the inventory itself, the
 * working directory, the synthesized dist/ through `restore --out dist`), all with exit 0. Each refusal exits 2,
 * touches nothing and says what to pass instead.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Io } from '../../lib/cli/io';
import { run } from '../../lib/cli/main';
import { changedPaths, readTree } from '../support/tree';

const MINIMAL = readFileSync(join(__dirname, '..', 'fixtures', 'valid', 'minimal.yaml'), 'utf8').replace(
  '    backup:\n', '    restores:\n      - { id: undo, snapshot: latest, confirm: prod }\n    backup:\n',
);
/** The marker file of our output folders (lib/synth/write.ts): a contract, written here on purpose. */
const OUTPUT_MARKER = '.controlplane-backup-output';
const work = realpathSync(mkdtempSync(join(tmpdir(), 'cpb-out-')));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A repository-like folder: .git, a README and the inventory. */
function repository(name: string): { dir: string; inventory: string } {
  const dir = join(work, name);
  mkdirSync(join(dir, '.git'), { recursive: true });
  writeFileSync(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  writeFileSync(join(dir, 'README.md'), '# fleet\n');
  writeFileSync(join(dir, 'inventory.yaml'), MINIMAL);
  return { dir, inventory: join(dir, 'inventory.yaml') };
}

async function cli(argv: string[], cwd?: string) {
  let err = '';
  const io: Io = { out: () => undefined, err: (text) => { err += text; }, interactive: false };
  const before = process.cwd();
  if (cwd) process.chdir(cwd);
  try {
    return { code: await run(argv, io), err };
  } finally {
    process.chdir(before);
  }
}
const synth = (inventory: string, out: string, cwd?: string) => cli(['synth', '--inventory', inventory, '--out', out], cwd);
const restore = (inventory: string, out: string) => cli(['restore', '--inventory', inventory, '--cluster', 'prod', '--snapshot', 'latest', '--confirm', 'prod', '--id', 'now', '--out', out]);

describe('synth --out refuses what it must not replace (exit 2, nothing touched)', () => {
  it('fails if --out is the inventory\'s folder (it deleted .git, the README and the inventory)', async () => {
    const { dir, inventory } = repository('repo-a');
    const before = readTree(dir);
    expect(await synth(inventory, dir)).toEqual({
      code: 2,
      err: `controlplane-backup: --out ${dir}: holds the inventory (${inventory}); pass a folder of its own for the output, such as ${dir}/dist\n`,
    });
    expect(changedPaths(before, readTree(dir))).toEqual([]);
  });

  it('fails if --out is the inventory file itself (it was replaced with a folder)', async () => {
    const { dir, inventory } = repository('repo-b');
    expect(await synth(inventory, inventory)).toEqual({
      code: 2,
      err: `controlplane-backup: --out ${inventory}: is a file, not an output folder; pass a folder for the output, such as ${dir}/dist\n`,
    });
    expect(readFileSync(inventory, 'utf8')).toBe(MINIMAL);
  });

  it('fails if --out is the current directory (it emptied the working directory)', async () => {
    const { dir } = repository('repo-c');
    const inventory = join(work, 'elsewhere.yaml');
    writeFileSync(inventory, MINIMAL);
    const before = readTree(dir);
    expect(await synth(inventory, '.', dir)).toEqual({
      code: 2,
      err: `controlplane-backup: --out .: is the current directory or one of its parents; pass a folder of its own for the output, such as ${work}/dist\n`,
    });
    expect(await synth(inventory, '..', join(dir, '.git'))).toMatchObject({ code: 2 });
    expect(changedPaths(before, readTree(dir))).toEqual([]);
  });

  it('fails if --out is / or the home directory', async () => {
    const inventory = join(work, 'root.yaml');
    writeFileSync(inventory, MINIMAL);
    expect(await synth(inventory, '/')).toEqual({ code: 2, err: `controlplane-backup: --out /: is the root directory; pass a folder of its own for the output, such as ${work}/dist\n` });
    expect(await synth(inventory, homedir())).toEqual({ code: 2, err: `controlplane-backup: --out ${homedir()}: is the home directory; pass a folder of its own for the output, such as ${work}/dist\n` });
  });

  it('fails if --out is a folder that it did not write', async () => {
    const { dir, inventory } = repository('repo-d');
    const other = join(dir, 'docs');
    mkdirSync(other);
    writeFileSync(join(other, 'notes.md'), 'mine\n');
    expect(await synth(inventory, other)).toEqual({
      code: 2,
      err: `controlplane-backup: --out ${other}: is a folder that controlplane-backup did not write (it has no ${OUTPUT_MARKER}); pass a new or empty folder, or remove this one yourself\n`,
    });
    expect(readFileSync(join(other, 'notes.md'), 'utf8')).toBe('mine\n');
  });

  it('writes a marker into its output, and replaces its own output (and an empty folder) again', async () => {
    const { dir, inventory } = repository('repo-e');
    const out = join(dir, 'dist');
    mkdirSync(out);
    expect((await synth(inventory, out)).code).toBe(0);
    expect(readFileSync(join(out, OUTPUT_MARKER), 'utf8')).toMatch(/^synth\n/);
    expect((await synth(inventory, out)).code).toBe(0);
    expect(existsSync(join(out, 'prod', 'kustomization.yaml'))).toBe(true);
  });

  it('replaces an output of an earlier version, which had no marker (SUMMARY.md is ours)', async () => {
    const { dir, inventory } = repository('repo-f');
    const out = join(dir, 'dist');
    expect((await synth(inventory, out)).code).toBe(0);
    rmSync(join(out, OUTPUT_MARKER));
    expect((await synth(inventory, out)).code).toBe(0);
  });
});

describe('restore --out never replaces synthesized output', () => {
  it('fails if restore --out is the synthesized dist/ (it replaced the whole folder)', async () => {
    const { dir, inventory } = repository('repo-g');
    const dist = join(dir, 'dist');
    expect((await synth(inventory, dist)).code).toBe(0);
    const before = readTree(dist);
    expect(await restore(inventory, dist)).toEqual({
      code: 2,
      err: `controlplane-backup: --out ${dist}: holds the output of synth; pass a folder of its own for the restore bundle, such as ${dir}/restore-now\n`,
    });
    expect(await restore(inventory, join(dist, 'prod'))).toEqual({
      code: 2,
      err: `controlplane-backup: --out ${join(dist, 'prod')}: is inside the output of synth (${dist}); pass a folder of its own for the restore bundle, such as ${dir}/restore-now\n`,
    });
    expect(changedPaths(before, readTree(dist))).toEqual([]);
  });

  it('writes a new restore folder, and replaces its own restore folder', async () => {
    const { dir, inventory } = repository('repo-h');
    const out = join(dir, 'restore-now');
    expect((await restore(inventory, out)).code).toBe(0);
    expect(readFileSync(join(out, OUTPUT_MARKER), 'utf8')).toMatch(/^restore\n/);
    expect((await restore(inventory, out)).code).toBe(0);
    expect(await synth(inventory, out)).toMatchObject({ code: 2 });
  });
});
