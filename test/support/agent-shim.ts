// Until the tools image holds the bundled agent (branch `image`), the pods' `controlplane-backup` is this shim, put
// first on the pod's PATH: node on the agent as `npm run build` left it.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const AGENT_ENTRY = resolve(__dirname, '../../build/lib/agent/bin.js');

/** A directory holding `controlplane-backup`, to pass as the pod runner's pathPrefix. */
export function agentShim(dir: string): string {
  const bin = join(dir, 'agent-shim');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'controlplane-backup'), `#!/bin/sh\nexec ${process.execPath} ${AGENT_ENTRY} "$@"\n`);
  chmodSync(join(bin, 'controlplane-backup'), 0o755);
  return bin;
}
