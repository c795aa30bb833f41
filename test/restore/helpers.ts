// Shared helpers for the restore-member.sh tests.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import { ClusterNode, EtcdCluster } from '../support/etcd-cluster';
import { snapshotSave } from '../support/etcd';
import { NetNs } from '../support/netns';
import { S3Server } from '../support/s3';
import { RunResult } from '../support/proc';
import { HOST_PATH, runAgent, s3Destination, SCRIPTS_DIR, Shell, testBackupPlan } from '../scripts/helpers';

export const RESTORE_MEMBER_SH = join(SCRIPTS_DIR, 'restore-member.sh');
export const BUCKET = 'backups';

export interface RestoreRun extends RunResult {
  result: Record<string, any> | undefined;
}

/** Run restore-member.sh inside the netns with ONLY env (+ PATH), like the Job's container. */
export async function runRestore(netns: NetNs, env: Record<string, string>, o: { shell?: Shell; timeoutMs?: number } = {}): Promise<RestoreRun> {
  const sh = o.shell === 'busybox' ? ['busybox', 'sh'] : ['dash'];
  const r = await netns.exec(sh[0], [...sh.slice(1), RESTORE_MEMBER_SH], { env: { PATH: HOST_PATH, ...env }, timeoutMs: o.timeoutMs ?? 120_000 });
  const lines = r.stdout.split('\n').filter(Boolean);
  let result: Record<string, any> | undefined;
  try {
    result = lines.length === 1 ? JSON.parse(lines[0]) : undefined;
  } catch {
    result = undefined;
  }
  return { ...r, result };
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

/** The env contract of restore-member.sh for one member of the harness cluster. */
export function memberEnv(c: EtcdCluster, n: ClusterNode, s3: S3Server, o: {
  cluster: string; restoreId: string; snapshot: string; identity: string; snapshotDir?: string; extra?: Record<string, string>;
}): Record<string, string> {
  const dir = o.snapshotDir ?? `primary:${BUCKET}/clusters/${o.cluster}`;
  return {
    CLUSTER_NAME: o.cluster, RESTORE_ID: o.restoreId, SNAPSHOT_DIR: dir, SNAPSHOT_NAME: o.snapshot,
    MEMBER_NAME: n.name, MEMBER_PEER_URL: n.peerUrl, MEMBERS: c.nodes.map((x) => x.name).join(' '),
    INITIAL_CLUSTER: c.initialCluster, INITIAL_CLUSTER_TOKEN: `restore-${o.restoreId}`,
    DATA_DIR: n.dataDir, ETCD_MANIFEST: n.manifest, ETCD_ENDPOINT: n.clientUrl,
    ETCDCTL_CACERT: n.clientEnv.ETCDCTL_CACERT, ETCDCTL_CERT: n.clientEnv.ETCDCTL_CERT, ETCDCTL_KEY: n.clientEnv.ETCDCTL_KEY,
    PKI_RESTORE: 'false', PKI_DIR: n.pkiDir, PKI_ARCHIVE_PREFIX: n.pkiDir.replace(/^\/+/, ''),
    AGE_IDENTITY_FILE: o.identity, BUMP_REVISION: 'true',
    BARRIER_DIR: `primary:${BUCKET}/clusters/${o.cluster}/restores/${o.restoreId}`,
    BARRIER_TIMEOUT_SECONDS: '60', STOP_TIMEOUT_SECONDS: '30', HEALTH_TIMEOUT_SECONDS: '60',
    SCRATCH_DIR: join(n.root, 'var/lib/controlplane-backup/scratch'),
    ...s3.rcloneEnv('primary'),
    ...(o.extra ?? {}),
  };
}

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
