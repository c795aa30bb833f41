/**
 * `controlplane-backup snapshots`: the backup sets in storage, per cluster and storage, as a table or JSON
 * (`SnapshotList`, field names documented in the README: they are an interface).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadInventory } from '../inventory/load';
import { downloadChecked } from '../storage/integrity';
import type { DrillSummary } from '../storage/layout';
import { isFuture, untrustedLatestProblem, type AssessedSet } from '../storage/sets';
import { objectLockEnds } from '../storage/retention';
import { StoreClients } from '../storage/clients';
import type { ObjectStore } from '../storage/store';
import { readDrill, scanTargets, mapLimited, type ScanResult } from '../storage/scan';
import { locationBucket, selectTargets, type Target, type TargetSelection } from '../storage/targets';
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
  /**
   * Download every object of every complete set and check its sha256 against the set's sidecar (which the
   * signature covers); a mismatch, a failed download or an untrusted newest set is exit 3.
   */
  readonly verify?: boolean;
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
export async function scanSelection(command: string, options: StorageCommandOptions, clients: StoreClients, io: Io): Promise<{ now: Date; targets: Target[]; results: ScanResult[] } | number> {
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
  /**
   * The sidecar's signature against the cluster's `backup.signing.publicKey`: valid, unsigned, invalid (forged or
   * another key), unreadable, or not-checked (the cluster has no signing key, or the set no readable sidecar).
   */
  signature: 'valid' | 'unsigned' | 'invalid' | 'unreadable' | 'not-checked';
  /** Why the signature does not make the set trusted; null when it does or was not checked. */
  signatureProblem: string | null;
  /** Complete and (with a signing key) signed: what latest, restores and retention use. */
  trusted: boolean;
  encrypted: boolean;
  pki: boolean;
  compression: 'zstd' | 'gzip' | 'none' | null;
  snapshotKey: string | null;
  drill: DrillSummary | null;
  /**
   * `--verify` only (null without it): each object the sidecar names downloaded and its sha256 compared; `ok`,
   * `failed` (a mismatch or a failed download: the problems say which), or `not-checked` (the set is not complete).
   */
  verified: { status: 'ok' | 'failed' | 'not-checked'; problems: string[] } | null;
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
  storageKind: 's3' | 'gcs' | 'azureBlob' | 'objectBucketClaim' | 'local';
  status: 'listed' | 'skipped' | 'failed';
  /** Why it was skipped or what failed; null when listed. */
  message: string | null;
  endpoint: string | null;
  /** The bucket, or an azureBlob storage's container. */
  bucket: string | null;
  folder: string;
  backups: SnapshotJson[];
  otherObjects: { key: string; sizeBytes: number }[];
  /** `--verify` only: why the newest complete set is not trusted (not signed with the cluster's key); absent when it is. */
  untrustedNewest?: string;
}

export async function snapshots(options: SnapshotsOptions, io: Io): Promise<number> {
  const clients = new StoreClients();
  try {
    return await listSnapshots(options, clients, io);
  } finally {
    clients.destroy();
  }
}

async function listSnapshots(options: SnapshotsOptions, clients: StoreClients, io: Io): Promise<number> {
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
      bucket: target.location ? locationBucket(target.location) : null,
      folder: target.folder,
    };
    if (result.status !== 'listed') return { ...base, backups: [], otherObjects: [] };
    const drills = await mapLimited(result.contents.sets, (set) => readDrill(clients, target.location!, set));
    const verified = options.verify
      ? await mapLimited(result.contents.sets, (set) => verifySet(clients.store(target.location!), target.folder, set))
      : result.contents.sets.map(() => null);
    const untrusted = options.verify ? untrustedLatestProblem(result.contents.sets, now) : undefined;
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
        signature: set.signature,
        signatureProblem: set.signatureProblem,
        trusted: set.trusted,
        encrypted: set.encrypted,
        pki: set.pki,
        compression: set.compression,
        snapshotKey: set.snapshotKey,
        drill: drills[i],
        verified: verified[i],
        ...(lock ? { lockedUntil: lockedUntil(set.createdAt) } : {}),
      })),
      otherObjects: result.contents.others.map((object) => ({ key: object.key, sizeBytes: object.size })),
      ...(untrusted ? { untrustedNewest: untrusted } : {}),
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
  const unverified = locations.flatMap((location) => [
    ...(location.untrustedNewest ? [`${location.cluster} in ${location.storage}: ${location.untrustedNewest}`] : []),
    ...location.backups.flatMap((backup) => (backup.verified?.problems ?? []).map((problem) => `${location.cluster} in ${location.storage}: ${backup.name}: ${problem}`)),
  ]);
  for (const problem of unverified) io.err(`snapshots --verify: ${problem}\n`);
  if (options.verify && unverified.length === 0) io.err(`snapshots --verify: every object of ${plural(locations.reduce((sum, location) => sum + location.backups.filter((backup) => backup.verified?.status === 'ok').length, 0), 'complete set')} matches its sidecar\n`);
  return failed.length > 0 || unverified.length > 0 ? EXIT.problems : EXIT.ok;
}

/** `--verify` of one set: every object its sidecar names, downloaded into a temporary dir (removed) and checked. */
async function verifySet(store: ObjectStore, folder: string, set: AssessedSet): Promise<NonNullable<SnapshotJson['verified']>> {
  if (!set.complete || !set.sidecar) return { status: 'not-checked', problems: [] };
  const dir = await mkdtemp(join(tmpdir(), 'cpb-verify-'));
  try {
    const problems: string[] = [];
    for (const entry of set.sidecar) {
      const checked = await downloadChecked(store, folder, set, entry.file, dir);
      if ('path' in checked) await rm(checked.path, { force: true });
      else problems.push(checked.message);
    }
    return { status: problems.length > 0 ? 'failed' : 'ok', problems };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
/** `-`: the cluster has no signing key (or the set no readable sidecar), nothing to check. */
const SIGNED_CELL: Readonly<Record<SnapshotJson['signature'], string>> = { valid: 'yes', unsigned: 'NO', invalid: 'FORGED', unreadable: 'unreadable', 'not-checked': '-' };

/** The folder as its store's users write it: s3://, gs://, or the blob URL of an Azure container. */
function folderUrl(location: LocationJson): string {
  const path = `${location.bucket}/${location.folder ? `${location.folder}/` : ''}`;
  if (location.storageKind === 'gcs') return `gs://${path}`;
  if (location.storageKind === 'azureBlob') return `${location.endpoint}/${path}`;
  return `s3://${path}`;
}

export function renderTable(locations: readonly LocationJson[]): string {
  const sections = locations.map((location) => {
    const where = `${location.cluster} in ${location.storage}`;
    if (location.status === 'skipped') return `${where}: skipped: ${location.message}\n`;
    if (location.status === 'failed') return `${where}: FAILED: ${location.message}\n`;
    const complete = location.backups.filter((backup) => backup.complete).length;
    const forged = location.backups.filter((backup) => backup.signature === 'invalid').length;
    const future = location.backups.filter((backup) => backup.future).length;
    const lines = [`${where} (${folderUrl(location)}): ${plural(location.backups.length, 'backup')}, ${complete} complete, ${future ? `${future} dated in the future (never used: check the clock of the pod that wrote it), ` : ''}${forged ? `${forged} FORGED (signature does not verify: never used), ` : ''}${plural(location.otherObjects.length, 'other object')}`];
    if (location.backups.length > 0) {
      // The LOCKED UNTIL column only for a storage with Object Lock.
      const locked = location.backups.some((backup) => backup.lockedUntil !== undefined);
      lines.push(columns([
        ['NAME', 'CREATED (UTC)', 'AGE', 'SIZE', 'COMPLETE', 'SIGNED', 'ENCRYPTED', 'PKI', 'DRILL', ...(locked ? ['LOCKED UNTIL (UTC)'] : [])],
        ...location.backups.map((backup) => [
          backup.name, backup.createdAt.slice(0, 19).replace('T', ' '), formatAge(backup.ageSeconds), formatBytes(backup.sizeBytes),
          yes(backup.complete), SIGNED_CELL[backup.signature], yes(backup.encrypted), yes(backup.pki), backup.drill?.result ?? '-',
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
