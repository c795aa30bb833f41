// Every tool the remaining scripts declare is on the PATH of the tools image built by images/tools/build.sh
// (`npm run image`, unpacked by the tests' global setup), and the image holds what the agent needs.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { testRoots } from '../support/roots';
import { SCRIPTS_DIR } from './helpers';

/** A script with the files it sources (`. "${0%/*}/x.sh"`), as the shell sees it. */
function withSources(text: string, seen = new Set<string>()): string {
  return text.replace(/^\s*\. "\$\{0%\/\*\}\/([a-z.-]+)"\s*$/gm, (_, file: string) => {
    if (seen.has(file)) return '';
    seen.add(file);
    return withSources(readFileSync(join(SCRIPTS_DIR, file), 'utf8'), seen);
  });
}
// The remaining scripts (the restores): backup and drill are the agent's (lib/agent/), which needs no shell tool.
const script = withSources(readFileSync(join(SCRIPTS_DIR, 'restore-lib.sh'), 'utf8'));
const recipe = readFileSync(resolve(__dirname, '../../images/tools/build.sh'), 'utf8');
/** A bash array of the recipe: NAME=(a b c). */
const recipeList = (name: string) => (new RegExp(`^${name}=\\(([^)]*)\\)`, 'm').exec(recipe)?.[1] ?? '').split(/\s+/).filter(Boolean);
const listVar = (name: string, text = script) => (new RegExp(`^${name}="([^"]*)"`, 'm').exec(text)?.[1] ?? '').split(/\s+/).filter(Boolean);
const required = listVar('REQUIRED_TOOLS');
const optional = listVar('OPTIONAL_TOOLS');

/** Every script of lib/scripts with its text. */
const scripts = readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith('.sh')).sort().map((file) => ({ file, text: readFileSync(join(SCRIPTS_DIR, file), 'utf8') }));
/** Every tool any script declares in a `XXX_TOOLS="..."` list (library lists such as RL_TOOLS too): "$VAR" entries
 * refer to other lists, which are scanned themselves; "a|b" alternatives count both. */
const declaredEverywhere = [...new Set(scripts.flatMap(({ text }) => [...text.matchAll(/^[A-Z_]*TOOLS="([^"]*)"/gm)])
  .flatMap((m) => m[1].split(/\s+/)).filter((t) => t && !t.startsWith('$')).flatMap((t) => t.split('|')))].sort();
/** The commands of `tools` that the image's root does not have on its PATH (asked inside the root, as root). */
function missingInImage(tools: readonly string[]): string[] {
  const r = spawnSync('chroot', [testRoots().tools, '/bin/sh', '-c', 'for t; do command -v "$t" >/dev/null || echo "$t"; done', 'sh', ...tools], {
    encoding: 'utf8', env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter(Boolean);
}

const SH_BUILTINS = new Set(('alias break cd command continue echo eval exec exit export false getopts hash kill local printf pwd read readonly return set shift test [ times trap true type ulimit umask unalias unset wait ' +
  'if then else elif fi for in do done while until case esac').split(' '));

/** replace quoted strings by "" (single quotes: awk programs; double quotes: messages), drop comments */
function stripQuotes(text: string): string {
  let out = '';
  let state: 'n' | 's' | 'd' = 'n';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (state === 'n') {
      if (ch === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
        while (i < text.length && text[i] !== '\n') i++;
        out += '\n';
      } else if (ch === "'") { state = 's'; out += '""'; }
      else if (ch === '"') { state = 'd'; out += '""'; }
      else if (ch === '\\') { out += ch + (text[i + 1] ?? ''); i++; }
      else out += ch;
    } else if (state === 's') {
      if (ch === "'") state = 'n';
    } else {
      if (ch === '\\') i++;
      else if (ch === '"') state = 'n';
    }
  }
  return out;
}

/** command words of the script: first word of each simple command, and the command run by `timeout N` */
function commandWords(text: string): Set<string> {
  const out = new Set<string>();
  const functions = new Set([...text.matchAll(/^\s*([a-z_][a-z0-9_]*)\(\)\s*\{/gm)].map((m) => m[1]));
  // arithmetic expansion $((...)) holds variable names, not commands
  const code = stripQuotes(text).replace(/\$\(\(/g, '$[ ');
  const add = (w: string) => { if (!SH_BUILTINS.has(w) && !functions.has(w)) out.add(w); };
  for (const m of code.matchAll(/(?:^|[;|&(){}]|\$\(|\b(?:then|else|do|elif|if|while|until)\s|!\s)\s*(?:[A-Z_][A-Z0-9_]*=\S*\s+)*([a-z][a-z0-9_.-]*)(?=\s|$|;)/gm)) add(m[1]);
  for (const m of code.matchAll(/\btimeout\s+\S+\s+([a-z][a-z0-9_.-]*)/g)) add(m[1]);
  return out;
}

describe('tools image', () => {
  it('every tool declared by any script is on the PATH of the tools image', () => {
    expect(scripts.length).toBeGreaterThan(3);
    expect(declaredEverywhere).toEqual(expect.arrayContaining(['curl', 'etcd', 'etcdctl', 'etcdutl', 'rclone', 'mktemp']));
    expect(missingInImage(declaredEverywhere)).toEqual([]);
  });

  it('the recipe installs what the agent needs from Debian trixie, and marks the script tools as transitional', () => {
    expect(recipe).toMatch(/^suite=trixie$/m);
    expect(recipeList('PACKAGES')).toEqual(['nodejs', 'etcd-server', 'etcd-client', 'zstd', 'age', 'ca-certificates']);
    // Goes with lib/scripts/: the agent needs none of these.
    expect(recipeList('TRANSITIONAL_SCRIPT_PACKAGES')).toEqual(['mawk', 'curl', 'rclone', 'openssl', 'busybox']);
    expect(existsSync(resolve(__dirname, '../../images/tools/Dockerfile'))).toBe(false);
    expect(missingInImage(['node', 'etcd', 'etcdctl', 'etcdutl', 'zstd', 'age', 'controlplane-backup'])).toEqual([]);
    expect(existsSync(join(testRoots().tools, 'etc/ssl/certs/ca-certificates.crt'))).toBe(true);
  });

  it('runs as 65532 with the agent as entrypoint (the OCI config of the archive)', () => {
    const archive = testRoots().archive;
    const tarOut = (member: string) => spawnSync('tar', ['-xOf', archive, member], { encoding: 'utf8' }).stdout;
    const index = JSON.parse(tarOut('./index.json'));
    const manifest = JSON.parse(tarOut(`./blobs/sha256/${index.manifests[0].digest.slice(7)}`));
    const config = JSON.parse(tarOut(`./blobs/sha256/${manifest.config.digest.slice(7)}`));
    expect(config.config.User).toBe('65532:65532');
    expect(config.config.Entrypoint).toEqual(['/usr/local/bin/controlplane-backup']);
    expect(config.created).toBe('2026-01-01T00:00:00Z');
    expect(manifest.layers).toHaveLength(1);
  });

  it('the word scanner sees the commands it should', () => {
    const words = commandWords(script);
    for (const w of ['rclone', 'sha256sum', 'zstd', 'age']) expect(words.has(w), w).toBe(true);
  });
});
