/**
 * The synthesized backup pipeline, run for real (test/support/pod-runner.ts on the CronJob's PodSpec, as
 * test/e2e/backup-job.test.ts does) against Debian's etcd and s3rver in a private netns, next to the bare minimum in
 * the same run: `etcdctl snapshot save` plus one `rclone copyto` of the database to the same s3rver.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { renderInventory } from '../lib/synth/render';
import { inventoryOf } from '../test/support/inventory';
import { startEtcd, snapshotSave, type EtcdServer } from '../test/support/etcd';
import { startNetns, type NetNs } from '../test/support/netns';
import { makePki, type Pki } from '../test/support/pki';
import { runPod } from '../test/support/pod-runner';
import { mkTemp, rmTemp, run, runOk } from '../test/support/proc';
import { median } from './stats';
import { TEST_TOOLS_IMAGE } from '../test/support/roots';
import { startS3 as startTestS3, type S3Server } from '../test/support/s3';


export interface BackupRun {
  readonly pipelineMs: number;
  readonly bareMs: number;
  readonly bareSnapshotMs: number;
  readonly bareUploadMs: number;
  readonly snapshotContainerMs: number;
  readonly uploadContainerMs: number;
  /** durationsMs of the agent's result line, plus the destination's uploadMs. */
  readonly stagesMs: Record<string, number>;
  readonly scratchPeakPolledBytes: number;
  /**
   * Snapshot plus what the agent writes to scratch while the snapshot is there: the PKI bundle only (the snapshot's
   * compressed, encrypted copy is streamed into the upload, never written). A floor under the polled figure, which a
   * 5 ms poll can miss.
   */
  readonly scratchPeakComputedBytes: number;
  readonly dbBytes: number;
  readonly snapshotArtifactBytes: number;
}

export interface BackupResult {
  readonly label: string;
  readonly targetBytes: number;
  readonly dbBytes: number;
  readonly keys: number;
  readonly runs: BackupRun[];
  readonly pipelineMs: number;
  readonly bareMs: number;
  readonly ratio: number;
  readonly scratchPeakBytes: number;
  readonly scratchRatio: number;
  readonly compressedRatio: number;
  readonly stagesMs: Record<string, number>;
  /** zstd and age alone on the same snapshot (files on the same disk), and sha256sum of it. */
  readonly tools: { readonly zstdMs: number; readonly ageMs: number; readonly sha256Ms: number; readonly zstdThenAgeMs: number };
}

/** s3rver in the bench's netns with one bucket, as the tests start it (test/support/s3.ts). */
export function startS3(netns: NetNs, dir: string, bucket: string): Promise<S3Server> {
  return startTestS3({ netns, dir, buckets: [bucket] });
}

const VALUE_BYTES = 3000;
/** About 70 % of each value is random base64 (6 bits a byte), the rest repeats: the DB compresses to roughly 0.6. */
function value(): string {
  return randomBytes(2100).toString('base64') + 'x'.repeat(VALUE_BYTES - 2800);
}

export async function load(etcd: EtcdServer, targetBytes: number, log: (line: string) => void): Promise<number> {
  const keys = Math.ceil(targetBytes / VALUE_BYTES);
  const perTxn = 150; // 450 KB: below etcd's 1.5 MiB request limit
  let next = 0;
  const worker = async () => {
    while (next < keys) {
      const start = next;
      next = Math.min(keys, next + perTxn);
      const lines: string[] = [];
      for (let i = start; i < next; i++) lines.push(`put /registry/bench/key-${String(i).padStart(8, '0')} ${value()}`);
      const r = await etcd.ctl(['txn'], { input: `\n${lines.join('\n')}\n\n\n`, timeoutMs: 60_000 });
      if (r.code !== 0 || !r.stdout.includes('SUCCESS')) throw new Error(`etcdctl txn failed: ${r.stderr}${r.stdout.slice(0, 300)}`);
      if (start % (perTxn * 200) === 0 && start > 0) log(`backup: loaded ${start} / ${keys} keys`);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  return keys;
}

function treeBytes(dir: string): number {
  let sum = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    try {
      sum += entry.isDirectory() ? treeBytes(path) : statSync(path).size;
    } catch {
      /* removed while walking */
    }
  }
  return sum;
}

async function timedMs(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export async function backupBench(opts: { label: string; targetBytes: number; runs: number; log: (line: string) => void }): Promise<BackupResult> {
  const { log } = opts;
  const tmp = mkTemp('bench-backup');
  let netns: NetNs | undefined;
  let etcd: EtcdServer | undefined;
  let s3: S3Server | undefined;
  try {
    netns = await startNetns(7200);
    const pki: Pki = await makePki(tmp);
    const identity = join(tmp, 'age-identity.txt');
    await runOk('age-keygen', ['-o', identity]);
    const recipient = (await runOk('age-keygen', ['-y', identity])).stdout.trim();
    const recipients = join(tmp, 'recipients.txt');
    writeFileSync(recipients, `${recipient}\n`);
    [etcd, s3] = await Promise.all([
      startEtcd({ netns, pki, dir: join(tmp, 'etcd') }),
      startS3(netns, tmp, 'backups'),
    ]);
    log(`backup ${opts.label}: loading etcd`);
    const keys = await load(etcd, opts.targetBytes, log);

    const document = {
      apiVersion: 'controlplane-backup.io/v1',
      kind: 'Inventory',
      storages: {
        s3main: { s3: { endpoint: s3.endpoint, bucket: 'backups', prefix: 'etcd', pathStyle: true }, credentials: { existingSecret: { name: 's3-creds' } } },
      },
      defaults: {
        backup: {
          storages: ['s3main'], encryption: { recipients: [recipient] }, retention: { keepLast: 3 }, images: { tools: TEST_TOOLS_IMAGE },
          snapshotTimeoutSeconds: 1200, scratchSize: '8Gi',
        },
      },
      clusters: { bench: { kubeadm: { members: [{ name: 'cp-1', ip: '10.0.0.1' }] } } },
    };
    const files = renderInventory(inventoryOf(document));
    const objects = [...files].filter(([path]) => path.startsWith('bench/') && path.endsWith('.yaml') && !path.endsWith('kustomization.yaml')).map(([, text]) => parse(text));
    const podSpec = objects.find((o) => o.kind === 'CronJob').spec.jobTemplate.spec.template.spec;
    const configMaps = Object.fromEntries(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data]));
    const rcloneEnv = { PATH: process.env.PATH, RCLONE_CONFIG: '', ...s3.rcloneEnv('s3') };

    const runs: BackupRun[] = [];
    let keptSnapshot = '';
    for (let i = 0; i < opts.runs; i++) {
      // The pipeline, polled for its scratch size.
      const workDir = join(tmp, `pod-${i}`);
      mkdirSync(workDir, { recursive: true });
      const scratch = join(workDir, 'volumes', 'scratch');
      let polled = 0;
      const poller = setInterval(() => {
        polled = Math.max(polled, treeBytes(scratch));
      }, 5);
      const started = process.hrtime.bigint();
      const pod = await runPod({
        podSpec, netns, configMaps, nodeName: 'cp-1', workDir, timeoutMs: 1_800_000,
        secrets: { 's3-creds': { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' } },
        volumes: { pki: pki.dir },
      });
      const pipelineMs = Number(process.hrtime.bigint() - started) / 1e6;
      clearInterval(poller);
      const upload = pod.results.find((r) => r.name === 'upload');
      if (!pod.ok || !upload) throw new Error(`backup pod failed: ${pod.results.map((r) => `${r.name}: ${r.exitCode} ${r.stderr.slice(-1500)}`).join('\n')}`);
      const result = JSON.parse(upload.stdout.trim().split('\n').pop()!);
      const artifacts: { key: string; size: number }[] = result.objects;
      const snapshotArtifact = artifacts.find((o) => o.key.includes('.db'))!.size;
      const stagesMs: Record<string, number> = { ...result.durationsMs, upload: result.destinations[0].uploadMs };
      rmSync(workDir, { recursive: true, force: true });

      // The bare minimum: one snapshot, one upload of it.
      const bareFile = join(tmp, `bare-${i}.db`);
      const bareSnapshotMs = await timedMs(async () => {
        const r = await snapshotSave(netns!, bareFile, { cacert: pki.etcdCa.cert, client: pki.etcdHealthcheckClient, commandTimeoutS: 1200 });
        if (r.code !== 0) throw new Error(`etcdctl snapshot save: ${r.stderr}`);
      });
      const bareUploadMs = await timedMs(async () => {
        const r = await netns!.exec('rclone', ['copyto', bareFile, `s3:backups/bare/bench-${i}.db`], { env: rcloneEnv, timeoutMs: 1_800_000 });
        if (r.code !== 0) throw new Error(`rclone copyto: ${r.stderr}`);
      });
      if (i === opts.runs - 1) keptSnapshot = bareFile;
      else rmSync(bareFile, { force: true });

      runs.push({
        pipelineMs, bareMs: bareSnapshotMs + bareUploadMs, bareSnapshotMs, bareUploadMs,
        snapshotContainerMs: pod.results[0].durationMs, uploadContainerMs: upload.durationMs, stagesMs,
        scratchPeakPolledBytes: polled,
        scratchPeakComputedBytes: result.dbSize + artifacts.filter((o) => o.key.includes('.pki.')).reduce((sum, o) => sum + o.size, 0),
        dbBytes: result.dbSize, snapshotArtifactBytes: snapshotArtifact,
      });
      log(`backup ${opts.label}: run ${i + 1}/${opts.runs}: pipeline ${(pipelineMs / 1000).toFixed(2)} s, bare ${((bareSnapshotMs + bareUploadMs) / 1000).toFixed(2)} s`);
    }

    // zstd and age alone, on the same snapshot, the way the agent spawns them.
    const sh = (script: string) => run('sh', ['-c', script], { env: { PATH: process.env.PATH }, timeoutMs: 1_800_000 });
    const snap = keptSnapshot;
    const zstdMs = await timedMs(() => sh(`zstd -q -c -T0 '${snap}' > '${snap}.zst'`));
    const ageMs = await timedMs(() => sh(`age -R '${recipients}' -o '${snap}.age' '${snap}'`));
    const zstdThenAgeMs = await timedMs(() => sh(`zstd -q -c -T0 '${snap}' | age -R '${recipients}' -o '${snap}.zst.age'`));
    const sha256Ms = await timedMs(() => sh(`sha256sum '${snap}' > /dev/null`));

    const dbBytes = median(runs.map((r) => r.dbBytes));
    const pipelineMs = median(runs.map((r) => r.pipelineMs));
    const bareMs = median(runs.map((r) => r.bareMs));
    const scratchPeakBytes = Math.max(...runs.map((r) => Math.max(r.scratchPeakPolledBytes, r.scratchPeakComputedBytes)));
    const stageNames = [...new Set(runs.flatMap((r) => Object.keys(r.stagesMs)))];
    return {
      label: opts.label, targetBytes: opts.targetBytes, dbBytes, keys, runs, pipelineMs, bareMs,
      ratio: pipelineMs / bareMs,
      scratchPeakBytes, scratchRatio: scratchPeakBytes / dbBytes,
      compressedRatio: median(runs.map((r) => r.snapshotArtifactBytes / r.dbBytes)),
      stagesMs: {
        ...Object.fromEntries(stageNames.map((name) => [name, median(runs.map((r) => r.stagesMs[name] ?? 0))])),
        snapshotContainer: median(runs.map((r) => r.snapshotContainerMs)),
        uploadContainer: median(runs.map((r) => r.uploadContainerMs)),
        bareSnapshot: median(runs.map((r) => r.bareSnapshotMs)),
        bareUpload: median(runs.map((r) => r.bareUploadMs)),
      },
      tools: { zstdMs, ageMs, sha256Ms, zstdThenAgeMs },
    };
  } finally {
    await etcd?.stop();
    await s3?.stop();
    await netns?.stop();
    rmTemp(tmp);
  }
}
