/**
 * `controlplane-backup agent restore-coordinator`: walks the hosted restore's state machine (coordinator-machine.ts)
 * through the Kubernetes API and records every phase, reason and message in the status ConfigMap (merge patches of
 * data, each with updatedAt). The replica Jobs act only during RestoringSnapshot and report `replica-<i>` there.
 *
 * Status ConfigMap data: phase, reason, message, snapshot (the resolved backup every replica restores),
 * original-statefulset-replicas and original-deployment-<name> (to undo by hand), replica-<i>, updatedAt, and
 * owner-<kind>.<namespace>.<name> for each owner paused (JSON: what to put back, and whether it was resumed).
 *
 * Owners (issue 11 item 4): a controller that would scale back what the restore holds at 0 stops the restore at
 * Validating unless the inventory names it (hosted.owners); those are paused at the end of Validating, recorded
 * before the pause (a re-run after a crash resumes from the record), and resumed on every exit: Succeeded, and every
 * failure that leaves etcd on its old data or restored and running. A failure while the replicas rewrite the data
 * (RestoringSnapshot, StartingEtcd) keeps them paused, because resuming would scale etcd up on half-restored data;
 * the message says how to resume them.
 * Exit codes: 0 ok or skipped; 2 snapshot invalid; 3 configuration or decryption key; 4 storage fetch failed;
 * 9 Kubernetes API error; 10 a phase failed (reason in the status and the result line); 1 other.
 */
import { KubeError, type StatefulSetView } from '../kube';
import { quantityValue } from '../../quantity';
import { checkCluster, checkEtcdVersion, checkVolumeSize, imageEtcdVersion, type CheckFinding } from './checks';
import {
  describeDeployments, describeOwner, ownerKey, ownerMessage, pausePatch, pauseStateOf, replicaProgress, resumePatch, revertingOwners, startFrom, transition,
  validationReason, type FailureReason, type Outcome, type State, type WorkingPhase,
} from './coordinator-machine';
import type { OwnerRef } from './plans';
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
  /** owners the inventory names (hosted.owners): paused while the restore holds the control plane at 0 */
  readonly owners?: readonly OwnerRef[];
  /** Argo CD's namespace, for an instance label without one */
  readonly argocdNamespace?: string;
  /** the volumeClaimTemplate of etcd's data, whose size is checked against the snapshot */
  readonly dataVolumeClaimTemplate?: string;
  /** restore a backup of another cluster (meta.json) */
  readonly allowCrossCluster?: boolean;
}

/** A backup fetched and verified in scratch, and what its meta.json says. */
export interface VerifiedBackup {
  /** the resolved name (`latest` resolved) */
  readonly name: string;
  /** the decoded snapshot's size */
  readonly bytes?: number;
  /** meta.json's cluster */
  readonly cluster?: string;
  /** meta.json's etcd.serverVersion */
  readonly etcdVersion?: string;
}

/** What the status ConfigMap records of one paused owner. */
interface OwnerRecord {
  readonly ref: OwnerRef;
  /** the field before the pause; absent: it was absent */
  readonly original?: unknown;
  /** paused: the restore paused it and must resume it; resumed: done; already-paused: found paused, left alone */
  readonly state: 'paused' | 'resumed' | 'already-paused';
}

/** Failures after which resuming an owner would scale etcd up on half-restored data. */
const KEEP_OWNERS_PAUSED: readonly WorkingPhase[] = ['RestoringSnapshot', 'StartingEtcd'];

export interface CoordinatorDeps extends HostedRestoreDeps {
  /** Resolves (`latest`), fetches and verifies the backup in scratch, reads its meta.json, then frees the space; throws AgentError. */
  verifySnapshot(name: string): Promise<VerifiedBackup>;
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
  /** owners by status key, as recorded */
  private readonly owners = new Map<string, OwnerRecord>();

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
    for (const [key, value] of Object.entries(this.recorded)) {
      if (!key.startsWith('owner-')) continue;
      try {
        this.owners.set(key, JSON.parse(value) as OwnerRecord);
      } catch {
        this.log(`WARNING: status key ${key} is not the JSON the coordinator writes (${value}): ignored`);
      }
    }

    this.state = transition(this.state, { kind: 'start' });
    let failedIn: WorkingPhase | undefined;
    try {
      await this.walk((phase) => { failedIn = phase; });
    } catch (error) {
      // Not a phase's failure (a bug): still resume what was paused, then let it surface.
      const resumed = await this.resumeOwners(false);
      this.log(`ERROR: ${withNote(messageOf(error), resumed.note)}`);
      throw error;
    }
    if (this.state.phase === 'Failed') {
      const failed = this.state;
      const resumed = await this.resumeOwners(failedIn !== undefined && KEEP_OWNERS_PAUSED.includes(failedIn));
      const message = withNote(failed.message, resumed.note);
      this.state = { ...failed, message };
      await this.recordFailure(failed.reason, message);
      return this.result('failed', failed.exitCode, failed.reason, message);
    }
    const resumed = await this.resumeOwners(false);
    const message = withNote(`restored ${this.snapshot} into ${plan.replicas} etcd replica(s) of ${plan.statefulSet}; control plane scaled back (${describeDeployments(this.originalDeployments)}). Restart kubelets and clients that cache etcd revisions if the revision was not bumped.`, resumed.note);
    this.statusFinal = true;
    try {
      await this.setPhase('Succeeded', message);
    } catch (error) {
      return this.result('failed', EXIT.kubernetesApi, 'Succeeded', `${messageOf(error)}; the restore itself is complete: ${message}`);
    }
    // etcd is restored, but a GitOps controller stays off until a person resumes it: not a success to walk past
    if (resumed.failed) return this.result('failed', EXIT.kubernetesApi, 'Succeeded', message);
    return this.result('ok', 0, 'Succeeded', `restore ${plan.restoreId} of ${this.snapshot} succeeded`, { replicas: plan.replicas });
  }

  /** Runs the phases until a final state; `onFailure` learns the phase that failed. */
  private async walk(onFailure: (phase: WorkingPhase) => void): Promise<void> {
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
      if (outcome.kind === 'failed') onFailure(phase);
      this.state = transition(this.state, outcome);
    }
  }

  /** On SIGTERM (activeDeadlineSeconds, pod deletion): keep the phase, so that a retry of the Job replays it. */
  async onSignal(): Promise<RestoreResult> {
    const phase = this.state.phase;
    const paused = [...this.owners.entries()].filter(([, record]) => record.state === 'paused')
      .map(([key, record]) => `${describeOwner(record.ref)} (put back ${resumeHint(record)}; recorded in ${key})`);
    const owners = paused.length ? `; owners still paused: ${paused.join(', ')}` : '';
    await this.deps.kube.patchConfigMapData(this.plan.statusConfigMap, {
      message: `coordinator terminated by a signal during ${phase}; a retry of the Job resumes from the recorded state (and resumes the owners it paused), otherwise start a new restore${owners}`,
      updatedAt: isoNow(this.now()),
    }).catch(() => undefined);
    return this.result('failed', EXIT.failed, phase, `terminated by signal during ${phase}`);
  }

  // ---- phases -------------------------------------------------------------------------------------------------

  private async Validating(): Promise<void> {
    const { plan, deps } = this;
    await this.setPhase('Validating', `fetching and verifying backup ${this.snapshot} from ${plan.snapshotLocation}`);
    let backup: VerifiedBackup;
    try {
      backup = await deps.verifySnapshot(this.snapshot);
      this.snapshot = backup.name;
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
    this.preRestoreChecks(backup, sts);
    // Who would scale back what the restore holds at 0: stop before anything is touched, unless the inventory names it.
    const where = { namespace: plan.namespace, argocdNamespace: plan.argocdNamespace ?? 'argocd' };
    const found = revertingOwners(`statefulset ${plan.namespace}/${plan.statefulSet}`, sts.metadata, where);
    for (const name of plan.controlPlaneDeployments) {
      const meta = await this.api(() => deps.kube.deploymentMetadata(name), '; nothing was changed');
      found.push(...revertingOwners(`deployment ${plan.namespace}/${name}`, meta, where));
    }
    const named = new Set((plan.owners ?? []).map(ownerKey));
    const unnamed = found.filter((owner) => !owner.ref || !named.has(ownerKey(owner.ref)));
    if (unnamed.length) throw new PhaseFailure(EXIT.phaseFailed, 'OwnerWouldRevert', ownerMessage(unnamed, plan.cluster));
    await this.api(() => this.patch({ snapshot: this.snapshot }), '', 'cannot record the snapshot in the status ConfigMap: ', '; nothing was changed');
    await this.pauseOwners();
  }

  /**
   * Checks before anything destructive (issue 11 item 5): the backup is of this cluster, its etcd version is one the
   * StatefulSet's etcd can serve, and each data PVC holds twice the snapshot. Warnings go to the log.
   */
  private preRestoreChecks(backup: VerifiedBackup, sts: StatefulSetView): void {
    const { plan } = this;
    const object = `StatefulSet ${plan.namespace}/${plan.statefulSet}`;
    const findings: CheckFinding[] = [
      ...checkCluster(backup.cluster, plan.cluster, plan.allowCrossCluster ?? false),
      ...checkEtcdVersion(backup.etcdVersion, imageEtcdVersion(sts.etcdImage), {
        describe: (version) => `${object} runs etcd ${version} (image ${sts.etcdImage ?? 'unknown'})`,
        fix: (minor) => `upgrade the StatefulSet's etcd to ${minor} or newer first, or restore a backup taken by etcd ${imageEtcdVersion(sts.etcdImage) ?? 'of this version'}`,
      }),
    ];
    const template = plan.dataVolumeClaimTemplate;
    const storage = template ? sts.claimStorage?.[template] : undefined;
    if (template && backup.bytes !== undefined) {
      let capacity: number | undefined;
      try { capacity = storage === undefined ? undefined : quantityValue(storage); } catch { capacity = undefined; }
      if (capacity === undefined) {
        findings.push({ check: 'free-space', severity: 'warning', message: `free-space: ${object} has no readable storage request in volumeClaimTemplate ${template} (${storage ?? 'none'}): the PVCs' size was not checked` });
      } else {
        findings.push(...checkVolumeSize(`each PVC of volumeClaimTemplate ${template} of ${object} (storage request ${storage})`, capacity, backup.bytes));
      }
    }
    for (const warning of findings.filter((f) => f.severity === 'warning')) this.log(`WARNING: ${warning.message}`);
    const errors = findings.filter((f) => f.severity === 'error');
    if (errors.length) throw new PhaseFailure(EXIT.phaseFailed, 'PreRestoreCheckFailed', `${errors.map((f) => f.message).join('; ')}. Nothing was changed.`);
  }

  /**
   * Pauses every owner the inventory names, each recorded in the status ConfigMap BEFORE its pause: a coordinator
   * that dies after the pause leaves the record, and the re-run (or a person) resumes from it. A replay keeps the
   * original recorded by the first run (the live object shows the pause by then).
   */
  private async pauseOwners(): Promise<void> {
    const { deps } = this;
    for (const ref of this.plan.owners ?? []) {
      const key = ownerKey(ref);
      const what = describeOwner(ref);
      let record = this.owners.get(key);
      if (!record || record.state === 'already-paused') {
        const live = await this.api(() => deps.kube.ownerObject(ref), `; nothing was changed (the restore Role allows get/patch of ${what}: is the owner's Role of the restore folder applied?)`);
        const found = pauseStateOf(ref.kind, live);
        if (found.alreadyPaused) {
          record = { ref, state: 'already-paused' };
          this.owners.set(key, record);
          await this.api(() => this.patch({ [key]: JSON.stringify(record) }), '', `cannot record ${what} in the status ConfigMap: `);
          this.log(`${what} is paused already: left as it is (and not resumed)`);
          continue;
        }
        record = { ref, ...(found.original === undefined ? {} : { original: found.original }), state: 'paused' };
      } else {
        record = { ...record, state: 'paused' };
      }
      this.owners.set(key, record);
      await this.api(() => this.patch({ [key]: JSON.stringify(record) }), '', `cannot record ${what} in the status ConfigMap: `, `; ${what} was not paused`);
      await this.api(() => deps.kube.patchOwner(ref, pausePatch(ref.kind)), '', `cannot pause ${what}: `);
      this.log(`${what} paused (recorded as ${key})`);
    }
  }

  /**
   * Resumes every owner this restore paused (state paused), putting back exactly what was there; `keep` leaves them
   * paused and says how to resume them. `note` is the sentence for the final message ('' when there was none);
   * `failed` counts the owners a resume was refused for.
   */
  private async resumeOwners(keep: boolean): Promise<{ note: string; failed: number }> {
    const paused = [...this.owners.entries()].filter(([, record]) => record.state === 'paused');
    if (paused.length === 0) return { note: '', failed: 0 };
    if (keep) {
      const how = paused.map(([key, r]) => `${describeOwner(r.ref)} (put back ${resumeHint(r)}; recorded in ${key})`).join(', ');
      return { note: `Owners kept paused, because resuming them now would scale etcd up on half-restored data: ${how}; resume them once etcd is restored or rolled back.`, failed: 0 };
    }
    const resumed: string[] = [];
    const failed: string[] = [];
    for (const [key, record] of paused) {
      const what = describeOwner(record.ref);
      try {
        await this.deps.kube.patchOwner(record.ref, resumePatch(record.ref.kind, record.original));
        const done: OwnerRecord = { ...record, state: 'resumed' };
        this.owners.set(key, done);
        await this.patch({ [key]: JSON.stringify(done) }).catch((error) => this.log(`WARNING: ${what} resumed, but the status ConfigMap still says paused: ${messageOf(error)}`));
        resumed.push(what);
        this.log(`${what} resumed`);
      } catch (error) {
        failed.push(`${what} (${messageOf(error)}): put back ${resumeHint(record)} by hand`);
      }
    }
    const note = [resumed.length ? `Resumed: ${resumed.join(', ')}.` : '', failed.length ? `NOT resumed: ${failed.join('; ')}.` : ''].filter(Boolean).join(' ');
    return { note, failed: failed.length };
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

/** A message and a sentence about the owners: "<message>. <note>" ('' adds nothing). */
function withNote(message: string, note: string): string {
  return note ? `${message.replace(/\.?$/, '.')} ${note}` : message;
}

/** What resuming an owner puts back, in words. */
function resumeHint(record: OwnerRecord): string {
  const original = record.original === undefined ? 'absent' : JSON.stringify(record.original);
  switch (record.ref.kind) {
    case 'HelmRelease':
    case 'Kustomization': return `spec.suspend ${original}`;
    case 'Application': return `spec.syncPolicy.automated ${original}`;
    case 'TenantControlPlane': return 'no kamaji.clastix.io/paused annotation';
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isoNow(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
