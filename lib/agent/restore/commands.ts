/**
 * The three restore commands as the agent runs them (`controlplane-backup agent restore-member|restore-coordinator|
 * restore-replica --plan PATH`): each loads its typed plan, wires the real world (the plan's store, the in-cluster
 * Kubernetes API, the scratch dir) into its state machine and reports through the agent's one result line.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';

import { restoreResultKey } from '../../storage/restores';
import type { Context } from '../context';
import { readEnvFile } from '../env-file';
import { AgentError, EXIT } from '../exit-codes';
import { inClusterKube, inClusterProblem } from '../kube';
import { loadPlan, type PlanSource } from '../plan';
import { storeBarrier } from './barrier';
import { fetchVerifiedSet, readSetMeta, resolveSet, type Authenticity, type SetLocation } from './backup-set';
import type { AssessedSet } from '../../storage/sets';
import { Coordinator } from './coordinator';
import { Member } from './member';
import type { RestoreResult } from './outcome';
import {
  initialCluster, restoreCoordinatorPlanSchema, restoreMemberPlanSchema, restoreReplicaPlanSchema,
  type RestoreCoordinatorPlan, type RestoreMemberPlan, type RestoreReplicaPlan,
} from './plans';
import { Replica } from './replica';

type Outcome = { code: number; message: string };

/** The plan's signing key and `allowUnsigned`, as resolveSet checks them. */
const authenticity = (plan: { signingPublicKey: string | null; allowUnsigned: boolean }, ctx: Context): Authenticity => ({
  publicKey: plan.signingPublicKey, allowUnsigned: plan.allowUnsigned, log: (m) => ctx.log(m),
});

/** The command's result goes into the agent's result line; `skipped` (already restored) is a success. */
function report(ctx: Context, result: RestoreResult): Outcome {
  const { status, exitCode, stage, message, ...fields } = result;
  ctx.stage = stage;
  Object.assign(ctx.result, fields);
  if (status === 'skipped') ctx.result.status = 'skipped';
  return { code: exitCode, message };
}

/** Where a restore pod's backup sets are, its scratch dir, and how it fetches a set into a dir, verified. */
function setAccess(ctx: Context, plan: RestoreCoordinatorPlan | RestoreReplicaPlan | RestoreMemberPlan) {
  const at: SetLocation = { store: ctx.store(plan.source), cluster: plan.cluster, folder: plan.source.folder };
  const fetch = (set: AssessedSet, dir: string, withPki = false) =>
    fetchVerifiedSet(at, set, { dir, withPki, identityFile: plan.identityFile, log: (m) => ctx.log(m), env: ctx.env });
  return { at, work: ctx.workDir(plan.scratchDir), fetch };
}

/** What a hosted restore pod works with: the in-cluster API in its namespace, and its backup sets. */
function hostedPod(ctx: Context, plan: RestoreCoordinatorPlan | RestoreReplicaPlan) {
  const problem = inClusterProblem(ctx.env, existsSync);
  if (problem) throw new AgentError(EXIT.config, problem, 'config');
  const kube = inClusterKube({ namespace: plan.namespace });
  const sets = setAccess(ctx, plan);
  return {
    kube,
    ...sets,
    /** resolves the name (`latest`) and fetches that set into scratch, verified */
    fetchNamed: async (name: string) => {
      const set = await resolveSet(sets.at, name, ctx.clock(), undefined, authenticity(plan, ctx));
      return { set, fetched: await sets.fetch(set, sets.work) };
    },
  };
}

export async function restoreCoordinator(source: PlanSource, ctx: Context): Promise<Outcome> {
  const plan = loadPlan(restoreCoordinatorPlanSchema, source, ctx.env);
  const { kube, at, work, fetchNamed } = hostedPod(ctx, plan);
  const coordinator = new Coordinator({
    cluster: plan.cluster, restoreId: plan.restoreId, namespace: plan.namespace, statefulSet: plan.statefulSet, replicas: plan.replicas,
    controlPlaneDeployments: plan.controlPlaneDeployments, statusConfigMap: plan.statusConfigMap, snapshotName: plan.snapshot,
    snapshotLocation: `${at.store.description}/${at.folder}`, timeouts: plan.timeouts, owners: plan.owners, argocdNamespace: plan.argocdNamespace,
    allowCrossCluster: plan.allowCrossCluster, ...(plan.dataVolumeClaimTemplate ? { dataVolumeClaimTemplate: plan.dataVolumeClaimTemplate } : {}),
  }, {
    kube,
    // fetched and verified in scratch, then removed: the replicas fetch their own copy
    verifySnapshot: async (name) => {
      const { set, fetched } = await fetchNamed(name);
      await fetched.dispose();
      return { name: set.name, bytes: fetched.snapshotBytes, ...(await readSetMeta(at, set, work)) };
    },
    log: (m) => ctx.log(m),
  });
  ctx.onSignal(async () => report(ctx, await coordinator.onSignal()));
  return report(ctx, await coordinator.run());
}

export async function restoreReplica(source: PlanSource, ctx: Context): Promise<Outcome> {
  const plan = loadPlan(restoreReplicaPlanSchema, source, ctx.env);
  const { kube, fetchNamed } = hostedPod(ctx, plan);
  const replica = new Replica({
    cluster: plan.cluster, restoreId: plan.restoreId, namespace: plan.namespace, statusConfigMap: plan.statusConfigMap, ordinal: plan.ordinal,
    memberName: plan.member.name, peerUrl: plan.member.peerUrl, initialCluster: initialCluster(plan.members), initialClusterToken: plan.initialClusterToken,
    dataDir: plan.dataDir, bumpRevision: plan.bumpRevision, timeouts: plan.timeouts,
  }, {
    kube,
    fetchVerified: async (name) => {
      const { fetched } = await fetchNamed(name);
      return { file: fetched.snapshotFile, dispose: () => { void fetched.dispose(); } };
    },
    log: (m) => ctx.log(m),
  });
  ctx.onSignal(async () => report(ctx, await replica.onSignal()));
  return report(ctx, await replica.run());
}

export async function restoreMember(source: PlanSource, ctx: Context): Promise<Outcome> {
  const plan = loadPlan(restoreMemberPlanSchema, source, ctx.env);
  // a static pod reads no Secret or ConfigMap: what a Job takes from them, the operator put into a file on the node
  if (plan.staticPod?.envFile) ctx.addEnv(readEnvFile(plan.staticPod.envFile.path, plan.staticPod.envFile.names));
  const { at, work, fetch } = setAccess(ctx, plan);
  let resolved: Awaited<ReturnType<typeof resolveSet>> | undefined;
  const member = new Member({
    cluster: plan.cluster, restoreId: plan.restoreId, snapshotName: plan.snapshot, memberName: plan.member.name, peerUrl: plan.member.peerUrl,
    members: plan.members.map((m) => m.name), initialCluster: initialCluster(plan.members), initialClusterToken: plan.initialClusterToken,
    dataDir: plan.dataDir, etcdManifest: plan.etcdManifest, etcd: plan.etcd,
    pki: { restore: plan.pki !== null, dir: plan.pki?.dir ?? '', archivePrefix: plan.pki?.archivePrefix ?? '' },
    bumpRevision: plan.bumpRevision, scratchDir: work, timeouts: plan.timeouts, allowCrossCluster: plan.allowCrossCluster,
  }, {
    resolve: async (name) => {
      resolved = await resolveSet(at, name, ctx.clock(), plan.pki !== null ? true : undefined, authenticity(plan, ctx));
      return resolved.name;
    },
    fetchVerified: async (_name, withPki, dir) => {
      mkdirSync(dir, { recursive: true });
      const fetched = await fetch(resolved!, dir, withPki);
      const meta = await readSetMeta(at, resolved!, dir);
      return { snapshotFile: fetched.snapshotFile, meta, ...(fetched.pkiTar ? { pkiTar: fetched.pkiTar } : {}), dispose: () => { void fetched.dispose(); } };
    },
    ...(plan.members.length > 1 ? { barrier: storeBarrier(at.store, at.folder, plan.restoreId) } : {}),
    recordResult: (line) => at.store.write(restoreResultKey(at.folder, plan.restoreId, plan.member.name), line),
    log: (m) => ctx.log(m),
  });
  ctx.onSignal(async () => report(ctx, await member.onSignal()));
  const outcome = report(ctx, await member.run());
  if (plan.staticPod) removeOwnManifest(plan.staticPod.manifest, ctx, outcome);
  return outcome;
}

/**
 * The static pod's last step, once its result is recorded (on the node and in the store): its manifest goes, so the
 * kubelet stops the pod and never runs it again (after a reboot, say). A signal from then on is the expected end.
 * Re-running means copying the manifest again; the marker makes that a no-op once the restore is done.
 */
function removeOwnManifest(manifest: string, ctx: Context, outcome: Outcome): void {
  ctx.finished = outcome;
  try {
    rmSync(manifest);
    ctx.log(`removed this pod's manifest ${manifest}: the kubelet stops the pod`);
  } catch (error) {
    ctx.log(`WARNING: cannot remove this pod's manifest ${manifest} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): remove it by hand, or the kubelet runs the pod again when it restarts`);
  }
}

