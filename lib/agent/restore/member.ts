/**
 * `controlplane-backup agent restore-member`: restores ONE kubeadm (stacked etcd) member on its node. All members run
 * at once and meet at a barrier in the object store before any of them stops etcd.
 *
 * Steps: (1) marker present -> skipped (finishing a parked manifest); (2) resolve, fetch and verify into scratch;
 * (3) restore into <dataDir>/.restore-<id>.staging; (4) barrier: every member staged the same backup; (5) stop etcd:
 * its manifest parked as <manifest dir>/.etcd.yaml.restore-<id> (the kubelet ignores dot files) until the endpoint
 * stops answering; (6) swap in (previous data kept as member.before-restore-<id>); (7) PKI (the current files
 * copied to <pki>/.before-restore-<id>/ first); (8) marker; (9) manifest back; (10) health.
 * Exit codes: 0 ok or skipped; 1 other; 2 snapshot invalid; 3 configuration or decryption key; 4 storage;
 * 6 barrier (node untouched); 7 etcd did not stop (manifest put back, node untouched); 8 etcd not healthy after the
 * restore (data and PKI restored, marker written). A failure after etcd stopped and before the marker leaves etcd
 * stopped and says so: running the restore again with the same id finishes it.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { runTool, summarize } from '../tools';
import { readTar, TarError } from '../tar';
import { checkCertificates, checkCluster, checkEtcdVersion, checkFreeSpace } from './checks';
import { markerPath, restoreInto, restoreToolVersion, swapIn } from './etcd-data';
import { AgentError, EXIT, type ExitCode } from '../exit-codes';
import { sleep as realSleep, stderrLog, type Log, type RestoreResult } from './outcome';
import { markerText } from './replica';

export interface MemberPlan {
  readonly cluster: string;
  readonly restoreId: string;
  /** `<cluster>-<timestamp>` or `latest` */
  readonly snapshotName: string;
  readonly memberName: string;
  readonly peerUrl: string;
  /** every member's name: the barrier waits for each */
  readonly members: readonly string[];
  readonly initialCluster: string;
  readonly initialClusterToken: string;
  readonly dataDir: string;
  readonly etcdManifest: string;
  /** this member's client URL, with the healthcheck client's certificate */
  readonly etcd: { readonly endpoint: string; readonly caFile: string; readonly certFile: string; readonly keyFile: string };
  readonly pki: { readonly restore: boolean; readonly dir: string; readonly archivePrefix: string };
  readonly bumpRevision: boolean;
  readonly scratchDir: string;
  readonly timeouts: { readonly barrierSeconds: number; readonly stopSeconds: number; readonly healthSeconds: number };
  /** restore a backup of another cluster (its meta.json) */
  readonly allowCrossCluster?: boolean;
}

export interface FetchedBackup {
  /** the decoded snapshot, trailer verified */
  readonly snapshotFile: string;
  /** what the set's meta.json says: the cluster it was taken of and the etcd that served it */
  readonly meta?: { readonly cluster?: string; readonly etcdVersion?: string };
  /** the decoded PKI bundle (a tar archive), when asked for */
  readonly pkiTar?: Buffer;
  dispose(): void;
}

/** The barrier in the object store: one small object per member holding the backup it staged. */
export interface Barrier {
  stage(member: string, snapshot: string): Promise<void>;
  /** member -> staged backup, for the members that staged */
  staged(): Promise<ReadonlyMap<string, string>>;
  /** where, for messages */
  readonly location: string;
}

export interface MemberDeps {
  /** `latest` -> the newest complete backup; a name -> itself after checking its form; throws AgentError */
  resolve(name: string): Promise<string>;
  /** fetches and verifies (sidecar, sha256, decryption, trailer) into `dir`; throws AgentError */
  fetchVerified(name: string, withPki: boolean, dir: string): Promise<FetchedBackup>;
  readonly barrier?: Barrier;
  /** keeps the result line where it outlives the pod (the object store) */
  readonly recordResult?: (resultLine: string) => Promise<void>;
  /** does this member answer at all (endpoint status: without quorum too)? */
  readonly etcdAnswers?: () => Promise<boolean>;
  /** is it healthy (endpoint health: with quorum)? detail on failure */
  readonly etcdHealthy?: () => Promise<{ ok: boolean; detail: string }>;
  /** the etcd version of the tool that rebuilds the data dir (default: `etcdutl version`) */
  readonly restoreToolVersion?: () => Promise<string | undefined>;
  readonly log?: Log;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

export class Member {
  private stage = 'config';
  private snapshot: string | null = null;
  private revisionBumped = false;
  private pkiRestored: boolean | null = false;
  private readonly durations: Record<string, number> = {};
  private readonly log: Log;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly started: number;
  private readonly parked: string;
  private readonly staging: string;
  private readonly outDir: string;
  private stopped = false;
  private swapStarted = false;
  private marked = false;

  constructor(private readonly plan: MemberPlan, private readonly deps: MemberDeps) {
    this.log = deps.log ?? stderrLog;
    this.sleep = deps.sleep ?? realSleep;
    this.now = deps.now ?? Date.now;
    this.started = this.now();
    this.parked = join(dirname(plan.etcdManifest), `.${basename(plan.etcdManifest)}.restore-${plan.restoreId}`);
    this.staging = join(plan.dataDir, `.restore-${plan.restoreId}.staging`);
    this.outDir = join(plan.scratchDir, `restore-${plan.restoreId}`);
  }

  async run(): Promise<RestoreResult> {
    let result: RestoreResult;
    try {
      result = await this.steps();
    } catch (error) {
      if (!(error instanceof AgentError)) throw error;
      this.cleanup();
      result = this.result('failed', error.code, error.message, error.stage);
    }
    await this.record(result);
    return result;
  }

  /**
   * The result outlives the pod (issue 11 item 2): a file next to the marker on the node, and an object beside the
   * barrier in the object store (a no-op re-run leaves them as they are). On the node whatever the outcome: a static
   * pod removes its own manifest at the end, and after a rollback the restored API server no longer knows the Job's
   * pod, so the file is where a person on the node reads how it ended. Best effort: the result line on stdout stays
   * the record of last resort.
   */
  private async record(result: RestoreResult): Promise<void> {
    // a second run changes nothing, the record of how the restore ended included
    if (result.status === 'skipped') return;
    const text = `${JSON.stringify(result)}\n`;
    const file = resultPath(this.plan.dataDir, this.plan.restoreId);
    if (isDir(this.plan.dataDir)) {
      try {
        writeFileSync(`${file}.part`, text);
        renameSync(`${file}.part`, file);
      } catch (error) {
        this.log(`WARNING: cannot write the result file ${file}: ${(error as Error).message}`);
      }
    }
    if (this.deps.recordResult) {
      await this.deps.recordResult(text).catch((error) => this.log(`WARNING: cannot record the result in the object store: ${(error as Error).message}`));
    }
  }

  /**
   * On SIGTERM: the same cleanup as a failure (etcd back when its data was not touched), recorded like any result.
   * After a rollback through the Job, the kubelet stops the pod during the health wait once the restored API server
   * no longer knows it: the data is in place then, and the result says so.
   */
  async onSignal(): Promise<RestoreResult> {
    this.cleanup();
    const { plan } = this;
    const message = this.marked
      ? `terminated by signal while waiting for etcd's health: the data of ${this.snapshot} is in place (marker ${markerPath(plan.dataDir, plan.restoreId)}); `
        + 'after a rollback the kubelet stops this pod once the restored API server no longer knows it: check the cluster as the RUNBOOK\'s Verify section says'
      : 'terminated by signal';
    const result = this.result('failed', EXIT.failed, message);
    await this.record(result);
    return result;
  }

  private fail(code: ExitCode, message: string): AgentError {
    return new AgentError(code, message, this.stage);
  }

  private async steps(): Promise<RestoreResult> {
    const { plan, deps } = this;
    if (!isDir(plan.dataDir)) throw this.fail(EXIT.config, `data dir ${plan.dataDir} is not a directory (is the host path mounted?)`);
    if (plan.pki.restore && !isDir(plan.pki.dir)) throw this.fail(EXIT.config, `PKI dir ${plan.pki.dir} is not a directory (is the host path mounted?)`);
    if (plan.scratchDir === plan.dataDir || plan.scratchDir.startsWith(`${plan.dataDir}/`)) throw this.fail(EXIT.config, 'the scratch dir must not be inside the data dir');
    const marker = markerPath(plan.dataDir, plan.restoreId);

    // 1. already done?
    this.stage = 'marker';
    if (existsSync(marker)) {
      this.snapshot = /^snapshot=(.*)$/m.exec(readFileSync(marker, 'utf8'))?.[1] ?? null;
      if (!existsSync(plan.etcdManifest) && existsSync(this.parked)) {
        // the earlier run stopped between the marker and moving the manifest back: finish that step only
        try { renameSync(this.parked, plan.etcdManifest); } catch (e) { throw this.fail(EXIT.failed, `cannot move ${this.parked} back to ${plan.etcdManifest}: ${(e as Error).message}`); }
        this.log(`restore ${plan.restoreId} was done but etcd's manifest was still parked: moved it back to ${plan.etcdManifest}`);
      }
      this.log(`already restored: ${marker} exists (restore ${plan.restoreId} of ${this.snapshot}); nothing to do`);
      this.pkiRestored = null;
      return this.result('skipped', 0, 'already restored');
    }
    if (!existsSync(plan.etcdManifest) && !existsSync(this.parked)) {
      throw this.fail(EXIT.config, `etcd manifest not found: ${plan.etcdManifest} (nor ${this.parked} from an earlier attempt)`);
    }

    // 2. resolve, fetch and verify into scratch (nothing else on the node is touched before this succeeded)
    this.stage = 'resolve';
    const name = await deps.resolve(plan.snapshotName);
    this.snapshot = name;
    this.stage = 'fetch';
    rmSync(this.outDir, { recursive: true, force: true });
    mkdirSync(this.outDir, { recursive: true, mode: 0o700 });
    let t0 = this.now();
    const fetched = await deps.fetchVerified(name, plan.pki.restore, this.outDir);
    this.durations.fetch = this.now() - t0;
    const pkiFiles = plan.pki.restore ? this.pkiFilesOf(name, fetched.pkiTar) : [];
    await this.preRestoreChecks(fetched, pkiFiles);

    // 3. staging (inside the data dir: the swap is a rename on one file system)
    this.stage = 'restore';
    t0 = this.now();
    try {
      const restored = await restoreInto({
        snapshotFile: fetched.snapshotFile, staging: this.staging, memberName: plan.memberName, peerUrl: plan.peerUrl,
        initialCluster: plan.initialCluster, initialClusterToken: plan.initialClusterToken, bumpRevision: plan.bumpRevision, log: this.log,
      });
      this.revisionBumped = restored.revisionBumped;
    } finally {
      fetched.dispose();
    }
    this.durations.restore = this.now() - t0;

    // 4. barrier
    if (plan.members.length > 1) await this.barrier(name);

    // 5. stop etcd
    this.stage = 'stop-etcd';
    t0 = this.now();
    await this.stopEtcd();
    this.durations.stopEtcd = this.now() - t0;

    // 6. swap
    t0 = this.now();
    this.swapStarted = true;
    this.stage = 'swap';
    swapIn(plan.dataDir, this.staging, plan.restoreId, this.log);
    this.durations.swap = this.now() - t0;

    // 7. PKI
    if (plan.pki.restore) {
      this.stage = 'pki';
      t0 = this.now();
      this.restorePki(pkiFiles);
      this.durations.pki = this.now() - t0;
    }

    // 8. marker
    this.stage = 'marker';
    try {
      writeFileSync(`${marker}.part`, markerText(plan.restoreId, name, plan.memberName, this.revisionBumped, this.now(), this.pkiRestored === true));
      renameSync(`${marker}.part`, marker);
    } catch (e) {
      throw this.fail(EXIT.failed, `cannot write the marker ${marker}: ${(e as Error).message}`);
    }
    this.marked = true;

    // 9. start etcd
    this.stage = 'start-etcd';
    t0 = this.now();
    try { renameSync(this.parked, plan.etcdManifest); } catch (e) {
      throw this.fail(EXIT.failed, `data restored, but the manifest could not be moved back: mv ${this.parked} ${plan.etcdManifest} by hand (${(e as Error).message})`);
    }
    this.stopped = false;
    this.log(`manifest moved back to ${plan.etcdManifest}; waiting (at most ${plan.timeouts.healthSeconds}s) for etcd health`);

    // 10. health
    const deadline = this.now() + plan.timeouts.healthSeconds * 1000;
    for (;;) {
      const health = await this.healthy();
      if (health.ok) break;
      if (this.now() >= deadline) {
        this.durations.startEtcd = this.now() - t0;
        throw this.fail(EXIT.etcdHealth, `etcd at ${plan.etcd.endpoint} not healthy ${plan.timeouts.healthSeconds}s after the restore (${health.detail}): the data of ${name} is in place (marker ${marker}); check the etcd container's log on this node, that every member of '${plan.members.join(' ')}' was restored by restore ${plan.restoreId}, and the peer URLs (RUNBOOK: etcd not healthy after restore)`);
      }
      await this.sleep(1000);
    }
    this.durations.startEtcd = this.now() - t0;
    this.stage = 'done';
    rmSync(this.outDir, { recursive: true, force: true });
    this.log(`restore ${plan.restoreId} of member ${plan.memberName} from ${name} complete; etcd healthy`);
    return this.result('ok', 0, 'restore complete');
  }

  private pkiFilesOf(name: string, tar: Buffer | undefined): { rel: string; data: Buffer; mode: number }[] {
    const prefix = this.plan.pki.archivePrefix.replace(/^\/+|\/+$/g, '');
    if (!tar) throw this.fail(EXIT.invalidBackup, `backup ${name} has no PKI bundle (${name}.pki.tar[.zst|.gz].age not in its sidecar)`);
    let entries;
    try { entries = readTar(tar); } catch (e) {
      if (e instanceof TarError) throw this.fail(EXIT.invalidBackup, `PKI bundle of ${name} is not a readable tar archive: ${e.message}`);
      throw e;
    }
    const files = entries.filter((f) => f.path.startsWith(`${prefix}/`)).map((f) => ({ rel: f.path.slice(prefix.length + 1), data: f.data, mode: f.mode }));
    if (files.length === 0) {
      throw this.fail(EXIT.invalidBackup, `the PKI bundle of ${name} has no files under ${prefix}/ (first entries: ${entries.slice(0, 3).map((f) => f.path).join(', ')}); set the PKI archive prefix`);
    }
    this.log(`PKI bundle: ${files.length} files under ${prefix}/`);
    return files;
  }

  /**
   * Checks before anything destructive (issue 11 item 5): the backup is of this cluster (meta.json) unless
   * allowCrossCluster, its etcd version is one this etcdutl can restore, room for the staging dir on the data dir's
   * file system, and the backup's certificates when its PKI is restored (expired: fail; within 7 days: a warning).
   */
  private async preRestoreChecks(fetched: FetchedBackup, pkiFiles: readonly { rel: string; data: Buffer }[]): Promise<void> {
    const { plan } = this;
    this.stage = 'checks';
    const fs = statfsSync(plan.dataDir);
    const toolVersion = await (this.deps.restoreToolVersion ?? restoreToolVersion)();
    const findings = [
      ...checkCluster(fetched.meta?.cluster, plan.cluster, plan.allowCrossCluster ?? false),
      ...checkEtcdVersion(fetched.meta?.etcdVersion, toolVersion),
      ...checkFreeSpace(plan.dataDir, fs.bavail * fs.bsize, statSync(fetched.snapshotFile).size),
      ...checkCertificates(pkiFiles.map((f) => ({ path: `${plan.pki.archivePrefix}/${f.rel}`, data: f.data })), new Date()),
    ];
    for (const warning of findings.filter((f) => f.severity === 'warning')) this.log(`WARNING: ${warning.message}`);
    const errors = findings.filter((f) => f.severity === 'error');
    if (errors.length) {
      const code = errors.some((f) => f.check === 'certificates' || f.check === 'cluster' || f.check === 'etcd-version') ? EXIT.invalidBackup : EXIT.failed;
      throw this.fail(code, `${errors.map((f) => f.message).join('; ')}; nothing on this node was changed`);
    }
  }

  private async barrier(name: string): Promise<void> {
    const { plan } = this;
    const barrier = this.deps.barrier;
    if (!barrier) throw this.fail(EXIT.config, 'a restore of more than one member needs the barrier in the object store');
    this.stage = 'barrier';
    const t0 = this.now();
    await barrier.stage(plan.memberName, name);
    this.log(`staged ${name}; waiting (at most ${plan.timeouts.barrierSeconds}s) for every member at ${barrier.location}`);
    const deadline = this.now() + plan.timeouts.barrierSeconds * 1000;
    let nextNote = 0;
    for (;;) {
      let waiting: string;
      try {
        const staged = await barrier.staged();
        const missing = plan.members.filter((m) => !staged.has(m));
        if (missing.length === 0) {
          const differ = plan.members.filter((m) => staged.get(m) !== name).map((m) => `${m}=${staged.get(m)}`);
          if (differ.length === 0) break;
          throw this.fail(EXIT.barrier, `members resolved different snapshots (${plan.memberName}=${name}, ${differ.join(', ')}): start a new restore (new id) with an explicit snapshot; nothing on this node was changed`);
        }
        waiting = ` ${missing.join(' ')}`;
      } catch (error) {
        if (error instanceof AgentError && error.code === EXIT.barrier) throw error;
        waiting = ` (listing failed: ${(error as Error).message})`;
      }
      const now = this.now();
      if (now >= deadline) {
        throw this.fail(EXIT.barrier, `barrier timeout: after ${plan.timeouts.barrierSeconds}s still waiting for member(s):${waiting} at ${barrier.location} (is each member's restore Job running?); nothing on this node was changed`);
      }
      if (now >= nextNote) {
        this.log(`barrier: waiting for${waiting}`);
        nextNote = now + 15_000;
      }
      await this.sleep(2000);
    }
    this.durations.barrier = this.now() - t0;
    this.log(`barrier passed: all ${plan.members.length} members staged ${name}`);
  }

  /** Parks the manifest and waits until the member stops answering (3 failed probes in a row). */
  private async stopEtcd(): Promise<void> {
    const { plan } = this;
    if (existsSync(plan.etcdManifest)) {
      try { renameSync(plan.etcdManifest, this.parked); } catch (e) { throw this.fail(EXIT.failed, `cannot move ${plan.etcdManifest} to ${this.parked}: ${(e as Error).message}`); }
      this.log(`etcd manifest parked at ${this.parked}; waiting (at most ${plan.timeouts.stopSeconds}s) for etcd to stop`);
    } else {
      this.log(`etcd manifest already parked at ${this.parked} by an earlier attempt; checking that etcd is stopped`);
    }
    this.stopped = true;
    const deadline = this.now() + plan.timeouts.stopSeconds * 1000;
    let fails = 0;
    for (;;) {
      fails = (await this.answers()) ? 0 : fails + 1;
      if (fails >= 3) break;
      if (this.now() >= deadline) {
        this.stopped = false;
        try { renameSync(this.parked, plan.etcdManifest); } catch {
          throw this.fail(EXIT.etcdStop, `etcd at ${plan.etcd.endpoint} still answers ${plan.timeouts.stopSeconds}s after its manifest was moved away, AND the manifest could not be moved back from ${this.parked}: move it back by hand`);
        }
        throw this.fail(EXIT.etcdStop, `etcd at ${plan.etcd.endpoint} still answers ${plan.timeouts.stopSeconds}s after its manifest was moved away (is the kubelet running? is etcd a static pod from ${dirname(plan.etcdManifest)}?); manifest moved back, nothing on this node was changed`);
      }
      await this.sleep(500);
    }
    this.log(`etcd at ${plan.etcd.endpoint} stopped`);
  }

  private restorePki(files: { rel: string; data: Buffer; mode: number }[]): void {
    const { plan } = this;
    const dir = plan.pki.dir;
    const saved = join(dir, `.before-restore-${plan.restoreId}`);
    const io = <T>(what: string, f: () => T): T => { try { return f(); } catch (e) { throw this.fail(EXIT.failed, `${what}: ${(e as Error).message}`); } };
    if (isDir(saved)) {
      this.log(`${saved} exists from an earlier attempt of restore ${plan.restoreId}: keeping it as the copy of the original PKI`);
    } else {
      const part = `${saved}.part`;
      io(`cannot create ${part}`, () => { rmSync(part, { recursive: true, force: true }); mkdirSync(part, { mode: 0o700 }); });
      const current = io(`cannot list ${dir}`, () => listFiles(dir).filter((f) => !f.startsWith('.before-restore-')));
      for (const f of current) {
        io(`cannot copy ${dir}/${f} to ${part}`, () => {
          mkdirSync(dirname(join(part, f)), { recursive: true });
          copyFileSync(join(dir, f), join(part, f));
          chmodSync(join(part, f), statSync(join(dir, f)).mode & 0o7777);
        });
      }
      io(`cannot rename ${part} to ${saved}`, () => renameSync(part, saved));
      this.log(`current PKI (${current.length} files) copied to ${saved}`);
    }
    for (const f of files) {
      const target = join(dir, f.rel);
      io(`cannot replace ${target}`, () => {
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(`${target}.restore-tmp`, f.data, { mode: f.mode || 0o600 });
        chmodSync(`${target}.restore-tmp`, f.mode || 0o600);
        renameSync(`${target}.restore-tmp`, target);
      });
    }
    this.pkiRestored = true;
    this.log(`PKI restored: ${files.length} files written to ${dir} (files not in the bundle were left as they are)`);
  }

  private cleanup(): void {
    rmSync(this.outDir, { recursive: true, force: true });
    if (!this.swapStarted) rmSync(this.staging, { recursive: true, force: true });
    if (this.stopped && !this.marked) {
      if (!this.swapStarted && existsSync(this.parked) && !existsSync(this.plan.etcdManifest)) {
        try {
          renameSync(this.parked, this.plan.etcdManifest);
          this.log(`etcd's data was not changed: manifest moved back to ${this.plan.etcdManifest}`);
          return;
        } catch { /* say so below */ }
      }
      this.log(`ERROR: etcd is left STOPPED (manifest parked at ${this.parked}): run this restore again with the id ${this.plan.restoreId} to finish it`);
    }
  }

  private etcdctl(args: string[], timeoutMs: number) {
    const { etcd } = this.plan;
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ETCDCTL_API: '3', ETCDCTL_CACERT: etcd.caFile, ETCDCTL_CERT: etcd.certFile, ETCDCTL_KEY: etcd.keyFile };
    return runTool('etcdctl', [`--endpoints=${etcd.endpoint}`, ...args], { timeoutMs, env });
  }

  private async answers(): Promise<boolean> {
    if (this.deps.etcdAnswers) return this.deps.etcdAnswers();
    // a live local member accepts a connection within milliseconds; the command keeps a full second for a busy one
    return (await this.etcdctl(['--dial-timeout=500ms', '--command-timeout=1s', 'endpoint', 'status'], 10_000)).code === 0;
  }

  private async healthy(): Promise<{ ok: boolean; detail: string }> {
    if (this.deps.etcdHealthy) return this.deps.etcdHealthy();
    const r = await this.etcdctl(['--dial-timeout=2s', '--command-timeout=5s', 'endpoint', 'health'], 15_000);
    return { ok: r.code === 0, detail: summarize(r.stderr) };
  }

  private result(status: RestoreResult['status'], exitCode: number, message: string, stage = this.stage): RestoreResult {
    if (status === 'failed') this.log(`ERROR: ${message}`);
    return {
      status, exitCode, stage, message, cluster: this.plan.cluster, restoreId: this.plan.restoreId,
      snapshot: this.snapshot && this.snapshot !== 'latest' ? this.snapshot : null, revisionBumped: this.revisionBumped,
      member: this.plan.memberName, pkiRestored: this.pkiRestored, durationsMs: { ...this.durations, total: this.now() - this.started },
    };
  }
}

/** `<dataDir>/.controlplane-backup-restore-<id>.result.json`: how the member's restore ended, on the node. */
function resultPath(dataDir: string, restoreId: string): string {
  return join(dataDir, `.controlplane-backup-restore-${restoreId}.result.json`);
}

function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(dir, path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

function isDir(path: string): boolean {
  try { return statSync(path).isDirectory(); } catch { return false; }
}
