/**
 * `controlplane-backup snapshots`: the backup sets in storage, per cluster and storage, as a table or JSON
 * (`SnapshotList`, field names documented in the README: they are an interface).
 */
import { loadInventory } from '../inventory/load';
import type { DrillSummary } from '../storage/layout';
import { isFuture } from '../storage/sets';
import { objectLockEnds } from '../storage/retention';
import { S3Clients } from '../storage/store';
import { readDrill, scanTargets, mapLimited, type ScanResult } from '../storage/scan';
import { selectTargets, type Target, type TargetSelection } from '../storage/targets';
import { EXIT, type Io } from './io';
import { plural } from '../text';

export interface StorageCommandOptions extends TargetSelection {
  readonly inventory: string;
  /** ISO-8601; ages are measured from it. @default the current time */
  readonly now?: string;
  /** MaxKeys of each listing page (tests). @default 1000 */
  readonly pageSize?: number;
}

export interface SnapshotsOptions extends StorageCommandOptions {
  readonly json?: boolean;
}

/** `--now`, or the command-line problem with it. */
function parseNow(now: string | undefined): Date | string {
  if (now === undefined) return new Date();
  const date = new Date(now);
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2})$/.test(now) || Number.isNaN(date.getTime())) {
    return `--now "${now}" is not an ISO-8601 time with a zone, such as 2026-03-01T12:00:00Z`;
  }
  return date;
}

/**
 * Loads the inventory, resolves the targets and lists them with `clients`, with progress on a terminal. Returns the
 * results, or an exit code when the command line is wrong (the message is printed).
 */
export async function scanSelection(command: string, options: StorageCommandOptions, clients: S3Clients, io: Io): Promise<{ now: Date; targets: Target[]; results: ScanResult[] } | number> {
  const now = parseNow(options.now);
  if (typeof now === 'string') return usageProblem(io, command, now);
  const inventory = loadInventory(options.inventory);
  const selection = selectTargets(inventory, options);
  if ('error' in selection) return usageProblem(io, command, selection.error);
  let shown = false;
  const onProgress = io.interactive
    ? (objects: number, done: number, total: number) => {
        shown = true;
        io.err(`\r${command}: ${objects} objects listed, ${done}/${total} folders`);
      }
    : undefined;
  const results = await scanTargets(clients, selection.targets, { pageSize: options.pageSize, onProgress });
  if (shown) io.err('\n');
  return { now, targets: selection.targets, results };
}

function usageProblem(io: Io, command: string, message: string): number {
  io.err(`controlplane-backup: ${message}\nRun \`controlplane-backup ${command} --help\` for usage.\n`);
  return EXIT.invalid;
}

/** One backup set in the JSON output. */
export interface SnapshotJson {
  name: string;
  createdAt: string;
  ageSeconds: number;
  sizeBytes: number;
  objectCount: number;
  complete: boolean;
  /** Dated after `now` beyond the clock skew: never latest, never counted or deleted by retention. */
  future: boolean;
  /** Why the set is not complete (empty when complete). */
  problems: string[];
  encrypted: boolean;
  pki: boolean;
  compression: 'zstd' | 'gzip' | 'none' | null;
  snapshotKey: string | null;
  drill: DrillSummary | null;
  /**
   * Storages with S3 Object Lock only: until when the set may still be locked (retention deletes it after that, if
   * due); null when that date has passed.
   */
  lockedUntil?: string | null;
}

/** One (cluster, storage) folder in the JSON output. */
export interface LocationJson {
  cluster: string;
  storage: string;
  storageKind: 's3' | 'objectBucketClaim' | 'local';
  status: 'listed' | 'skipped' | 'failed';
  /** Why it was skipped or what failed; null when listed. */
  message: string | null;
  endpoint: string | null;
  bucket: string | null;
  folder: string;
  backups: SnapshotJson[];
  otherObjects: { key: string; sizeBytes: number }[];
}

export async function snapshots(options: SnapshotsOptions, io: Io): Promise<number> {
  const clients = new S3Clients();
  try {
    return await listSnapshots(options, clients, io);
  } finally {
    clients.destroy();
  }
}

async function listSnapshots(options: SnapshotsOptions, clients: S3Clients, io: Io): Promise<number> {
  const scanned = await scanSelection('snapshots', options, clients, io);
  if (typeof scanned === 'number') return scanned;
  const { now, results } = scanned;
  const locations = await mapLimited(results, async (result): Promise<LocationJson> => {
    const { target } = result;
    const base = {
      cluster: target.cluster.name,
      storage: target.storage.name,
      storageKind: target.storage.kind,
      status: result.status,
      message: result.status === 'listed' ? null : result.message,
      endpoint: target.location?.endpoint ?? null,
      bucket: target.location?.bucket ?? null,
      folder: target.folder,
    };
    if (result.status !== 'listed') return { ...base, backups: [], otherObjects: [] };
    const drills = await mapLimited(result.contents.sets, (set) => readDrill(clients, target.location!, set));
    const lock = target.storage.kind === 's3' ? target.storage.s3.objectLock : undefined;
    const lockedUntil = (createdAt: Date) => {
      const end = objectLockEnds(createdAt, lock!.days, target.cluster.backup.activeDeadlineSeconds);
      return end.getTime() > now.getTime() ? end.toISOString().replace('.000Z', 'Z') : null;
    };
    return {
      ...base,
      backups: result.contents.sets.map((set, i) => ({
        name: set.name,
        createdAt: set.createdAt.toISOString().replace('.000Z', 'Z'),
        ageSeconds: Math.floor((now.getTime() - set.createdAt.getTime()) / 1000),
        sizeBytes: set.sizeBytes,
        objectCount: set.objectCount,
        complete: set.complete,
        future: isFuture(set, now),
        problems: [...set.problems],
        encrypted: set.encrypted,
        pki: set.pki,
        compression: set.compression,
        snapshotKey: set.snapshotKey,
        drill: drills[i],
        ...(lock ? { lockedUntil: lockedUntil(set.createdAt) } : {}),
      })),
      otherObjects: result.contents.others.map((object) => ({ key: object.key, sizeBytes: object.size })),
    };
  });
  if (options.json) {
    const list = { apiVersion: 'controlplane-backup.io/v1', kind: 'SnapshotList', now: now.toISOString(), locations };
    io.out(`${JSON.stringify(list, null, 2)}\n`);
  } else {
    io.out(renderTable(locations));
  }
  const failed = locations.filter((location) => location.status === 'failed');
  for (const location of failed) io.err(`snapshots: ${location.cluster} in ${location.storage}: ${location.message}\n`);
  return failed.length > 0 ? EXIT.problems : EXIT.ok;
}

// ---- the table ------------------------------------------------------------------------------------------------

/** `512 B`, `1.5 KiB`, `20.0 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Compact age for tables: `42m`, `5h 3m`, `3d 4h`; `future` for a time after now (clock skew). */
function formatAge(seconds: number): string {
  if (seconds < 0) return 'future';
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
  return `${Math.floor(minutes / 1440)}d ${Math.floor((minutes % 1440) / 60)}h`;
}

function columns(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}

const yes = (value: boolean) => (value ? 'yes' : 'no');

function renderTable(locations: readonly LocationJson[]): string {
  const sections = locations.map((location) => {
    const where = `${location.cluster} in ${location.storage}`;
    if (location.status === 'skipped') return `${where}: skipped: ${location.message}\n`;
    if (location.status === 'failed') return `${where}: FAILED: ${location.message}\n`;
    const complete = location.backups.filter((backup) => backup.complete).length;
    const future = location.backups.filter((backup) => backup.future).length;
    const lines = [`${where} (s3://${location.bucket}/${location.folder ? `${location.folder}/` : ''}): ${plural(location.backups.length, 'backup')}, ${complete} complete, ${future ? `${future} dated in the future (never used: check the clock of the pod that wrote it), ` : ''}${plural(location.otherObjects.length, 'other object')}`];
    if (location.backups.length > 0) {
      // The LOCKED UNTIL column only for a storage with Object Lock.
      const locked = location.backups.some((backup) => backup.lockedUntil !== undefined);
      lines.push(columns([
        ['NAME', 'CREATED (UTC)', 'AGE', 'SIZE', 'COMPLETE', 'ENCRYPTED', 'PKI', 'DRILL', ...(locked ? ['LOCKED UNTIL (UTC)'] : [])],
        ...location.backups.map((backup) => [
          backup.name, backup.createdAt.slice(0, 19).replace('T', ' '), formatAge(backup.ageSeconds), formatBytes(backup.sizeBytes),
          yes(backup.complete), yes(backup.encrypted), yes(backup.pki), backup.drill?.result ?? '-',
          ...(locked ? [backup.lockedUntil ? backup.lockedUntil.slice(0, 19).replace('T', ' ') : '-'] : []),
        ]),
      ]));
    }
    if (location.otherObjects.length > 0) {
      const prefix = location.folder ? `${location.folder}/` : '';
      lines.push('other objects (not backups):');
      lines.push(columns(location.otherObjects.map((object) => [`  ${object.key.startsWith(prefix) ? object.key.slice(prefix.length) : object.key}`, formatBytes(object.sizeBytes)])));
    }
    return `${lines.join('\n')}\n`;
  });
  return sections.join('\n');
}
