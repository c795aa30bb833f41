/**
 * What every restore does to an etcd data dir, whoever runs it (kubeadm member, hosted replica): restore the verified
 * snapshot into a staging dir beside the data (a failed restore leaves a half-written dir, and etcdutl refuses an
 * existing one), then swap it in by renames on one file system, keeping the previous data; a marker makes a second
 * run a no-op.
 */
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AgentError, EXIT } from '../exit-codes';
import { runTool, summarize, which } from '../tools';
import type { Log } from './outcome';

/** Revisions are moved this far forward, so that watch caches never see them go backwards. */
const BUMP_REVISION_BY = 1_000_000_000;

/** `<dataDir>/.controlplane-backup-restore-<id>.done` */
export function markerPath(dataDir: string, restoreId: string): string {
  return join(dataDir, `.controlplane-backup-restore-${restoreId}.done`);
}

export interface RestoreIntoOptions {
  readonly snapshotFile: string;
  readonly staging: string;
  readonly memberName: string;
  readonly peerUrl: string;
  readonly initialCluster: string;
  readonly initialClusterToken: string;
  readonly bumpRevision: boolean;
  readonly timeoutMs?: number;
  readonly log: Log;
}

/** The version of the etcdutl that restores ("etcdutl version: 3.5.16"), or undefined when it does not say. */
export async function restoreToolVersion(): Promise<string | undefined> {
  if (!which('etcdutl')) return undefined;
  const r = await runTool('etcdutl', ['version'], { timeoutMs: 30_000 });
  return /etcdutl version:\s*v?(\d+\.\d+\.\d+)/.exec(r.stdout)?.[1];
}

/** etcdutl (or etcdctl, before 3.5) `snapshot restore` into a fresh staging dir; returns whether the revision was bumped. */
export async function restoreInto(o: RestoreIntoOptions): Promise<{ revisionBumped: boolean; tool: string }> {
  const tool = which('etcdutl') ? 'etcdutl' : which('etcdctl') ? 'etcdctl' : undefined;
  if (!tool) throw new AgentError(EXIT.config, 'missing required tool(s): etcdutl|etcdctl', 'restore');
  rmSync(o.staging, { recursive: true, force: true });
  const env = { ...process.env, ETCDCTL_API: '3' };
  let bump = false;
  if (o.bumpRevision) {
    const help = await runTool(tool, ['snapshot', 'restore', '--help'], { timeoutMs: 30_000, env });
    bump = `${help.stdout}${help.stderr}`.includes('--bump-revision');
    if (!bump) o.log(`WARNING: bump revision requested but ${tool} snapshot restore has no --bump-revision (etcd tools before 3.5): after the restore, restart every kube-apiserver, kube-controller-manager, kube-scheduler and kubelet (RUNBOOK: stale caches)`);
  }
  const args = ['snapshot', 'restore', o.snapshotFile, '--name', o.memberName, '--initial-cluster', o.initialCluster,
    '--initial-cluster-token', o.initialClusterToken, '--initial-advertise-peer-urls', o.peerUrl, '--data-dir', o.staging,
    ...(bump ? ['--bump-revision', String(BUMP_REVISION_BY), '--mark-compacted'] : [])];
  const r = await runTool(tool, args, { timeoutMs: o.timeoutMs ?? 600_000, env });
  if (r.code !== 0 || !isDir(join(o.staging, 'member'))) {
    rmSync(o.staging, { recursive: true, force: true });
    throw new AgentError(EXIT.failed, `${tool} snapshot restore failed (exit ${r.timedOut ? 'timeout' : r.code}): ${summarize(r.stderr)}`, 'restore');
  }
  o.log(bump
    ? `restored into ${o.staging} as member ${o.memberName} with ${tool} (revision bumped by ${BUMP_REVISION_BY}, compacted)`
    : `restored into ${o.staging} as member ${o.memberName} with ${tool} (revision not bumped: restart every kube-apiserver, kube-controller-manager, kube-scheduler and kubelet after the restore, or their watch caches see revisions go backwards)`);
  return { revisionBumped: bump, tool };
}

/**
 * dataDir/member -> dataDir/member.before-restore-<id>, staging/member -> dataDir/member, staging removed. Renames
 * only inside dataDir's file system. An earlier attempt's saved original is kept (its member/ is that attempt's).
 */
export function swapIn(dataDir: string, staging: string, restoreId: string, log: Log): void {
  const saved = join(dataDir, `member.before-restore-${restoreId}`);
  const member = join(dataDir, 'member');
  const fail = (message: string) => new AgentError(EXIT.failed, message, 'swap');
  if (!isDir(join(staging, 'member'))) throw fail(`staging dir ${staging} has no member/: nothing to swap in`);
  if (existsSync(saved)) {
    log(`${saved} exists from an earlier attempt of restore ${restoreId}: keeping it, replacing ${member}`);
    try { rmSync(member, { recursive: true, force: true }); } catch (e) { throw fail(`cannot remove ${member} left by an earlier attempt: ${(e as Error).message}`); }
  } else if (existsSync(member)) {
    try { renameSync(member, saved); } catch (e) { throw fail(`cannot move ${member} to ${saved}: ${(e as Error).message}`); }
  }
  try { renameSync(join(staging, 'member'), member); } catch (e) {
    throw fail(`cannot move ${staging}/member to ${member} (the original data is in ${saved}): ${(e as Error).message}`);
  }
  try { rmSync(staging, { recursive: true, force: true }); } catch { log(`WARNING: cannot remove ${staging}`); }
  log(`swapped in the restored data: ${member} (previous data: ${saved})`);
}

function isDir(path: string): boolean {
  try { return statSync(path).isDirectory(); } catch { return false; }
}
