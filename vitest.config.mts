import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    include: ['test/**/*.test.ts'],
    // builds or reuses the tools image root, the etcd root and etcd 3.5 (scripts/setup-test-roots.sh)
    globalSetup: ['test/global-setup.ts'],
  },
});
