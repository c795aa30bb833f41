// Shared helpers for the backup.sh tests.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { NetNs } from '../support/netns';
import { RunResult, runOk } from '../support/proc';

export const SCRIPTS_DIR = resolve(__dirname, '../../lib/scripts');
export const BACKUP_SH = join(SCRIPTS_DIR, 'backup.sh');
export const RETENTION_AWK = join(SCRIPTS_DIR, 'retention.awk');
export const HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export type Shell = 'dash' | 'busybox';

export interface BackupRun extends RunResult {
  result: Record<string, any> | undefined;
}

/** Run backup.sh inside the netns with ONLY env (+ PATH). */
export async function runBackup(netns: NetNs, env: Record<string, string>, o: { shell?: Shell; pathPrefix?: string; timeoutMs?: number } = {}): Promise<BackupRun> {
  const sh = o.shell === 'busybox' ? ['busybox', 'sh'] : ['dash'];
  const PATH = env.PATH ?? (o.pathPrefix ? `${o.pathPrefix}:${HOST_PATH}` : HOST_PATH);
  const r = await netns.exec(sh[0], [...sh.slice(1), BACKUP_SH], { env: { ...env, PATH }, timeoutMs: o.timeoutMs ?? 60_000 });
  const lines = r.stdout.split('\n').filter(Boolean);
  let result: Record<string, any> | undefined;
  try {
    result = lines.length === 1 ? JSON.parse(lines[0]) : undefined;
  } catch {
    result = undefined;
  }
  return { ...r, result };
}

/** A file that passes the snapshot checks: size = 512*n + 32 and a sha256 trailer. */
export function writeSyntheticSnapshot(file: string, blocks = 64): Buffer {
  const body = Buffer.concat([Buffer.alloc(blocks * 256, 7), randomBytes(blocks * 256)]);
  const buf = Buffer.concat([body, createHash('sha256').update(body).digest()]);
  writeFileSync(file, buf);
  return buf;
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** yyyymmddThhmmssZ of a Date (UTC) */
export function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/** Write an executable shim. */
export function shim(dir: string, name: string, body: string): string {
  mkdirSync(dir, { recursive: true });
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

export async function ageKeypair(dir: string): Promise<{ identity: string; recipients: string }> {
  const identity = join(dir, 'age-identity.txt');
  const recipients = join(dir, 'age-recipients.txt');
  await runOk('age-keygen', ['-o', identity]);
  const pub = (await runOk('age-keygen', ['-y', identity])).stdout.trim();
  writeFileSync(recipients, `# backup recipients\n\n${pub}\n`);
  return { identity, recipients };
}

/** Wait until the UTC second changes (two runs in one second would share a base name). */
export async function nextSecond(): Promise<void> {
  const s = Math.floor(Date.now() / 1000);
  while (Math.floor(Date.now() / 1000) === s) await new Promise((r) => setTimeout(r, 50));
}
