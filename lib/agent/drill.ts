/**
 * `agent drill`: proves that the newest complete backup restores. Download, verify against the sidecar, decrypt,
 * decompress, check the trailer, restore into scratch, serve it with a throwaway etcd on 127.0.0.1 (ports the kernel
 * hands out), compare what it serves with the backup's metadata, stop it by PID, and record `<base>.drill.json`
 * beside the backup. It never talks to the cluster's live etcd and needs no node access.
 *
 * Checks (all must hold for "passed"); meta.json's values come from `snapshot status` at backup time:
 * - `snapshot status` of the downloaded snapshot: revision, total key count (bbolt's: every revision) and size;
 * - the throwaway etcd serves that revision, and at most that many live keys (recorded in the report).
 * A null in meta.json skips that comparison and says so.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { readFolder } from '../storage/folder';
import { checkSnapshotFile, InvalidSnapshotError } from '../storage/integrity';
import { compressionOf, objectKey, SUFFIX } from '../storage/layout';
import { futureSets, latestComplete, pkiEntry, snapshotEntry, untrustedLatestProblem, type AssessedSet } from '../storage/sets';
import { StorageError } from '../storage/store';
import { since, type Context } from './context';
import { AgentError, EXIT, type ExitCode } from './exit-codes';
import { decode, fetchChecked } from './fetch';
import { drillPlanSchema, loadPlan, type DrillPlan, type PlanSource } from './plan';
import { requireTools, runTool, summarize, which } from './tools';

type DrillResult = 'passed' | 'failed' | 'verified-not-restored';

interface Expected { revision: number | null; totalKeys: number | null; dbSize: number | null }
interface Observed {
  snapshotRevision: number | null; snapshotTotalKeys: number | null; dbSize: number | null; revision: number | null;
  keys: number | null; etcdVersion: string | null; verifiedObjects: string[];
}

const integer = (value: unknown): number | null => (typeof value === 'number' && Number.isSafeInteger(value) ? value : null);

export async function drill(source: PlanSource, ctx: Context): Promise<{ code: number; message: string }> {
  const started = Date.now();
  const plan = loadPlan(drillPlanSchema, source, ctx.env);
  const now = ctx.clock();
  const checkedAt = now.toISOString().replace(/\.[0-9]{3}Z$/, 'Z');
  const durations: Record<string, number> = {};
  const expected: Expected = { revision: null, totalKeys: null, dbSize: null };
  const observed: Observed = { snapshotRevision: null, snapshotTotalKeys: null, dbSize: null, revision: null, keys: null, etcdVersion: null, verifiedObjects: [] };
  Object.assign(ctx.result, { cluster: plan.cluster, snapshot: null, result: 'failed', report: null, reportUploaded: false, expected, observed, future: [], durationsMs: durations });
  requireTools(['etcd', 'etcdctl'], ctx.env);
  const work = ctx.workDir(plan.scratchDir);
  const store = ctx.store(plan.source);

  // The newest complete backup not dated in the future (exit 2 when there is none: nothing to report on).
  ctx.stage = 'resolve';
  let set: AssessedSet | undefined;
  try {
    const folder = await readFolder(store, plan.cluster, plan.source.folder, plan.signingPublicKey ? { publicKey: plan.signingPublicKey } : {});
    set = latestComplete(folder.sets, now);
    const untrusted = set ? undefined : untrustedLatestProblem(folder.sets, now);
    if (untrusted) throw new AgentError(EXIT.untrusted, `no signed backup of ${plan.cluster} in ${store.description}/${plan.source.folder}: ${untrusted}`, 'resolve');
    ctx.result.future = futureSets(folder.sets, now).map((candidate) => candidate.name);
  } catch (error) {
    if (error instanceof StorageError) throw new AgentError(EXIT.storage, error.message, 'resolve');
    throw error;
  }
  if (!set) {
    throw new AgentError(EXIT.invalidBackup, `no complete backup of ${plan.cluster} in ${store.description}/${plan.source.folder} (a set whose sidecar names snapshot and metadata, stored with their sizes)`, 'resolve');
  }
  const base = set.name;
  ctx.result.signature = set.signature;
  const reportKey = objectKey(plan.source.folder, `${base}${SUFFIX.drill}`);
  Object.assign(ctx.result, { snapshot: base, report: `${base}${SUFFIX.drill}` });
  ctx.log(`drill of ${base} from ${store.description}/${plan.source.folder}`);

  /** One object of the set, downloaded into scratch and checked against the sidecar, recorded as verified. */
  const fetched = async (file: string) => {
    const path = await fetchChecked(store, plan.source.folder, set!, file, work);
    observed.verifiedObjects.push(file);
    return path;
  };
  let etcd: ChildProcess | undefined;
  const finish = async (result: DrillResult, code: number, message: string): Promise<{ code: number; message: string }> => {
    if (etcd) await stopEtcd(ctx, etcd);
    durations.total = since(started);
    ctx.result.result = result;
    const report = { apiVersion: 'controlplane-backup/v1', kind: 'DrillReport', cluster: plan.cluster, base, checkedAt, result, message, expected, observed, durationsMs: durations };
    try {
      await store.write(reportKey, `${JSON.stringify(report)}\n`);
      ctx.result.reportUploaded = true;
      ctx.log(`drill report uploaded: ${reportKey} (${result})`);
    } catch (error) {
      if (!(error instanceof StorageError)) throw error;
      ctx.log(`WARNING: could not upload the drill report ${reportKey}: ${error.message}`);
      if (code === EXIT.ok) return { code: EXIT.storage, message: `${message}; but the drill report ${base}${SUFFIX.drill} could not be uploaded` };
    }
    return { code, message };
  };

  try {
    // Metadata first: what the restored etcd must show.
    ctx.stage = 'fetch';
    let t = Date.now();
    const metaFile = `${base}${SUFFIX.meta}`;
    const metaPath = await fetched(metaFile);
    let meta: { etcd?: Record<string, unknown> };
    try {
      meta = JSON.parse(readFileSync(metaPath, 'utf8'));
    } catch {
      throw new AgentError(EXIT.invalidBackup, `${metaFile} is not JSON`, 'fetch');
    }
    if (!meta.etcd || typeof meta.etcd !== 'object') throw new AgentError(EXIT.invalidBackup, `${metaFile} has no etcd section`, 'fetch');
    Object.assign(expected, { revision: integer(meta.etcd.revision), totalKeys: integer(meta.etcd.totalKeys), dbSize: integer(meta.etcd.dbSize) });
    durations.metadata = since(t);

    const snapshot = snapshotEntry(set)!;
    const pki = pkiEntry(set);
    const identity = plan.identityFile && existsSync(plan.identityFile) && statSync(plan.identityFile).size > 0 ? plan.identityFile : undefined;
    const encrypted = snapshot.file.endsWith('.age');

    // Encrypted and no key: verify what can be verified, and say plainly that nothing was restored.
    if (encrypted && !identity) {
      ctx.stage = 'verify';
      t = Date.now();
      for (const entry of [snapshot, ...(pki ? [pki] : [])]) await rm(await fetched(entry.file));
      durations.verify = since(t);
      ctx.stage = 'done';
      const where = plan.identitySecret ? `the Secret ${plan.identitySecret}, key identity.txt, ` : 'no identitySecret set in backup.drill, ';
      return await finish('verified-not-restored', EXIT.verifiedNotRestored, `backup ${base} verified but NOT restored: its snapshot is age-encrypted and no drill identity is mounted (${where}at ${plan.identityFile ?? '<no identity file>'}); every object matches its checksum sidecar, but only a restore proves the backup usable`);
    }
    if (encrypted) requireTools(['age'], ctx.env);
    if (compressionOf(snapshot.file.slice(base.length)) === 'zstd') requireTools(['zstd'], ctx.env);

    // Download, verify, decrypt, decompress, trailer; the PKI bundle must open with the key too.
    t = Date.now();
    const downloaded = await fetched(snapshot.file);
    const snapshotFile = join(work, 'snapshot.db');
    await decode(ctx.env, createReadStream(downloaded), snapshot.file.slice(base.length), identity, createWriteStream(snapshotFile, { mode: 0o600 }), snapshot.file);
    await rm(downloaded);
    try {
      observed.dbSize = (await checkSnapshotFile(snapshotFile)).size;
    } catch (error) {
      if (error instanceof InvalidSnapshotError) throw new AgentError(EXIT.invalidBackup, `${snapshot.file}: ${error.message}`, 'fetch');
      throw error;
    }
    if (pki && identity) {
      const path = await fetched(pki.file);
      const sink = createWriteStream('/dev/null');
      await decode(ctx.env, createReadStream(path), pki.file.slice(base.length), identity, sink, pki.file);
      await rm(path);
    } else if (pki) {
      observed.verifiedObjects = observed.verifiedObjects.filter((file) => file !== pki.file);
    }
    durations.fetch = since(t);

    // Restore into scratch as a throwaway single member (the revision is kept), on ports the kernel hands out.
    const statusTool = which('etcdutl', ctx.env) ? 'etcdutl' : 'etcdctl';
    const data = join(work, 'data');
    let ports = await freePorts();
    const token = `${plan.cluster}-drill-${process.pid}`;
    const restore = async () => {
      ctx.stage = 'restore';
      const t0 = Date.now();
      await rm(data, { recursive: true, force: true });
      const restored = await runTool(statusTool, [
        'snapshot', 'restore', snapshotFile, '--name', 'drill', '--data-dir', data,
        '--initial-cluster', `drill=http://127.0.0.1:${ports.peer}`, '--initial-cluster-token', token,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${ports.peer}`,
      ], { timeoutMs: 300_000, env: ctx.env });
      if (restored.code !== 0) throw new AgentError(EXIT.invalidBackup, `${statusTool} snapshot restore failed: ${summarize(restored.stderr)}`, 'restore');
      durations.restore = since(t0);
    };
    await restore();

    ctx.stage = 'status';
    const status = await runTool(statusTool, ['snapshot', 'status', '-w', 'json', snapshotFile], { timeoutMs: 120_000, env: ctx.env });
    if (status.code !== 0) throw new AgentError(EXIT.invalidBackup, `${statusTool} snapshot status failed on ${snapshot.file}: ${summarize(status.stderr)}`, 'status');
    try {
      const parsed = JSON.parse(status.stdout) as { revision?: number; totalKey?: number };
      observed.snapshotRevision = integer(parsed.revision);
      observed.snapshotTotalKeys = integer(parsed.totalKey);
    } catch {
      throw new AgentError(EXIT.invalidBackup, `${statusTool} snapshot status printed no JSON`, 'status');
    }
    await rm(snapshotFile); // free scratch before etcd starts

    // The throwaway etcd: loopback only, bounded; a port taken meanwhile: new ports, fresh restore (3 attempts).
    ctx.stage = 'start';
    t = Date.now();
    let endpoint = '';
    for (let attempt = 1; ; attempt++) {
      endpoint = `http://127.0.0.1:${ports.client}`;
      ctx.log(`starting a throwaway etcd on ${endpoint} (peer ${ports.peer}), data in ${data}`);
      const started = await startEtcd(ctx, plan, data, token, ports, endpoint);
      if (started.child) {
        etcd = started.child;
        break;
      }
      if (started.portTaken && attempt < 3) {
        ctx.log(`WARNING: port ${ports.client} or ${ports.peer} was taken meanwhile: trying new ports`);
        ports = await freePorts();
        await restore();
        ctx.stage = 'start';
        continue;
      }
      throw new AgentError(EXIT.etcdHealth, started.message, 'start');
    }
    durations.start = since(t);
    ctx.log(`throwaway etcd healthy on ${endpoint} (pid ${etcd.pid})`);

    // What the restored etcd serves.
    ctx.stage = 'check';
    t = Date.now();
    const ctl = (args: string[]) => runTool('etcdctl', [`--endpoints=${endpoint}`, '--dial-timeout=3s', '--command-timeout=10s', ...args], { timeoutMs: 20_000, env: { ...ctx.env, ETCDCTL_API: '3' } });
    const endpointStatus = await ctl(['endpoint', 'status', '-w', 'json']);
    if (endpointStatus.code !== 0) throw new AgentError(EXIT.etcdHealth, `etcdctl endpoint status failed: ${summarize(endpointStatus.stderr)}`, 'check');
    try {
      const [entry] = JSON.parse(endpointStatus.stdout) as { Status?: { header?: { revision?: number }; version?: string } }[];
      observed.revision = integer(entry?.Status?.header?.revision);
      observed.etcdVersion = typeof entry?.Status?.version === 'string' ? entry.Status.version : null;
    } catch {
      throw new AgentError(EXIT.etcdHealth, 'etcdctl endpoint status printed no JSON', 'check');
    }
    const count = await ctl(['get', '', '--prefix', '--keys-only', '--limit', '1', '-w', 'json']);
    if (count.code !== 0) throw new AgentError(EXIT.etcdHealth, `etcdctl get (key count) failed: ${summarize(count.stderr)}`, 'check');
    try {
      const parsed = JSON.parse(count.stdout) as { count?: number; header?: unknown };
      observed.keys = integer(parsed.count) ?? (parsed.header ? 0 : null); // protobuf JSON leaves out a zero count
    } catch {
      throw new AgentError(EXIT.etcdHealth, 'etcdctl get printed no JSON', 'check');
    }
    await stopEtcd(ctx, etcd);
    etcd = undefined;
    durations.check = since(t);

    const problems: string[] = [];
    const skipped: string[] = [];
    if (expected.revision === null) skipped.push('revision');
    else {
      if (observed.snapshotRevision !== expected.revision) problems.push(`snapshot revision ${observed.snapshotRevision}, metadata says ${expected.revision}`);
      if (observed.revision !== expected.revision) problems.push(`the restored etcd serves revision ${observed.revision}, metadata says ${expected.revision}`);
    }
    if (expected.totalKeys === null) skipped.push('totalKeys');
    else {
      if (observed.snapshotTotalKeys !== expected.totalKeys) problems.push(`snapshot holds ${observed.snapshotTotalKeys} keys (all revisions), metadata says ${expected.totalKeys}`);
      if (observed.keys === null) problems.push('the restored etcd did not report a key count');
      else if (observed.keys > expected.totalKeys) problems.push(`the restored etcd serves ${observed.keys} keys, more than the ${expected.totalKeys} (all revisions) in the backup`);
    }
    if (expected.dbSize === null) skipped.push('dbSize');
    else if (observed.dbSize !== expected.dbSize) problems.push(`snapshot is ${observed.dbSize} bytes, metadata says ${expected.dbSize}`);
    if (observed.revision === null) problems.push('the restored etcd did not report a revision');

    ctx.stage = 'done';
    if (problems.length > 0) {
      return await finish('failed', EXIT.drillMismatch, `backup ${base} restored, but the restored etcd does not match its metadata: ${problems.join('; ')}`);
    }
    const note = skipped.length ? ` (not compared, null in ${metaFile}: ${skipped.join(' ')})` : '';
    const summary = `backup ${base} restored and served by a throwaway etcd: revision ${observed.revision}, ${observed.keys} live keys, ${observed.snapshotTotalKeys} keys in the snapshot, as recorded${note}`;
    ctx.log(summary);
    return await finish('passed', EXIT.ok, summary);
  } catch (error) {
    if (error instanceof AgentError) {
      ctx.stage = error.stage ?? ctx.stage;
      const outcome = await finish('failed', error.code, error.message);
      throw new AgentError(outcome.code as ExitCode, outcome.message, ctx.stage);
    }
    await finish('failed', EXIT.failed, `internal error: ${(error as Error).message}`).catch(() => undefined);
    throw error;
  } finally {
    if (etcd) await stopEtcd(ctx, etcd);
  }
}

/** Two loopback ports the kernel hands out (bound, then released for etcd). */
async function freePorts(): Promise<{ client: number; peer: number }> {
  const one = () => new Promise<{ port: number; close: () => Promise<void> }>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as { port: number }).port, close: () => new Promise((done) => server.close(() => done())) }));
  });
  const [client, peer] = [await one(), await one()];
  await Promise.all([client.close(), peer.close()]);
  return { client: client.port, peer: peer.port };
}

/** Starts etcd and waits until healthy (bounded); the child when it is, else why not. */
async function startEtcd(ctx: Context, plan: DrillPlan, data: string, token: string, ports: { client: number; peer: number }, endpoint: string):
  Promise<{ child?: ChildProcess; portTaken?: boolean; message: string }> {
  const peer = `http://127.0.0.1:${ports.peer}`;
  const child = spawn('etcd', [
    '--name', 'drill', '--data-dir', data, '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `drill=${peer}`,
    '--initial-cluster-token', token, '--logger=zap', '--log-outputs=stderr', '--log-level=warn',
  ], { env: ctx.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => { log = (log + chunk.toString()).slice(-20_000); });
  let exited: number | null | undefined;
  child.on('exit', (code) => { exited = code; });
  child.on('error', (error) => { log += error.message; exited = -1; });
  const deadline = Date.now() + plan.etcdStartSeconds * 1000;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      return { portTaken: /address already in use/.test(log), message: `the throwaway etcd exited (code ${exited}) before it became healthy: ${summarize(log)}` };
    }
    const health = await runTool('etcdctl', [`--endpoints=${endpoint}`, '--dial-timeout=2s', '--command-timeout=3s', 'endpoint', 'health'], { timeoutMs: 8_000, env: ctx.env });
    if (health.code === 0) return { child, message: '' };
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  await stopEtcd(ctx, child);
  return { message: `the throwaway etcd was not healthy within ${plan.etcdStartSeconds}s: ${summarize(log)}` };
}

/** Stops etcd by its PID: TERM, 15 s, KILL. */
async function stopEtcd(ctx: Context, child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    ctx.log(`WARNING: etcd (pid ${child.pid}) did not stop within 15s: killed`);
    child.kill('SIGKILL');
  }, 15_000);
  await exited;
  clearTimeout(timer);
  ctx.log(`throwaway etcd (pid ${child.pid}) stopped`);
}
