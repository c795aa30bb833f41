import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../support/proc';
import { SCRIPTS_DIR } from './helpers';

const shellFiles = readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith('.sh') || readFileSync(join(SCRIPTS_DIR, f), 'utf8').startsWith('#!/bin/sh'));

describe('shellcheck', () => {
  it('finds shell scripts', () => expect(shellFiles).toContain('restore-lib.sh'));
  for (const f of shellFiles) {
    it(`${f} is clean under shellcheck -s sh`, async () => {
      const r = await run('shellcheck', ['-s', 'sh', '-S', 'style', join(SCRIPTS_DIR, f)]);
      expect(r.stdout + r.stderr).toBe('');
      expect(r.code).toBe(0);
    });
  }
});
