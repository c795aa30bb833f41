/**
 * `npm run bench`: synthesis at scale against its floor, incremental synth, the backup Job against the bare
 * snapshot + upload, and the kubeadm restore Jobs against the bare download + decrypt + `snapshot restore`. Prints a
 * table and one summary line, and writes bench/results/latest.json (latest-<part>.json with --only).
 *
 *   node build/bench/run.js [--quick] [--large] [--only synth|backup|restore]
 *
 * Timings are reported, never asserted: goals are marked met or MISSED.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { backupBench, type BackupResult } from './backup';
import { restoreBench, type RestoreResult } from './restore';
import { mb, ratio, seconds, times, verdict } from './stats';
import { incremental, scale, type IncrementalResult, type ScaleResult } from './synth';

const ROOT = resolve(__dirname, '..', '..');

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, large: { type: 'boolean', default: false }, only: { type: 'string' } },
});
const PARTS = ['synth', 'backup', 'restore'];
if (values.only && !PARTS.includes(values.only)) throw new Error(`--only must be one of ${PARTS.join(', ')} (got "${values.only}")`);
const quick = values.quick;
const doSynth = !values.only || values.only === 'synth';
const doBackup = !values.only || values.only === 'backup';
const doRestore = !values.only || values.only === 'restore';

function toolVersion(cmd: string, args: string[], pattern: RegExp): string {
  try {
    const text = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return pattern.exec(text)?.[1] ?? text.split('\n')[0].trim();
  } catch {
    return 'missing';
  }
}

function machine() {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    etcd: toolVersion('etcd', ['--version'], /etcd Version: (\S+)/),
    rclone: toolVersion('rclone', ['version'], /rclone (v\S+)/),
    zstd: toolVersion('zstd', ['--version'], /(v\d+\.\d+\.\d+)/),
    age: toolVersion('age', ['--version'], /(\S+)/),
  };
}

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const info = machine();
  const work = join(tmpdir(), `cpb-bench-${process.pid}`);
  mkdirSync(work, { recursive: true });
  let scaleResults: ScaleResult[] = [];
  let incrementalResult: IncrementalResult | undefined;
  const backups: BackupResult[] = [];
  const restores: RestoreResult[] = [];
  try {
    if (doSynth) {
      const sizes = quick ? [100, 1000] : [100, 1000, 10000];
      scaleResults = scale(work, sizes, () => (quick ? 1 : 5), log);
      incrementalResult = incremental(work, 1000);
    }
    if (doBackup) {
      backups.push(await backupBench({ label: quick ? '8 MB' : '30 MB', targetBytes: quick ? 8e6 : 30e6, runs: quick ? 2 : 5, log }));
      if (values.large) backups.push(await backupBench({ label: '1 GB', targetBytes: 1e9, runs: quick ? 1 : 3, log }));
    }
    if (doRestore) {
      // A DB of 30-40 MB (values 0.6 compressible, as for the backup rows); one world per member count.
      const targetBytes = quick ? 8e6 : 30e6;
      const runs = quick ? 2 : 5;
      restores.push(await restoreBench({ members: 1, targetBytes, runs, log }));
      restores.push(await restoreBench({ members: 3, targetBytes, runs, log }));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  // Figures and goals.
  const at = (n: number) => scaleResults.find((r) => r.clusters === n);
  const s1k = at(1000);
  const s10k = at(10000);
  const goals: { name: string; value: number; limit: number; shown: string; result: 'met' | 'MISSED' }[] = [];
  if (s1k) {
    const v = ratio(s1k.cli.wallMs, s1k.floor.wallMs);
    goals.push({ name: 'synth 1,000 / floor', value: v, limit: 1.5, shown: times(v), result: verdict(v, 1.5) });
  }
  if (s1k && s10k) {
    const v = ratio(s10k.cli.wallMs, s1k.cli.wallMs);
    goals.push({ name: 't(10,000) / t(1,000)', value: v, limit: 11, shown: times(v), result: verdict(v, 11) });
    goals.push({ name: 'peak RSS at 10,000', value: s10k.cli.maxRssBytes / 1e6, limit: 600, shown: mb(s10k.cli.maxRssBytes), result: verdict(s10k.cli.maxRssBytes / 1e6, 600) });
  }
  if (incrementalResult) {
    const v = incrementalResult.onlyThatCluster ? 0 : 1;
    goals.push({ name: 'incremental: only that cluster changed', value: v, limit: 0, shown: `${incrementalResult.filesChanged.length} file(s)`, result: verdict(v, 0) });
  }
  for (const b of backups) {
    goals.push({ name: `backup ${b.label} / bare`, value: b.ratio, limit: 1.5, shown: times(b.ratio), result: verdict(b.ratio, 1.5) });
    goals.push({ name: `backup ${b.label} scratch / DB`, value: b.scratchRatio, limit: 1.1, shown: times(b.scratchRatio), result: verdict(b.scratchRatio, 1.1) });
  }

  const r1 = restores.find((r) => r.members === 1);
  const r3 = restores.find((r) => r.members === 3);
  if (r1?.bare) {
    const v = ratio(r1.wallMs, r1.bare.wallMs);
    goals.push({ name: 'restore 1 member / bare', value: v, limit: 1.5, shown: times(v), result: verdict(v, 1.5) });
  }
  if (r1 && r3) {
    const v = ratio(r3.wallMs, r1.wallMs);
    goals.push({ name: 'restore 3 members / 1 member', value: v, limit: 2, shown: times(v), result: verdict(v, 2) });
  }

  const rows: string[][] = [['benchmark', 'ours (median)', 'floor / bare (median)', 'ratio', 'peak RSS / scratch', 'runs']];
  for (const r of scaleResults) {
    rows.push([
      `synth ${r.clusters.toLocaleString('en-US')} clusters (${r.files} files, ${mb(r.outputBytes)})`,
      seconds(r.cli.wallMs), `${seconds(r.floor.wallMs)}${r.floorIdentical ? '' : ' (output differs!)'}`,
      `${times(ratio(r.cli.wallMs, r.floor.wallMs))} (cpu ${times(ratio(r.cli.cpuMs, r.floor.cpuMs))})`, `${mb(r.cli.maxRssBytes)} (floor ${mb(r.floor.maxRssBytes)})`, String(r.runs),
    ]);
  }
  if (s1k && s10k) rows.push(['synth t(10,000) / t(1,000)', times(ratio(s10k.cli.wallMs, s1k.cli.wallMs)), `floor ${times(ratio(s10k.floor.wallMs, s1k.floor.wallMs))}`, '', '', '']);
  if (incrementalResult) {
    rows.push([
      `incremental synth, 1 of ${incrementalResult.clusters.toLocaleString('en-US')} clusters changed`, seconds(incrementalResult.wallMs), '',
      '', `${incrementalResult.filesChanged.length} of ${incrementalResult.filesTotal} files changed${incrementalResult.onlyThatCluster ? `, in ${incrementalResult.changedCluster}/ and fleet files only` : ': ' + incrementalResult.filesChanged.slice(0, 5).join(', ')}`, '1',
    ]);
  }
  for (const b of backups) {
    rows.push([
      `backup Job, ${mb(b.dbBytes)} DB (zstd ${times(b.compressedRatio)} of DB)`, seconds(b.pipelineMs), seconds(b.bareMs), times(b.ratio),
      `scratch ${mb(b.scratchPeakBytes)} = ${times(b.scratchRatio)} DB`, String(b.runs.length),
    ]);
    const s = b.stagesMs;
    rows.push([
      '  stages (median)',
      `snapshot ${seconds(s.snapshotContainer)}, verify ${seconds(s.verify)}, pki ${seconds(s.pki)}, compress+encrypt+upload (one stream) ${seconds(s.stream)}, sizes+metadata+sidecar ${seconds(s.upload)}, agent total ${seconds(s.total)}, upload container ${seconds(s.uploadContainer)}`,
      `snapshot ${seconds(s.bareSnapshot)}, upload ${seconds(s.bareUpload)}`, '', '', '',
    ]);
    rows.push([
      '  tools alone on the snapshot', `zstd ${seconds(b.tools.zstdMs)}, age ${seconds(b.tools.ageMs)}, zstd then age (piped) ${seconds(b.tools.zstdThenAgeMs)}, sha256sum ${seconds(b.tools.sha256Ms)}`,
      '', '', '', '1',
    ]);
  }
  const stageText = (stages: Record<string, number>) =>
    ['fetch', 'verify', 'restore', 'barrier', 'stopEtcd', 'swap', 'startEtcd', 'total'].filter((k) => k in stages).map((k) => `${k} ${seconds(stages[k])}`).join(', ');
  for (const r of restores) {
    rows.push([
      `restore Job${r.members > 1 ? 's' : ''}, kubeadm, ${r.members} member${r.members > 1 ? 's' : ''}, ${mb(r.dbBytes)} DB (object ${mb(r.objectBytes)})`,
      seconds(r.wallMs), r.bare ? seconds(r.bare.wallMs) : r1 ? `1 member: ${seconds(r1.wallMs)}` : '',
      r.bare ? times(ratio(r.wallMs, r.bare.wallMs)) : r1 ? times(ratio(r.wallMs, r1.wallMs)) : '', '', String(r.runs.length),
    ]);
    rows.push([
      '  stages (median, slowest member)', stageText(r.stagesMs),
      r.bare ? `download ${seconds(r.bare.downloadMs)}, age -d + zstd -d ${seconds(r.bare.decryptDecompressMs)}, snapshot restore ${seconds(r.bare.restoreMs)}` : '', '', '', '',
    ]);
    rows.push([
      `restore static pod${r.members > 1 ? 's' : ''} (no API server), kubeadm, ${r.members} member${r.members > 1 ? 's' : ''}`,
      seconds(r.staticPods.wallMs), `Jobs: ${seconds(r.wallMs)}`, times(ratio(r.staticPods.wallMs, r.wallMs)), '', String(r.staticPods.runs.length),
    ]);
    rows.push(['  stages (median, slowest member)', stageText(r.staticPods.stagesMs), '', '', '', '']);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
  const table = [line(rows[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
  const missed = goals.filter((g) => g.result === 'MISSED');
  const summary = `bench: ${goals.length - missed.length}/${goals.length} goals met${missed.length ? `; missed: ${missed.map((g) => `${g.name} ${g.shown}`).join(', ')}` : ''} (${quick ? 'quick' : 'default'}${values.large ? ' + large' : ''} mode, ${info.cpu}, ${info.cores} cores)`;

  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  // A partial run (--only) writes latest-<part>.json, so that it never overwrites the figures of a full run.
  writeFileSync(join(resultsDir, values.only ? `latest-${values.only}.json` : 'latest.json'), `${JSON.stringify({
    startedAt, finishedAt: new Date().toISOString(), mode: { quick, large: values.large, only: values.only ?? 'all' }, machine: info,
    goals, synth: scaleResults, incremental: incrementalResult, backup: backups, restore: restores, table, summary,
  }, null, 2)}\n`);
  process.stdout.write(`Machine: ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, Node ${info.node}, etcd ${info.etcd}, rclone ${info.rclone}, zstd ${info.zstd}, age ${info.age}\n\n${table}\n\n${summary}\n`);
}

main().catch((error) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
