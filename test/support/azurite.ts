// azurite (npm, Microsoft's Azure Storage server) as the Azure Blob server on 127.0.0.1:<random port>, in memory,
// started directly or inside a test's netns, bounded in its start-up and stopped by PID.
import type { ChildProcess } from 'node:child_process';
import { BlobServiceClient } from '@azure/storage-blob';
import { spawnDaemon, stopChild } from './proc';

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
  /** Spawns the server (a netns's spawn); directly on the host's loopback when absent. */
  readonly spawn?: (cmd: string, args: string[]) => ChildProcess;
  /** The client of list/get/put (the test process) reaches the server through this URL when it runs in a netns. */
  readonly timeoutMs?: number;
}

export async function startAzurite(options: AzuriteOptions): Promise<Azurite> {
  const args = [
    AZURITE_BLOB_BIN, '--blobHost', '127.0.0.1', '--blobPort', '0', '--inMemoryPersistence', '--extentMemoryLimit', '512',
    // No telemetry: tests send traffic to loopback only.
    '--disableTelemetry', '--skipApiVersionCheck', '--loose',
  ];
  const child = options.spawn ? options.spawn(process.execPath, args) : spawnDaemon(process.execPath, args);
  let log = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`azurite did not start: ${log}`)), options.timeoutMs ?? 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const match = /successfully listens on https?:\/\/[^\s]*:(\d+)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`azurite exited ${code}: ${log}`));
    });
  }).catch(async (error) => {
    await stopChild(child);
    throw error;
  });
  // Its access log goes on: read and drop it so the pipe never fills.
  child.stdout!.resume();
  child.stderr!.resume();
  const endpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${endpoint};`;
  const service = BlobServiceClient.fromConnectionString(connectionString, { retryOptions: { maxTries: 1 } });
  const server: Azurite = {
    endpoint, port, pid: child.pid!, connectionString,
    list: async (container, prefix) => {
      const names: string[] = [];
      for await (const blob of service.getContainerClient(container).listBlobsFlat({ prefix })) names.push(blob.name);
      return names.sort();
    },
    get: (container, key) => service.getContainerClient(container).getBlobClient(key).downloadToBuffer(),
    put: async (container, key, body) => {
      const bytes = Buffer.from(body);
      await service.getContainerClient(container).getBlockBlobClient(key).upload(bytes, bytes.length);
    },
    stop: () => stopChild(child),
  };
  // Only reachable from here when it runs on the host's loopback; in a netns the test creates containers through it.
  if (!options.spawn) {
    for (const container of options.containers) await service.getContainerClient(container).createIfNotExists();
  }
  return server;
}
