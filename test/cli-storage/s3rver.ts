// s3rver on 127.0.0.1:<random port>, started directly (a Node server: no network namespace needed for the CLI),
// stopped by its PID; and a free port that nothing listens on, for an unreachable storage.
import { createServer } from 'node:net';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3RVER_BIN } from '../support/s3';
import { spawnDaemon, stopChild } from '../support/proc';

export interface LocalS3 {
  readonly endpoint: string;
  readonly pid: number;
  put(key: string, body: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startLocalS3(dir: string, bucket: string): Promise<LocalS3> {
  // s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node 18+) disables: without the
  // legacy provider every second page is an InternalError.
  const child = spawnDaemon(process.execPath, ['--openssl-legacy-provider', S3RVER_BIN, '-d', dir, '-a', '127.0.0.1', '-p', '0', '--configure-bucket', bucket]);
  let log = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3rver did not start: ${log}`)), 15_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const match = /listening on [^\n]*:(\d+)\s*\n/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited ${code}: ${log}`));
    });
  });
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
