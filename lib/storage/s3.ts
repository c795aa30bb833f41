/**
 * Where backup storage is, for the S3 API, and what went wrong reading it, in the user's terms (the clients: S3Store
 * and S3Clients in store.ts). Credentials come from the SDK's default chain (AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, SSO, web identity, instance roles); endpoint, region and path
 * style from the inventory. A private CA is trusted through NODE_EXTRA_CA_CERTS (read by Node at start-up): the
 * inventory's `caBundle` names a ConfigMap in the cluster, not a file here.
 */

/** Where one cluster's backups are, resolved to what an S3 client needs. */
export interface S3Location {
  /** Absent in S3 locations made before the other kinds: an S3 location is the default. */
  readonly kind?: 's3';
  readonly endpoint: string;
  readonly region: string;
  readonly pathStyle: boolean;
  readonly bucket: string;
  /** Bucket-relative folder of the cluster's sets, without a trailing slash. */
  readonly folder: string;
  /** The storage allows plain http (`insecure: true`); otherwise an http endpoint is never sent a request. */
  readonly insecure?: boolean;
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
