/** `controlplane-backup validate-output DIR`: schemas of every manifest, and a kustomize build of every folder. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssue, kustomizeBuild, validateDirectory } from '../validate';
import type { Io } from './main';

export function validateOutput(dir: string, io: Io): number {
  if (!existsSync(dir)) {
    io.err(`controlplane-backup: no folder "${dir}"; run synth first\n`);
    return 2;
  }
  const issues = validateDirectory(dir);
  for (const issue of issues) io.err(`${formatIssue(issue)}\n`);
  let failedBuilds = 0;
  const folders = kustomizationFolders(dir);
  for (const folder of folders) {
    const build = kustomizeBuild(folder);
    if (!build.ok) {
      failedBuilds++;
      io.err(`${folder}: kubectl kustomize failed: ${build.error.trim()}\n`);
    }
  }
  io.err(`validate-output: ${issues.length} schema problem${issues.length === 1 ? '' : 's'}, ${failedBuilds} of ${folders.length} kustomize builds failed\n`);
  return issues.length || failedBuilds ? 2 : 0;
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
