// On this branch the pod runner uses the host's binaries: a `controlplane-backup` first on the pod's PATH stands in
// for the tools image's bundle and runs the built agent (build/lib/agent/bin.js) with this Node. No shell involved.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { mkTemp } from './proc';

/** The built agent: from test/support (vitest) or build/test/support (the compiled bench) alike. */
export const AGENT_BIN = [resolve(__dirname, '../../build/lib/agent/bin.js'), resolve(__dirname, '../../lib/agent/bin.js')]
  .find((path) => path.endsWith('.js') && existsSync(path)) ?? resolve(__dirname, '../../build/lib/agent/bin.js');

let dir: string | undefined;

/** A directory holding the `controlplane-backup` shim; put it first on the pod's PATH (runPod's pathPrefix). */
export function agentShimDir(): string {
  if (dir) return dir;
  if (!existsSync(AGENT_BIN)) throw new Error(`${AGENT_BIN} is missing: run \`npm run build\` first`);
  dir = mkTemp('agent-shim');
  mkdirSync(dir, { recursive: true });
  const shim = join(dir, 'controlplane-backup');
  writeFileSync(shim, `#!${process.execPath}\nrequire(${JSON.stringify(AGENT_BIN)});\n`);
  chmodSync(shim, 0o755);
  return dir;
}
