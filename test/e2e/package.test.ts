// The package as users get it: `npm pack`, the tarball installed into an empty folder under the system's temp dir
// (no clone, no ../shared beside it), then the README's commands and a user's own cdk8s app run there, on this
// machine's Node and on a second Node installed from the npm registry (scripts/node-version.sh).
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changedPaths, readTree } from '../support/tree';

const REPO = resolve(__dirname, '..', '..');
const SECOND_NODE = process.env.CPB_SECOND_NODE ?? '24.22.3';
const work = mkdtempSync(join(tmpdir(), 'cpb-packed-'));
const app = join(work, 'app');
afterAll(() => rmSync(work, { recursive: true, force: true }));

// The user's environment: none of this repository's variables that point at files.
const env = (path = process.env.PATH ?? ''): NodeJS.ProcessEnv => {
  const { CONTROLPLANE_BACKUP_CRDS_DIR: _c, INVENTORY: _i, DIST_DIR: _d, ...rest } = process.env;
  return { ...rest, CI: 'true', PATH: path, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
};
function sh(command: string, args: string[], options: SpawnSyncOptions = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 300_000, env: env(), ...options });
  return { status: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

let tarball = '';
beforeAll(() => {
  // --ignore-scripts: npm test has built already, and prepack's clean rebuild would pull build/ from under the
  // tests that run beside this one. `npm pack` in CI from a clean clone runs prepack as users' publishes do.
  const pack = sh('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], { cwd: REPO });
  expect(pack.status, pack.stderr).toBe(0);
  tarball = join(work, pack.stdout.trim().split('\n').pop()!);
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-fleet', private: true }));
  const install = sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: app });
  expect(install.status, install.stderr).toBe(0);
  copyFileSync(join(REPO, 'examples', 'inventory.yaml'), join(app, 'inventory.yaml'));
}, 600_000);

describe('the packed package', () => {
  it('holds the built code, typings, schema, CRDs and image recipe, and no tests, sources or dist/', () => {
    const list = sh('tar', ['-tzf', tarball]).stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    for (const f of ['package.json', 'README.md', 'build/lib/index.js', 'build/lib/index.d.ts', 'build/lib/cli/bin.js', 'schema/inventory.schema.json', 'crds/README.md', 'crds/objectbucketclaims.objectbucket.io.yaml', 'images/tools/build.sh'])
      expect(list).toContain(f);
    expect(list.filter((f) => /^(test|dist|bench|build\/bench)\//.test(f) || f.endsWith('.test.js') || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual([]);
    expect(existsSync(join(work, '..', 'shared'))).toBe(false);
  });

  it('resolves the example\'s yaml-language-server header from the user\'s folder to the installed schema', () => {
    const header = readFileSync(join(app, 'inventory.yaml'), 'utf8').split('\n')[0];
    const schema = header.replace('# yaml-language-server: $schema=', '');
    expect(readFileSync(join(app, schema), 'utf8')).toBe(readFileSync(join(REPO, 'schema', 'inventory.schema.json'), 'utf8'));
  });

  it('runs the README commands in an empty folder: the same dist/ as the repository, valid against the shipped CRDs', () => {
    const cli = (...args: string[]) => sh('npx', ['--no-install', 'controlplane-backup', ...args], { cwd: app });
    const validate = cli('validate', '--inventory', 'inventory.yaml');
    expect(validate.status, validate.stderr).toBe(0);
    const synth = cli('synth', '--inventory', 'inventory.yaml', '--out', 'dist');
    expect(synth.status, synth.stderr).toBe(0);
    expect(changedPaths(readTree(join(REPO, 'dist')), readTree(join(app, 'dist')))).toEqual([]);
    const output = cli('validate-output', 'dist');
    expect(output.stderr).toContain('validate-output: 0 schema problems');
    expect(output.status, output.stderr).toBe(0);
  });

  it('serves a user cdk8s app: `import { ControlPlaneBackup } from "controlplane-backup"` gives the CLI\'s objects byte for byte', () => {
    // cdk8s and constructs are peer dependencies: the user's App and our charts share one copy (construct checks are by class).
    for (const peer of ['cdk8s', 'constructs']) {
      expect(existsSync(join(app, 'node_modules', peer)), peer).toBe(true);
      expect(existsSync(join(app, 'node_modules', 'controlplane-backup', 'node_modules', peer)), peer).toBe(false);
    }
    for (const f of ['main.ts', 'tsconfig.json']) copyFileSync(join(REPO, 'test', 'fixtures', 'user-app', f), join(app, f));
    const tsc = sh(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--typeRoots', join(REPO, 'node_modules', '@types')], { cwd: app });
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    const run = sh(process.execPath, ['main.js', 'inventory.yaml', 'lib-out'], { cwd: app });
    expect(run.status, run.stderr).toBe(0);
    // dist/<cluster>/ minus what is not an object of the cluster's chart: its kustomization and restore folders.
    const cli = [...readTree(join(REPO, 'dist'))].filter(([p]) => /^[^/]+\/(alerts\/)?[^/]+\.yaml$/.test(p) && !/^(argocd|flux)\//.test(p) && !p.endsWith('/kustomization.yaml'));
    const lib = [...readTree(join(app, 'lib-out'))].filter(([p]) => !p.startsWith('cdk8s.out/'));
    expect(cli.length).toBeGreaterThan(20);
    expect(changedPaths(new Map(cli), new Map(lib))).toEqual([]);
    expect(readdirSync(join(app, 'lib-out', 'cdk8s.out')).length).toBeGreaterThan(0);
  });

  // README blocks run as written, in the user's folder (the install line installs the packed tarball instead: the
  // package is not on a registry yet).
  const readmeBlock = (first: string, lang = 'sh') => {
    const blocks = [...readFileSync(join(REPO, 'README.md'), 'utf8').matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
    const block = blocks.find((b) => b.startsWith(first));
    expect(block, `README block starting with ${first}`).toBeDefined();
    return block!;
  };
  const runBlock = (block: string, cwd: string) => {
    const script = block.replace(/^npm install --save-dev controlplane-backup$/m, `npm install --prefer-offline --no-audit --no-fund --loglevel=error ${tarball}`);
    return sh('bash', ['-euo', 'pipefail', '-c', script], { cwd });
  };

  it('runs the README\'s install-and-use block as written', () => {
    const run = runBlock(readmeBlock('npm install --save-dev controlplane-backup\n'), app);
    expect(run.status, run.stderr).toBe(0);
    expect(changedPaths(readTree(join(REPO, 'dist')), readTree(join(app, 'dist')))).toEqual([]);
  });

  it('runs the README\'s GitOps block as written: a fresh synth leaves the committed dist/ unchanged', () => {
    const git = (...args: string[]) => sh('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: app });
    expect(git('init', '-q').status).toBe(0);
    expect(git('add', 'inventory.yaml', 'dist').status).toBe(0);
    expect(git('commit', '-qm', 'fleet').status).toBe(0);
    const run = runBlock(readmeBlock('npx controlplane-backup synth --inventory inventory.yaml --out dist\ngit diff'), app);
    expect(run.status, run.stderr).toBe(0);
  });

  it('runs the README\'s break-glass restore block as written', () => {
    const run = runBlock(readmeBlock('npx controlplane-backup restore '), app);
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(join(app, 'restore-prod-eu-1', 'RUNBOOK.md'))).toBe(true);
  });

  it('compiles and runs the README\'s cdk8s app example against the installed package', () => {
    const dir = join(app, 'readme-app');
    mkdirSync(dir);
    writeFileSync(join(dir, 'main.ts'), readmeBlock("import { App } from 'cdk8s';", 'ts'));
    const tsc = sh(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'ES2022', '--skipLibCheck', '--types', 'node', '--typeRoots', join(REPO, 'node_modules', '@types'), 'main.ts'], { cwd: dir });
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    const run = sh(process.execPath, ['main.js'], { cwd: dir });
    expect(run.status, run.stderr).toBe(0);
    const files = readdirSync(join(dir, 'dist'));
    expect(files).toEqual([expect.stringMatching(/prod-eu-1.*\.k8s\.yaml$/)]);
    expect(readFileSync(join(dir, 'dist', files[0]), 'utf8')).toContain('name: prod-eu-1-etcd-backup\n');
  });

  it(`runs the same on Node ${SECOND_NODE}, installed from the npm registry by scripts/node-version.sh`, () => {
    const install = sh('bash', [join(REPO, 'scripts', 'node-version.sh'), SECOND_NODE], { cwd: REPO });
    expect(install.status, install.stderr).toBe(0);
    const path = `${install.stdout.trim()}${delimiter}${process.env.PATH ?? ''}`;
    const node = sh('node', ['--version'], { cwd: app, env: env(path) });
    expect(node.stdout.trim()).toBe(`v${SECOND_NODE}`);
    const cli = (...args: string[]) => sh('npx', ['--no-install', 'controlplane-backup', ...args], { cwd: app, env: env(path) });
    const synth = cli('synth', '--inventory', 'inventory.yaml', '--out', 'dist-second-node');
    expect(synth.status, synth.stderr).toBe(0);
    expect(changedPaths(readTree(join(REPO, 'dist')), readTree(join(app, 'dist-second-node')))).toEqual([]);
    const output = cli('validate-output', 'dist-second-node');
    expect(output.status, output.stderr).toBe(0);
    const lib = sh('node', ['main.js', 'inventory.yaml', 'lib-out-second-node'], { cwd: app, env: env(path) });
    expect(lib.status, lib.stderr).toBe(0);
  });
});
