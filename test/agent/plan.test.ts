// The agent's plans: a wrong or missing field, a plan of another package version, or no plan at all is exit 3 with a
// message naming the field, before anything is touched; the exit-code table; the agent entry loads nothing of
// synthesis.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../lib/agent/exit-codes';
import { backupPlanSchema, loadPlan } from '../../lib/agent/plan';
import { runAgent } from '../../lib/agent/run';
import { PACKAGE_VERSION } from '../../lib/version';
import { testBackupPlan } from '../support/agent';

const dir = mkdtempSync(join(tmpdir(), 'cpb-plan-test-'));
const valid = testBackupPlan({
  cluster: 'prod-1', snapshotFile: join(dir, 'snapshot.db'),
  destinations: [{ name: 'disk', kind: 'local', path: dir, folder: 'prod-1', retention: { keepLast: 1, maxAgeHours: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0 } }],
});

async function agent(plan: unknown, command = 'backup') {
  const file = join(dir, `plan-${Math.random()}.json`);
  writeFileSync(file, typeof plan === 'string' ? plan : JSON.stringify(plan));
  const out: string[] = [];
  const err: string[] = [];
  const code = await runAgent([command, '--plan', file], { out: (text) => out.push(text), err: (text) => err.push(text) }, { PATH: process.env.PATH });
  return { code, result: JSON.parse(out.join('')), stderr: err.join(''), file };
}

describe('agent plans', () => {
  it('accepts the plan synthesis renders', () => {
    expect(backupPlanSchema.parse(valid)).toEqual(valid);
  });

  it('fails with exit 3 naming every wrong or missing field', async () => {
    const { destinations, ...rest } = valid;
    const broken = { ...rest, compression: { algorithm: 'lz4', level: null }, recipients: ['ssh-rsa AAAA'], extra: 1 };
    const { code, result, file } = await agent(broken);
    expect(code).toBe(EXIT.config);
    expect(result).toEqual({
      command: 'backup', status: 'failed', exitCode: 3, stage: 'config', durationsMs: {},
      message: `invalid plan (${file}): compression.algorithm: Invalid option: expected one of "zstd"|"gzip"|"none"; `
        + 'recipients.0: Invalid string: must match pattern /^age1[0-9a-z]+$/; destinations: Invalid input: expected array, received undefined; (plan): Unrecognized key: "extra"',
    });
    void destinations;
  });

  it('refuses a plan rendered by another package version, with what to do', async () => {
    const { code, result, file } = await agent({ ...valid, packageVersion: '0.0.9' });
    expect(code).toBe(3);
    expect(result.message).toBe(`the plan (${file}) was rendered by controlplane-backup 0.0.9, this agent is ${PACKAGE_VERSION}: `
      + 'synthesize dist/ with the same version as the tools image (or point images.tools at the image of that version)');
  });

  it('fails with exit 3 on a plan that is not JSON, a missing plan, an unknown command or a bad flag', async () => {
    expect((await agent('{')).result.message).toMatch(/^the plan \(.*\) is not JSON: /);
    const io = { out: () => undefined, err: () => undefined };
    expect(await runAgent(['backup'], io, {})).toBe(3);
    expect(await runAgent(['restore-everything', '--plan', 'x'], io, {})).toBe(3);
    expect(await runAgent(['backup', '--plans', 'x'], io, {})).toBe(3);
    expect(() => loadPlan(backupPlanSchema, { env: 'CPB_PLAN' }, {})).toThrow('the plan env var CPB_PLAN is not set');
    expect(loadPlan(backupPlanSchema, { env: 'CPB_PLAN' }, { CPB_PLAN: JSON.stringify(valid) })).toEqual(valid);
  });

  it('reads a plan of another kind as a wrong plan', async () => {
    const { code, result } = await agent({ ...valid, kind: 'DrillPlan' });
    expect(code).toBe(3);
    expect(result.message).toMatch(/kind: Invalid input: expected "BackupPlan"/);
  });
});

describe('the agent entry', () => {
  it('keeps the compiled version equal to package.json', () => {
    expect(PACKAGE_VERSION).toBe(JSON.parse(readFileSync(resolve(__dirname, '../../package.json'), 'utf8')).version);
  });

  it('loads nothing of synthesis (no cdk8s, cdk8s-plus, zod-to-json-schema, yaml)', () => {
    const bin = resolve(__dirname, '../../build/lib/agent/run.js');
    const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(bin)}); console.log(JSON.stringify(Object.keys(require.cache)))`], { encoding: 'utf8' });
    expect(probe.status, probe.stderr).toBe(0);
    const loaded: string[] = JSON.parse(probe.stdout);
    expect(loaded.filter((path) => /node_modules\/(cdk8s|cdk8s-plus-28|constructs|zod-to-json-schema|yaml|ajv)\//.test(path))).toEqual([]);
    expect(loaded.filter((path) => /build\/lib\/(constructs|synth|inventory|plan|cli)\//.test(path))).toEqual([]);
  });

  it('documents one exit-code table', () => {
    expect(EXIT).toEqual({
      ok: 0, failed: 1, invalidBackup: 2, config: 3, storage: 4, retention: 5, barrier: 6, etcdStop: 7, etcdHealth: 8,
      kubernetesApi: 9, phaseFailed: 10, drillMismatch: 11, verifiedNotRestored: 12, untrusted: 13,
    });
    const readme = readFileSync(resolve(__dirname, '../../README.md'), 'utf8');
    for (const code of Object.values(EXIT)) expect(readme).toMatch(new RegExp(`^\\| ${code} \\| `, 'm'));
  });
});
