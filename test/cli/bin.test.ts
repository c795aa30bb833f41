// The installed command as users run it: the compiled bin (npm test builds it first), and `cdk8s synth`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTree, changedPaths } from '../support/tree';

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
    expect(help.stdout).toMatch(/^  synth +validate the inventory and write/m);
  });

  it('exits 0 for a valid inventory, 2 for an invalid one, 2 for bad usage', () => {
    expect(cli('validate', '--inventory', 'examples/inventory.yaml').status).toBe(0);
    const invalid = cli('validate', '--inventory', 'test/fixtures/invalid/dozen-mistakes.yaml');
    expect(invalid.status).toBe(2);
    expect(invalid.stderr).toContain('15 problems found; nothing was written.');
    expect(invalid.stdout).toBe('');
    const usage = cli('synth', '--inventory', 'examples/inventory.yaml');
    expect(usage.status).toBe(2);
    expect(usage.stderr).toBe('controlplane-backup: synth needs --out DIR\nRun `controlplane-backup synth --help` for usage.\n');
  });

  it('prints each command\'s own usage, options and exit codes with <command> --help', () => {
    for (const command of ['synth', 'validate', 'validate-output', 'restore', 'snapshots', 'check', 'schema']) {
      const help = cli(command, '--help');
      expect(help.status, command).toBe(0);
      expect(help.stdout, command).toMatch(new RegExp(`^Usage: controlplane-backup ${command} `));
      expect(help.stdout, command).toContain('\nOptions:\n');
      expect(help.stdout, command).toContain('\nExit codes: 0 ');
    }
    expect(cli('check', '--help').stdout).toContain('--storage NAME');
    expect(cli('--help').stdout).toContain('Run `controlplane-backup <command> --help`');
  });

  it('answers a usage error with one line and the hint to --help', () => {
    expect(cli('validate', '--inventory', 'examples/inventory.yaml', '--cluster', 'x').stderr)
      .toBe('controlplane-backup: validate takes no --cluster\nRun `controlplane-backup validate --help` for usage.\n');
    const unknown = cli('snapshots', '--bogus');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr.split('\n')).toEqual([expect.stringMatching(/^controlplane-backup: Unknown option '--bogus'/), 'Run `controlplane-backup snapshots --help` for usage.', '']);
    expect(cli('frobnicate').stderr).toBe('controlplane-backup: unknown command "frobnicate"\nRun `controlplane-backup --help` for usage.\n');
  });

  it('takes every flag the README shows for snapshots and check (the same storage selection)', async () => {
    const { COMMANDS } = await import('../../lib/cli/main');
    const readme = readFileSync('README.md', 'utf8');
    for (const command of ['snapshots', 'check']) {
      const synopsis = readme.split('\n').find((line) => line.startsWith(`npx controlplane-backup ${command} --inventory`));
      expect(synopsis, command).toBeDefined();
      const flags = [...synopsis!.matchAll(/--([a-z-]+)/g)].map((m) => m[1]);
      expect(flags, command).toEqual(expect.arrayContaining(['inventory', 'cluster', 'storage', 'json', 'now']));
      for (const flag of flags) expect(Object.keys(COMMANDS[command].options), `${command} --${flag}`).toContain(flag);
    }
    // the same selection; snapshots alone also reads the bytes with --verify
    const { verify, ...selection } = COMMANDS.snapshots.options;
    expect(verify).toMatch(/^--verify /);
    expect(COMMANDS.check.options).toEqual(selection);
  });

  it('reads the inventory from standard input with --inventory -', () => {
    const text = readFileSync('examples/inventory.yaml', 'utf8');
    const run = spawnSync(process.execPath, [BIN, 'validate', '--inventory', '-', '--json'], { encoding: 'utf8', input: text, env: { ...process.env, CI: 'true' } });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ valid: true, file: '<stdin>', clusters: 4, storages: 4 });
    const broken = spawnSync(process.execPath, [BIN, 'validate', '--inventory', '-', '--json'], { encoding: 'utf8', input: text.replace('schedule:', 'shedule:'), env: { ...process.env, CI: 'true' } });
    expect(broken.status).toBe(2);
    expect(JSON.parse(broken.stdout).problems[0]).toMatchObject({ file: '<stdin>', message: expect.stringContaining('unknown key "shedule"') });
  });

  it('reports restore as JSON with --json', () => {
    const out = join(work, 'restore-json');
    const run = cli('restore', '--inventory', 'examples/inventory.yaml', '--cluster', 'prod-eu-1', '--snapshot', 'latest', '--confirm', 'prod-eu-1', '--id', 'json-1', '--out', out, '--json');
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ id: 'json-1', cluster: 'prod-eu-1', out });
    expect(JSON.parse(run.stdout).files).toBeGreaterThan(0);
  });

  it('writes the JSON Schema where the user wants it with schema --out', () => {
    const file = join(work, 'inventory.schema.json');
    const run = cli('schema', '--out', file);
    expect(run.status, run.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(readFileSync('schema/inventory.schema.json', 'utf8'));
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
    expect(cli('--help').stdout).toMatch(/^  agent +what the pods run \(backup, prune, drill, restore-member, restore-coordinator, restore-replica\)/m);
    expect(cli('agent', '--help').stdout).toContain('Usage: controlplane-backup agent <command> (--plan PATH | --plan-env NAME)');
  });

  it('stays quiet about progress when not on a terminal', () => {
    const out = join(work, 'quiet');
    const run = cli('synth', '--inventory', 'examples/inventory.yaml', '--out', out);
    expect(run.status).toBe(0);
    expect(run.stderr).not.toContain('\r');
    expect(run.stderr).toMatch(/^synth: 4 clusters, \d+ files written to .* in \d+\.\d\d s\n$/);
  });

  it('validate-output checks the example: schemas, kustomize builds, and the Pod Security level of every pod', () => {
    const out = join(work, 'validated');
    expect(cli('synth', '--inventory', 'examples/inventory.yaml', '--out', out).status).toBe(0);
    const run = cli('validate-output', out);
    expect(run.stdout).toContain('tenant-a/cronjob-tenant-a-etcd-backup.yaml: CronJob tenant-a/tenant-a-etcd-backup: pod meets restricted; namespace tenant-a enforces restricted\n');
    expect(run.stdout).toContain('tenant-b/restore-rollback/job-tenant-b-restore-rollback-0.yaml: Job tenant-b/tenant-b-restore-rollback-0: pod meets restricted; namespace tenant-b enforces restricted\n');
    expect(run.stderr).toContain('validate-output: 0 schema problems, 0 of 12 kustomize builds failed, 0 of 12 pod templates refused by their namespace\'s Pod Security level\n');
    expect(run.status).toBe(0);
    const json = JSON.parse(cli('validate-output', out, '--json').stdout);
    expect(json.ok).toBe(true);
    expect(json.issues).toEqual([]);
    expect(json.kustomize.length).toBe(12);
    expect(json.podSecurity).toHaveLength(12);
    // A replica restore Job edited to run as root: the tenant namespace (restricted) would refuse it, and so does this.
    const job = join(out, 'tenant-b/restore-rollback/job-tenant-b-restore-rollback-0.yaml');
    writeFileSync(job, readFileSync(job, 'utf8').replace(/runAsUser: 65532/g, 'runAsUser: 0').replace(/runAsNonRoot: true/g, 'runAsNonRoot: false'));
    const refused = cli('validate-output', out);
    expect(refused.stderr).toContain('tenant-b/restore-rollback/job-tenant-b-restore-rollback-0.yaml: Job tenant-b/tenant-b-restore-rollback-0: pod meets baseline; namespace tenant-b enforces restricted: the API server would refuse its pods');
    expect(refused.status).toBe(2);
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
