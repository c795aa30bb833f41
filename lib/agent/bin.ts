/**
 * The entry of the tools image's `/usr/local/bin/controlplane-backup` (an esbuild bundle of this file, whose
 * `#!/usr/bin/node` line the build adds): only the
 * agent, nothing of synthesis (no cdk8s, no zod-to-json-schema). `controlplane-backup agent <command> ...`.
 */
import { AGENT_USAGE, runAgent } from './run';

const [word, ...rest] = process.argv.slice(2);
if (word !== 'agent') {
  process.stderr.write(`controlplane-backup (agent bundle): the first argument must be "agent"\n${AGENT_USAGE}\n`);
  process.exitCode = 3;
} else {
  runAgent(rest).then((code) => {
    process.exitCode = code;
  });
}
