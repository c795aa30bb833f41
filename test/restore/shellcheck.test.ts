// Every restore script: shellcheck-clean (following sourced files) and parsable by dash and busybox sh.
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../support/proc';
import { SCRIPTS_DIR } from '../scripts/helpers';

const restoreScripts = readdirSync(SCRIPTS_DIR).filter((f) => /^restore-.*\.sh$|^kube-api\.sh$/.test(f)).sort();

describe('restore scripts', () => {
  it('finds them', () => expect(restoreScripts).toEqual(expect.arrayContaining(['restore-lib.sh', 'restore-member.sh'])));
  for (const f of restoreScripts) {
    it(`${f} is clean under shellcheck -s sh -x`, async () => {
      const r = await run('shellcheck', ['-s', 'sh', '-x', '-S', 'style', join(SCRIPTS_DIR, f)], { cwd: SCRIPTS_DIR });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.code).toBe(0);
    });
    for (const sh of [['dash', '-n'], ['busybox', 'sh', '-n']]) {
      it(`${f} parses under ${sh[0]}`, async () => {
        const r = await run(sh[0], [...sh.slice(1), join(SCRIPTS_DIR, f)]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
      });
    }
  }
});
