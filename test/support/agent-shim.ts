// The built agent on this host, for the tests that run an agent command directly (not in a pod, where the tools
// image's bundle runs it).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** The built agent: from test/support (vitest) or build/test/support (the compiled bench) alike. */
export const AGENT_BIN = [resolve(__dirname, '../../build/lib/agent/bin.js'), resolve(__dirname, '../../lib/agent/bin.js')]
  .find((path) => path.endsWith('.js') && existsSync(path)) ?? resolve(__dirname, '../../build/lib/agent/bin.js');
