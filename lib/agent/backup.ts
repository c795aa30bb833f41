/**
 * `agent backup`: the upload stage of the backup pod. The etcd image's init container has written the snapshot to
 * scratch (exec-form etcdctl). Nothing leaves the pod before the snapshot's size and sha256 trailer are verified;
 * then it is streamed through zstd (or gzip, or nothing) and age into every destination at once, with backpressure
 * and each stage's exit status checked (no compressed copy in scratch); every stored size is checked; the
 * age-encrypted PKI bundle and meta.json follow; the sidecar is written last; then retention runs per destination.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { PACKAGE_VERSION } from '../version';
import { formatSidecar, type SidecarEntry } from '../storage/sidecar';
import { privateKeyObject, publicKeyOf, signingKeyId, signSidecar } from '../storage/signature';
import { checkSnapshotFile, InvalidSnapshotError, sha256, sha256File } from '../storage/integrity';
import { objectKey, setName, SUFFIX, type Compression, type StoredObject } from '../storage/layout';
import { StorageError, type ObjectStore } from '../storage/store';
import { since, type Context } from './context';
import { AgentError, EXIT } from './exit-codes';
import { backupPlanSchema, loadPlan, type BackupPlan, type Destination, type PlanSource } from './plan';
import { applyRetention, type RetentionOutcome } from './retention';
import { collectFiles, tarStream } from './tar';
import { pipeThrough, requireTools, runTool, StageError, summarize, which } from './tools';

interface ObjectRecord { key: string; size: number; sha256: string }

interface DestinationResult {
  name: string;
  kind: Destination['kind'];
  status: 'ok' | 'upload-failed' | 'retention-failed';
  error: string | null;
  uploadMs: number;
  deleted: number;
  retentionSkipped: string | null;
  future: string[];
  /** Sets due for deletion but kept under S3 Object Lock (only when there are any). */
  locked?: readonly { readonly name: string; readonly deletableAfter: string }[];
}

/** Compression, then age when there are recipients: the stream as it is stored. */
function encode(input: Readable, compression: Compression, level: number | null, recipients: readonly string[], env: NodeJS.ProcessEnv): Readable {
  let stream = input;
  if (compression === 'zstd') stream = pipeThrough('zstd', 'zstd', ['-q', '-c', '-T0', ...(level ? [`-${level}`] : [])], stream, env);
  if (compression === 'gzip') {
    const gzip = createGzip(level ? { level } : {});
    stream.on('error', (error) => gzip.destroy(error));
    stream = stream.pipe(gzip);
  }
  if (recipients.length > 0) stream = pipeThrough('age', 'age', recipients.flatMap((recipient) => ['-r', recipient]), stream, env);
  return stream;
}

export async function backup(source: PlanSource, ctx: Context): Promise<{ code: number; message: string }> {
  const started = Date.now();
  const durations: Record<string, number> = {};
  ctx.result.durationsMs = durations;
  const plan = loadPlan(backupPlanSchema, source, ctx.env);
  const now = ctx.clock();
  const base = setName(plan.cluster, now);
  Object.assign(ctx.result, { cluster: plan.cluster, base, dbSize: null, revision: null, totalKeys: null, objects: [], destinations: [], deleted: 0, future: [] });
  await checkConfiguration(plan, ctx);
  const signingKey = await loadSigningKey(plan);
  const work = ctx.workDir(plan.scratchDir);

  // 1. verify the snapshot before anything leaves the pod; revision, key count and the server version meanwhile.
  ctx.stage = 'verify';
  let t = Date.now();
  const status = snapshotStatus(plan.snapshotFile, ctx.env);
  const version = serverVersion(plan, ctx.env);
  let check;
  try {
    check = await checkSnapshotFile(plan.snapshotFile, plan.minSnapshotBytes);
  } catch (error) {
    if (error instanceof InvalidSnapshotError) throw new AgentError(EXIT.invalidBackup, error.message, 'verify');
    throw error;
  }
  const { revision, totalKeys, tool: statusTool } = await status;
  Object.assign(ctx.result, { dbSize: check.size, revision, totalKeys });
  durations.verify = since(t);
  ctx.log(`snapshot ${plan.snapshotFile} verified: ${check.size} bytes, revision ${revision}, ${totalKeys} keys`);

  const compression = plan.compression.algorithm;
  const snapshotRecipients = plan.encryptSnapshot ? plan.recipients : [];
  const snapshotFile = `${base}${SUFFIX.snapshot(compression, plan.encryptSnapshot)}`;

  // 2. the PKI bundle: small, built into scratch (tar in Node, then compressed and encrypted).
  let pki: { file: string; path: string; size: number; sha256: string; files: number } | undefined;
  if (plan.pki) {
    ctx.stage = 'pki';
    t = Date.now();
    const files = await collectFiles([...plan.pki.paths, ...(plan.pki.encryptionConfigFile ? [plan.pki.encryptionConfigFile] : [])]);
    if (files.length === 0) throw new AgentError(EXIT.config, `the PKI paths hold no files: ${plan.pki.paths.join(' ')}`, 'pki');
    const file = `${base}${SUFFIX.pki(compression)}`;
    const path = join(work, file);
    try {
      await pipeline(encode(tarStream(files), compression, plan.compression.level, plan.recipients, ctx.env), createWriteStream(path, { mode: 0o600 }));
    } catch (error) {
      throw new AgentError(EXIT.failed, `building the PKI bundle failed: ${(error as Error).message}`, 'pki');
    }
    pki = { file, path, size: (await stat(path)).size, sha256: await sha256File(path), files: files.length };
    durations.pki = since(t);
    ctx.log(`PKI bundle: ${files.length} files, ${pki.size} bytes`);
  }

  // 3. the snapshot: one stream, fanned out to every destination's upload at once.
  ctx.stage = 'upload';
  t = Date.now();
  const targets = plan.destinations.map((destination) => ({ destination, store: ctx.store(destination), error: null as string | null }));
  const produced = await streamToAll(
    encode(createReadStream(plan.snapshotFile, { highWaterMark: 1 << 20 }), compression, plan.compression.level, snapshotRecipients, ctx.env),
    targets.map(({ destination, store }) => ({ store, key: objectKey(destination.folder, snapshotFile) })),
  );
  durations.stream = since(t);
  if ('producerError' in produced) {
    ctx.stage = 'compress';
    await Promise.all(targets.map(({ destination, store }) => removePartial(store, destination, [snapshotFile])));
    throw new AgentError(EXIT.failed, `compression/encryption of the snapshot failed (${compression}, encryption ${plan.encryptSnapshot ? 'age' : 'none'}): ${produced.producerError}`, 'compress');
  }
  targets.forEach((target, i) => { target.error = produced.errors[i]; });
  // Scratch is freed as soon as the snapshot is stored (best effort: it may belong to another user).
  await rm(plan.snapshotFile, { force: true }).catch(() => undefined);

  // 4. metadata and sidecar, the same for every destination.
  ctx.stage = 'metadata';
  const objects: ObjectRecord[] = [
    { key: snapshotFile, size: produced.size, sha256: produced.sha256 },
    ...(pki ? [{ key: pki.file, size: pki.size, sha256: pki.sha256 }] : []),
  ];
  ctx.result.objects = objects;
  const meta = `${JSON.stringify({
    apiVersion: 'controlplane-backup/v1',
    packageVersion: PACKAGE_VERSION,
    cluster: plan.cluster,
    createdAt: now.toISOString().replace(/\.[0-9]{3}Z$/, 'Z'),
    base,
    request: plan.request,
    etcd: { revision, totalKeys, dbSize: check.size, serverVersion: await version, endpoint: plan.etcd.endpoint, statusTool },
    node: ctx.env.NODE_NAME ?? '',
    compression: { algorithm: compression, level: plan.compression.level },
    encryption: { snapshot: plan.encryptSnapshot ? 'age' : 'none', pki: pki ? 'age' : 'none', recipients: plan.recipients.length },
    pki: { included: Boolean(pki), files: pki?.files ?? 0 },
    objects,
    durationsMs: durations,
  })}\n`;
  const metaFile = `${base}${SUFFIX.meta}`;
  const entries: SidecarEntry[] = [
    ...objects.map((object) => ({ file: object.key, sha256: object.sha256, size: object.size })),
    { file: metaFile, sha256: sha256(meta), size: Buffer.byteLength(meta) },
  ];
  const sidecar = formatSidecar(entries);
  const signatureFile = `${base}${SUFFIX.signature}`;
  const signature = signingKey ? signSidecar(signingKey, plan.cluster, base, sidecar) : undefined;
  const ownFiles = [...entries.map((entry) => entry.file), ...(signature ? [signatureFile] : [])];

  // 5. per destination, at once: PKI bundle and meta.json, every stored size checked, the sidecar LAST, retention.
  const results: DestinationResult[] = await Promise.all(targets.map(async ({ destination, store, error }): Promise<DestinationResult> => {
    const t0 = Date.now();
    const result: DestinationResult = { name: destination.name, kind: destination.kind, status: 'ok', error: null, uploadMs: 0, deleted: 0, retentionSkipped: null, future: [] };
    const key = (file: string) => objectKey(destination.folder, file);
    try {
      if (error) throw new StorageError(`upload of ${snapshotFile} failed: ${error}`);
      await Promise.all([
        ...(pki ? [store.upload(key(pki.file), createReadStream(pki.path)).catch((e: Error) => { throw new StorageError(`upload of ${pki.file} failed: ${e.message}`); })] : []),
        store.write(key(metaFile), meta).catch((e: Error) => { throw new StorageError(`upload of ${metaFile} failed: ${e.message}`); }),
      ]);
      const listed = new Map((await store.list(destination.folder)).map((object: StoredObject) => [object.key, object.size]));
      for (const entry of entries) {
        const stored = listed.get(key(entry.file));
        if (stored !== entry.size) throw new StorageError(`upload of ${entry.file} failed: stored size ${stored ?? 'none'}, ${entry.size} bytes produced`);
      }
      // The signature before the sidecar: the sidecar stays the last object, the marker of a complete set.
      if (signature) await store.write(key(signatureFile), signature).catch((e: Error) => { throw new StorageError(`upload of ${signatureFile} failed: ${e.message}`); });
      await store.write(key(`${base}${SUFFIX.sidecar}`), sidecar).catch((e: Error) => { throw new StorageError(`upload of ${base}${SUFFIX.sidecar} failed: ${e.message}`); });
    } catch (failure) {
      if (!(failure instanceof StorageError)) throw failure;
      result.status = 'upload-failed';
      result.error = failure.message;
      result.uploadMs = since(t0);
      ctx.log(`ERROR: destination ${destination.name} (${store.description}): ${failure.message}`);
      await removePartial(store, destination, ownFiles);
      return result;
    }
    result.uploadMs = since(t0);
    ctx.log(`destination ${destination.name} (${store.description}): uploaded ${base} in ${durations.stream + result.uploadMs}ms`);
    if (destination.kind === 's3' && destination.retentionBy === 'pruneJob') {
      result.retentionSkipped = 'retention runs in the prune CronJob (the storage has pruneCredentials)';
      return result;
    }
    // No expectPki: sets taken before the PKI bundle was switched on are complete without one (never "incomplete").
    const retention: RetentionOutcome = await applyRetention(ctx, store, destination, plan, { current: base, now });
    Object.assign(result, { deleted: retention.deleted, retentionSkipped: retention.skipped, future: retention.future, ...(retention.locked.length ? { locked: retention.locked } : {}) });
    if (retention.error) {
      result.status = 'retention-failed';
      result.error = retention.error;
    }
    return result;
  }));
  ctx.result.destinations = results;
  ctx.result.deleted = results.reduce((sum, result) => sum + result.deleted, 0);
  ctx.result.future = [...new Set(results.flatMap((result) => result.future))];
  durations.total = since(started);

  if (results.some((result) => result.status === 'upload-failed')) {
    ctx.stage = 'upload';
    return { code: EXIT.storage, message: `upload failed for ${results.filter((r) => r.status === 'upload-failed').map((r) => r.name).join(', ')} (see destinations in the result line)` };
  }
  if (results.some((result) => result.status === 'retention-failed')) {
    ctx.stage = 'retention';
    return { code: EXIT.retention, message: `backup ${base} complete, but retention failed for ${results.filter((r) => r.status === 'retention-failed').map((r) => r.name).join(', ')}` };
  }
  ctx.stage = 'done';
  ctx.log(`backup ${base} complete: ${results.length} destination(s), ${ctx.result.deleted as number} object(s) removed by retention`);
  return { code: EXIT.ok, message: 'backup complete' };
}

/** Tools, recipients and paths, before anything is read or written (exit 3). */
async function checkConfiguration(plan: BackupPlan, ctx: Context): Promise<void> {
  const needed = [
    ...(plan.compression.algorithm === 'zstd' ? ['zstd'] : []),
    ...(plan.recipients.length > 0 ? ['age'] : []),
  ];
  requireTools(needed, ctx.env);
  if (plan.recipients.length > 0) {
    const probe = await runTool('age', plan.recipients.flatMap((recipient) => ['-r', recipient]), { timeoutMs: 10_000, env: ctx.env });
    if (probe.code !== 0) throw new AgentError(EXIT.config, `invalid age recipient in the plan: ${summarize(probe.stderr)}`, 'config');
  }
  for (const path of [...(plan.pki?.paths ?? []), ...(plan.pki?.encryptionConfigFile ? [plan.pki.encryptionConfigFile] : [])]) {
    try {
      await stat(path);
    } catch {
      throw new AgentError(EXIT.config, `PKI path does not exist: ${path}`, 'config');
    }
  }
}

/**
 * The signing key of the plan, read before anything is taken (exit 3 when it is missing, unreadable or not the key
 * whose public half the inventory names); undefined when the cluster has no signing key.
 */
async function loadSigningKey(plan: BackupPlan) {
  if (!plan.signing) return undefined;
  const { keyFile, publicKey } = plan.signing;
  const create = `create it once in this cluster with \`controlplane-backup keygen --cluster ${plan.cluster} --namespace <backup namespace> | kubectl create -f -\` (README, "Signed backups")`;
  let pem: string;
  try {
    pem = await readFile(keyFile, 'utf8');
  } catch (error) {
    throw new AgentError(EXIT.config, `signing key missing: ${keyFile} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}) is not mounted; the Secret named by backup.signing.secretName holds it under key signing-key.pem: ${create}`, 'config');
  }
  let key;
  try {
    key = privateKeyObject(pem);
  } catch (error) {
    throw new AgentError(EXIT.config, `signing key ${keyFile} ${(error as Error).message}: ${create}`, 'config');
  }
  const actual = publicKeyOf(key);
  if (actual !== publicKey) {
    throw new AgentError(EXIT.config, `signing key ${keyFile} (key ${signingKeyId(actual)}) is not the one backup.signing.publicKey names (key ${signingKeyId(publicKey)}): put its public key ${actual} into the inventory, or mount the matching Secret`, 'config');
  }
  return key;
}

/** Revision and key count of the snapshot (best effort, bounded): etcdutl, else etcdctl. */
async function snapshotStatus(file: string, env: NodeJS.ProcessEnv): Promise<{ revision: number | null; totalKeys: number | null; tool: string | null }> {
  const tool = which('etcdutl', env) ? 'etcdutl' : which('etcdctl', env) ? 'etcdctl' : null;
  if (!tool) return { revision: null, totalKeys: null, tool };
  const result = await runTool(tool, ['snapshot', 'status', '-w', 'json', file], { timeoutMs: 60_000, env });
  try {
    const status = JSON.parse(result.stdout) as { revision?: number; totalKey?: number };
    return { revision: Number.isInteger(status.revision) ? status.revision! : null, totalKeys: Number.isInteger(status.totalKey) ? status.totalKey! : null, tool };
  } catch {
    return { revision: null, totalKeys: null, tool };
  }
}

/** etcd's server version (best effort, bounded), `unknown` otherwise. */
async function serverVersion(plan: BackupPlan, env: NodeJS.ProcessEnv): Promise<string> {
  if (!which('etcdctl', env)) return 'unknown';
  const { etcd } = plan;
  const result = await runTool('etcdctl', [
    `--endpoints=${etcd.endpoint}`, `--cacert=${etcd.caFile}`, `--cert=${etcd.certFile}`, `--key=${etcd.keyFile}`,
    '--dial-timeout=5s', '--command-timeout=8s', 'endpoint', 'status', '-w', 'json',
  ], { timeoutMs: 15_000, env });
  try {
    const version = (JSON.parse(result.stdout) as { Status?: { version?: string } }[])[0]?.Status?.version;
    return typeof version === 'string' && /^[0-9A-Za-z.+-]+$/.test(version) ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Streams `input` into one upload per target at once. Backpressure: the next chunk is read when every live upload
 * has taken the last one. A failed upload stops receiving; the others go on. Returns the size and sha256 of what was
 * produced and each upload's error, or the producer's error (then every upload fails and leaves nothing).
 */
async function streamToAll(input: Readable, targets: readonly { store: ObjectStore; key: string }[]):
  Promise<{ size: number; sha256: string; errors: (string | null)[] } | { producerError: string }> {
  const hash = createHash('sha256');
  let size = 0;
  const lanes = targets.map(({ store, key }) => {
    const body = new PassThrough({ highWaterMark: 1 << 20 });
    const lane = { body, error: null as string | null, settled: false, done: undefined as unknown as Promise<void> };
    lane.done = store.upload(key, body).then(
      () => { lane.settled = true; },
      (error: Error) => { lane.settled = true; lane.error ??= error.message; body.resume(); },
    );
    return lane;
  });
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
      const waits: Promise<unknown>[] = [];
      for (const lane of lanes) {
        if (lane.error || lane.settled) continue;
        if (!lane.body.write(chunk)) waits.push(Promise.race([once(lane.body, 'drain'), lane.done]));
      }
      if (waits.length) await Promise.all(waits);
    }
  } catch (error) {
    const message = error instanceof StageError ? error.message : (error as Error).message;
    for (const lane of lanes) lane.body.destroy(new StageError(message));
    await Promise.all(lanes.map((lane) => lane.done));
    return { producerError: message };
  }
  for (const lane of lanes) lane.body.end();
  await Promise.all(lanes.map((lane) => lane.done));
  if (size === 0) return { producerError: 'empty output' };
  return { size, sha256: hash.digest('hex'), errors: lanes.map((lane) => lane.error) };
}

/** Best-effort removal of this run's objects from a destination (never a sidecar: none was written there). */
async function removePartial(store: ObjectStore, destination: Destination, files: readonly string[]): Promise<void> {
  await store.delete(files.filter((file) => !file.endsWith(SUFFIX.sidecar)).map((file) => objectKey(destination.folder, file))).catch(() => undefined);
}

