/**
 * The object stores a backup set lives in, behind one interface: S3 (and S3-compatible stores, ObjectBucketClaims)
 * through @aws-sdk/client-s3 and @aws-sdk/lib-storage (multipart uploads of streams, retries, the SDK's default
 * credential chain unless credentials are given), and node-local storage as a directory. Keys are relative to the
 * store's root (the bucket, or the directory) and use `/`.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Agent } from 'node:https';
import { dirname, join, sep } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { rootCertificates } from 'node:tls';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, ListObjectVersionsCommand, PutObjectCommand, PutObjectRetentionCommand, S3Client, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { StoredObject } from './layout';
import { describeError, StorageError, type S3Location } from './s3';

export { StorageError };

export interface ListOptions {
  /** MaxKeys of each ListObjectsV2 page. @default 1000 */
  readonly pageSize?: number;
  /** Called after each page with the number of objects listed so far. */
  readonly onPage?: (listed: number) => void;
}

/**
 * Lists every page of a folder: `fetchPage` returns one page's objects and the next page's token (undefined after the
 * last page); a failure goes to the store's `fail`, which says what to do.
 */
export async function listPages(
  options: ListOptions, fetchPage: (token: string | undefined) => Promise<{ objects: StoredObject[]; next: string | undefined }>,
  fail: (error: unknown) => never,
): Promise<StoredObject[]> {
  const objects: StoredObject[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await fetchPage(token);
      objects.push(...page.objects);
      options.onPage?.(objects.length);
      token = page.next;
    } while (token);
  } catch (error) {
    fail(error);
  }
  return objects;
}

/**
 * Uploads `body` with `send`: when the producer of the stream fails, its own error wins over what the SDK makes of it,
 * and whatever the store accepted before the failure (a single-part upload may complete) is removed.
 */
export async function uploadStream(store: ObjectStore, key: string, body: Readable, send: () => Promise<void>, fail: (error: unknown) => never): Promise<void> {
  let streamError: unknown;
  body.once('error', (error) => { streamError = error; });
  try {
    await send();
  } catch (error) {
    if (streamError) throw streamError;
    fail(error);
  }
  if (streamError) {
    await store.delete([key]).catch(() => undefined);
    throw streamError;
  }
}

/** Deletes keys one request each, `concurrency` at a time (stores without a batch delete). */
export async function deleteEach(keys: readonly string[], concurrency: number, deleteOne: (key: string) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < keys.length) await deleteOne(keys[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, worker));
}

/**
 * A cloud SDK, loaded when a store first needs it (commands that never touch that cloud do not pay for it). Through
 * require, not import(): esbuild then bundles the SDK's CommonJS build into the agent; the ESM builds of the Azure SDK
 * read import.meta.url, which a one-file CommonJS bundle does not have.
 */
export function loadSdk<T>(name: '@azure/storage-blob' | '@azure/identity' | '@google-cloud/storage'): T {
  switch (name) {
    // Literal names: esbuild bundles only what it can see.
    case '@azure/storage-blob': return require('@azure/storage-blob') as T;
    case '@azure/identity': return require('@azure/identity') as T;
    case '@google-cloud/storage': return require('@google-cloud/storage') as T;
  }
}

/** One object store. Every failure is a StorageError whose message says what to do. */
export interface ObjectStore {
  /** `s3://bucket` at an endpoint, or a directory: for messages. */
  readonly description: string;
  /** Every object under `<folder>/` (the whole store for ''), keys relative to the store's root. */
  list(folder: string, options?: ListOptions): Promise<StoredObject[]>;
  /** The bytes of one (small) object. */
  read(key: string): Promise<Buffer>;
  /** Downloads one object into a file; returns its size. */
  download(key: string, path: string): Promise<number>;
  /** Writes one small object. */
  write(key: string, body: Buffer | string): Promise<void>;
  /**
   * Uploads a stream of unknown length (multipart on S3); rejects when the stream errors, and then leaves no
   * object behind.
   */
  upload(key: string, body: Readable): Promise<void>;
  /** Deletes these keys (batched); a key that is already gone is no error. */
  delete(keys: readonly string[]): Promise<void>;
  /** Closes connections. */
  close(): void;
}

export interface S3StoreOptions {
  readonly endpoint: string;
  readonly region: string;
  readonly pathStyle: boolean;
  readonly bucket: string;
  /** The endpoint may be plain http (`insecure: true` on the storage); otherwise an http endpoint is refused. */
  readonly insecure?: boolean;
  /** Static credentials; the SDK's default chain when absent. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** A PEM file of extra CAs trusted besides the system roots. */
  readonly caFile?: string;
  readonly sse?: { readonly type: 'AES256' | 'aws:kms'; readonly kmsKeyId?: string };
  /**
   * S3 Object Lock: every object is written with this mode, retained for `days` from the start of its upload (the
   * bucket must have Object Lock enabled). Uploads then carry the checksums Object Lock requires.
   */
  readonly objectLock?: { readonly mode: 'GOVERNANCE' | 'COMPLIANCE'; readonly days: number };
  /** The clock of retain-until dates. @default the system clock */
  readonly clock?: () => Date;
  /** Multipart part size. @default 8 MiB */
  readonly partSize?: number;
  /** Parts in flight per upload. @default 2 */
  readonly queueSize?: number;
  /** Attempts per request (retries = attempts - 1). @default 3 */
  readonly maxAttempts?: number;
  /** Bound of one request (a part's upload included). @default 120 s */
  readonly requestTimeoutMs?: number;
}

// The SDK warns on Node < 22 about its releases after January 2027: not actionable, and noise in result logs.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export class S3Store implements ObjectStore {
  readonly description: string;
  private readonly client: S3Client;
  private readonly location: S3Location;

  constructor(private readonly options: S3StoreOptions) {
    // The last guard before credentials leave this process: validation and --endpoint checks come first.
    if (/^http:/i.test(options.endpoint) && !options.insecure) {
      throw new StorageError(`refusing to send credentials in clear to ${options.endpoint}: use https, or set \`insecure: true\` on the storage`);
    }
    this.description = `s3://${options.bucket} at ${options.endpoint}`;
    this.location = { endpoint: options.endpoint, region: options.region, pathStyle: options.pathStyle, bucket: options.bucket, folder: '' };
    const ca = options.caFile ? [...rootCertificates, readFileSync(options.caFile, 'utf8')] : undefined;
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      forcePathStyle: options.pathStyle,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      // S3-compatible stores reject the CRC checksums the SDK sends by default (FIELD-NOTES).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: options.maxAttempts ?? 3,
      requestHandler: new NodeHttpHandler({
        connectionTimeout: 5_000,
        requestTimeout: options.requestTimeoutMs ?? 120_000,
        ...(ca ? { httpsAgent: new Agent({ ca, keepAlive: true }) } : {}),
      }),
    });
  }

  private fail(error: unknown, key?: string): never {
    if (error instanceof StorageError) throw error;
    throw new StorageError(describeError(error, this.location, key));
  }

  async list(folder: string, options: ListOptions = {}): Promise<StoredObject[]> {
    return listPages(options, async (token) => {
      const page = await this.client.send(new ListObjectsV2Command({
        Bucket: this.options.bucket,
        Prefix: folder ? `${folder}/` : undefined,
        ContinuationToken: token,
        MaxKeys: options.pageSize,
      }));
      return {
        objects: (page.Contents ?? []).map((object) => ({ key: object.Key!, size: object.Size ?? 0 })),
        next: page.IsTruncated ? page.NextContinuationToken : undefined,
      };
    }, (error) => this.fail(error, folder || undefined));
  }

  async read(key: string): Promise<Buffer> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return Buffer.from(await object.Body!.transformToByteArray());
    } catch (error) {
      this.fail(error, key);
    }
  }

  async download(key: string, path: string): Promise<number> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      await pipeline(object.Body as Readable, createWriteStream(path, { mode: 0o600 }));
      return (await stat(path)).size;
    } catch (error) {
      this.fail(error, key);
    }
  }

  private params(key: string, lockUntil?: Date): Pick<PutObjectCommandInput, 'Bucket' | 'Key' | 'ServerSideEncryption' | 'SSEKMSKeyId' | 'ObjectLockMode' | 'ObjectLockRetainUntilDate'> {
    const { sse, objectLock } = this.options;
    return {
      Bucket: this.options.bucket, Key: key,
      ...(sse ? { ServerSideEncryption: sse.type, ...(sse.kmsKeyId ? { SSEKMSKeyId: sse.kmsKeyId } : {}) } : {}),
      ...(objectLock ? { ObjectLockMode: objectLock.mode, ObjectLockRetainUntilDate: lockUntil ?? objectLockRetainUntil((this.options.clock ?? (() => new Date()))(), objectLock.days) } : {}),
    };
  }

  async write(key: string, body: Buffer | string): Promise<void> {
    // A locked object must come with a checksum (Content-MD5 or x-amz-checksum-*): S3 refuses it otherwise.
    const md5 = this.options.objectLock ? { ContentMD5: createHash('md5').update(body).digest('base64') } : {};
    try {
      await this.client.send(new PutObjectCommand({ ...this.params(key), ...md5, Body: body, ContentLength: Buffer.byteLength(body) }));
    } catch (error) {
      this.fail(error, key);
    }
  }

  async upload(key: string, body: Readable): Promise<void> {
    if (!this.options.objectLock) return this.streamUpload(key, body);
    // A locked object needs a checksum. One part's worth or less goes up as one PutObject with Content-MD5 (which
    // every store with Object Lock takes; moto and older S3-compatible stores take nothing else); a longer stream as
    // a multipart upload whose parts carry their CRC32.
    const partSize = this.options.partSize ?? 8 * 1024 * 1024;
    const chunks = body[Symbol.asyncIterator]();
    const head: Buffer[] = [];
    let size = 0;
    while (size <= partSize) {
      const next = await chunks.next();
      if (next.done) return this.write(key, Buffer.concat(head));
      const chunk = Buffer.from(next.value as Buffer);
      head.push(chunk);
      size += chunk.length;
    }
    const until = objectLockRetainUntil((this.options.clock ?? (() => new Date()))(), this.options.objectLock.days);
    await this.streamUpload(key, Readable.from((async function* rest() {
      yield* head;
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value as Buffer;
    })()), until);
    // The lock headers of CreateMultipartUpload are not honoured by every store (moto 5.1.1 drops them): set the
    // retention on the completed object too (the same date: allowed in both modes).
    try {
      await this.client.send(new PutObjectRetentionCommand({ Bucket: this.options.bucket, Key: key, Retention: { Mode: this.options.objectLock.mode, RetainUntilDate: until } }));
    } catch (error) {
      this.fail(error, key);
    }
  }

  private async streamUpload(key: string, body: Readable, lockUntil?: Date): Promise<void> {
    await uploadStream(this, key, body, async () => {
      await new Upload({
        client: this.client,
        // Object Lock requires a checksum on every part: the SDK computes CRC32 for each part (and the single PutObject of
        // a small stream) when asked; only then, because several S3-compatible stores reject these headers.
        params: { ...this.params(key, lockUntil), ...(this.options.objectLock ? { ChecksumAlgorithm: 'CRC32' as const } : {}), Body: body },
        partSize: this.options.partSize ?? 8 * 1024 * 1024,
        queueSize: this.options.queueSize ?? 2,
        leavePartsOnError: false,
      }).done();
    }, (error) => this.fail(error, key));
  }

  /**
   * Every version of these keys (and their delete markers). An Object Lock bucket is versioned: a delete without a
   * version id only hides an object behind a delete marker, and the locked bytes stay stored.
   */
  private async versionsOf(keys: readonly string[]): Promise<{ Key: string; VersionId?: string }[]> {
    const out: { Key: string; VersionId?: string }[] = [];
    for (const key of keys) {
      let keyMarker: string | undefined;
      let versionMarker: string | undefined;
      try {
        do {
          const page = await this.client.send(new ListObjectVersionsCommand({ Bucket: this.options.bucket, Prefix: key, KeyMarker: keyMarker, VersionIdMarker: versionMarker }));
          for (const version of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
            if (version.Key === key) out.push({ Key: key, VersionId: version.VersionId });
          }
          [keyMarker, versionMarker] = page.IsTruncated ? [page.NextKeyMarker, page.NextVersionIdMarker] : [undefined, undefined];
        } while (keyMarker);
      } catch (error) {
        this.fail(error, key);
      }
    }
    return out;
  }

  async delete(keys: readonly string[]): Promise<void> {
    const objects = this.options.objectLock ? await this.versionsOf(keys) : keys.map((Key) => ({ Key }));
    for (let i = 0; i < objects.length; i += 1000) {
      const batch = objects.slice(i, i + 1000);
      let errors: { Key?: string; Code?: string; Message?: string }[] = [];
      try {
        const out = await this.client.send(new DeleteObjectsCommand({
          Bucket: this.options.bucket,
          Delete: { Objects: batch, Quiet: true },
        }));
        errors = (out.Errors ?? []).filter((error) => error.Code !== 'NoSuchKey');
      } catch (error) {
        this.fail(error, batch[0].Key);
      }
      if (errors.length > 0) {
        throw new StorageError(`delete of ${errors.length} object(s) in s3://${this.options.bucket} failed: ${errors.slice(0, 3).map((error) => `${error.Key}: ${error.Code}`).join(', ')}`);
      }
    }
  }

  close(): void {
    this.client.destroy();
  }
}

/** The retain-until date of an object whose upload starts at `start`, locked for `days`. */
export function objectLockRetainUntil(start: Date, days: number): Date {
  return new Date(start.getTime() + days * 86_400_000);
}

/** Node-local storage: a directory (a hostPath volume in the pod). Writes are atomic (a temporary name, renamed). */
export class LocalStore implements ObjectStore {
  readonly description: string;

  constructor(private readonly root: string) {
    this.description = root;
  }

  private path(key: string): string {
    if (key === '' || key.split('/').some((part) => part === '' || part === '.' || part === '..')) {
      throw new StorageError(`invalid key "${key}" for local storage ${this.root}`);
    }
    return join(this.root, ...key.split('/'));
  }

  private fail(error: unknown, what: string): never {
    if (error instanceof StorageError) throw error;
    const e = error as NodeJS.ErrnoException;
    throw new StorageError(`${what}: ${e.code ?? 'Error'}: ${e.message}`);
  }

  async list(folder: string): Promise<StoredObject[]> {
    const objects: StoredObject[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' && prefix === (folder ? `${folder}/` : '')) return;
        this.fail(error, `cannot list ${dir}`);
      }
      for (const entry of entries) {
        const key = `${prefix}${entry.name}`;
        if (entry.isDirectory()) await walk(join(dir, entry.name), `${key}/`);
        else if (entry.isFile() && !entry.name.startsWith('.tmp-')) objects.push({ key, size: (await stat(join(dir, entry.name))).size });
      }
    };
    try {
      await stat(this.root);
    } catch (error) {
      this.fail(error, `local storage ${this.root} is not there`);
    }
    await walk(folder ? join(this.root, ...folder.split('/')) : this.root, folder ? `${folder}/` : '');
    return objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async read(key: string): Promise<Buffer> {
    try {
      return await readFile(this.path(key));
    } catch (error) {
      this.fail(error, `cannot read ${this.path(key)}`);
    }
  }

  async download(key: string, path: string): Promise<number> {
    try {
      await pipeline(createReadStream(this.path(key)), createWriteStream(path, { mode: 0o600 }));
      return (await stat(path)).size;
    } catch (error) {
      this.fail(error, `cannot copy ${this.path(key)}`);
    }
  }

  private async atomically(key: string, fill: (temporary: string) => Promise<void>): Promise<void> {
    const target = this.path(key);
    const temporary = join(dirname(target), `.tmp-${process.pid}-${target.slice(target.lastIndexOf(sep) + 1)}`);
    try {
      await mkdir(dirname(target), { recursive: true });
      await fill(temporary);
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => undefined);
      this.fail(error, `cannot write ${target}`);
    }
  }

  async write(key: string, body: Buffer | string): Promise<void> {
    await this.atomically(key, (temporary) => writeFile(temporary, body, { mode: 0o600 }));
  }

  async upload(key: string, body: Readable): Promise<void> {
    let streamError: unknown;
    body.once('error', (error) => { streamError = error; });
    try {
      await this.atomically(key, (temporary) => pipeline(body, createWriteStream(temporary, { mode: 0o600 }) as Writable));
    } catch (error) {
      throw streamError ?? error;
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      try {
        await unlink(this.path(key));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.fail(error, `cannot delete ${this.path(key)}`);
      }
    }
  }

  close(): void {}
}

/** Reads every sidecar of the sets that have one, a few at a time; a failed read is kept as its message. */
export async function readSidecars(store: ObjectStore, sidecarKeys: readonly string[], parallel = 4): Promise<Map<string, string | { error: string }>> {
  const out = new Map<string, string | { error: string }>();
  let next = 0;
  const worker = async () => {
    while (next < sidecarKeys.length) {
      const key = sidecarKeys[next++];
      try {
        out.set(key, (await store.read(key)).toString('utf8'));
      } catch (error) {
        if (!(error instanceof StorageError)) throw error;
        out.set(key, { error: error.message });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, sidecarKeys.length) }, worker));
  return out;
}

/**
 * One S3 store per endpoint and bucket for the length of a command; `destroy()` closes their connections, so the
 * process exits as soon as the command is done. Credentials come from the SDK's default chain, resolved on first use.
 */
export class S3Clients {
  private readonly stores = new Map<string, S3Store>();

  store(location: S3Location): S3Store {
    const key = [location.endpoint, location.region, location.pathStyle, location.bucket, Boolean(location.insecure)].join('\u0000');
    let known = this.stores.get(key);
    if (!known) {
      // An endpoint that drops packets must fail in seconds, not hang a cron job. (S3Store refuses http without insecure.)
      known = new S3Store({
        endpoint: location.endpoint, region: location.region, pathStyle: location.pathStyle, bucket: location.bucket, maxAttempts: 2, requestTimeoutMs: 30_000,
        ...(location.insecure ? { insecure: true } : {}),
      });
      this.stores.set(key, known);
    }
    return known;
  }

  destroy(): void {
    for (const store of this.stores.values()) store.close();
    this.stores.clear();
  }
}
