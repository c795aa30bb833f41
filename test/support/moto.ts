// moto (Debian trixie's python3-moto 5.1.1) as a real S3 + STS + IAM server on 127.0.0.1:<free port>: S3 with
// versioning and Object Lock, STS AssumeRoleWithWebIdentity. It runs in the root that scripts/setup-moto-root.sh
// builds (called by setup-test-roots.sh), through `unshare --root`: nothing of it is installed on the host.
// Bounded start, stopped by PID. moto accepts any access key and does not check signatures or web identity tokens.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import type { NetNs } from './netns';
import { announcedPort, run, spawnDaemon, stopChild } from './proc';
import { ROOTS_FILE } from './roots';

/** The moto root, beside the other test roots. */
export const MOTO_ROOT = join(ROOTS_FILE, '..', 'roots', 'moto');
/** Where `require('@aws-sdk/client-s3')` resolves for send(). */
const REPOSITORY = join(ROOTS_FILE, '..', '..', '..');

/** Keys moto accepts (any); the tests' own clients use these. */
export const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const;

export interface MotoServer {
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number;
  /** An S3 client of the test itself (path style, fixed keys): only when the server is on the host's loopback. */
  s3(): S3Client;
  /**
   * One S3 API call, `send('HeadObject', {Bucket, Key})`, made from wherever the server is (inside its netns too):
   * the response without $metadata, dates as ISO strings, a body as base64; an error rejects with its name and message.
   */
  send(command: string, input: Record<string, unknown>): Promise<Record<string, any>>;
  stop(): Promise<void>;
}

export interface MotoOptions {
  /** Run inside this network namespace (then only processes in it reach the server); the host's loopback when absent. */
  readonly netns?: NetNs;
  /** Bound of the start. @default 30 s */
  readonly timeoutMs?: number;
}

// Runs in a fresh node (in the netns when there is one): the SDK of the repository, the keys moto accepts.
const SEND_SCRIPT = `
const s3 = require('@aws-sdk/client-s3');
const [endpoint, name, input] = process.argv.slice(1);
const client = new s3.S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
const parsed = JSON.parse(input, (key, value) => (/Date$/.test(key) && typeof value === 'string' ? new Date(value) : value));
client.send(new s3[name + 'Command'](parsed)).then(async (response) => {
  delete response.$metadata;
  if (response.Body) response.Body = Buffer.from(await response.Body.transformToByteArray()).toString('base64');
  process.stdout.write(JSON.stringify(response));
  client.destroy();
}, (error) => { process.stderr.write(error.name + ': ' + error.message); process.exit(1); });
`;

export async function startMoto(options: MotoOptions = {}): Promise<MotoServer> {
  if (!existsSync(join(MOTO_ROOT, 'usr/bin/moto_server'))) {
    throw new Error(`${MOTO_ROOT} has no moto_server: run bash scripts/setup-test-roots.sh (vitest's global setup runs it)`);
  }
  // Port 0: the server binds a free port and prints it (" * Running on http://127.0.0.1:PORT").
  const args = [`--root=${MOTO_ROOT}`, '--wd=/', '/usr/bin/moto_server', '-H', '127.0.0.1', '-p', '0'];
  const env = { PATH: '/usr/bin:/bin', HOME: '/tmp', PYTHONDONTWRITEBYTECODE: '1' };
  const child: ChildProcess = options.netns ? options.netns.spawn('unshare', args, { env }) : spawnDaemon('unshare', args, { env });
  const port = await announcedPort(child, 'moto_server', /Running on http:\/\/127\.0\.0\.1:(\d+)/, options.timeoutMs ?? 30_000);
  try {
    const endpoint = `http://127.0.0.1:${port}`;
    const clients: S3Client[] = [];
    return {
      endpoint,
      port,
      pid: child.pid!,
      send: async (command, input) => {
        const args = ['-e', SEND_SCRIPT, endpoint, command, JSON.stringify(input)];
        const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
        const result = options.netns
          ? await options.netns.exec(process.execPath, args, { env, timeoutMs: 20_000, cwd: REPOSITORY })
          : await run(process.execPath, args, { env, timeoutMs: 20_000, cwd: REPOSITORY });
        if (result.code !== 0) throw new Error(`S3 ${command} at ${endpoint}: ${result.stderr.trim() || `exit ${result.code}`}`);
        return JSON.parse(result.stdout);
      },
      s3: () => {
        if (options.netns) throw new Error('moto runs in a netns: use send(), which makes the call from inside it');
        const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: MOTO_CREDENTIALS });
        clients.push(client);
        return client;
      },
      stop: async () => {
        for (const client of clients) client.destroy();
        await stopChild(child, 3000);
      },
    };
  } catch (error) {
    await stopChild(child, 1000);
    throw error;
  }
}
