/**
 * The synthesized kubeadm restore Jobs, run for real (test/support/pod-runner.ts on each Job's PodSpec, as
 * test/e2e/restore-job.test.ts does) against TLS etcd members run by fake kubelets (test/support/etcd-cluster.ts)
 * and s3rver in a private netns, from a backup made by the synthesized backup Job. Next to it in the same run, the
 * bare path a person would type: one `rclone copyto` of the same object, `age -d | zstd -d`, `etcdctl snapshot
 * restore` into a fresh folder (no etcd to stop or start, no checks).
 *
 * Every run restores with a restore id of its own (the marker of an earlier id does not skip it); the 3-member
 * restore runs its three Jobs at once, as the Job controller would.
 *
 * The RTO of the restore without an API server is measured in the same world: each run also restores through the
 * synthesized static pods (RUNBOOK's disaster path), run by a fake kubelet per node (test/support/static-kubelet.ts),
 * from the moment every member's manifest is in its kubelet's folder until the last pod has ended; the operator's
 * copying (scp/ssh) is not in the figure.
 */
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { renderInventory } from '../lib/synth/render';
import { inventoryOf } from '../test/support/inventory';
import { ageKeypair } from '../test/support/agent';
import { startEtcdCluster, type EtcdCluster } from '../test/support/etcd-cluster';
import { startNetns, type NetNs } from '../test/support/netns';
import { runPod, type PodRunResult } from '../test/support/pod-runner';
import { mkTemp, rmTemp } from '../test/support/proc';
import { startStaticKubelet, type StaticKubelet } from '../test/support/static-kubelet';
import { load, startS3 } from './backup';
import type { S3Server } from '../test/support/s3';
import { median } from './stats';
import { TEST_TOOLS_IMAGE } from '../test/support/roots';

import { placeStaticPodFiles, S3_SECRET } from '../test/support/kubeadm-world';

export interface RestoreRun {
  /** From the first Job's start to the last Job's end. */
  readonly wallMs: number;
  /** durationsMs of each member's result line (fetch, verify, restore, barrier, stopEtcd, swap, startEtcd, total). */
  readonly stagesMs: Record<string, number>[];
}

export interface BareRun {
  readonly wallMs: number;
  readonly downloadMs: number;
  readonly decryptDecompressMs: number;
  readonly restoreMs: number;
}

export interface RestoreResult {
  readonly members: number;
  readonly dbBytes: number;
  readonly objectBytes: number;
  readonly runs: RestoreRun[];
  readonly wallMs: number;
  /** Median of each stage over runs (the slowest member's figure in each run). */
  readonly stagesMs: Record<string, number>;
  /** The static-pod path (no API server), in the same world: wall time from the manifests in place to the last pod's end. */
  readonly staticPods: { readonly runs: RestoreRun[]; readonly wallMs: number; readonly stagesMs: Record<string, number> };
  /** Single member only: the bare path, in the same world. */
  readonly bare?: { readonly runs: BareRun[]; readonly wallMs: number; readonly downloadMs: number; readonly decryptDecompressMs: number; readonly restoreMs: number };
}

interface World {
  kubelets?: StaticKubelet[];
  tmp: string;
  netns: NetNs;
  s3: S3Server;
  cluster: EtcdCluster;
  keys: { identity: string; recipients: string };
  name: string;
}

function inventoryFor(world: World, restores: object[] = []): Record<string, unknown> {
  const recipient = readFileSync(world.keys.recipients, 'utf8').split('\n').find((line) => line.startsWith('age1'))!;
  return {
    apiVersion: 'controlplane-backup.io/v1',
    kind: 'Inventory',
    storages: { s3main: { s3: { endpoint: world.s3.endpoint, bucket: 'backups', prefix: 'etcd', pathStyle: true, insecure: true }, credentials: { existingSecret: { name: 's3-creds' } } } },
    defaults: { backup: { storages: ['s3main'], encryption: { recipients: [recipient] }, images: { tools: TEST_TOOLS_IMAGE }, snapshotTimeoutSeconds: 600, scratchSize: '8Gi' } },
    clusters: { [world.name]: { kubeadm: { members: world.cluster.nodes.map((node) => ({ name: node.name, ip: node.ip })) }, restores } },
  };
}

/* eslint-disable @typescript-eslint/no-explicit-any */
function objectsOf(document: Record<string, unknown>, folder: string): any[] {
  const files = renderInventory(inventoryOf(document));
  return [...files]
    .filter(([path]) => path.startsWith(`${folder}/`) && path.endsWith('.yaml') && !path.slice(folder.length + 1).includes('/') && !path.endsWith('kustomization.yaml'))
    .map(([, text]) => parse(text));
}

const configMapsOf = (objects: any[]) => Object.fromEntries(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data ?? {}]));
const resultOf = (pod: PodRunResult) => JSON.parse(pod.results[0].stdout.trim().split('\n').pop()!);
const now = () => Number(process.hrtime.bigint()) / 1e6;

async function setUp(members: 1 | 3, targetBytes: number, log: (line: string) => void): Promise<World & { base: string; dbBytes: number; objectBytes: number }> {
  const tmp = mkTemp(`bench-restore-${members}`);
  const netns = await startNetns(members === 1 ? 7300 : 7400);
  const keys = await ageKeypair(tmp);
  const [s3, cluster] = await Promise.all([
    startS3(netns, tmp, 'backups'),
    startEtcdCluster({ netns, root: join(tmp, 'nodes'), size: members }),
  ]);
  const world: World = { tmp, netns, s3, cluster, keys, name: `bench-${members}` };
  log(`restore ${members}: loading etcd`);
  await load(cluster.server(cluster.nodes[0]), targetBytes, log);
  // The synthesized backup CronJob's pod on the first member's node.
  const objects = objectsOf(inventoryFor(world), world.name);
  const cronJob = objects.find((o) => o.kind === 'CronJob');
  const pod = await runPod({
    podSpec: cronJob.spec.jobTemplate.spec.template.spec, netns, configMaps: configMapsOf(objects), nodeName: cluster.nodes[0].name,
    secrets: { 's3-creds': S3_SECRET }, volumes: { pki: cluster.nodes[0].pkiDir }, timeoutMs: 600_000,
  });
  if (!pod.ok) throw new Error(`backup pod failed: ${pod.results.map((r) => `${r.name}: ${r.exitCode} ${r.stderr.slice(-1500)}`).join('\n')}`);
  const result = JSON.parse(pod.results.find((r) => r.name === 'upload')!.stdout.trim().split('\n').pop()!);
  rmSync(pod.workDir, { recursive: true, force: true });
  const objectBytes = (result.objects as { key: string; size: number }[]).find((o) => o.key.includes('.db'))!.size;
  return { ...world, base: result.base, dbBytes: result.dbSize, objectBytes };
}

async function tearDown(world: World | undefined): Promise<void> {
  await Promise.all((world?.kubelets ?? []).map((kubelet) => kubelet.stop()));
  await world?.cluster.stop();
  await world?.s3.stop();
  await world?.netns.stop();
  rmTemp(world?.tmp);
}

/** Every member's synthesized restore Job of restore `id`, run concurrently. */
async function restoreOnce(world: World, base: string, id: string): Promise<RestoreRun> {
  const folder = `${world.name}/restore-${id}`;
  const objects = objectsOf(inventoryFor(world, [{ id, snapshot: `etcd/${world.name}/${base}.db.zst.age`, confirm: base }]), folder);
  const jobs = objects.filter((o) => o.kind === 'Job');
  const identity = readFileSync(world.keys.identity);
  const started = now();
  const pods = await Promise.all(jobs.map((job) => {
    const node = world.cluster.nodes.find((n) => n.name === job.spec.template.spec.nodeName)!;
    return runPod({
      podSpec: job.spec.template.spec, netns: world.netns, configMaps: configMapsOf(objects), nodeName: node.name, timeoutMs: 600_000,
      secrets: { 's3-creds': S3_SECRET, [`${world.name}-restore-${id}-identity`]: { 'identity.txt': identity } },
      volumes: { 'etcd-data': node.dataDir, manifests: node.manifestsDir, pki: node.pkiDir },
    });
  }));
  const wallMs = now() - started;
  for (const pod of pods) {
    const status = pod.ok ? resultOf(pod).status : 'failed';
    if (status !== 'ok') throw new Error(`restore ${id} failed: ${pod.results.map((r) => `${r.name}: ${r.exitCode} ${r.stdout.slice(-500)} ${r.stderr.slice(-1500)}`).join('\n')}`);
    rmSync(pod.workDir, { recursive: true, force: true });
  }
  // The data each restore moved aside: not needed by the next run, and it would fill the disk.
  for (const node of world.cluster.nodes) rmSync(join(node.dataDir, `member.before-restore-${id}`), { recursive: true, force: true });
  return { wallMs, stagesMs: pods.map((pod) => resultOf(pod).durationsMs as Record<string, number>) };
}

/** Every member's synthesized static pod of restore `id`, placed as RUNBOOK.md says, run by the nodes' kubelets. */
async function restoreStaticOnce(world: World, base: string, id: string): Promise<RestoreRun> {
  const folder = `${world.name}/restore-${id}/static-pods`;
  const files = [...renderInventory(inventoryOf(inventoryFor(world, [{ id, snapshot: `etcd/${world.name}/${base}.db.zst.age`, confirm: base }])))]
    .filter(([path]) => path.startsWith(`${folder}/`));
  world.kubelets ??= world.cluster.nodes.map((node) => startStaticKubelet({ nodeName: node.name, root: node.root, manifestsDir: node.manifestsDir, netns: world.netns }));
  const manifest = `controlplane-backup-restore-${id}.yaml`;
  placeStaticPodFiles(world.cluster.nodes, world.keys.identity, id);
  for (const node of world.cluster.nodes) {
    writeFileSync(join(node.manifestsDir, `.${manifest}`), files.find(([path]) => path === `${folder}/${node.name}.yaml`)![1]);
  }
  const started = now();
  for (const node of world.cluster.nodes) renameSync(join(node.manifestsDir, `.${manifest}`), join(node.manifestsDir, manifest));
  const runs = await Promise.all(world.kubelets.map((kubelet) => kubelet.ended(manifest, 600_000)));
  const wallMs = now() - started;
  const lines = runs.map((run) => (run.result ? resultOf(run.result) : { status: 'failed', message: run.error }));
  lines.forEach((line, i) => {
    if (line.status !== 'ok') throw new Error(`static pod restore ${id} failed: ${JSON.stringify(line)} ${runs[i].result?.results[0].stderr.slice(-1500) ?? ''}`);
    rmSync(runs[i].result!.workDir, { recursive: true, force: true });
  });
  for (const node of world.cluster.nodes) {
    if (readdirSync(node.manifestsDir).includes(manifest)) throw new Error(`static pod of restore ${id} on ${node.name} did not remove its manifest`);
    rmSync(join(node.dataDir, `member.before-restore-${id}`), { recursive: true, force: true });
  }
  return { wallMs, stagesMs: lines.map((line) => line.durationsMs as Record<string, number>) };
}

/** One download, decrypt + decompress, `snapshot restore` into a fresh folder: the floor a person would type. */
async function bareOnce(world: World, base: string, i: number): Promise<BareRun> {
  const dir = join(world.tmp, `bare-${i}`);
  const env = { PATH: process.env.PATH ?? '', RCLONE_CONFIG: '', ...world.s3.rcloneEnv('s3') };
  const step = async (cmd: string, args: string[]) => {
    const t = now();
    const r = await world.netns.exec(cmd, args, { env, timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
    return now() - t;
  };
  const object = join(dir, `${base}.db.zst.age`);
  const snapshot = join(dir, 'snapshot.db');
  const downloadMs = await step('rclone', ['copyto', `s3:backups/etcd/${world.name}/${base}.db.zst.age`, object]);
  const decryptDecompressMs = await step('sh', ['-c', `age -d -i '${world.keys.identity}' '${object}' | zstd -d -q -o '${snapshot}'`]);
  const tool = (await world.netns.exec('sh', ['-c', 'command -v etcdutl || echo etcdctl'], { env })).stdout.trim();
  const restoreMs = await step(tool.endsWith('etcdutl') ? 'etcdutl' : 'etcdctl', ['snapshot', 'restore', snapshot, '--data-dir', join(dir, 'data')]);
  rmSync(dir, { recursive: true, force: true });
  return { wallMs: downloadMs + decryptDecompressMs + restoreMs, downloadMs, decryptDecompressMs, restoreMs };
}

/** Per stage, the slowest member of each run, then the median over runs. */
function stageMedians(runs: readonly RestoreRun[]): Record<string, number> {
  const names = [...new Set(runs.flatMap((r) => r.stagesMs.flatMap((s) => Object.keys(s))))];
  return Object.fromEntries(names.map((name) => [name, median(runs.map((r) => Math.max(...r.stagesMs.map((s) => s[name] ?? 0))))]));
}

export async function restoreBench(opts: { members: 1 | 3; targetBytes: number; runs: number; log: (line: string) => void }): Promise<RestoreResult> {
  const { log, members } = opts;
  let world: Awaited<ReturnType<typeof setUp>> | undefined;
  try {
    world = await setUp(members, opts.targetBytes, log);
    const runs: RestoreRun[] = [];
    const staticRuns: RestoreRun[] = [];
    const bare: BareRun[] = [];
    for (let i = 0; i < opts.runs; i++) {
      runs.push(await restoreOnce(world, world.base, `bench-${i}`));
      staticRuns.push(await restoreStaticOnce(world, world.base, `bench-static-${i}`));
      if (members === 1) bare.push(await bareOnce(world, world.base, i));
      log(`restore ${members} member(s): run ${i + 1}/${opts.runs}: Jobs ${(runs[i].wallMs / 1000).toFixed(2)} s, static pods ${(staticRuns[i].wallMs / 1000).toFixed(2)} s${bare[i] ? `, bare ${(bare[i].wallMs / 1000).toFixed(2)} s` : ''}`);
    }
    return {
      members, dbBytes: world.dbBytes, objectBytes: world.objectBytes, runs,
      wallMs: median(runs.map((r) => r.wallMs)),
      stagesMs: stageMedians(runs),
      staticPods: { runs: staticRuns, wallMs: median(staticRuns.map((r) => r.wallMs)), stagesMs: stageMedians(staticRuns) },
      ...(bare.length ? {
        bare: {
          runs: bare, wallMs: median(bare.map((b) => b.wallMs)), downloadMs: median(bare.map((b) => b.downloadMs)),
          decryptDecompressMs: median(bare.map((b) => b.decryptDecompressMs)), restoreMs: median(bare.map((b) => b.restoreMs)),
        },
      } : {}),
    };
  } finally {
    await tearDown(world);
  }
}
