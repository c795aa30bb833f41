// Once per vitest run: the tools image (built by `npm run image` when its recipe or the agent changed), its unpacked
// root, the etcd root and etcd 3.5 binaries (scripts/setup-test-roots.sh; about a second when cached).
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

export default function setup(): void {
  execFileSync('bash', [resolve(__dirname, '../scripts/setup-test-roots.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
}
