// Shared setup of the hosted restore tests: netns, s3rver, age keys, a simulated etcd StatefulSet with keys, a backup
// of it made by the agent's backup, the fake API server, and runners for the coordinator and replica scripts (run as the Jobs
// would run them: concurrently, each with only its own env).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startNetns, NetNs } from '../support/netns';
import { startS3, S3Server } from '../support/s3';
import { snapshotSave, valueFor } from '../support/etcd';
import { mkTemp, rmTemp, RunResult, waitFor } from '../support/proc';
import { makeSimPki, SimPki, StatefulSetSim } from '../support/statefulset-sim';
import { FakeKubeApi } from '../support/fake-kube-api';
import { ageKeypair, HOST_PATH, runAgent, s3Destination, testBackupPlan } from '../scripts/helpers';

export const SCRIPTS = resolve(__dirname, '../../lib/scripts');
export const COORDINATOR = join(SCRIPTS, 'restore-coordinator.sh');
export const REPLICA = join(SCRIPTS, 'restore-replica.sh');
export type Shell = 'dash' | 'busybox';

export interface ScriptRun extends RunResult { result?: Record<string, any> }

export interface World {
  tmp: string;
  netns: NetNs;
  s3: S3Server;
  pki: SimPki;
  sim: StatefulSetSim;
  api: FakeKubeApi;
  keys: { identity: string; recipients: string };
  cluster: string;
  token: string;
  tokenFile: string;
  snapshotDir: string;
  backupBase: string;
  digestAtBackup: { count: number; sha256: string };
  deployments: Record<string, number>;
  /** a fresh status ConfigMap (phase Pending) for a restore id; returns its name */
  newRestore(id: string): string;
  coordinatorEnv(id: string, over?: Record<string, string>): Record<string, string>;
  replicaEnv(id: string, ordinal: number, over?: Record<string, string>): Record<string, string>;
  run(script: string, env: Record<string, string>, o?: { shell?: Shell; timeoutMs?: number; pathPrefix?: string }): Promise<ScriptRun>;
  digest(): Promise<{ count: number; sha256: string }>;
  waitHealthy(n: number): Promise<void>;
  stop(): Promise<void>;
}

export async function makeWorld(o: { replicas: number; keys: number; cluster: string }): Promise<World> {
  const tmp = mkTemp(`restore-hosted-${o.cluster}`);
  const netns = await startNetns(600);
  const name = `${o.cluster}-etcd`;
  const ns = 'tenant-a';
  const [s3, keys, pki] = await Promise.all([
    startS3({ netns, dir: tmp, buckets: ['backups'] }),
    ageKeypair(tmp),
    makeSimPki(join(tmp, 'pki'), [`*.${name}-hl.${ns}.svc`]),
  ]);
  const sim = new StatefulSetSim({ netns, dir: join(tmp, 'sts'), pki, name, namespace: ns, replicas: o.replicas });
  const token = createHash('sha256').update(tmp).digest('hex');
  const tokenFile = join(tmp, 'token');
  writeFileSync(tokenFile, token + '\n');
  const deployments = { [`${o.cluster}-apiserver`]: 2, [`${o.cluster}-controller-manager`]: 1 };
  const api = new FakeKubeApi({ netns, dir: tmp, pki, sim, token, deployments: { ...deployments } });
  await api.start();
  sim.scale(o.replicas);

  const world: World = {
    tmp, netns, s3, pki, sim, api, keys, cluster: o.cluster, token, tokenFile, deployments,
    snapshotDir: `primary:backups/clusters/${o.cluster}`, backupBase: '', digestAtBackup: { count: 0, sha256: '' },
    newRestore(id) {
      const cm = `${o.cluster}-restore-${id}-status`;
      api.configMaps[cm] = { phase: 'Pending' };
      return cm;
    },
    coordinatorEnv(id, over = {}) {
      return {
        CLUSTER_NAME: o.cluster, RESTORE_ID: id, NAMESPACE: ns, STATEFULSET: name, REPLICAS: String(o.replicas),
        CONTROL_PLANE_DEPLOYMENTS: Object.keys(deployments).join(' '), STATUS_CONFIGMAP: `${o.cluster}-restore-${id}-status`,
        SNAPSHOT_DIR: world.snapshotDir, SNAPSHOT_NAME: 'latest', AGE_IDENTITY_FILE: keys.identity,
        SCRATCH_DIR: join(tmp, `scratch-${id}-coordinator`), KUBE_API: api.url, KUBE_TOKEN_FILE: tokenFile, KUBE_CA_FILE: pki.ca,
        STOP_TIMEOUT_SECONDS: '30', RESTORE_TIMEOUT_SECONDS: '60', START_TIMEOUT_SECONDS: '60', POLL_SECONDS: '1',
        ...s3.rcloneEnv('primary'), ...over,
      };
    },
    replicaEnv(id, i, over = {}) {
      return {
        CLUSTER_NAME: o.cluster, RESTORE_ID: id, ORDINAL: String(i), MEMBER_NAME: sim.memberName(i), MEMBER_PEER_URL: sim.peerUrl(i),
        INITIAL_CLUSTER: sim.initialCluster(o.replicas), INITIAL_CLUSTER_TOKEN: `${o.cluster}-restore-${id}`, DATA_DIR: sim.dataDir(i),
        NAMESPACE: ns, STATUS_CONFIGMAP: `${o.cluster}-restore-${id}-status`, SNAPSHOT_DIR: world.snapshotDir,
        AGE_IDENTITY_FILE: keys.identity, BUMP_REVISION: 'false', SCRATCH_DIR: join(tmp, `scratch-${id}-${i}`),
        KUBE_API: api.url, KUBE_TOKEN_FILE: tokenFile, KUBE_CA_FILE: pki.ca, RESTORE_TIMEOUT_SECONDS: '60', POLL_SECONDS: '1',
        ...s3.rcloneEnv('primary'), ...over,
      };
    },
    async run(script, env, ro = {}) {
      const sh = ro.shell === 'busybox' ? ['busybox', 'sh'] : ['dash'];
      const PATH = ro.pathPrefix ? `${ro.pathPrefix}:${HOST_PATH}` : HOST_PATH;
      const r = await netns.exec(sh[0], [...sh.slice(1), script], { env: { ...env, PATH }, timeoutMs: ro.timeoutMs ?? 120_000 });
      const lines = r.stdout.split('\n').filter(Boolean);
      let result: Record<string, any> | undefined;
      try { result = lines.length === 1 ? JSON.parse(lines[0]) : undefined; } catch { result = undefined; }
      return { ...r, result };
    },
    async digest() {
      const r = await sim.ctl(['get', '', '--prefix', '-w', 'json'], { timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(`etcdctl get: ${r.stderr}`);
      const j = JSON.parse(r.stdout) as { kvs?: { key: string; value?: string }[] };
      const kvs = (j.kvs ?? []).map((kv) => [Buffer.from(kv.key, 'base64'), Buffer.from(kv.value ?? '', 'base64')] as const);
      kvs.sort((a, b) => Buffer.compare(a[0], b[0]));
      const h = createHash('sha256');
      for (const [k, v] of kvs) h.update(`${k.length}:`).update(k).update(`${v.length}:`).update(v);
      return { count: kvs.length, sha256: h.digest('hex') };
    },
    async waitHealthy(n) {
      await waitFor(`${n} healthy etcd members`, async () => (await sim.readyReplicas()) === n, 60_000, 300);
    },
    async stop() {
      await api.stop();
      await sim.stop();
      await s3.stop();
      await netns.stop();
      rmTemp(tmp);
    },
  };

  try {
    await world.waitHealthy(o.replicas);
    // keys, in transactions of 500
    for (let start = 0; start < o.keys; start += 500) {
      const puts: string[] = [];
      for (let i = start; i < Math.min(o.keys, start + 500); i++) puts.push(`put /registry/test/key-${String(i).padStart(6, '0')} ${valueFor(i, 300)}`);
      const r = await sim.ctl(['txn'], { input: `\n${puts.join('\n')}\n\n\n` });
      if (r.code !== 0 || !r.stdout.includes('SUCCESS')) throw new Error(`txn: ${r.stderr}`);
    }
    // the backup CronJob: snapshot init container against one member, then the agent
    const scratch = join(tmp, 'backup-scratch');
    mkdirSync(scratch, { recursive: true });
    const snap = join(scratch, 'snapshot.db');
    const save = await snapshotSave(netns, snap, { cacert: pki.ca, client: { cert: pki.cert, key: pki.key }, endpoint: sim.clientUrl(0), commandTimeoutS: 30 });
    if (save.code !== 0) throw new Error(`snapshot save: ${save.stderr}`);
    world.digestAtBackup = await world.digest();
    const { destination, env } = s3Destination(s3, world.snapshotDir);
    const b = await runAgent(netns, 'backup', testBackupPlan({ cluster: o.cluster, snapshotFile: snap, recipientsFile: keys.recipients, destinations: [destination] }), env);
    if (b.code !== 0) throw new Error(`agent backup: ${b.stderr}`);
    world.backupBase = b.result!.base;
    // written after the backup: must be gone after the restore
    const later = await sim.ctl(['put', '/registry/test/written-after-backup', 'x']);
    if (later.code !== 0) throw new Error(`put: ${later.stderr}`);
  } catch (e) {
    await world.stop();
    throw e;
  }
  return world;
}

/** Run the coordinator and every replica script concurrently (as the Jobs would run). */
export async function runRestore(w: World, id: string, o: { shell?: Shell; replicaOver?: (i: number) => Record<string, string>; replicaPath?: (i: number) => string | undefined; coordinatorOver?: Record<string, string> } = {}) {
  const n = Number(w.coordinatorEnv(id).REPLICAS);
  const started = Date.now();
  const [coordinator, ...replicas] = await Promise.all([
    w.run(COORDINATOR, w.coordinatorEnv(id, o.coordinatorOver), { shell: o.shell }),
    ...Array.from({ length: n }, (_, i) => w.run(REPLICA, w.replicaEnv(id, i, o.replicaOver?.(i)), { shell: o.shell, pathPrefix: o.replicaPath?.(i) })),
  ]);
  return { coordinator, replicas, durationMs: Date.now() - started };
}

export const HAPPY_PHASES = ['Validating', 'DrainingControlPlane', 'StoppingEtcd', 'RestoringSnapshot', 'StartingEtcd', 'StartingControlPlane', 'Succeeded'];
