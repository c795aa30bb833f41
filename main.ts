// Entry point for `cdk8s synth` (cdk8s.yaml). The CLI (lib/cli) does the same with flags instead of variables.
import { run } from './lib/cli/main';
import { mirrorInto } from './lib/synth/cdk8s-cli';

const inventory = process.env.INVENTORY ?? 'examples/inventory.yaml';
// dist/ is replaced by our atomic writer, never by cdk8s-cli, which empties its own output folder before each run.
const out = process.env.DIST_DIR ?? 'dist';

run(['synth', '--inventory', inventory, '--out', out]).then((code) => {
  if (code === 0 && process.env.CDK8S_OUTDIR) mirrorInto(out, process.env.CDK8S_OUTDIR);
  process.exitCode = code;
});
