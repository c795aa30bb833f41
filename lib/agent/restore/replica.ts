/**
 * `controlplane-backup agent restore-replica`: the per-ordinal Job of a hosted restore. It waits until the coordinator
 * records phase RestoringSnapshot (its pod cannot mount a volume still attached to a running etcd pod elsewhere; on
 * the same node the wait keeps it off live data), restores the recorded backup into a staging dir beside the data
 * dir, swaps it in, leaves the marker and reports `replica-<i>: restored` (or `failed: <message>`).
 * Exit codes: 0 ok or skipped; 2 snapshot invalid; 3 configuration or decryption key; 4 storage fetch failed;
 * 9 Kubernetes API error; 10 the restore failed elsewhere or the wait timed out; 1 other (restore/swap failed).
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { replicaDecision } from './coordinator-machine';
import { markerPath, restoreInto, swapIn } from './etcd-data';
import { AgentError, EXIT } from '../exit-codes';
import { sleep as realSleep, stderrLog, type HostedRestoreDeps, type Log, type RestoreResult } from './outcome';

export interface ReplicaPlan {
  readonly cluster: string;
  readonly restoreId: string;
  readonly namespace: string;
  readonly statusConfigMap: string;
  readonly ordinal: number;
  readonly memberName: string;
  readonly peerUrl: string;
  readonly initialCluster: string;
  readonly initialClusterToken: string;
  /** the etcd container's --data-dir inside the mounted volume */
  readonly dataDir: string;
  readonly bumpRevision: boolean;
  readonly timeouts: { readonly restoreSeconds: number; readonly pollSeconds: number };
}

/** A fetched and verified snapshot in scratch. */
export interface VerifiedSnapshot {
  readonly file: string;
  /** frees the scratch space */
  dispose(): void;
}

export interface ReplicaDeps extends HostedRestoreDeps {
  /** Fetches the named backup into scratch and verifies it (sidecar, sha256, decryption, trailer); throws AgentError. */
  fetchVerified(name: string): Promise<VerifiedSnapshot>;
}

export class Replica {
  private acting = false;
  private reported = false;
  private snapshot: string | null = null;
  private revisionBumped = false;
  private stage = 'config';
  private readonly log: Log;
  private readonly now: () => number;
  private readonly started: number;
  private readonly durations: Record<string, number> = {};

  constructor(private readonly plan: ReplicaPlan, private readonly deps: ReplicaDeps) {
    this.log = deps.log ?? stderrLog;
    this.now = deps.now ?? Date.now;
    this.started = this.now();
  }

  async run(): Promise<RestoreResult> {
    try {
      return await this.steps();
    } catch (error) {
      if (!(error instanceof AgentError)) throw error;
      if (this.acting) await this.report(`failed: ${error.message}`).catch((e) => this.log(`ERROR: cannot report the failure in the status ConfigMap: ${(e as Error).message}`));
      return this.result('failed', error.code, error.message, error.stage);
    }
  }

  /** On SIGTERM: a replica that was restoring reports the failure, so that the coordinator does not wait for it. */
  async onSignal(): Promise<RestoreResult> {
    if (this.acting) await this.report('failed: terminated by a signal while restoring').catch(() => undefined);
    return this.result('failed', EXIT.failed, 'terminated by signal');
  }

  private async steps(): Promise<RestoreResult> {
    const { plan, deps } = this;
    const sleep = deps.sleep ?? realSleep;
    const parent = dirname(plan.dataDir);
    if (!isDir(parent)) throw new AgentError(EXIT.config, `the volume is not mounted: ${parent} does not exist`);
    const marker = markerPath(plan.dataDir, plan.restoreId);

    this.stage = 'marker';
    if (existsSync(marker)) {
      this.log(`marker ${marker} present: replica ${plan.ordinal} already restored by restore ${plan.restoreId}`);
      await this.reportRestored();
      return this.result('skipped', 0, `replica ${plan.ordinal} already restored by restore ${plan.restoreId}`);
    }

    this.stage = 'wait';
    this.log(`waiting (at most ${plan.timeouts.restoreSeconds}s) for phase RestoringSnapshot of ${plan.namespace}/${plan.statusConfigMap}`);
    const deadline = this.now() + plan.timeouts.restoreSeconds * 1000;
    let status: Record<string, string> = {};
    for (;;) {
      try {
        status = await deps.kube.configMapData(plan.statusConfigMap);
        const decision = replicaDecision(status.phase ?? '', status.reason ?? '', plan.restoreId, plan.ordinal, marker);
        if (decision.kind === 'act') break;
        if (decision.kind === 'skip') return this.result('skipped', 0, decision.message);
        if (decision.kind === 'stop') throw new AgentError(EXIT.phaseFailed, decision.message);
      } catch (error) {
        if (error instanceof AgentError) throw error;
        this.log(`WARNING: ${(error as Error).message}`);
      }
      if (this.now() >= deadline) {
        this.acting = true; // report it: the coordinator must not wait for a replica that gave up
        throw new AgentError(EXIT.phaseFailed, `phase RestoringSnapshot not reached within ${plan.timeouts.restoreSeconds}s (last phase: ${status.phase || 'unknown'}): data untouched`);
      }
      await sleep(plan.timeouts.pollSeconds * 1000);
    }

    this.acting = true;
    const name = status.snapshot ?? '';
    if (!name || name === 'latest') throw new AgentError(EXIT.config, `the status ConfigMap has no resolved snapshot (data.snapshot='${name}'): data untouched`);
    this.snapshot = name;
    this.log(`restoring ${name} as member ${plan.memberName} (${plan.peerUrl}) into ${plan.dataDir}`);
    this.stage = 'fetch';
    let t0 = this.now();
    const verified = await deps.fetchVerified(name);
    this.durations.fetch = this.now() - t0;
    const staging = join(parent, `.restore-${plan.restoreId}-staging`);
    try {
      this.stage = 'restore';
      t0 = this.now();
      const restored = await restoreInto({
        snapshotFile: verified.file, staging, memberName: plan.memberName, peerUrl: plan.peerUrl,
        initialCluster: plan.initialCluster, initialClusterToken: plan.initialClusterToken, bumpRevision: plan.bumpRevision, log: this.log,
      });
      this.revisionBumped = restored.revisionBumped;
      this.durations.restore = this.now() - t0;
    } finally {
      verified.dispose();
    }
    this.stage = 'swap';
    try { mkdirSync(plan.dataDir, { recursive: true, mode: 0o700 }); } catch (e) { throw new AgentError(EXIT.failed, `cannot create ${plan.dataDir}: ${(e as Error).message}`, 'swap'); }
    swapIn(plan.dataDir, staging, plan.restoreId, this.log);
    try {
      writeFileSync(marker, markerText(plan.restoreId, name, plan.memberName, this.revisionBumped, this.now()));
    } catch (e) {
      throw new AgentError(EXIT.failed, `cannot write the marker ${marker} (the restored data is in place): ${(e as Error).message}`, 'marker');
    }
    this.log(`replica ${plan.ordinal} restored; marker ${marker}`);
    this.acting = false;
    this.stage = 'report';
    await this.reportRestored();
    return this.result('ok', 0, `replica ${plan.ordinal} restored from ${name}`);
  }

  private async reportRestored(): Promise<void> {
    try {
      await this.report('restored');
    } catch (error) {
      throw new AgentError(EXIT.kubernetesApi, `restored, but cannot report it in the status ConfigMap: ${(error as Error).message} (the Job's retry reports it from the marker)`);
    }
  }

  private async report(value: string): Promise<void> {
    if (value !== 'restored' && this.reported) return;
    this.reported = true;
    await this.deps.kube.patchConfigMapData(this.plan.statusConfigMap, { [`replica-${this.plan.ordinal}`]: value, updatedAt: new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z') });
  }

  private result(status: RestoreResult['status'], exitCode: number, message: string, stage = this.stage): RestoreResult {
    if (status === 'failed') this.log(`ERROR: ${message}`);
    return {
      status, exitCode, stage, message, cluster: this.plan.cluster, restoreId: this.plan.restoreId, snapshot: this.snapshot,
      revisionBumped: this.revisionBumped, role: 'replica', ordinal: this.plan.ordinal, member: this.plan.memberName,
      durationsMs: { ...this.durations, total: this.now() - this.started },
    };
  }
}

/** The marker's content: what was restored, for the person who finds it. */
export function markerText(restoreId: string, snapshot: string, member: string, revisionBumped: boolean, at: number, pki?: boolean): string {
  const lines = [`snapshot=${snapshot}`, `restoreId=${restoreId}`, `member=${member}`, `restoredAt=${new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z')}`, `revisionBumped=${revisionBumped}`];
  if (pki !== undefined) lines.push(`pki=${pki}`);
  return `${lines.join('\n')}\n`;
}

function isDir(path: string): boolean {
  try { return statSync(path).isDirectory(); } catch { return false; }
}
