/**
 * The typed plans the agent's commands read: rendered by synthesis from the cluster plan into a ConfigMap (mounted as
 * a file, `--plan PATH`) or, for static pods, into an env var (`--plan-env NAME`). Validated with zod on start: a
 * wrong or missing field, or a plan of another package version, is exit 3 before anything is touched.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { signingPublicKeyProblem } from '../storage/signature';
import { PACKAGE_VERSION } from '../version';
import { AgentError, EXIT } from './exit-codes';

export const PLAN_API_VERSION = 'controlplane-backup.io/v1';

const count = z.number().int().min(0);

const retention = z.object({
  keepLast: count, maxAgeHours: count, hourly: count, daily: count, weekly: count, monthly: count,
}).strict();

/**
 * `$(NAME)` references in endpoint and bucket are expanded from the container's env by the agent (an
 * ObjectBucketClaim's bucket and host are known only to its ConfigMap, which the pod reads into env).
 */
const s3Destination = z.object({
  name: z.string().min(1),
  kind: z.literal('s3'),
  endpoint: z.string().min(1),
  region: z.string().min(1),
  pathStyle: z.boolean(),
  bucket: z.string().min(1),
  /** Bucket-relative folder of the cluster's sets. */
  folder: z.string(),
  /** Env vars holding the credentials; the SDK's default chain when null. */
  credentials: z.object({ accessKeyIdEnv: z.string().min(1), secretAccessKeyEnv: z.string().min(1) }).strict().nullable(),
  /** PEM file of a private CA trusted besides the system roots. */
  caFile: z.string().startsWith('/').nullable(),
  sse: z.object({ type: z.enum(['AES256', 'aws:kms']), kmsKeyId: z.string().nullable() }).strict().nullable(),
  retention,
  /** The storage allows an http endpoint (`insecure: true`); absent: false, and an http endpoint is refused (exit 3). */
  insecure: z.boolean().optional(),
  /**
   * Workload identity kind (`aws-irsa`, `aws-projectedToken`, `aws-podIdentity`) when `credentials` is null because
   * the pod assumes a role: the agent checks that the pod got what the kind needs, and says what is missing.
   */
  identity: z.string().min(1).optional(),
  /** S3 Object Lock: every object is uploaded with this retention mode until its set's time + days. */
  objectLock: z.object({ mode: z.enum(['GOVERNANCE', 'COMPLIANCE']), days: z.number().int().min(1) }).strict().optional(),
  /**
   * `pruneJob`: the cluster's prune CronJob applies retention here with credentials that may delete; a backup then
   * never deletes (its credentials need not allow it). Absent: the backup applies retention itself.
   */
  retentionBy: z.literal('pruneJob').optional(),
}).strict();

/** A Google Cloud Storage bucket through its JSON API. */
/** What every cloud object store's destination names besides its location. */
const cloudDestinationFields = {
  name: z.string().min(1),
  /** Who the pod authenticates as, for messages about denied access. */
  authenticatesAs: z.string().min(1),
  /** The inventory allows an http endpoint (a test server); otherwise the agent refuses to send credentials to one. */
  insecure: z.boolean().optional(),
  retention,
};

const gcsDestination = z.object({
  ...cloudDestinationFields,
  kind: z.literal('gcs'),
  bucket: z.string().min(1),
  /** Bucket-relative folder of the cluster's sets. */
  folder: z.string(),
  /** JSON API endpoint; the public one when null. */
  endpoint: z.string().min(1).nullable(),
  /** Env var holding the service-account JSON key; Application Default Credentials (GKE Workload Identity) when null. */
  keyJsonEnv: z.string().min(1).nullable(),
}).strict();

/** An Azure Blob Storage container. */
const azureBlobDestination = z.object({
  ...cloudDestinationFields,
  kind: z.literal('azureBlob'),
  account: z.string().min(1),
  container: z.string().min(1),
  /** Container-relative folder of the cluster's sets. */
  folder: z.string(),
  /** Blob service URL. */
  endpoint: z.string().min(1),
  /** Env var holding a connection string; Azure Workload Identity (the webhook's env) when null. */
  connectionStringEnv: z.string().min(1).nullable(),
  /** Client and tenant id of the workload identity, when the storage uses one. */
  clientId: z.string().min(1).nullable(),
  tenantId: z.string().min(1).nullable(),
}).strict();

const localDestination = z.object({
  name: z.string().min(1),
  kind: z.literal('local'),
  /** The storage's root directory inside the pod (a hostPath volume). */
  path: z.string().startsWith('/'),
  folder: z.string(),
  retention,
}).strict();

export const destinationSchema = z.discriminatedUnion('kind', [s3Destination, gcsDestination, azureBlobDestination, localDestination]);
/** A destination the drill can read and write its report to: every object store (a local copy is on one node only). */
export const remoteDestinationSchema = z.discriminatedUnion('kind', [s3Destination, gcsDestination, azureBlobDestination]);
export type Destination = z.infer<typeof destinationSchema>;

/** The cluster's signing public key (lib/storage/signature.ts), checked like the inventory checks it. */
export const signingPublicKey = z.string().superRefine((value, ctx) => {
  const problem = signingPublicKeyProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const header = {
  apiVersion: z.literal(PLAN_API_VERSION),
  /** The package version that rendered the plan: the agent refuses another. */
  packageVersion: z.string().min(1),
  cluster: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).max(63),
  /** Scratch volume: every temporary file goes here (TMPDIR wins when set). */
  scratchDir: z.string().startsWith('/'),
  /** The Job's activeDeadlineSeconds: incomplete sets younger than this are never pruned. */
  deadlineSeconds: z.number().int().positive(),
};

/** The fields every plan starts with (the restore plans in lib/agent/restore/plans.ts use them too). */
export const planHeader = header;

export const backupPlanSchema = z.object({
  ...header,
  kind: z.literal('BackupPlan'),
  /** On-demand request name, recorded in meta.json. */
  request: z.string().nullable(),
  snapshotFile: z.string().startsWith('/'),
  minSnapshotBytes: count,
  compression: z.object({ algorithm: z.enum(['zstd', 'gzip', 'none']), level: z.number().int().min(1).max(19).nullable() }).strict(),
  /** age recipients (public keys); the snapshot is encrypted when `encryptSnapshot`, the PKI bundle always. */
  recipients: z.array(z.string().regex(/^age1[0-9a-z]+$/)),
  encryptSnapshot: z.boolean(),
  /** Paths archived into the PKI bundle; null when no PKI bundle is taken. */
  pki: z.object({ paths: z.array(z.string().startsWith('/')).min(1), encryptionConfigFile: z.string().startsWith('/').nullable() }).strict().nullable(),
  etcd: z.object({ endpoint: z.string().url(), caFile: z.string(), certFile: z.string(), keyFile: z.string() }).strict(),
  destinations: z.array(destinationSchema).min(1),
  /**
   * The set's signing: the private key file (a Secret volume, PKCS#8 PEM) and its public key, which retention checks
   * the listed sets against; null when the cluster has no signing key (sets are unsigned, every complete one counts).
   */
  signing: z.object({ keyFile: z.string().startsWith('/'), publicKey: signingPublicKey }).strict().nullable().default(null),
}).strict().superRefine((plan, ctx) => {
  if ((plan.encryptSnapshot || plan.pki) && plan.recipients.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['recipients'], message: plan.pki ? 'a PKI bundle is always encrypted: recipients are required' : 'encryptSnapshot needs recipients' });
  }
  const names = plan.destinations.map((destination) => destination.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate) ctx.addIssue({ code: 'custom', path: ['destinations'], message: `destination "${duplicate}" is listed twice` });
});
export type BackupPlan = z.infer<typeof backupPlanSchema>;

export const drillPlanSchema = z.object({
  ...header,
  kind: z.literal('DrillPlan'),
  /** The storage the drill reads (and writes its report to). */
  source: remoteDestinationSchema,
  /** The age identity file; the drill verifies without restoring when it is absent or empty. */
  identityFile: z.string().startsWith('/').nullable(),
  /** The Secret the identity comes from, for messages. */
  identitySecret: z.string().nullable(),
  /** Bound of the throwaway etcd's start. */
  etcdStartSeconds: z.number().int().positive(),
  /** The cluster's signing public key: only a set signed with it is drilled; null: signatures are not checked. */
  signingPublicKey: signingPublicKey.nullable().default(null),
}).strict();
export type DrillPlan = z.infer<typeof drillPlanSchema>;

/** Where the plan comes from: `--plan PATH` or `--plan-env NAME`. */
export interface PlanSource {
  readonly path?: string;
  readonly env?: string;
}

/** Reads, parses and validates a plan; every problem is an AgentError with exit 3 and a message naming the field. */
export function loadPlan<S extends z.ZodType>(schema: S, source: PlanSource, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  let text: string;
  let where: string;
  if (source.path) {
    where = source.path;
    try {
      text = readFileSync(source.path, 'utf8');
    } catch (error) {
      throw new AgentError(EXIT.config, `cannot read the plan ${source.path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'config');
    }
  } else if (source.env) {
    where = `env ${source.env}`;
    const value = env[source.env];
    if (value === undefined || value === '') throw new AgentError(EXIT.config, `the plan env var ${source.env} is not set`, 'config');
    text = value;
  } else {
    throw new AgentError(EXIT.config, 'no plan: pass --plan PATH (the mounted plan ConfigMap) or --plan-env NAME', 'config');
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new AgentError(EXIT.config, `the plan (${where}) is not JSON: ${(error as Error).message}`, 'config');
  }
  const version = (data as { packageVersion?: unknown } | null)?.packageVersion;
  if (typeof version === 'string' && version !== PACKAGE_VERSION) {
    throw new AgentError(EXIT.config, `the plan (${where}) was rendered by controlplane-backup ${version}, this agent is ${PACKAGE_VERSION}: `
      + 'synthesize dist/ with the same version as the tools image (or point images.tools at the image of that version)', 'config');
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(plan)'}: ${issue.message}`);
    throw new AgentError(EXIT.config, `invalid plan (${where}): ${problems.join('; ')}`, 'config');
  }
  return parsed.data;
}

/** `$(NAME)` -> the env var's value; an unset variable is a configuration error naming it. */
export function expandEnv(value: string, env: NodeJS.ProcessEnv, field: string): string {
  return value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (_, name: string) => {
    const found = env[name];
    if (found === undefined || found === '') throw new AgentError(EXIT.config, `${field} refers to $(${name}), which is not set in the container's env`, 'config');
    return found;
  });
}
