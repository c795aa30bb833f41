// Shared helpers of the backup, drill and restore tests.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync, mkdirSync, mkdtempSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BackupPlan } from '../../lib/agent/plan';
import { PACKAGE_VERSION } from '../../lib/version';
import { AGENT_BIN } from './agent-shim';
import type { NetNs } from './netns';
import { runOk, type RunResult } from './proc';
import type { S3Server } from './s3';

/** The shells the remaining (restore) scripts are tested under. */
export type Shell = 'dash' | 'busybox';

export const HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';


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

export interface AgentRun extends RunResult {
  result: Record<string, any> | undefined;
}

/** The one JSON result line of an agent command, or undefined when stdout is not exactly one JSON line. */
export function resultLine(stdout: string): Record<string, any> | undefined {
  const lines = stdout.split('\n').filter(Boolean);
  try {
    return lines.length === 1 ? JSON.parse(lines[0]) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `controlplane-backup agent <command> --plan FILE` (the built agent) inside the netns with ONLY env (+ PATH). */
export async function runAgent(netns: NetNs, command: string, plan: object, env: Record<string, string> = {}, o: { pathPrefix?: string; timeoutMs?: number; planFile?: string } = {}): Promise<AgentRun> {
  const file = o.planFile ?? join(mkdtempSync(join(tmpdir(), 'cpb-plan-')), 'plan.json');
  writeFileSync(file, JSON.stringify(plan));
  const PATH = env.PATH ?? (o.pathPrefix ? `${o.pathPrefix}:${HOST_PATH}` : HOST_PATH);
  const r = await netns.exec(process.execPath, [AGENT_BIN, 'agent', command, '--plan', file], { env: { ...env, PATH }, timeoutMs: o.timeoutMs ?? 60_000 });
  return { ...r, result: resultLine(r.stdout) };
}

/** A destination of s3rver from an rclone-style `remote:bucket/folder`, credentials in CPB_<NAME>_* env. */
export function s3Destination(s3: S3Server, remote: string, name = 'primary', retention: Partial<BackupPlan['destinations'][number]['retention']> = {}) {
  const [, path] = remote.split(':');
  const [bucket, ...folder] = path.split('/');
  const prefix = `CPB_${name.toUpperCase().replace(/-/g, '_')}`;
  return {
    destination: {
      name, kind: 's3' as const, endpoint: s3.endpoint, region: 'us-east-1', pathStyle: true, bucket, folder: folder.join('/'),
      credentials: { accessKeyIdEnv: `${prefix}_ACCESS_KEY_ID`, secretAccessKeyEnv: `${prefix}_SECRET_ACCESS_KEY` }, caFile: null, sse: null, insecure: true,
      retention: { keepLast: 0, maxAgeHours: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0, ...retention },
    },
    env: { [`${prefix}_ACCESS_KEY_ID`]: 'S3RVER', [`${prefix}_SECRET_ACCESS_KEY`]: 'S3RVER' },
  };
}

/** A backup plan for tests: zstd, the recipients of an age recipients file, the given destinations. */
export function testBackupPlan(o: {
  cluster: string; snapshotFile: string; recipientsFile?: string; pkiPaths?: string[]; destinations: BackupPlan['destinations'];
  compression?: 'zstd' | 'gzip' | 'none'; encryptSnapshot?: boolean; minSnapshotBytes?: number; deadlineSeconds?: number;
  /** The signing key file (PKCS#8 PEM) and its public key; unsigned sets without. */
  signing?: BackupPlan['signing'];
}): BackupPlan {
  const recipients = o.recipientsFile ? readFileSync(o.recipientsFile, 'utf8').split('\n').map((line) => line.trim()).filter((line) => line.startsWith('age1')) : [];
  return {
    apiVersion: 'controlplane-backup.io/v1', kind: 'BackupPlan', packageVersion: PACKAGE_VERSION, cluster: o.cluster,
    scratchDir: dirname(o.snapshotFile), deadlineSeconds: o.deadlineSeconds ?? 1800, request: null, snapshotFile: o.snapshotFile,
    minSnapshotBytes: o.minSnapshotBytes ?? 0, compression: { algorithm: o.compression ?? 'zstd', level: null },
    recipients, encryptSnapshot: o.encryptSnapshot ?? recipients.length > 0,
    pki: o.pkiPaths?.length ? { paths: o.pkiPaths, encryptionConfigFile: null } : null,
    etcd: { endpoint: 'https://127.0.0.1:2379', caFile: '/nonexistent', certFile: '/nonexistent', keyFile: '/nonexistent' },
    destinations: o.destinations,
    signing: o.signing ?? null,
  };
}
