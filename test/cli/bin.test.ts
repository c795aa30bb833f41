// The installed command as users run it: the compiled bin (npm test builds it first), and `cdk8s synth`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTree, changedPaths } from '../helpers/tree';

const BIN = 'build/lib/cli/bin.js';
const work = mkdtempSync(join(tmpdir(), 'cpb-bin-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });

describe('controlplane-backup (compiled)', () => {
  it('is built (npm test runs `npm run build` first)', () => expect(existsSync(BIN)).toBe(true));

  it('prints its version and help', () => {
    const version = cli('--version');
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
    const help = cli('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('synth --inventory FILE --out DIR');
  });

  it('exits 0 for a valid inventory, 2 for an invalid one, 2 for bad usage', () => {
    expect(cli('validate', '--inventory', 'examples/inventory.yaml').status).toBe(0);
    const invalid = cli('validate', '--inventory', 'test/fixtures/invalid/dozen-mistakes.yaml');
    expect(invalid.status).toBe(2);
    expect(invalid.stderr).toContain('14 problems found; nothing was written.');
    expect(invalid.stdout).toBe('');
    const usage = cli('synth', '--inventory', 'examples/inventory.yaml');
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('synth needs --out DIR');
  });

  it('runs the pods\' agent as `agent <command>`, the same code as the tools image\'s entry', () => {
    const viaCli = cli('agent', 'prune', '--plan', join(work, 'missing.json'));
    const viaBundleEntry = spawnSync(process.execPath, ['build/lib/agent/bin.js', 'agent', 'prune', '--plan', join(work, 'missing.json')], { encoding: 'utf8' });
    for (const run of [viaCli, viaBundleEntry]) {
      expect(run.status).toBe(3);
      expect(JSON.parse(run.stdout)).toEqual({
        command: 'prune', status: 'failed', exitCode: 3, stage: 'config', message: `cannot read the plan ${join(work, 'missing.json')}: ENOENT`,
      });
      expect(run.stderr).toBe(`controlplane-backup: ERROR: cannot read the plan ${join(work, 'missing.json')}: ENOENT\n`);
    }
    expect(cli('--help').stdout).toContain('agent <command> --plan FILE');
  });

  it('stays quiet about progress when not on a terminal', () => {
    const out = join(work, 'quiet');
    const run = cli('synth', '--inventory', 'examples/inventory.yaml', '--out', out);
    expect(run.status).toBe(0);
    expect(run.stderr).not.toContain('\r');
    expect(run.stderr).toMatch(/^synth: 4 clusters, \d+ files written to .* in \d+\.\d\d s\n$/);
  });

  it('validate-output passes on the example and fails on a broken manifest', () => {
    const out = join(work, 'validated');
    expect(cli('synth', '--inventory', 'examples/inventory.yaml', '--out', out).status).toBe(0);
    const ok = cli('validate-output', out);
    expect(ok.stderr).toContain('0 schema problems');
    expect(ok.status).toBe(0);
  });
});

describe('cdk8s synth (cdk8s.yaml)', () => {
  it('compiles and runs main.ts, which writes the example to DIST_DIR like the CLI does', () => {
    const out = join(work, 'cdk8s');
    const run = spawnSync('npx', ['--no-install', 'cdk8s', 'synth', '--no-check-upgrade'], {
      encoding: 'utf8', env: { ...process.env, CI: 'true', DIST_DIR: out, INVENTORY: 'examples/inventory.yaml' }, timeout: 120_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const reference = join(work, 'reference');
    expect(cli('synth', '--inventory', 'examples/inventory.yaml', '--out', reference).status).toBe(0);
    expect(changedPaths(readTree(reference), readTree(out))).toEqual([]);
  }, 120_000);
});
