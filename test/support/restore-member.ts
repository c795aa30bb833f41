// Shared helpers for the restore-member tests (the agent command, run as the Job's container runs it).
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import { ClusterNode, EtcdCluster } from './etcd-cluster';
import { snapshotSave } from './etcd';
import { NetNs } from './netns';
import { S3Server } from './s3';
import { RunResult } from './proc';
import { runAgent, s3Destination, testBackupPlan } from './agent';
import type { RestoreMemberPlan } from '../../lib/agent/restore/plans';
import { PACKAGE_VERSION } from '../../lib/version';

export const BUCKET = 'backups';

export interface RestoreRun extends RunResult {
  result: Record<string, any> | undefined;
}

export interface MemberRun { plan: RestoreMemberPlan; env: Record<string, string> }

/** `controlplane-backup agent restore-member` inside the netns with ONLY the plan and env (+ PATH), like the Job's container. */
export async function runRestore(netns: NetNs, run: MemberRun, o: { timeoutMs?: number } = {}): Promise<RestoreRun> {
  const r = await runAgent(netns, 'restore-member', run.plan, run.env, { timeoutMs: o.timeoutMs ?? 120_000 });
  return { ...r, result: r.result };
}

/** Back up one member exactly as the backup CronJob does: snapshot save (init container), then the agent to s3rver
 *  (zstd + age, PKI bundle of the node's PKI dir). Returns the base name. */
export async function makeBackup(netns: NetNs, s3: S3Server, node: ClusterNode, o: { cluster: string; recipients: string; scratch: string }): Promise<string> {
  mkdirSync(o.scratch, { recursive: true });
  const snap = join(o.scratch, 'snapshot.db');
  const init = await snapshotSave(netns, snap, {
    cacert: join(node.pkiDir, 'etcd/ca.crt'), endpoint: node.clientUrl, commandTimeoutS: 20,
    client: { cert: join(node.pkiDir, 'apiserver-etcd-client.crt'), key: join(node.pkiDir, 'apiserver-etcd-client.key') },
  });
  expect(init.code, init.stderr).toBe(0);
  const { destination, env } = s3Destination(s3, `primary:${BUCKET}/clusters/${o.cluster}`);
  const plan = testBackupPlan({ cluster: o.cluster, snapshotFile: snap, recipientsFile: o.recipients, pkiPaths: [node.pkiDir], destinations: [destination] });
  const r = await runAgent(netns, 'backup', plan, { ...env, NODE_NAME: node.name });
  expect(r.code, r.stderr).toBe(0);
  return r.result!.base as string;
}

/** The plan of one member of the harness cluster (what synthesis renders), and the env with the storage credentials. */
export function memberPlan(c: EtcdCluster, n: ClusterNode, s3: S3Server, o: {
  cluster: string; restoreId: string; snapshot: string; identity: string; folder?: string; pki?: boolean; over?: Partial<RestoreMemberPlan>;
}): MemberRun {
  const { destination, env } = s3Destination(s3, `primary:${BUCKET}/${o.folder ?? `clusters/${o.cluster}`}`);
  const plan: RestoreMemberPlan = {
    apiVersion: 'controlplane-backup.io/v1', kind: 'RestoreMemberPlan', packageVersion: PACKAGE_VERSION, cluster: o.cluster,
    scratchDir: join(n.root, 'var/lib/controlplane-backup/scratch'), deadlineSeconds: 3600,
    restoreId: o.restoreId, snapshot: o.snapshot, source: destination, identityFile: o.identity,
    members: c.nodes.map((x) => ({ name: x.name, peerUrl: x.peerUrl })), initialClusterToken: `restore-${o.restoreId}`, bumpRevision: true,
    member: { name: n.name, peerUrl: n.peerUrl }, dataDir: n.dataDir, etcdManifest: n.manifest,
    etcd: { endpoint: n.clientUrl, caFile: n.clientEnv.ETCDCTL_CACERT, certFile: n.clientEnv.ETCDCTL_CERT, keyFile: n.clientEnv.ETCDCTL_KEY },
    pki: o.pki ? { dir: n.pkiDir, archivePrefix: n.pkiDir.replace(/^\/+/, '') } : null,
    timeouts: { barrierSeconds: 60, stopSeconds: 30, healthSeconds: 60 }, allowCrossCluster: false,
    signingPublicKey: null, allowUnsigned: false,
    staticPod: null,
    ...(o.over ?? {}),
  };
  mkdirSync(plan.scratchDir, { recursive: true });
  return { plan, env };
}

/**
 * The result files a member writes beside its marker whatever the outcome (a static pod removes its manifest after
 * recording, so the node keeps the record): "untouched" means etcd's data as it was, these aside.
 */
export const isResultFile = (rel: string) => /^\.controlplane-backup-restore-[a-z0-9-]+\.result\.json$/.test(rel);

/** Every entry under dir: "path type size mtimeMs" (mtimes optional), sorted. */
export function listing(dir: string, o: { mtimes?: boolean; skip?: (rel: string) => boolean } = {}): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      const rel = relative(dir, p);
      if (o.skip?.(rel)) continue;
      const st = lstatSync(p);
      const type = st.isDirectory() ? 'd' : st.isFile() ? 'f' : 'o';
      out.push(`${rel} ${type}${type === 'f' ? ` ${st.size}` : ''}${o.mtimes ? ` ${st.mtimeMs}` : ''}`);
      if (st.isDirectory()) walk(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

/** relative path -> content of every regular file under dir (skipping paths for which skip() is true) */
export function fileContents(dir: string, skip: (rel: string) => boolean = () => false): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  for (const l of listing(dir, { skip })) {
    const [rel, type] = l.split(' ');
    if (type === 'f') m.set(rel, readFileSync(join(dir, rel)));
  }
  return m;
}

export function expectFailed(r: RestoreRun, code: number, msg: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.result?.status, r.stdout).toBe('failed');
  expect(r.result?.exitCode).toBe(code);
  expect(r.result?.message).toMatch(msg);
  expect(r.stderr).toMatch(msg);
  expect(r.stdout.trim().split('\n')).toHaveLength(1);
  for (const l of r.stderr.trim().split('\n')) expect(l).toMatch(/^controlplane-backup: /);
}
