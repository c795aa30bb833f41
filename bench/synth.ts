/**
 * Synthesis benchmarks: the real CLI in a child process at several fleet sizes, next to the floor (bench/floor.ts:
 * the same files with the yaml library alone), and an incremental re-synth of a 1,000-cluster fleet.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { writeDump } from './dump';
import { clusterName, inventoryText } from './inventory';
import { median } from './stats';

const ROOT = resolve(__dirname, '..', '..');
const CLI = join(ROOT, 'build', 'lib', 'cli', 'bin.js');
const FLOOR = join(ROOT, 'build', 'bench', 'floor.js');

export interface ProcessRun {
  readonly wallMs: number;
  /** User + system CPU time: steadier than wall time when the machine is shared. */
  readonly cpuMs: number;
  readonly maxRssBytes: number;
}

export interface ScaleResult {
  readonly clusters: number;
  readonly files: number;
  readonly outputBytes: number;
  readonly runs: number;
  readonly cli: { readonly wallMs: number; readonly cpuMs: number; readonly maxRssBytes: number; readonly samplesMs: number[] };
  /** Wall time less the floor's reading of the object dump (median loadMs in `dumpLoadMs`). */
  readonly floor: { readonly wallMs: number; readonly cpuMs: number; readonly maxRssBytes: number; readonly samplesMs: number[]; readonly dumpLoadMs: number };
  /** The floor wrote byte for byte what the CLI wrote. */
  readonly floorIdentical: boolean;
}

export interface IncrementalResult {
  readonly clusters: number;
  readonly changedCluster: string;
  readonly wallMs: number;
  readonly filesTotal: number;
  readonly filesChanged: string[];
  /** Every changed file is in the changed cluster's folder. */
  readonly onlyThatCluster: boolean;
}

/** Runs `node args` under /usr/bin/time -v: whole-process wall time and peak RSS. */
function timed(args: string[]): ProcessRun {
  const timeFile = join(resolve(args[args.length - 1], '..'), `.time-${process.pid}`);
  const started = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-v', '-o', timeFile, process.execPath, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  const report = readFileSync(timeFile, 'utf8');
  rmSync(timeFile, { force: true });
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(report);
  const cpu = (label: string) => Number(new RegExp(`${label} time \\(seconds\\): ([\\d.]+)`).exec(report)?.[1] ?? Number.NaN) * 1000;
  return { wallMs, cpuMs: cpu('User') + cpu('System'), maxRssBytes: rss ? Number(rss[1]) * 1024 : Number.NaN };
}

function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

function digests(dir: string): Map<string, string> {
  return new Map(listTree(dir).map((file) => [file, createHash('sha256').update(readFileSync(join(dir, file))).digest('hex')]));
}

function sameTree(a: string, b: string): boolean {
  const da = digests(a);
  const db = digests(b);
  return da.size === db.size && [...da].every(([file, digest]) => db.get(file) === digest);
}

export function scale(work: string, sizes: readonly number[], runs: (clusters: number) => number, log: (line: string) => void): ScaleResult[] {
  const results: ScaleResult[] = [];
  for (const clusters of sizes) {
    const inventory = join(work, `inventory-${clusters}.yaml`);
    writeFileSync(inventory, inventoryText(clusters));
    const out = join(work, `out-${clusters}`);
    const floorOut = join(work, `floor-${clusters}`);
    const objects = join(work, `objects-${clusters}.ndjson`);
    const report = join(work, `floor-report-${clusters}.json`);
    const n = runs(clusters);
    const cli: ProcessRun[] = [];
    const floor: (ProcessRun & { loadMs: number })[] = [];
    let floorIdentical = false;
    for (let i = 0; i < n; i++) {
      // Each run writes into a missing folder (a first synth); bench/incremental covers an existing one.
      rmSync(out, { recursive: true, force: true });
      cli.push(timed([CLI, 'synth', '--inventory', inventory, '--out', out]));
      if (i === 0) writeDump(out, listTree(out), objects);
      rmSync(floorOut, { recursive: true, force: true });
      const f = timed([FLOOR, '--inventory', inventory, '--objects', objects, '--out', floorOut, '--report', report]);
      const { loadMs } = JSON.parse(readFileSync(report, 'utf8')) as { loadMs: number };
      floor.push({ ...f, wallMs: f.wallMs - loadMs, cpuMs: f.cpuMs - loadMs, loadMs });
      if (i === 0) floorIdentical = sameTree(out, floorOut);
      log(`synth ${clusters}: run ${i + 1}/${n}: cli ${(cli[i].wallMs / 1000).toFixed(2)} s (cpu ${(cli[i].cpuMs / 1000).toFixed(2)} s), floor ${(floor[i].wallMs / 1000).toFixed(2)} s (cpu ${(floor[i].cpuMs / 1000).toFixed(2)} s)`);
    }
    const files = listTree(out).length;
    const outputBytes = listTree(out).reduce((sum, file) => sum + statSync(join(out, file)).size, 0);
    results.push({
      clusters, files, outputBytes, runs: n, floorIdentical,
      cli: { wallMs: median(cli.map((r) => r.wallMs)), cpuMs: median(cli.map((r) => r.cpuMs)), maxRssBytes: Math.max(...cli.map((r) => r.maxRssBytes)), samplesMs: cli.map((r) => r.wallMs) },
      floor: {
        wallMs: median(floor.map((r) => r.wallMs)), cpuMs: median(floor.map((r) => r.cpuMs)), maxRssBytes: Math.max(...floor.map((r) => r.maxRssBytes)), samplesMs: floor.map((r) => r.wallMs),
        dumpLoadMs: median(floor.map((r) => r.loadMs)),
      },
    });
    for (const path of [out, floorOut, objects, report]) rmSync(path, { recursive: true, force: true });
  }
  return results;
}

/** Synth a fleet, change one cluster's schedule, synth into the same folder again: which files changed? */
export function incremental(work: string, clusters: number): IncrementalResult {
  const changed = Math.floor(clusters / 2);
  const before = join(work, `incremental-${clusters}-before.yaml`);
  const after = join(work, `incremental-${clusters}-after.yaml`);
  writeFileSync(before, inventoryText(clusters));
  writeFileSync(after, inventoryText(clusters, changed));
  const out = join(work, `incremental-${clusters}`);
  rmSync(out, { recursive: true, force: true });
  timed([CLI, 'synth', '--inventory', before, '--out', out]);
  const old = digests(out);
  const run = timed([CLI, 'synth', '--inventory', after, '--out', out]);
  const now = digests(out);
  const filesChanged = [...new Set([...old.keys(), ...now.keys()])].filter((file) => old.get(file) !== now.get(file)).sort();
  rmSync(out, { recursive: true, force: true });
  const name = clusterName(changed);
  return {
    clusters, changedCluster: name, wallMs: run.wallMs, filesTotal: now.size, filesChanged,
    // Fleet-level files (SUMMARY.md, argocd/, flux/) may list the changed setting; no other cluster's folder may change.
    onlyThatCluster: filesChanged.some((file) => file.startsWith(`${name}/`))
      && filesChanged.every((file) => file.startsWith(`${name}/`) || !/^c\d{5}\//.test(file)),
  };
}
