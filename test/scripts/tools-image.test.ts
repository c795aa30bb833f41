// Every external command of the remaining scripts (the restores) is in their tool lists, and the Dockerfile installs
// all of them. (Backup and drill are the agent's now: lib/agent/, no shell tools.)
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { SCRIPTS_DIR } from './helpers';

/** A script with the files it sources (`. "${0%/*}/x.sh"`), as the shell sees it. */
function withSources(text: string, seen = new Set<string>()): string {
  return text.replace(/^\s*\. "\$\{0%\/\*\}\/([a-z.-]+)"\s*$/gm, (_, file: string) => {
    if (seen.has(file)) return '';
    seen.add(file);
    return withSources(readFileSync(join(SCRIPTS_DIR, file), 'utf8'), seen);
  });
}
const script = withSources(readFileSync(join(SCRIPTS_DIR, 'restore-lib.sh'), 'utf8'));
const dockerfile = readFileSync(resolve(__dirname, '../../images/tools/Dockerfile'), 'utf8');
const listVar = (name: string, text = script) => (new RegExp(`^${name}="([^"]*)"`, 'm').exec(text)?.[1] ?? '').split(/\s+/).filter(Boolean);

/** Every script of lib/scripts with its text. */
const scripts = readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith('.sh')).sort().map((file) => ({ file, text: readFileSync(join(SCRIPTS_DIR, file), 'utf8') }));
/** Every tool any script declares in a `XXX_TOOLS="..."` list (library lists such as RL_TOOLS too): "$VAR" entries
 * refer to other lists, which are scanned themselves; "a|b" alternatives count both. */
const declaredEverywhere = [...new Set(scripts.flatMap(({ text }) => [...text.matchAll(/^[A-Z_]*TOOLS="([^"]*)"/gm)])
  .flatMap((m) => m[1].split(/\s+/)).filter((t) => t && !t.startsWith('$')).flatMap((t) => t.split('|')))].sort();
/** Binaries the Dockerfile copies from another image (`COPY --from=... /path/a /path/b /dest/`). */
const copiedBinaries = [...dockerfile.matchAll(/^COPY --from=\S+ (.+)$/gm)].flatMap((m) => m[1].trim().split(/\s+/).slice(0, -1).map((path) => path.replace(/^.*\//, '')));

// Debian package -> the commands of the scripts it installs (checked against `dpkg -L` where the package is installed).
const PACKAGE_COMMANDS: Record<string, string[]> = {
  dash: ['sh'],
  coreutils: ['cat', 'cp', 'cut', 'date', 'head', 'mkdir', 'mkfifo', 'mktemp', 'mv', 'od', 'rm', 'sha256sum', 'sleep', 'sort', 'tail', 'tee', 'timeout', 'tr', 'wc'],
  tar: ['tar'],
  gzip: ['gzip'],
  findutils: ['find'],
  mawk: ['awk'],
  zstd: ['zstd'],
  age: ['age'],
  rclone: ['rclone'],
  curl: ['curl'],
  'ca-certificates': [],
  openssl: ['openssl'],
};
// commands satisfied by alternatives (one of them is enough)
const ALTERNATIVES: Record<string, string> = { etcdutl: 'etcdctl' };

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
  it('every tool declared by any script is installed by a pinned package of the Dockerfile, or copied from an image', () => {
    const pkgs = [...dockerfile.matchAll(/^\s+([a-z0-9-]+)=([0-9][^\s\\]*) \\$/gm)].map((m) => m[1]);
    expect(pkgs.length).toBeGreaterThan(0);
    expect(scripts.length).toBeGreaterThan(3);
    expect(declaredEverywhere).toEqual(expect.arrayContaining(['curl', 'etcdctl', 'etcdutl', 'rclone', 'mktemp']));
    expect(copiedBinaries).toEqual(['etcd', 'etcdctl', 'etcdutl']);
    const provided = new Set([...copiedBinaries, ...pkgs.flatMap((p) => {
      expect(PACKAGE_COMMANDS[p], `unknown package ${p}`).toBeDefined();
      return PACKAGE_COMMANDS[p];
    })]);
    const missing = declaredEverywhere.filter((t) => !provided.has(t) && !(ALTERNATIVES[t] && provided.has(ALTERNATIVES[t])));
    expect(missing).toEqual([]);
  });

  it('takes etcd from the official image of the release the backup pod runs', () => {
    expect(dockerfile).toMatch(/^COPY --from=registry\.k8s\.io\/etcd:3\.5\.21-0 \/usr\/local\/bin\/etcd \/usr\/local\/bin\/etcdctl \/usr\/local\/bin\/etcdutl \/usr\/local\/bin\/$/m);
    expect(dockerfile).not.toMatch(/etcd-client/);
  });

  it('the package -> command table matches what the Debian packages really install', () => {
    for (const [pkg, commands] of Object.entries(PACKAGE_COMMANDS)) {
      const listed = spawnSync('dpkg-query', ['-L', pkg], { encoding: 'utf8' });
      expect(listed.status, `${pkg} is not installed on the test machine (scripts/setup-test-env.sh installs it)`).toBe(0);
      // mawk installs /usr/bin/mawk; /usr/bin/awk is its alternatives link.
      const files = new Set(listed.stdout.split('\n').map((path) => path.replace(/^.*\//, '').replace(/^mawk$/, 'awk')));
      for (const command of commands) expect(files.has(command), `${pkg} provides ${command}`).toBe(true);
    }
  });

  it('runs as non-root 65532 from a pinned base', () => {
    expect(dockerfile).toMatch(/^FROM [a-z]+:\d+\.\d+(\.\d+)?/m);
    expect(dockerfile).toMatch(/^USER 65532/m);
  });

  it('the word scanner sees the commands it should', () => {
    const words = commandWords(script);
    for (const w of ['rclone', 'tar', 'age', 'od']) expect(words.has(w), w).toBe(true);
    expect(join('a', 'b')).toBe('a/b');
  });
});
