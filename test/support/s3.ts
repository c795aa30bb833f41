// s3rver (npm) as the S3 API server, inside the test's netns on 127.0.0.1:<random port>.
import { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { NetNs } from './netns';
import { RunResult, stopChild } from './proc';

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

export async function startS3(opts: { netns: NetNs; dir: string; buckets: string[]; timeoutMs?: number }): Promise<S3Server> {
  const dir = join(opts.dir, 's3rver');
  mkdirSync(dir, { recursive: true });
  // s3rver makes its listing continuation tokens with DES, which Node 20's OpenSSL 3 disables: without the legacy
  // provider every second page of a listing is an HTTP 500.
  const args = ['--openssl-legacy-provider', S3RVER_BIN, '-d', dir, '-a', '127.0.0.1', '-p', '0'];
  for (const b of opts.buckets) args.push('--configure-bucket', b);
  const child: ChildProcess = opts.netns.spawn(process.execPath, args);
  let log = '';
  const port = await new Promise<number>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`s3rver did not start: ${log}`)), opts.timeoutMs ?? 15_000);
    const onData = (b: Buffer) => {
      log += b.toString();
      const m = /listening on [^\n]*:(\d+)\s*\n/.exec(log);
      if (m) {
        clearTimeout(timer);
        res(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
    child.on('exit', (c) => {
      clearTimeout(timer);
      rej(new Error(`s3rver exited ${c}: ${log}`));
    });
  });
  child.stdout!.resume();
  child.stderr!.resume();
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
