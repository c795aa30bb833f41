// Entry point of the tools image's `/usr/local/bin/controlplane-backup` (bundled by esbuild, see images/tools/build.sh).
// Placeholder of the image branch: the agent's commands arrive with lib/agent/ on the agent branch, which replaces
// this file. It answers `--version` so the image build can check the bundle runs under the image's node.
import { version } from '../../package.json';

/** Exit code of a command line the agent does not understand (the agent's "invalid plan or arguments"). */
const USAGE_EXIT = 3;

function main(argv: readonly string[]): number {
  if (argv.length === 1 && argv[0] === '--version') {
    process.stdout.write(`${JSON.stringify({ version })}\n`);
    return 0;
  }
  process.stderr.write(`controlplane-backup ${version}: this build of the agent has no commands yet (got: ${argv.join(' ') || 'nothing'}); only --version is supported\n`);
  return USAGE_EXIT;
}

process.exitCode = main(process.argv.slice(2));
