// The layering of lib/ (.dependency-cruiser.cjs) is checked here, so `npm test` fails on a back edge, naming the rule.
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const FIXTURE = join(__dirname, 'fixtures', 'layering');

/** `depcruise --config` (the same as --validate) on lib/ of `cwd`: its exit status and the violations, one `error <rule>: <from> → <to>` each. */
function depcruise(cwd: string) {
  const run = spawnSync(process.execPath, [DEPCRUISE, 'lib', '--config', CONFIG, '--output-type', 'err'], { cwd, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('layering (.dependency-cruiser.cjs)', () => {
  it('lib/ has no back edge and no cycle', () => {
    const { status, output } = depcruise(ROOT);
    expect(output).toContain('no dependency violations found');
    expect(status).toBe(0);
  });

  describe('a copy of a small tree that keeps the rules', () => {
    const work = mkdtempSync(join(tmpdir(), 'cpb-layering-'));
    afterAll(() => rmSync(work, { recursive: true, force: true }));
    /** A fresh copy of the fixture, with `line` appended to `file`. */
    const copyWith = (name: string, file: string, line: string) => {
      const dir = join(work, name);
      cpSync(FIXTURE, dir, { recursive: true });
      if (line) appendFileSync(join(dir, file), `${line}\n`);
      return dir;
    };

    it('passes as it is', () => {
      expect(depcruise(copyWith('clean', '', ''))).toMatchObject({ status: 0 });
    });

    it('fails if inventory imports plan (a back edge)', () => {
      const { status, output } = depcruise(copyWith('back-edge', 'lib/inventory/model.ts', "import { planBackup } from '../plan/backup';\nexport const p = planBackup;"));
      expect(status).not.toBe(0);
      expect(output).toContain('error inventory-is-the-bottom: lib/inventory/model.ts → lib/plan/backup.ts');
    });

    it('fails if plan imports constructs (a cycle and a back edge)', () => {
      const { status, output } = depcruise(copyWith('cycle', 'lib/plan/backup.ts', "import { backupObject } from '../constructs/backup';\nexport const o = backupObject;"));
      expect(status).not.toBe(0);
      expect(output).toContain('error plan-below-constructs: lib/plan/backup.ts → lib/constructs/backup.ts');
      expect(output).toMatch(/error no-circular: lib\/constructs\/backup\.ts → \s+lib\/plan\/backup\.ts →/);
    });

    it('fails if the agent imports cdk8s or a construct', () => {
      const { status, output } = depcruise(copyWith('agent', 'lib/agent/backup.ts', "import { App } from 'cdk8s';\nimport { backupObject } from '../constructs/backup';\nexport const a = [App, backupObject];"));
      expect(status).not.toBe(0);
      expect(output).toContain('error agent-without-cdk8s: lib/agent/backup.ts → cdk8s');
      expect(output).toContain('error agent-without-synthesis: lib/agent/backup.ts → lib/constructs/backup.ts');
    });

    it('fails if storage imports plan', () => {
      const { status, output } = depcruise(copyWith('storage', 'lib/storage/layout.ts', "import { planBackup } from '../plan/backup';\nexport const p = planBackup;"));
      expect(status).not.toBe(0);
      expect(output).toContain('error storage-below-plan: lib/storage/layout.ts → lib/plan/backup.ts');
    });
  });
});
