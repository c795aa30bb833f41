/**
 * Where backup storage is, for the S3 API, and what went wrong reading it, in the user's terms (the clients: S3Store
 * and S3Clients in store.ts). Credentials come from the SDK's default chain (AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, SSO, web identity, instance roles); endpoint, region and path
 * style from the inventory. A private CA is trusted through NODE_EXTRA_CA_CERTS (read by Node at start-up): the
 * inventory's `caBundle` names a ConfigMap in the cluster, not a file here.
 */

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
    return `no credentials${detail(e.message) ? ` (${detail(e.message)})` : ''}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or give the pod a workload identity`;
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)) {
    return `TLS to ${location.endpoint} failed (${code}): point NODE_EXTRA_CA_CERTS at the CA bundle that signed it`;
  }
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'TimeoutError', 'RequestTimeout'].includes(code)) {
    return `unreachable: ${location.endpoint} (${code})`;
  }
  const first = detail(e.message);
  return `${what}: ${code}${status ? ` (HTTP ${status})` : ''}${first && first !== code ? `: ${first}` : ''}`;
}

const detail = (message: string | undefined) => (message ?? '').split('\n')[0];

/**
 * What a pod lacks for its workload identity (kinds of lib/plan/identity.ts), from its env and whether a file can be
 * read; undefined when the SDK's default chain has what it needs. Checked before the first request, because the
 * SDK's own message ("Could not load credentials from any providers") does not say which piece is missing.
 */
export function workloadIdentityProblem(kind: string, env: NodeJS.ProcessEnv, readable: (path: string) => string | undefined): string | undefined {
  switch (kind) {
    case 'aws-irsa':
    case 'aws-projectedToken': {
      const who = kind === 'aws-irsa'
        ? 'the EKS pod identity webhook sets it from the ServiceAccount\'s eks.amazonaws.com/role-arn annotation: check the annotation and that the webhook runs'
        : 'the pod spec sets it: the pod runs a spec older than its plan, or was edited';
      for (const name of ['AWS_ROLE_ARN', 'AWS_WEB_IDENTITY_TOKEN_FILE']) {
        if (!env[name]) return `${name} is not set (${who})`;
      }
      const file = env.AWS_WEB_IDENTITY_TOKEN_FILE!;
      const error = readable(file);
      if (error) {
        return `the web identity token ${file} (AWS_WEB_IDENTITY_TOKEN_FILE) cannot be read (${error}): `
          + (kind === 'aws-irsa' ? 'the EKS webhook did not mount it into this container' : 'the projected ServiceAccount token volume is not mounted into this container');
      }
      return undefined;
    }
    case 'aws-podIdentity':
      if (!env.AWS_CONTAINER_CREDENTIALS_FULL_URI) {
        return 'AWS_CONTAINER_CREDENTIALS_FULL_URI is not set: the EKS Pod Identity webhook injects it only when a pod identity association names this '
          + 'ServiceAccount (aws eks create-pod-identity-association) and the eks-pod-identity-agent add-on runs';
      }
      return undefined;
    default:
      return undefined;
  }
}
