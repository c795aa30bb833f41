/**
 * `controlplane-backup check`: is every cluster's newest complete backup fresh, and did its newest drill pass?
 * For CI and cron: one line per problem on stdout and exit 3; on success only a summary line on stderr.
 */
import type { Cluster } from '../inventory/model';
import { runAllowanceMinutes, staleAfterMinutes } from '../plan/alerts';
import { schedulePause } from '../plan/pause';
import { durationInWords, worstCaseRpo } from '../plan/schedule';
import type { BackupSet, DrillSummary } from '../storage/layout';
import { readDrill, type ScanResult } from '../storage/scan';
import { futureSets, isFuture } from '../storage/sets';
import type { StoreLocation } from '../storage/targets';
import { StoreClients } from '../storage/clients';
import { scanSelection, type StorageCommandOptions } from './snapshots';
import { EXIT, type Io } from './io';

const MINUTE = 60_000;

/** Age limit of a cluster's newest complete backup, in minutes: worst-case RPO × rpoMargin + the Job's deadline. */
/** The same threshold as the ControlPlaneBackupStale alert (lib/plan/alerts.ts), so that CLI and alert agree. */
function freshnessThreshold(cluster: Cluster): { minutes: number; words: string } {
  const { schedule, timeZone, alerts } = cluster.backup;
  const rpo = worstCaseRpo(schedule, timeZone);
  const allowance = runAllowanceMinutes(cluster);
  const minutes = staleAfterMinutes(rpo, alerts.rpoMargin, allowance) ?? Number.POSITIVE_INFINITY;
  return {
    minutes,
    words: `${durationInWords(minutes)} (worst-case RPO ${durationInWords(rpo)} × ${alerts.rpoMargin} + start and run allowance ${durationInWords(allowance)})`,
  };
}

export async function check(options: StorageCommandOptions & { readonly json?: boolean }, io: Io): Promise<number> {
  const clients = new StoreClients();
  try {
    return await checkClusters(options, clients, io);
  } finally {
    clients.destroy();
  }
}

async function checkClusters(options: StorageCommandOptions & { readonly json?: boolean }, clients: StoreClients, io: Io): Promise<number> {
  const scanned = await scanSelection('check', options, clients, io);
  if (typeof scanned === 'number') return scanned;
  const { now, results } = scanned;
  const clusters = [...new Map(results.map((result) => [result.target.cluster.name, result.target.cluster])).values()];
  const problems: string[] = [];
  const skipped: string[] = [];
  for (const cluster of clusters) {
    const own = results.filter((result) => result.target.cluster === cluster);
    problems.push(...await clusterProblems(clients, cluster, own, now));
    const listed = own.some((result) => result.status === 'listed' || result.status === 'failed');
    if (listed) skipped.push(...own.filter((result) => result.status === 'skipped').map((result) => `${cluster.name} in ${result.target.storage.name}`));
  }
  if (options.json) io.out(`${JSON.stringify({ ok: problems.length === 0, now: now.toISOString(), clusters: clusters.map((c) => c.name), problems, skipped }, null, 2)}\n`);
  else for (const problem of problems) io.out(`${problem}\n`);
  const failing = new Set(problems.map((problem) => problem.slice(0, problem.indexOf(':')))).size;
  const skippedNote = skipped.length > 0 ? `; skipped ${skipped.join(', ')} (not reachable from here)` : '';
  if (problems.length > 0) {
    io.err(`check: ${problems.length === 1 ? '1 problem' : `${problems.length} problems`} in ${failing} of ${clusters.length} cluster${clusters.length === 1 ? '' : 's'} at ${now.toISOString()}${skippedNote}\n`);
    return EXIT.problems;
  }
  io.err(`check: ${clusters.length === 1 ? '1 cluster' : `${clusters.length} clusters`} ok at ${now.toISOString()}: newest complete backup within its threshold, no failed drill${skippedNote}\n`);
  return EXIT.ok;
}

async function clusterProblems(clients: StoreClients, cluster: Cluster, results: readonly ScanResult[], now: Date): Promise<string[]> {
  const name = cluster.name;
  const problems: string[] = [];
  for (const result of results) {
    if (result.status === 'failed') problems.push(`${name}: storage ${result.target.storage.name}: ${result.message}`);
  }
  const listed = results.flatMap((result) => (result.status === 'listed' ? [{ result, location: result.target.location! }] : []));
  if (listed.length === 0) {
    if (problems.length === 0) {
      const notes = results.map((result) => `${result.target.storage.name}: ${result.status === 'skipped' ? result.message : ''}`);
      problems.push(`${name}: no storage could be checked; ${notes.join('; ')}`);
    }
    return problems;
  }

  // Freshness: the newest complete set in any reachable storage.
  const threshold = freshnessThreshold(cluster);
  const pause = schedulePause(cluster);
  const suspended = pause.suspended ? ` (its schedule is suspended: ${pause.reason})` : '';
  // A set dated in the future is never the newest: it would hide staleness behind a negative age. It is reported.
  for (const { result } of listed) {
    if (result.status !== 'listed') continue;
    for (const set of futureSets(result.contents.sets, now)) {
      problems.push(`${name}: storage ${result.target.storage.name}: backup ${set.name} is dated in the future (now ${now.toISOString()}): it is never used as latest nor removed by retention; check the clock of the node or pod that wrote it`);
    }
  }
  // Authenticity: a forged set is a sign that someone holds the storage credential; an unsigned newer one hides nothing
  // (never latest) but is reported, as is every set whose signature could not be read.
  for (const { result } of listed) {
    if (result.status !== 'listed' || !cluster.backup.signing) continue;
    const newestTrusted = Math.max(...result.contents.sets.filter((set) => set.trusted).map((set) => set.createdAt.getTime()));
    for (const set of result.contents.sets) {
      if (!set.complete || set.trusted || isFuture(set, now)) continue;
      if (set.signature === 'unsigned' && set.createdAt.getTime() < newestTrusted) continue;
      problems.push(`${name}: storage ${result.target.storage.name}: backup ${set.name} is ${set.signatureProblem}: never used as latest nor restored without allowUnsigned; ${set.signature === 'invalid' ? 'someone with the storage credential may have planted it: rotate that credential and remove the set' : 'it was written without the cluster\'s signing key (by an older agent, or by someone with the storage credential)'}`);
    }
  }
  // Freshness counts trusted sets only (signed, when the cluster has a key).
  const complete = listed.flatMap(({ result }) => (result.status === 'listed' ? result.contents.sets.filter((set) => set.trusted && !isFuture(set, now)).map((set) => ({ set, storage: result.target.storage.name })) : []));
  const newest = Math.max(...complete.map(({ set }) => set.createdAt.getTime()));
  const storageNames = listed.map(({ result }) => result.target.storage.name).join(', ');
  if (complete.length === 0) {
    problems.push(`${name}: no complete ${cluster.backup.signing ? 'signed ' : ''}backup in ${storageNames}; threshold ${threshold.words}${suspended}`);
  } else {
    const ageMinutes = (now.getTime() - newest) / MINUTE;
    if (ageMinutes > threshold.minutes) {
      const holders = complete.filter(({ set }) => set.createdAt.getTime() === newest);
      problems.push(`${name}: newest complete backup ${holders[0].set.name} (in ${holders.map(({ storage }) => storage).join(', ')}) is ${durationInWords(ageMinutes)} old; threshold ${threshold.words}${suspended}`);
    }
  }

  // Drill: the report of the newest set that has one (all its copies, the latest check wins).
  const drilled = listed.flatMap(({ result, location }) => (result.status === 'listed' ? result.contents.sets.filter((set) => set.drillKey).map((set) => ({ set, location, storage: result.target.storage.name })) : []));
  if (drilled.length > 0) {
    const latest = Math.max(...drilled.map(({ set }) => set.createdAt.getTime()));
    const copies: { set: BackupSet; location: StoreLocation; storage: string; drill: DrillSummary }[] = [];
    for (const copy of drilled.filter(({ set }) => set.createdAt.getTime() === latest)) {
      copies.push({ ...copy, drill: (await readDrill(clients, copy.location, copy.set))! });
    }
    copies.sort((a, b) => (b.drill.checkedAt ?? '').localeCompare(a.drill.checkedAt ?? ''));
    const { set, storage, drill } = copies[0];
    if (drill.result === 'failed') {
      problems.push(`${name}: newest drill report failed: ${set.name} (in ${storage}), checked ${drill.checkedAt ?? 'at an unknown time'}${drill.message ? `: ${drill.message}` : ''}`);
    } else if (drill.result === 'unreadable') {
      problems.push(`${name}: newest drill report ${set.drillKey} (in ${storage}) is unreadable: ${drill.message}`);
    }
  }
  return problems;
}
