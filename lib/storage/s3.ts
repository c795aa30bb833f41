/**
 * Reading backup storage through the S3 API from the CLI (S3Store, store.ts). Credentials come from the SDK's default chain
 * (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, SSO, web identity, instance roles); endpoint,
 * region and path style from the inventory. A private CA is trusted through NODE_EXTRA_CA_CERTS (read by Node at
 * start-up): the inventory's `caBundle` names a ConfigMap in the cluster, not a file here.
 */
import { S3Store } from './store';

/** Where one cluster's backups are, resolved to what an S3 client needs. */
export interface S3Location {
  readonly endpoint: string;
  readonly region: string;
  readonly pathStyle: boolean;
  readonly bucket: string;
  /** Bucket-relative folder of the cluster's sets, without a trailing slash. */
  readonly folder: string;
}

/**
 * One S3 store per endpoint and bucket for the length of a command; `destroy()` closes their connections, so the
 * process exits as soon as the command is done. Credentials come from the SDK's default chain, resolved on first use.
 */
export class S3Clients {
  private readonly stores = new Map<string, S3Store>();

  store(location: S3Location): S3Store {
    const key = [location.endpoint, location.region, location.pathStyle, location.bucket].join('\u0000');
    let known = this.stores.get(key);
    if (!known) {
      // An endpoint that drops packets must fail in seconds, not hang a cron job.
      known = new S3Store({ endpoint: location.endpoint, region: location.region, pathStyle: location.pathStyle, bucket: location.bucket, maxAttempts: 2, requestTimeoutMs: 30_000 });
      this.stores.set(key, known);
    }
    return known;
  }

  destroy(): void {
    for (const store of this.stores.values()) store.close();
    this.stores.clear();
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
