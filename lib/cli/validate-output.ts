/** `controlplane-backup validate-output DIR`: schemas of every manifest, and a kustomize build of every folder. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { formatIssue, kustomizeBuild, validateDirectory } from '../validate';
import { formatPodSecurity, podSecurityFindings } from '../validate/pod-security';
import { EXIT, type Io } from './io';

export function validateOutput(dir: string, io: Io, options: { json?: boolean } = {}): number {
  if (!existsSync(dir)) {
    io.err(`controlplane-backup: no folder "${dir}"; run synth first\n`);
    return EXIT.invalid;
  }
  const issues = validateDirectory(dir);
  for (const issue of issues) io.err(`${formatIssue(issue)}\n`);
  const builds = kustomizationFolders(dir).map((folder) => ({ folder, ...kustomizeBuild(folder) }));
  const failed = builds.filter((build) => !build.ok);
  for (const build of failed) io.err(`${build.folder}: kubectl kustomize failed: ${build.error.trim()}\n`);
  // Pod Security: the level each pod meets, against the level its namespace is documented to enforce.
  const findings = podSecurityFindings(manifests(dir));
  const refused = findings.filter((finding) => !finding.admitted).length;
  const ok = issues.length === 0 && failed.length === 0 && refused === 0;
  if (options.json) {
    const kustomize = builds.map(({ folder, ok: built, error }) => ({ folder, ok: built, ...(built ? {} : { error: error.trim() }) }));
    io.out(`${JSON.stringify({ ok, issues, kustomize, podSecurity: findings }, null, 2)}\n`);
  } else {
    for (const finding of findings) (finding.admitted ? io.out : io.err)(`${formatPodSecurity(finding)}\n`);
  }
  io.err(`validate-output: ${issues.length} schema problem${issues.length === 1 ? '' : 's'}, ${failed.length} of ${builds.length} kustomize builds failed, `
    + `${refused} of ${findings.length} pod templates refused by their namespace's Pod Security level\n`);
  return ok ? EXIT.ok : EXIT.invalid;
}

/** Every object of every YAML file under `dir`, with its path relative to `dir`. */
function manifests(dir: string): { file: string; object: unknown }[] {
  const found: { file: string; object: unknown }[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.yaml') && entry.name !== 'kustomization.yaml') {
        for (const document of parseAllDocuments(readFileSync(path, 'utf8'))) found.push({ file: relative(dir, path), object: document.toJSON() });
      }
    }
  };
  walk(dir);
  return found;
}

function kustomizationFolders(dir: string): string[] {
  const found: string[] = [];
  const walk = (folder: string) => {
    const entries = readdirSync(folder, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    if (entries.some((e) => e.isFile() && e.name === 'kustomization.yaml')) found.push(folder);
    for (const entry of entries) if (entry.isDirectory()) walk(join(folder, entry.name));
  };
  walk(dir);
  return found;
}
