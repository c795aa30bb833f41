import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../support/proc';
import { SCRIPTS } from './world';

describe('shellcheck (hosted restore scripts, sourced files followed)', () => {
  for (const f of ['restore-coordinator.sh', 'restore-replica.sh', 'restore-hosted-lib.sh', 'kube-api.sh']) {
    it(`${f} is clean under shellcheck -s sh -x`, async () => {
      const r = await run('shellcheck', ['-s', 'sh', '-x', '-S', 'style', f], { cwd: SCRIPTS });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.code).toBe(0);
    });
  }
  it('kube-api.sh kj reads compact and pretty JSON alike (dash and busybox)', async () => {
    const compact = '/tmp/cpb-kj-compact.json';
    const pretty = '/tmp/cpb-kj-pretty.json';
    const doc = { a: { b: [1, { c: 'x "y" \\ <z' }] }, n: null };
    writeFileSync(compact, JSON.stringify(doc).replace('<', '\\u003c'));
    writeFileSync(pretty, JSON.stringify(doc, null, 2) + '\n');
    for (const sh of [['dash'], ['busybox', 'sh']]) {
      for (const f of [compact, pretty]) {
        const r = await run(sh[0], [...sh.slice(1), '-c', '. "$0"; kj "$1" get a.b.1.c; kj "$1" len a.b; kj "$1" get n || echo absent', join(SCRIPTS, 'kube-api.sh'), f]);
        expect(r.stdout, r.stderr).toBe('x "y" \\ <z\n2\nabsent\n');
      }
    }
  });
});
