// The root filesystems the test pods run in and the etcd binaries the tests start, prepared by
// scripts/setup-test-roots.sh (run once per vitest run by test/global-setup.ts).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The tools image reference the test inventories name: the pod runner runs it in the root built by `npm run image`. */
export const TEST_TOOLS_IMAGE = 'localhost:5000/controlplane-backup-tools:test';

export interface TestRoots {
  /** the tools image, unpacked from the OCI archive of `npm run image` */
  tools: string;
  /** the shell-less stand-in of registry.k8s.io/etcd: etcd, etcdctl, etcdutl, loader and libc */
  etcd: string;
  /** directory of Debian trixie's etcd, etcdctl and etcdutl (3.5) for the etcd servers of the tests */
  etcdBin: string;
  /** the OCI archive the tools root was unpacked from */
  archive: string;
}

/** The repository root, from test/support or from its compiled copy under build/ (the benchmarks) alike. */
function repositoryRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    if (dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = dirname(dir);
  }
  return dir;
}

export const ROOTS_FILE = join(repositoryRoot(), '.tmp/test-world/roots.json');

let cached: TestRoots | undefined;

export function testRoots(): TestRoots {
  if (!cached) {
    if (!existsSync(ROOTS_FILE)) throw new Error(`${ROOTS_FILE} is missing: run bash scripts/setup-test-roots.sh (vitest's global setup runs it)`);
    cached = JSON.parse(readFileSync(ROOTS_FILE, 'utf8')) as TestRoots;
  }
  return cached;
}

/** Absolute path of etcd, etcdctl or etcdutl 3.5 (Debian trixie) on this host. */
export function etcdBinary(name: 'etcd' | 'etcdctl' | 'etcdutl'): string {
  return join(testRoots().etcdBin, name);
}
