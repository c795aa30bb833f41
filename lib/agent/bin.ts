// Entry point of the tools image's `/usr/local/bin/controlplane-backup` (bundled by esbuild, see images/tools/build.sh).
// Placeholder of the image branch: the agent's commands arrive with lib/agent/ on the agent branch, which replaces
// this file. It answers `--version` so the image build and the tests can check the bundle runs under the image's node.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Set by the image build (esbuild --define); unset when run from the compiled package. */
declare const CONTROLPLANE_BACKUP_VERSION: string | undefined;

/** Exit code of a command line the agent does not understand (the agent's "invalid plan or arguments"). */
const USAGE_EXIT = 3;

/** The package version: baked into the bundle, or read from the package.json above this file. */
function packageVersion(): string {
  if (typeof CONTROLPLANE_BACKUP_VERSION === 'string') return CONTROLPLANE_BACKUP_VERSION;
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

function main(argv: readonly string[]): number {
  const version = packageVersion();
  if (argv.length === 1 && argv[0] === '--version') {
    process.stdout.write(`${JSON.stringify({ version })}\n`);
    return 0;
  }
  process.stderr.write(`controlplane-backup ${version}: this build of the agent has no commands yet (got: ${argv.join(' ') || 'nothing'}); only --version is supported\n`);
  return USAGE_EXIT;
}

process.exitCode = main(process.argv.slice(2));
