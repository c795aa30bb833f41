/** `controlplane-backup validate-output DIR`: schemas of every manifest, and a kustomize build of every folder. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssue, kustomizeBuild, validateDirectory } from '../validate';
import type { Io } from './main';

export function validateOutput(dir: string, io: Io, options: { json?: boolean } = {}): number {
  if (!existsSync(dir)) {
    io.err(`controlplane-backup: no folder "${dir}"; run synth first\n`);
    return 2;
  }
  const issues = validateDirectory(dir);
  for (const issue of issues) io.err(`${formatIssue(issue)}\n`);
  const builds = kustomizationFolders(dir).map((folder) => ({ folder, ...kustomizeBuild(folder) }));
  const failed = builds.filter((build) => !build.ok);
  for (const build of failed) io.err(`${build.folder}: kubectl kustomize failed: ${build.error.trim()}\n`);
  const ok = issues.length === 0 && failed.length === 0;
  if (options.json) {
    const kustomize = builds.map(({ folder, ok: built, error }) => ({ folder, ok: built, ...(built ? {} : { error: error.trim() }) }));
    io.out(`${JSON.stringify({ ok, issues, kustomize }, null, 2)}\n`);
  }
  io.err(`validate-output: ${issues.length} schema problem${issues.length === 1 ? '' : 's'}, ${failed.length} of ${builds.length} kustomize builds failed\n`);
  return ok ? 0 : 2;
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
