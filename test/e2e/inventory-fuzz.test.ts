/**
 * Issue 13: 10,000 generated inventories (valid and mutated, seeded) through `validate` and `synth` in-process
 * through the CLI's own dispatch, and a few hundred through the real CLI process. Each must exit 0 or 2, never
 * print a stack trace, agree between validate and synth, and leave the output folder untouched on exit 2.
 * A failure names its seed and index: `inventoryText(seed, index)` gives the same text back.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Io } from '../../lib/cli/io';
import { run } from '../../lib/cli/main';
import { inventoryText } from '../support/fuzz-inventories';

const SEED = Number(process.env.FUZZ_SEED ?? 13);
const COUNT = Number(process.env.FUZZ_COUNT ?? 10_000);
const PROCESSES = Number(process.env.FUZZ_PROCESSES ?? 120);
const work = mkdtempSync(join(tmpdir(), 'cpb-fuzz-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const STACK = /\n\s+at |internal error/;

/** What changes when a folder is replaced or written into: its entries, their times, the marker's text. */
function fingerprint(dir: string): string {
  try {
    return readdirSync(dir).sort().map((entry) => `${entry}:${statSync(join(dir, entry)).mtimeMs}`).join(',') + readFileSync(join(dir, '.controlplane-backup-output'), 'utf8');
  } catch {
    return 'absent';
  }
}

async function cli(argv: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const io: Io = { out: () => undefined, err: (text) => { err += text; }, interactive: false };
  return { code: await run(argv, io), err };
}

describe(`fuzz: ${COUNT} inventories (seed ${SEED}) through validate and synth`, () => {
  const outcomes = { valid: 0, invalid: 0 };
  const failures: string[] = [];
  const file = join(work, 'inventory.yaml');
  const out = join(work, 'dist');
  const CHUNK = 2_500;

  for (let start = 0; start < COUNT; start += CHUNK) {
    it(`inventories ${start} to ${Math.min(start + CHUNK, COUNT) - 1}: exit 0 or 2, no stack trace, untouched output on 2`, async () => {
      for (let index = start; index < Math.min(start + CHUNK, COUNT); index++) {
        writeFileSync(file, inventoryText(SEED, index));
        const validate = await cli(['validate', '--inventory', file]);
        const before = fingerprint(out);
        const synth = await cli(['synth', '--inventory', file, '--out', out]);
        const where = `seed ${SEED} index ${index}`;
        if (![0, 2].includes(validate.code) || STACK.test(validate.err)) failures.push(`${where}: validate exit ${validate.code}: ${validate.err.slice(0, 600)}`);
        if (![0, 2].includes(synth.code) || STACK.test(synth.err)) failures.push(`${where}: synth exit ${synth.code}: ${synth.err.slice(0, 600)}`);
        if (synth.code !== validate.code) failures.push(`${where}: validate exit ${validate.code} but synth exit ${synth.code}: ${synth.err.slice(0, 300)}`);
        if (synth.code === 2 && fingerprint(out) !== before) failures.push(`${where}: synth exit 2 changed the output folder`);
        if (validate.code === 0) outcomes.valid += 1;
        else outcomes.invalid += 1;
        if (failures.length >= 5) break;
      }
      expect(failures).toEqual([]);
    }, 300_000);
  }

  it('covered both sides: many valid and many invalid inventories', () => {
    console.log(`fuzz: ${outcomes.valid} valid, ${outcomes.invalid} invalid inventories`);
    expect(outcomes.valid + outcomes.invalid).toBe(COUNT);
    expect(outcomes.valid).toBeGreaterThan(COUNT / 10);
    expect(outcomes.invalid).toBeGreaterThan(COUNT / 2);
  });
});

describe(`fuzz: ${PROCESSES} inventories through the real CLI process`, () => {
  const bin = join(__dirname, '..', '..', 'build', 'lib', 'cli', 'bin.js');
  const exec = (args: string[]) => new Promise<{ code: number | null; err: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CI: 'true' } });
    let err = '';
    child.stderr.on('data', (chunk) => { err += chunk; });
    child.on('close', (code) => resolve({ code, err }));
  });

  it('validate and synth exit 0 or 2 without a stack trace, and synth leaves the folder alone on 2', async () => {
    const failures: string[] = [];
    let next = 0;
    const worker = async (slot: number) => {
      const dir = join(work, `process-${slot}`);
      const out = join(dir, 'dist');
      for (let index = next++; index < PROCESSES; index = next++) {
        // Other indexes than the in-process part: more of the space is seen.
        const file = join(dir, `inventory-${index}.yaml`);
        mkdirSync(dir, { recursive: true });
        writeFileSync(file, inventoryText(SEED + 1, index));
        // Mostly validate (a process start-up is the cost); every fourth through synth.
        const args = index % 4 !== 3 ? ['validate', '--inventory', file] : ['synth', '--inventory', file, '--out', out];
        const before = fingerprint(out);
        const result = await exec(args);
        if (![0, 2].includes(result.code ?? -1) || STACK.test(result.err)) failures.push(`seed ${SEED + 1} index ${index}: ${args[0]} exit ${result.code}: ${result.err.slice(0, 600)}`);
        if (args[0] === 'synth' && result.code === 2 && fingerprint(out) !== before) failures.push(`seed ${SEED + 1} index ${index}: synth exit 2 changed the output folder`);
      }
    };
    await Promise.all([0, 1, 2].map(worker));
    expect(failures).toEqual([]);
  }, 600_000);
});
