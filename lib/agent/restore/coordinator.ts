/**
 * `controlplane-backup agent restore-coordinator`: walks the hosted restore's state machine (coordinator-machine.ts)
 * through the Kubernetes API and records every phase, reason and message in the status ConfigMap (merge patches of
 * data, each with updatedAt). The replica Jobs act only during RestoringSnapshot and report `replica-<i>` there.
 *
 * Status ConfigMap data: phase, reason, message, snapshot (the resolved backup every replica restores),
 * original-statefulset-replicas and original-deployment-<name> (to undo by hand), replica-<i>, updatedAt.
 * Exit codes: 0 ok or skipped; 2 snapshot invalid; 3 configuration or decryption key; 4 storage fetch failed;
 * 9 Kubernetes API error; 10 a phase failed (reason in the status and the result line); 1 other.
 */
import { KubeError } from '../kube';
import {
  describeDeployments, ownerMessage, replicaProgress, revertingOwners, startFrom, transition, validationReason, type FailureReason, type Outcome, type State,
} from './coordinator-machine';
import { AgentError, EXIT } from '../exit-codes';
import { sleep as realSleep, stderrLog, type HostedRestoreDeps, type Log, type RestoreResult } from './outcome';

export interface CoordinatorPlan {
  readonly cluster: string;
  readonly restoreId: string;
  readonly namespace: string;
  readonly statefulSet: string;
  /** replicas the inventory expects */
  readonly replicas: number;
  readonly controlPlaneDeployments: readonly string[];
  readonly statusConfigMap: string;
  /** `<cluster>-<timestamp>` or `latest` */
  readonly snapshotName: string;
  /** where the backup is, for messages */
  readonly snapshotLocation: string;
  readonly timeouts: { readonly stopSeconds: number; readonly restoreSeconds: number; readonly startSeconds: number; readonly pollSeconds: number };
}

export interface CoordinatorDeps extends HostedRestoreDeps {
  /** Resolves (`latest`), fetches and verifies the backup in scratch, then frees the space; throws AgentError. */
  verifySnapshot(name: string): Promise<string>;
}

/** A failure that ends the current phase: the reason goes to the status ConfigMap. */
class PhaseFailure extends Error {
  constructor(readonly exitCode: number, readonly reason: FailureReason, message: string) {
    super(message);
  }
}

export class Coordinator {
  state: State = { phase: 'Pending' };
  private snapshot: string;
  private statusFinal = false;
  private readonly log: Log;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private recorded: Record<string, string> = {};
  private originalStatefulSet: number | undefined;
  private readonly originalDeployments: [string, number][] = [];
  private matchLabels: Record<string, string> = {};
  private readonly started: number;

  constructor(private readonly plan: CoordinatorPlan, private readonly deps: CoordinatorDeps) {
    this.snapshot = plan.snapshotName;
    this.log = deps.log ?? stderrLog;
    this.sleep = deps.sleep ?? realSleep;
    this.now = deps.now ?? Date.now;
    this.started = this.now();
  }

  async run(): Promise<RestoreResult> {
    const { plan } = this;
    try {
      this.recorded = await this.deps.kube.configMapData(plan.statusConfigMap);
    } catch (error) {
      return this.result('failed', EXIT.kubernetesApi, 'status', `${messageOf(error)} (the restore bundle creates it with data.phase=Pending)`);
    }
    const start = startFrom(this.recorded.phase, this.recorded.reason ?? '', this.recorded.message ?? '');
    if (start.kind === 'skip') {
      this.state = { phase: 'Succeeded' };
      this.snapshot = this.recorded.snapshot || this.snapshot;
      this.log(`restore ${plan.restoreId} already Succeeded (snapshot ${this.snapshot}): nothing to do`);
      return this.result('skipped', 0, 'status', `restore ${plan.restoreId} already Succeeded`);
    }
    if (start.kind === 'refuse') {
      this.state = { phase: 'Failed', reason: start.reason as FailureReason, message: start.message, exitCode: EXIT.phaseFailed };
      return this.result('failed', EXIT.phaseFailed, 'status',
        `restore ${plan.restoreId} already Failed (${start.reason}): ${start.message} -- a Failed restore is never resumed; start a new restore with a new id`);
    }
    if (start.kind === 'invalid') {
      return this.result('failed', EXIT.config, 'status', `status ConfigMap ${plan.namespace}/${plan.statusConfigMap} has an unknown phase '${start.phase}'`);
    }
    if (start.resumedFrom) this.log(`restore ${plan.restoreId} was interrupted during ${start.resumedFrom}: replaying the phases with the recorded snapshot and originals`);
    if (this.recorded.snapshot) this.snapshot = this.recorded.snapshot;
    if (this.recorded['original-statefulset-replicas']) this.originalStatefulSet = Number(this.recorded['original-statefulset-replicas']);

    this.state = transition(this.state, { kind: 'start' });
    while (this.state.phase !== 'Succeeded' && this.state.phase !== 'Failed') {
      const phase = this.state.phase;
      if (phase === 'Pending') throw new Error('the coordinator never works in phase Pending');
      let outcome: Outcome;
      try {
        await this[phase]();
        outcome = { kind: 'done' };
      } catch (error) {
        if (error instanceof PhaseFailure) outcome = { kind: 'failed', reason: error.reason, message: error.message, exitCode: error.exitCode };
        else if (error instanceof KubeError) outcome = { kind: 'failed', reason: 'ApiError', message: error.message, exitCode: EXIT.kubernetesApi };
        else throw error;
      }
      this.state = transition(this.state, outcome);
    }
    if (this.state.phase === 'Failed') {
      const failed = this.state;
      await this.recordFailure(failed.reason, failed.message);
      return this.result('failed', failed.exitCode, failed.reason, failed.message);
    }
    const message = `restored ${this.snapshot} into ${plan.replicas} etcd replica(s) of ${plan.statefulSet}; control plane scaled back (${describeDeployments(this.originalDeployments)}). Restart kubelets and clients that cache etcd revisions if the revision was not bumped.`;
    this.statusFinal = true;
    try {
      await this.setPhase('Succeeded', message);
    } catch (error) {
      return this.result('failed', EXIT.kubernetesApi, 'Succeeded', `${messageOf(error)}; the restore itself is complete: ${message}`);
    }
    return this.result('ok', 0, 'Succeeded', `restore ${plan.restoreId} of ${this.snapshot} succeeded`, { replicas: plan.replicas });
  }

  /** On SIGTERM (activeDeadlineSeconds, pod deletion): keep the phase, so that a retry of the Job replays it. */
  async onSignal(): Promise<RestoreResult> {
    const phase = this.state.phase;
    await this.deps.kube.patchConfigMapData(this.plan.statusConfigMap, {
      message: `coordinator terminated by a signal during ${phase}; a retry of the Job resumes from the recorded state, otherwise start a new restore`,
      updatedAt: isoNow(this.now()),
    }).catch(() => undefined);
    return this.result('failed', EXIT.failed, phase, `terminated by signal during ${phase}`);
  }

  // ---- phases -------------------------------------------------------------------------------------------------

  private async Validating(): Promise<void> {
    const { plan, deps } = this;
    await this.setPhase('Validating', `fetching and verifying backup ${this.snapshot} from ${plan.snapshotLocation}`);
    try {
      this.snapshot = await deps.verifySnapshot(this.snapshot);
    } catch (error) {
      if (!(error instanceof AgentError)) throw error;
      throw new PhaseFailure(error.code, validationReason(error.code, error.message), `backup not usable, nothing was changed: ${error.message}`);
    }
    this.log(`backup ${this.snapshot} verified`);
    const sts = await this.api(() => deps.kube.statefulSet(plan.statefulSet), '; nothing was changed');
    const have = this.originalStatefulSet ?? sts.replicas ?? 1;
    if (have !== plan.replicas) {
      throw new PhaseFailure(EXIT.phaseFailed, 'ReplicaCountMismatch',
        `StatefulSet ${plan.namespace}/${plan.statefulSet} has ${have} replicas, the inventory expects ${plan.replicas}: the backup is restored into exactly the inventory's members; fix the inventory (hosted.replicas) or the StatefulSet, then start a new restore. Nothing was changed.`);
    }
    if (Object.keys(sts.matchLabels).length === 0) {
      throw new PhaseFailure(EXIT.phaseFailed, 'ConfigInvalid', `StatefulSet ${plan.namespace}/${plan.statefulSet} has no spec.selector.matchLabels; nothing was changed`);
    }
    this.matchLabels = sts.matchLabels;
    // Who would scale back what the restore holds at 0: stop before anything is touched.
    const owners = revertingOwners(`statefulset ${plan.namespace}/${plan.statefulSet}`, sts.metadata);
    for (const name of plan.controlPlaneDeployments) {
      const meta = await this.api(() => deps.kube.deploymentMetadata(name), '; nothing was changed');
      owners.push(...revertingOwners(`deployment ${plan.namespace}/${name}`, meta));
    }
    if (owners.length) throw new PhaseFailure(EXIT.phaseFailed, 'OwnerWouldRevert', ownerMessage(owners));
    await this.api(() => this.patch({ snapshot: this.snapshot }), '', 'cannot record the snapshot in the status ConfigMap: ', '; nothing was changed');
  }

  private async DrainingControlPlane(): Promise<void> {
    const { plan, deps } = this;
    await this.setPhase('DrainingControlPlane', `scaling the control-plane Deployments to 0: ${plan.controlPlaneDeployments.join(' ') || 'none'}`);
    for (const name of plan.controlPlaneDeployments) {
      const key = `original-deployment-${name}`;
      let original = this.recorded[key] !== undefined && this.recorded[key] !== '' ? Number(this.recorded[key]) : undefined;
      if (original === undefined) {
        try {
          original = await deps.kube.scaleOf('deployment', name);
        } catch (error) {
          throw new PhaseFailure(EXIT.kubernetesApi, 'ApiError', `${messageOf(error)}; Deployments scaled back: ${await this.scaleDeploymentsBack()}; etcd untouched`);
        }
        await this.api(() => this.patch({ [key]: String(original) }), '', `cannot record the replicas of deployment ${name}: `);
      }
      this.originalDeployments.push([name, original]);
      try {
        await deps.kube.setScale('deployment', name, 0);
      } catch (error) {
        throw new PhaseFailure(EXIT.kubernetesApi, 'ApiError', `${messageOf(error)}; Deployments scaled back: ${await this.scaleDeploymentsBack()}; etcd untouched`);
      }
      this.log(`deployment ${name} scaled to 0 (was ${original})`);
    }
  }

  private async StoppingEtcd(): Promise<void> {
    const { plan, deps } = this;
    const deployments = () => `control-plane Deployments at 0: ${describeDeployments(this.originalDeployments)}`;
    if (this.originalStatefulSet === undefined) {
      const original = await this.api(() => deps.kube.scaleOf('statefulset', plan.statefulSet), `; ${deployments()}`);
      await this.api(() => this.patch({ 'original-statefulset-replicas': String(original) }), '', 'cannot record the StatefulSet replicas: ');
      this.originalStatefulSet = original;
    }
    const original = this.originalStatefulSet;
    await this.setPhase('StoppingEtcd', `scaling StatefulSet ${plan.statefulSet} to 0 (was ${original}) and waiting until its pods are gone`);
    await this.api(() => deps.kube.setScale('statefulset', plan.statefulSet, 0), `; ${deployments()}`);
    const deadline = this.now() + plan.timeouts.stopSeconds * 1000;
    for (;;) {
      let left: number | '?' = '?';
      try {
        left = await deps.kube.podCount(this.matchLabels);
        if (left === 0) break;
      } catch (error) {
        this.log(`WARNING: ${messageOf(error)}`);
      }
      if (this.now() >= deadline) {
        let back = `StatefulSet scaled back to ${original}`;
        await deps.kube.setScale('statefulset', plan.statefulSet, original).catch((error) => { back = `StatefulSet NOT scaled back (${messageOf(error)}): scale it to ${original}`; });
        const deps2 = await this.scaleDeploymentsBack();
        throw new PhaseFailure(EXIT.phaseFailed, 'EtcdStopTimeout',
          `${left} etcd pod(s) of ${plan.statefulSet} still present after ${plan.timeouts.stopSeconds}s (stuck terminating? check the pods and their node); no data was touched. ${back}; Deployments scaled back: ${deps2}. Start a new restore once the pods stop cleanly.`);
      }
      await this.sleep(plan.timeouts.pollSeconds * 1000);
    }
    this.log(`no pod of ${plan.statefulSet} left`);
  }

  private async RestoringSnapshot(): Promise<void> {
    const { plan, deps } = this;
    await this.setPhase('RestoringSnapshot', `waiting for the ${plan.replicas} replica Job(s) to restore ${this.snapshot}`);
    const leftAt0 = `etcd StatefulSet ${plan.statefulSet} left at 0 replicas (was ${this.originalStatefulSet}) and control-plane Deployments left at 0 (${describeDeployments(this.originalDeployments)}) so that etcd never starts on half-restored data`;
    const list = (ordinals: readonly number[]) => (ordinals.length ? ` ${ordinals.join(' ')}` : ' none');
    const deadline = this.now() + plan.timeouts.restoreSeconds * 1000;
    const id = plan.restoreId;
    for (;;) {
      let data: Record<string, string> | undefined;
      try {
        data = await deps.kube.configMapData(plan.statusConfigMap);
      } catch (error) {
        this.log(`WARNING: ${messageOf(error)}`);
      }
      if (data) {
        const progress = replicaProgress(data, plan.replicas);
        if (progress.failed.length) {
          throw new PhaseFailure(EXIT.phaseFailed, 'RestoreJobFailed',
            ` ${progress.failed.map((f) => `${f};`).join(' ')} restored:${list(progress.restored)}; not finished:${list(progress.pending)}. ${leftAt0}. Replicas that restored keep their previous data as member.before-restore-${id} in the data dir. Fix the cause (replica Job logs) and start a new restore, or roll back by hand: move member.before-restore-${id} back to member in every volume, then scale the StatefulSet and the Deployments back.`.trim());
        }
        if (progress.pending.length === 0) break;
        if (this.now() >= deadline) {
          throw new PhaseFailure(EXIT.phaseFailed, 'RestoreJobFailed',
            `replica Job(s) of ordinal(s)${list(progress.pending)} did not report within ${plan.timeouts.restoreSeconds}s (pod pending? volume still attached elsewhere?); restored:${list(progress.restored)}. ${leftAt0}. Check the replica Jobs, then start a new restore or roll back by hand (member.before-restore-${id} in each data dir).`);
        }
      }
      await this.sleep(plan.timeouts.pollSeconds * 1000);
    }
    this.log(`all ${plan.replicas} replica(s) restored`);
  }

  private async StartingEtcd(): Promise<void> {
    const { plan, deps } = this;
    const original = this.originalStatefulSet!;
    await this.setPhase('StartingEtcd', `scaling StatefulSet ${plan.statefulSet} back to ${original} and waiting for ${plan.replicas} ready replicas`);
    await this.api(() => deps.kube.setScale('statefulset', plan.statefulSet, original),
      `; every replica is restored: scale StatefulSet ${plan.statefulSet} to ${original} and the Deployments back by hand (${describeDeployments(this.originalDeployments)})`);
    const deadline = this.now() + plan.timeouts.startSeconds * 1000;
    let ready = 0;
    for (;;) {
      try {
        ready = (await deps.kube.statefulSet(plan.statefulSet)).readyReplicas;
        if (ready === plan.replicas) break;
      } catch (error) {
        this.log(`WARNING: ${messageOf(error)}`);
      }
      if (this.now() >= deadline) {
        throw new PhaseFailure(EXIT.phaseFailed, 'EtcdStartFailed',
          `StatefulSet ${plan.statefulSet} scaled to ${original} but only ${ready} of ${plan.replicas} replicas ready after ${plan.timeouts.startSeconds}s; control-plane Deployments left at 0 (${describeDeployments(this.originalDeployments)}). Check the etcd pod logs (cluster ID / member name / peer URL mismatch, podManagementPolicy OrderedReady with more than one replica deadlocks: use Parallel). The previous data is in member.before-restore-${plan.restoreId} of each data dir.`);
      }
      await this.sleep(plan.timeouts.pollSeconds * 1000);
    }
    this.log(`StatefulSet ${plan.statefulSet}: ${ready}/${plan.replicas} ready`);
  }

  private async StartingControlPlane(): Promise<void> {
    await this.setPhase('StartingControlPlane', `scaling the control-plane Deployments back: ${describeDeployments(this.originalDeployments)}`);
    const errors: string[] = [];
    for (const [name, replicas] of this.originalDeployments) {
      await this.deps.kube.setScale('deployment', name, replicas).catch((error) => errors.push(messageOf(error)));
    }
    if (errors.length) {
      throw new PhaseFailure(EXIT.kubernetesApi, 'ApiError', `etcd is restored and running, but scaling the Deployments back failed: ${errors.join('; ')}; scale them by hand: ${describeDeployments(this.originalDeployments)}`);
    }
  }

  // ---- helpers ------------------------------------------------------------------------------------------------

  private patch(data: Record<string, string>): Promise<void> {
    return this.deps.kube.patchConfigMapData(this.plan.statusConfigMap, { ...data, updatedAt: isoNow(this.now()) });
  }

  private async setPhase(phase: string, message: string): Promise<void> {
    this.log(`phase ${phase}: ${message}`);
    try {
      await this.patch({ phase, reason: '', message });
    } catch (error) {
      throw new PhaseFailure(EXIT.kubernetesApi, 'ApiError', `cannot write phase ${phase} to the status ConfigMap: ${messageOf(error)}`);
    }
  }

  /** A request whose failure fails the phase with ApiError: `<prefix><error><suffix>`. */
  private async api<T>(request: () => Promise<T>, suffix: string, prefix = '', extra = ''): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw new PhaseFailure(EXIT.kubernetesApi, 'ApiError', `${prefix}${messageOf(error)}${suffix}${extra}`);
    }
  }

  /** Scales every drained Deployment back; the description says which could not be. */
  private async scaleDeploymentsBack(): Promise<string> {
    for (const [name, replicas] of this.originalDeployments) {
      await this.deps.kube.setScale('deployment', name, replicas).catch((error) => this.log(`ERROR: ${messageOf(error)}`));
    }
    return describeDeployments(this.originalDeployments);
  }

  private async recordFailure(reason: FailureReason, message: string): Promise<void> {
    if (this.statusFinal) return;
    this.statusFinal = true;
    await this.patch({ phase: 'Failed', reason, message }).catch((error) => this.log(`ERROR: cannot write Failed to the status ConfigMap: ${messageOf(error)}`));
  }

  private result(status: RestoreResult['status'], exitCode: number, stage: string, message: string, extra: Record<string, unknown> = {}): RestoreResult {
    if (status === 'failed') this.log(`ERROR: ${message}`);
    const reason = this.state.phase === 'Failed' ? this.state.reason : '';
    return {
      status, exitCode, stage, message, cluster: this.plan.cluster, restoreId: this.plan.restoreId,
      snapshot: this.snapshot && this.snapshot !== 'latest' ? this.snapshot : null, revisionBumped: false,
      role: 'coordinator', phase: this.state.phase, reason, ...extra, durationsMs: { total: this.now() - this.started },
    };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isoNow(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
