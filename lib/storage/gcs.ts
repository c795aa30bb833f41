/**
 * Google Cloud Storage behind the ObjectStore interface, through @google-cloud/storage (the JSON API): a bucket, keys
 * relative to it. Credentials: a service-account key file (a key Secret), or Application Default Credentials (GKE
 * Workload Identity in the pods, `gcloud auth application-default login` on a workstation). The SDK is loaded on
 * first use, so the command line that never touches GCS does not pay for it.
 */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Bucket } from '@google-cloud/storage';
import type { StoredObject } from './layout';
import { StorageError } from './s3';
import { deleteEach, listPages, loadSdk, uploadStream, type ListOptions, type ObjectStore } from './store';

export interface GcsStoreOptions {
  readonly bucket: string;
  /** JSON API endpoint. @default https://storage.googleapis.com */
  readonly endpoint?: string;
  /** A service-account key file; Application Default Credentials when neither this nor `keyJson` is set. */
  readonly keyFile?: string;
  /** The service-account JSON key itself (from a Secret, through env). */
  readonly keyJson?: string;
  /** Who the store authenticates as, in the user's terms: for messages about denied access. */
  readonly identity?: string;
  /** Size of each chunk of a resumable upload, held in memory once (a multiple of 256 KiB). @default 8 MiB */
  readonly chunkSize?: number;
  /** Retries of one request (idempotent ones and upload chunks). @default 2 */
  readonly maxRetries?: number;
  /** Bound of one request. @default 120 s */
  readonly requestTimeoutMs?: number;
  /** Deletes in flight. @default 8 */
  readonly concurrency?: number;
}

export class GcsStore implements ObjectStore {
  readonly description: string;
  private handle?: Promise<Bucket>;

  constructor(private readonly options: GcsStoreOptions) {
    this.description = `gs://${options.bucket}${options.endpoint ? ` at ${options.endpoint}` : ''}`;
  }

  private bucket(): Promise<Bucket> {
    this.handle ??= (async () => {
      const { Storage } = loadSdk<typeof import('@google-cloud/storage')>('@google-cloud/storage');
      const { endpoint, keyFile, keyJson } = this.options;
      let credentials: { client_email?: string; private_key?: string } | undefined;
      if (keyJson) {
        try {
          credentials = JSON.parse(keyJson) as typeof credentials;
        } catch {
          throw new StorageError(`the service-account key of gs://${this.options.bucket} (${this.options.identity ?? 'from its Secret'}) is not JSON: put the key file that \`gcloud iam service-accounts keys create\` writes into the Secret`);
        }
      }
      const storage = new Storage({
        ...(endpoint ? {
          apiEndpoint: endpoint.replace(/\/$/, ''),
          // The SDK sends no credentials to a custom endpoint unless told to; never in clear over http (an emulator).
          useAuthWithCustomEndpoint: !/^http:/i.test(endpoint),
        } : {}),
        ...(keyFile ? { keyFilename: keyFile } : {}),
        ...(credentials ? { credentials, projectId: (credentials as { project_id?: string }).project_id } : {}),
        retryOptions: {
          autoRetry: true,
          maxRetries: this.options.maxRetries ?? 2,
          // Seconds. Below about 10 (with maxRetryDelay 8) @google-cloud/storage 7.22 leaves a failed request's
          // promise pending forever (measured against a refused port): never go below a minute.
          totalTimeout: Math.max(60, Math.ceil((this.options.requestTimeoutMs ?? 120_000) / 1000) * ((this.options.maxRetries ?? 2) + 1)),
          maxRetryDelay: 8,
        },
        timeout: this.options.requestTimeoutMs ?? 120_000,
      });
      return storage.bucket(this.options.bucket);
    })();
    return this.handle;
  }

  private fail(error: unknown, key?: string): never {
    if (error instanceof StorageError) throw error;
    throw new StorageError(describeGcsError(error, this.options, key));
  }

  async list(folder: string, options: ListOptions = {}): Promise<StoredObject[]> {
    return listPages(options, async (pageToken) => {
      const [files, next] = await (await this.bucket()).getFiles({
        prefix: folder ? `${folder}/` : undefined, autoPaginate: false, maxResults: options.pageSize ?? 1000, pageToken,
      });
      return {
        objects: files.map((file) => ({ key: file.name, size: Number(file.metadata.size ?? 0) })),
        next: (next as { pageToken?: string } | null)?.pageToken,
      };
    }, (error) => this.fail(error, folder || undefined));
  }

  async read(key: string): Promise<Buffer> {
    try {
      const [bytes] = await (await this.bucket()).file(key).download();
      return bytes;
    } catch (error) {
      this.fail(error, key);
    }
  }

  async download(key: string, path: string): Promise<number> {
    try {
      // The SDK checks the object's CRC32C/MD5 against what arrived: a changed object is an error, not a silent copy.
      await pipeline((await this.bucket()).file(key).createReadStream({ validation: true }), createWriteStream(path, { mode: 0o600 }));
      return (await stat(path)).size;
    } catch (error) {
      this.fail(error, key);
    }
  }

  async write(key: string, body: Buffer | string): Promise<void> {
    try {
      await (await this.bucket()).file(key).save(typeof body === 'string' ? Buffer.from(body) : body, { resumable: false });
    } catch (error) {
      this.fail(error, key);
    }
  }

  async upload(key: string, body: Readable): Promise<void> {
    // A resumable upload in chunks: each chunk is retried on its own, and the object exists only once the last chunk
    // is accepted, so a producer that fails leaves none behind.
    await uploadStream(this, key, body, async () => {
      const file = (await this.bucket()).file(key);
      await pipeline(body, file.createWriteStream({ resumable: true, chunkSize: this.options.chunkSize ?? 8 * 1024 * 1024, validation: 'crc32c' }));
    }, (error) => this.fail(error, key));
  }

  async delete(keys: readonly string[]): Promise<void> {
    const bucket = await this.bucket().catch((error) => this.fail(error));
    await deleteEach(keys, this.options.concurrency ?? 8, async (key) => {
      try {
        await bucket.file(key).delete({ ignoreNotFound: true });
      } catch (error) {
        this.fail(error, key);
      }
    });
  }

  close(): void {
    // The SDK keeps no connection that holds the process open.
  }
}

/** What went wrong, and what to do about it. */
export function describeGcsError(error: unknown, options: GcsStoreOptions, key?: string): string {
  const e = error as { name?: string; code?: number | string; message?: string; errors?: { reason?: string }[]; cause?: { code?: string } };
  const status = typeof e.code === 'number' ? e.code : undefined;
  const code = (typeof e.code === 'string' ? e.code : undefined) ?? e.cause?.code ?? e.errors?.[0]?.reason ?? e.name ?? 'Error';
  const what = `gs://${options.bucket}/${key ?? ''}`;
  const where = options.endpoint ?? 'https://storage.googleapis.com';
  const identity = options.identity ?? (options.keyFile ? `the service-account key ${options.keyFile}` : options.keyJson ? 'the service-account key' : 'Application Default Credentials');
  const message = firstLine(e.message);
  if (status === 404 && /bucket/i.test(message)) {
    return `bucket "${options.bucket}" does not exist at ${where}: create it, or fix \`gcs.bucket\``;
  }
  if (status === 404) return `${what} does not exist`;
  if (/Could not load the default credentials|Could not refresh access token|Unable to detect a Project Id/i.test(message)) {
    return `no Google credentials for ${what}: in a pod, the ServiceAccount needs the annotation iam.gke.io/gcp-service-account on a GKE cluster with Workload Identity; on a workstation run \`gcloud auth application-default login\` (${message})`;
  }
  if (status === 401 || status === 403) {
    return `access denied to ${what} (HTTP ${status}) for ${identity}: it needs roles/storage.objectAdmin on bucket "${options.bucket}" (storage.objects.create, get, list and delete)${message ? `; the server said: ${message}` : ''}`;
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)) {
    return `TLS to ${where} failed (${code}): point NODE_EXTRA_CA_CERTS at the CA bundle that signed it`;
  }
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code)) {
    return `unreachable: ${where} (${code})`;
  }
  return `${what}: ${code}${status ? ` (HTTP ${status})` : ''}${message && message !== code ? `: ${message}` : ''}`;
}

function firstLine(text?: string): string {
  return (text ?? '').split('\n')[0].trim();
}
