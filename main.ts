// Entry point for `cdk8s synth` (cdk8s.yaml). The CLI (lib/cli) does the same with flags instead of variables.
import { run } from './lib/cli/main';

const inventory = process.env.INVENTORY ?? 'examples/inventory.yaml';
// cdk8s-cli empties its own output folder before running the app; dist/ is replaced by our atomic writer instead,
// so that an invalid inventory leaves the previous dist/ intact.
const out = process.env.DIST_DIR ?? 'dist';

run(['synth', '--inventory', inventory, '--out', out]).then((code) => {
  process.exitCode = code;
});
