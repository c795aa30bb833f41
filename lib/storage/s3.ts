/**
 * Reading backup storage through the S3 API (@aws-sdk/client-s3). Credentials come from the SDK's default chain
 * (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, SSO, web identity, instance roles); endpoint,
 * region and path style from the inventory. A private CA is trusted through NODE_EXTRA_CA_CERTS (read by Node at
 * start-up): the inventory's `caBundle` names a ConfigMap in the cluster, not a file here.
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { StoredObject } from './layout';

/** Where one cluster's backups are, resolved to what an S3 client needs. */
export interface S3Location {
  readonly endpoint: string;
  readonly region: string;
  readonly pathStyle: boolean;
  readonly bucket: string;
  /** Bucket-relative folder of the cluster's sets, without a trailing slash. */
  readonly folder: string;
  /** The storage allows plain http (`insecure: true`); otherwise an http endpoint is never sent a request. */
  readonly insecure?: boolean;
}

export interface ListOptions {
  /** MaxKeys of each ListObjectsV2 page. @default 1000 (the S3 maximum) */
  readonly pageSize?: number;
  /** Called after each page with the number of objects listed so far. */
  readonly onPage?: (listed: number) => void;
}

// The SDK warns on Node < 22 about its releases after January 2027: not actionable for a user of this pinned CLI,
// and it would break check's "quiet on success" in cron. An explicit setting wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/**
 * One S3 client per endpoint for the length of a command; `destroy()` closes their connections, so the process
 * exits as soon as the command is done. Credentials are resolved (and cached) by each client on first use.
 */
export class S3Clients {
  private readonly clients = new Map<string, S3Client>();

  get(location: S3Location): S3Client {
    const key = `${location.endpoint}\u0000${location.region}\u0000${location.pathStyle}`;
    let known = this.clients.get(key);
    // The last guard before credentials leave this process: validation and --endpoint checks come first.
    if (/^http:/i.test(location.endpoint) && !location.insecure) {
      throw new StorageError(`refusing to send credentials in clear to ${location.endpoint}: use https, or set \`insecure: true\` on the storage`);
    }
    if (!known) {
      known = new S3Client({
        endpoint: location.endpoint,
        region: location.region,
        forcePathStyle: location.pathStyle,
        // S3-compatible stores reject the CRC checksums the SDK sends by default (FIELD-NOTES: aws-cli 2.23+).
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        maxAttempts: 2,
        // An endpoint that drops packets must fail in seconds, not hang a cron job.
        requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
      });
      this.clients.set(key, known);
    }
    return known;
  }

  destroy(): void {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
  }
}

/** Every object under `<folder>/`, following ListObjectsV2 continuation tokens. Throws StorageError. */
export async function listFolder(clients: S3Clients, location: S3Location, options: ListOptions = {}): Promise<StoredObject[]> {
  const objects: StoredObject[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await clients.get(location).send(new ListObjectsV2Command({
        Bucket: location.bucket,
        Prefix: location.folder ? `${location.folder}/` : undefined,
        ContinuationToken: token,
        MaxKeys: options.pageSize,
      }));
      for (const object of page.Contents ?? []) objects.push({ key: object.Key!, size: object.Size ?? 0 });
      options.onPage?.(objects.length);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (error) {
    throw new StorageError(describeError(error, location));
  }
  return objects;
}

/** The text of one (small) object. Throws StorageError. */
export async function readObject(clients: S3Clients, location: S3Location, key: string): Promise<string> {
  try {
    const object = await clients.get(location).send(new GetObjectCommand({ Bucket: location.bucket, Key: key }));
    return await object.Body!.transformToString('utf8');
  } catch (error) {
    throw new StorageError(describeError(error, location, key));
  }
}

/** A storage that could not be read, with a message in the user's terms. */
export class StorageError extends Error {}

/** What went wrong, and what to do about it. */
export function describeError(error: unknown, location: S3Location, key?: string): string {
  const e = error as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number }; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code ?? e.name ?? 'Error';
  const what = key ? `s3://${location.bucket}/${key}` : `s3://${location.bucket}/${location.folder}`;
  const status = e.$metadata?.httpStatusCode;
  if (code === 'NoSuchBucket') return `bucket "${location.bucket}" does not exist at ${location.endpoint}`;
  if (code === 'NoSuchKey') return `${what} does not exist`;
  if (['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AllAccessDisabled', 'ExpiredToken'].includes(code) || status === 403) {
    return `access denied to ${what} (${code}): check the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) and their permissions`;
  }
  if (e.name === 'CredentialsProviderError') {
    return 'no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE';
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)) {
    return `TLS to ${location.endpoint} failed (${code}): point NODE_EXTRA_CA_CERTS at the CA bundle that signed it`;
  }
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'TimeoutError', 'RequestTimeout'].includes(code)) {
    return `unreachable: ${location.endpoint} (${code})`;
  }
  const detail = (e.message ?? '').split('\n')[0];
  return `${what}: ${code}${status ? ` (HTTP ${status})` : ''}${detail && detail !== code ? `: ${detail}` : ''}`;
}
