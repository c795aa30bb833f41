// The env file a static restore pod reads its storage credentials from (it can read no Secret): what an operator
// types into it, and the mistakes the agent names before touching anything.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseEnvFile, readEnvFile } from '../../lib/agent/env-file';
import { AgentError } from '../../lib/agent/exit-codes';
import { mkTemp, rmTemp } from '../support/proc';

let tmp: string;
beforeEach(() => { tmp = mkTemp('env-file'); });
afterEach(() => rmTemp(tmp));

const failure = (f: () => unknown): { code: number; message: string } => {
  try { f(); } catch (error) { if (error instanceof AgentError) return { code: error.code, message: error.message }; throw error; }
  throw new Error('did not fail');
};

describe('storage env file', () => {
  it('reads NAME=value lines, skipping comments and blank lines, with or without quotes and export', () => {
    expect(parseEnvFile('# S3 of the backups\nA_KEY=AKIA123\n\nexport SECRET="s3cr=t with spaces"\nB=\'x\'\n', 'f')).toEqual({ A_KEY: 'AKIA123', SECRET: 's3cr=t with spaces', B: 'x' });
  });

  it('fails with the line of a line that is not NAME=value', () => {
    expect(failure(() => parseEnvFile('A=1\nthis is not it\n', '/etc/kubernetes/restore-r1/storage.env'))).toEqual({
      code: 3, message: '/etc/kubernetes/restore-r1/storage.env:2: expected NAME=value (got "this is not it")',
    });
  });

  it('fails if the file is readable by others, naming the chmod', () => {
    const file = join(tmp, 'storage.env');
    writeFileSync(file, 'A=1\n');
    chmodSync(file, 0o644);
    expect(failure(() => readEnvFile(file, ['A']))).toEqual({ code: 3, message: `the storage credentials file ${file} is readable by others (mode 0644): run chmod 600 on it` });
  });

  it('fails if the file is missing or does not set a variable the plan names', () => {
    const file = join(tmp, 'storage.env');
    expect(failure(() => readEnvFile(file, ['A'])).message).toBe(`cannot read the storage credentials file ${file}: ENOENT; place it on this node as the RUNBOOK says (NAME=value lines, mode 0600)`);
    writeFileSync(file, 'A=1\nB=\n', { mode: 0o600 });
    expect(failure(() => readEnvFile(file, ['A', 'B', 'C'])).message).toBe(`the storage credentials file ${file} does not set B, C`);
    expect(readEnvFile(file, ['A'])).toEqual({ A: '1', B: '' });
  });
});
