// azurite (npm, Microsoft's Azure Storage server) as the Azure Blob server on 127.0.0.1:<random port>, in memory,
// started directly or inside a test's netns, bounded in its start-up and stopped by PID.
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import type { NetNs } from './netns';
import { announcedPort, spawnDaemon, stopChild } from './proc';

const REPOSITORY = join(__dirname, '..', '..');

/**
 * One blob call made from inside a netns (where the server's loopback is): `node -e` with the SDK, arguments in env,
 * the result as JSON (bytes in base64) on stdout.
 */
const CLIENT_SCRIPT = `
const { BlobServiceClient } = require('@azure/storage-blob');
const { OP, CONN, CONTAINER, KEY, BODY } = process.env;
const container = BlobServiceClient.fromConnectionString(CONN, { retryOptions: { maxTries: 1 } }).getContainerClient(CONTAINER);
(async () => {
  if (OP === 'create') return container.createIfNotExists().then(() => null);
  if (OP === 'list') { const names = []; for await (const b of container.listBlobsFlat({ prefix: KEY || undefined })) names.push(b.name); return names; }
  if (OP === 'get') return (await container.getBlobClient(KEY).downloadToBuffer()).toString('base64');
  if (OP === 'put') { const bytes = Buffer.from(BODY, 'base64'); await container.getBlockBlobClient(KEY).upload(bytes, bytes.length); return null; }
  throw new Error('unknown op ' + OP);
})().then((out) => process.stdout.write(JSON.stringify(out)), (error) => { console.error(error.message); process.exit(1); });
`;

// Resolved through node's module lookup: the same from test/support and from its compiled copy under build/.
export const AZURITE_BLOB_BIN = require.resolve('azurite/dist/src/blob/main.js');

/** azurite's well-known development account: public, documented, and accepted by nothing but the emulator. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  /** Blob service URL of the development account: http://127.0.0.1:PORT/devstoreaccount1 */
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number;
  /** A connection string with the account key, as a key Secret would hold it. */
  readonly connectionString: string;
  /** Blob names under a prefix, sorted. */
  list(container: string, prefix?: string): Promise<string[]>;
  get(container: string, key: string): Promise<Buffer>;
  put(container: string, key: string, body: string | Buffer): Promise<void>;
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  readonly containers: readonly string[];
  /** The server runs inside this netns (where the pods are); directly on the host's loopback when absent. */
  readonly netns?: NetNs;
  readonly timeoutMs?: number;
}

export async function startAzurite(options: AzuriteOptions): Promise<Azurite> {
  const args = [
    AZURITE_BLOB_BIN, '--blobHost', '127.0.0.1', '--blobPort', '0', '--inMemoryPersistence', '--extentMemoryLimit', '512',
    // No telemetry: tests send traffic to loopback only.
    '--disableTelemetry', '--skipApiVersionCheck', '--loose',
  ];
  const child = options.netns ? options.netns.spawn(process.execPath, args) : spawnDaemon(process.execPath, args);
  // Its access log goes on after the start: announcedPort reads and drops it.
  const port = await announcedPort(child, 'azurite', /successfully listens on https?:\/\/[^\s]*:(\d+)/, options.timeoutMs ?? 20_000);
  const endpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${endpoint};`;
  const service = BlobServiceClient.fromConnectionString(connectionString, { retryOptions: { maxTries: 1 } });
  const call = async (op: string, container: string, key = '', body?: string | Buffer): Promise<any> => {
    if (options.netns) {
      const env = { PATH: process.env.PATH, OP: op, CONN: connectionString, CONTAINER: container, KEY: key, BODY: body === undefined ? '' : Buffer.from(body).toString('base64') };
      const result = await options.netns.exec(process.execPath, ['-e', CLIENT_SCRIPT], { env, timeoutMs: 20_000, cwd: REPOSITORY });
      if (result.code !== 0) throw new Error(`azurite ${op} ${container}/${key}: ${result.stderr}`);
      return JSON.parse(result.stdout);
    }
    const client = service.getContainerClient(container);
    if (op === 'create') return client.createIfNotExists();
    if (op === 'list') {
      const names: string[] = [];
      for await (const blob of client.listBlobsFlat({ prefix: key || undefined })) names.push(blob.name);
      return names;
    }
    if (op === 'get') return (await client.getBlobClient(key).downloadToBuffer()).toString('base64');
    const bytes = Buffer.from(body!);
    return client.getBlockBlobClient(key).upload(bytes, bytes.length);
  };
  try {
    for (const container of options.containers) await call('create', container);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return {
    endpoint, port, pid: child.pid!, connectionString,
    list: async (container, prefix) => ((await call('list', container, prefix)) as string[]).sort(),
    get: async (container, key) => Buffer.from(await call('get', container, key), 'base64'),
    put: async (container, key, body) => { await call('put', container, key, body); },
    stop: () => stopChild(child),
  };
}
