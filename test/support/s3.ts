// s3rver (npm) as the S3 API server on 127.0.0.1:<random port>: inside a test's netns (startS3), or directly for the
// CLI (startLocalS3, a Node server: no network namespace needed); and a free port that nothing listens on.
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { NetNs } from './netns';
import { announcedPort, spawnDaemon, stopChild, type RunResult } from './proc';

// Resolved through node's module lookup: the same from test/support and from its compiled copy under build/.
export const S3RVER_BIN = require.resolve('s3rver/bin/s3rver.js');

export interface S3Server {
  endpoint: string; // http://127.0.0.1:PORT
  port: number;
  pid: number;
  dir: string;
  /** RCLONE_CONFIG_<REMOTE>_* env that the pod spec would set (credentials S3RVER/S3RVER) */
  rcloneEnv(remote?: string, over?: Record<string, string>): Record<string, string>;
  /** object keys (recursive, relative to bucket/prefix) */
  list(bucket: string, prefix?: string): Promise<string[]>;
  get(bucket: string, key: string): Promise<Buffer>;
  put(bucket: string, key: string, body: string | Buffer): Promise<void>;
  /** raw rclone inside the netns with the "s3" remote configured */
  rclone(args: string[], input?: string | Buffer): Promise<RunResult>;
  stop(): Promise<void>;
}

/**
 * Starts s3rver on 127.0.0.1:<random port> through `spawn` (directly, or inside a netns) and reads the port from its
 * first line; bounded by `timeoutMs`, stopped by PID.
 */
async function spawnS3rver(spawn: (command: string, args: string[]) => ChildProcess, dir: string, buckets: readonly string[], timeoutMs = 15_000): Promise<{ child: ChildProcess; port: number }> {
  mkdirSync(dir, { recursive: true });
  // s3rver makes its listing continuation tokens with DES, which Node 20's OpenSSL 3 disables: without the legacy
  // provider every second page of a listing is an HTTP 500.
  const args = ['--openssl-legacy-provider', S3RVER_BIN, '-d', dir, '-a', '127.0.0.1', '-p', '0'];
  for (const bucket of buckets) args.push('--configure-bucket', bucket);
  const child = spawn(process.execPath, args);
  const port = await announcedPort(child, 's3rver', /listening on [^\n]*:(\d+)\s*\n/, timeoutMs);
  return { child, port };
}

export async function startS3(opts: { netns: NetNs; dir: string; buckets: string[]; timeoutMs?: number }): Promise<S3Server> {
  const dir = join(opts.dir, 's3rver');
  const { child, port } = await spawnS3rver((command, args) => opts.netns.spawn(command, args), dir, opts.buckets, opts.timeoutMs);
  const endpoint = `http://127.0.0.1:${port}`;
  const rcloneEnv = (remote = 'primary', over: Record<string, string> = {}) => {
    const p = `RCLONE_CONFIG_${remote.toUpperCase()}_`;
    return {
      [`${p}TYPE`]: 's3', [`${p}PROVIDER`]: 'Other', [`${p}ENDPOINT`]: endpoint, [`${p}REGION`]: 'us-east-1',
      [`${p}ACCESS_KEY_ID`]: 'S3RVER', [`${p}SECRET_ACCESS_KEY`]: 'S3RVER', [`${p}FORCE_PATH_STYLE`]: 'true',
      ...over,
    };
  };
  const rclone = (a: string[], input?: string | Buffer) =>
    opts.netns.exec('rclone', ['--retries=1', '--low-level-retries=1', '--contimeout=5s', '--timeout=20s', ...a], {
      env: { PATH: process.env.PATH, RCLONE_CONFIG: '', ...rcloneEnv('s3') }, input, timeoutMs: 30_000,
    });
  const must = async (a: string[], input?: string | Buffer) => {
    const r = await rclone(a, input);
    if (r.code !== 0) throw new Error(`rclone ${a.join(' ')}: ${r.stderr}`);
    return r;
  };
  return {
    endpoint, port, pid: child.pid!, dir, rcloneEnv, rclone,
    list: async (bucket, prefix = '') => (await must(['lsf', '-R', '--files-only', `s3:${bucket}/${prefix}`])).stdout.split('\n').filter(Boolean).sort(),
    get: async (bucket, key) => {
      const r = await opts.netns.exec('rclone', ['cat', `s3:${bucket}/${key}`], {
        env: { PATH: process.env.PATH, RCLONE_CONFIG: '', ...rcloneEnv('s3') }, timeoutMs: 30_000,
      });
      if (r.code !== 0) throw new Error(`rclone cat ${bucket}/${key}: ${r.stderr}`);
      return r.stdoutBuf;
    },
    put: async (bucket, key, body) => {
      await must(['rcat', `s3:${bucket}/${key}`], body);
    },
    stop: () => stopChild(child, 3000),
  };
}

// s3rver started directly, stopped by its PID.
export interface LocalS3 {
  readonly endpoint: string;
  readonly pid: number;
  put(key: string, body: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startLocalS3(dir: string, bucket: string): Promise<LocalS3> {
  const { child, port } = await spawnS3rver(spawnDaemon, dir, [bucket]);
  const endpoint = `http://127.0.0.1:${port}`;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'; // Node 20: see lib/storage/s3.ts
  const client = new S3Client({
    endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    pid: child.pid!,
    put: async (key, body) => {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    stop: async () => {
      client.destroy();
      await stopChild(child);
    },
  };
}

/** A loopback port that was free a moment ago: connections to it are refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
