// The shell that remains (the project's own scripts, the image recipe, CI) is clean under shellcheck.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const files = [...readdirSync('scripts').filter((f) => f.endsWith('.sh')).map((f) => `scripts/${f}`), 'images/tools/build.sh', '.ci/run'];

describe('shell scripts', () => {
  it.each(files)('%s is clean under shellcheck', (file) => {
    const r = spawnSync('shellcheck', ['-x', file], { encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
