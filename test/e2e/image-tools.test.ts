// The tools image as images/tools/build.sh (`npm run image`) builds it and the tests' global setup unpacks it: what the
// agent needs is on its PATH, it holds no shell (nothing in the pods needs one), and its OCI config runs it as 65532.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testRoots } from '../support/roots';

const recipe = readFileSync(resolve(__dirname, '../../images/tools/build.sh'), 'utf8');
const recipeList = (name: string) => (new RegExp(`^${name}=\\(([^)]*)\\)`, 'm').exec(recipe)?.[1] ?? '').split(/\s+/).filter(Boolean);
const PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Where `command` is found on the default container PATH inside the root, as the runtime would find it. */
function onPath(root: string, command: string): string | undefined {
  return PATH.map((dir) => join(dir, command)).find((path) => {
    try {
      return (statSync(join(root, path)).mode & 0o111) !== 0;
    } catch {
      return false;
    }
  });
}

describe('tools image', () => {
  const root = testRoots().tools;

  it('the recipe installs what the agent needs from Debian trixie, nothing for shell scripts', () => {
    expect(recipe).toMatch(/^suite=trixie$/m);
    expect(recipeList('PACKAGES')).toEqual(['nodejs', 'etcd-server', 'etcd-client', 'zstd', 'age', 'ca-certificates']);
    expect(recipe).not.toMatch(/TRANSITIONAL/);
    expect(existsSync(resolve(__dirname, '../../images/tools/Dockerfile'))).toBe(false);
  });

  it('has the agent and every tool it runs on the PATH, and the CA bundle', () => {
    for (const tool of ['controlplane-backup', 'node', 'etcd', 'etcdctl', 'etcdutl', 'zstd', 'age']) expect(onPath(root, tool), tool).toBeDefined();
    expect(existsSync(join(root, 'etc/ssl/certs/ca-certificates.crt'))).toBe(true);
  });

  it('has no shell, no rclone, curl or awk: nothing in the pods runs one', () => {
    for (const tool of ['sh', 'dash', 'bash', 'busybox', 'rclone', 'curl', 'awk', 'mawk']) expect(onPath(root, tool), tool).toBeUndefined();
  });

  it('runs the bundled agent with the image\'s own node', () => {
    const r = spawnSync('chroot', ['--userspec=65532:65532', root, '/usr/local/bin/controlplane-backup', 'agent', 'backup'], { encoding: 'utf8', env: { PATH: PATH.join(':') } });
    // No --plan: the agent's own usage error (exit 3), which proves the bundle loads and runs under the image's node.
    expect(r.status, r.stderr).toBe(3);
    expect(r.stdout.trim().split('\n').pop()).toMatch(/^\{.*"exitCode":3/);
  });

  it('runs as 65532 with the agent as entrypoint (the OCI config of the archive)', () => {
    const archive = testRoots().archive;
    const tarOut = (member: string) => spawnSync('tar', ['-xOf', archive, member], { encoding: 'utf8', maxBuffer: 1 << 26 }).stdout;
    const index = JSON.parse(tarOut('./index.json'));
    const manifest = JSON.parse(tarOut(`./blobs/sha256/${index.manifests[0].digest.slice(7)}`));
    const config = JSON.parse(tarOut(`./blobs/sha256/${manifest.config.digest.slice(7)}`));
    expect(config.config.User).toBe('65532:65532');
    expect(config.config.Entrypoint).toEqual(['/usr/local/bin/controlplane-backup']);
    expect(config.created).toBe('2026-01-01T00:00:00Z');
    expect(manifest.layers).toHaveLength(1);
  });
});
