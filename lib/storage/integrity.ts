/**
 * Integrity of the bytes themselves: the sha256 trailer etcd appends to a snapshot taken through its API (the last
 * 32 bytes are the sha256 of everything before them, so the size is 512·n + 32), and a pass-through that measures
 * what flows through a stream (size and sha256), for the sidecar and the stored-size check.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { objectKey, SUFFIX } from './layout';
import type { AssessedSet } from './sets';
import { StorageError, type ObjectStore } from './store';

/** The snapshot is missing, too small, truncated or corrupt. */
export class InvalidSnapshotError extends Error {}

export interface SnapshotCheck {
  readonly size: number;
  /** The trailer, hex: the sha256 of the body. */
  readonly trailer: string;
}

/** Checks size and sha256 trailer of a snapshot file; throws InvalidSnapshotError with the reason. */
export async function checkSnapshotFile(path: string, minSize = 0): Promise<SnapshotCheck> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new InvalidSnapshotError(`snapshot ${path} is not a file`);
    size = info.size;
  } catch (error) {
    if (error instanceof InvalidSnapshotError) throw error;
    throw new InvalidSnapshotError(`snapshot file missing: ${path} (did the snapshot init container run?)`);
  }
  if (size < minSize) throw new InvalidSnapshotError(`snapshot too small: ${size} bytes < the minimum of ${minSize} bytes (${path})`);
  if (size <= 32) throw new InvalidSnapshotError(`snapshot truncated: only ${size} bytes (${path})`);
  if (size % 512 !== 32) throw new InvalidSnapshotError(`snapshot truncated or corrupt: size ${size} is not 512*n+32 (${path})`);
  const { body, trailer } = await hashBodyAndTrailer(path);
  if (body !== trailer) {
    throw new InvalidSnapshotError(`snapshot corrupt: sha256 trailer mismatch (${path}: trailer ${trailer}, content ${body})`);
  }
  return { size, trailer };
}

/** The sha256 of all but the last 32 bytes, and those 32 bytes, in one read. */
async function hashBodyAndTrailer(path: string): Promise<{ body: string; trailer: string }> {
  const hash = createHash('sha256');
  let carry = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const joined = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    if (joined.length > 32) {
      hash.update(joined.subarray(0, joined.length - 32));
      carry = Buffer.from(joined.subarray(joined.length - 32));
    } else {
      carry = Buffer.from(joined);
    }
  }
  return { body: hash.digest('hex'), trailer: carry.toString('hex') };
}

/** Checks the trailer of a snapshot held in memory (small snapshots, tests). */
export function snapshotTrailerMatches(bytes: Uint8Array): boolean {
  if (bytes.length <= 32 || bytes.length % 512 !== 32) return false;
  const body = createHash('sha256').update(bytes.subarray(0, bytes.length - 32)).digest('hex');
  return body === Buffer.from(bytes.subarray(bytes.length - 32)).toString('hex');
}

/** sha256 of a file, hex. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

/** sha256 of bytes, hex. */
export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** One object of a set downloaded and checked against the set's sidecar: its path, or what is wrong. */
export type CheckedDownload =
  | { readonly path: string }
  | { readonly problem: 'unlisted' | 'storage' | 'mismatch'; readonly message: string };

/**
 * Downloads `<folder>/<file>` of the set into `dir` and checks its sha256 against the set's sidecar (restores and
 * drills before they decode it; `snapshots --verify` for every object of every complete set).
 */
export async function downloadChecked(store: ObjectStore, folder: string, set: AssessedSet, file: string, dir: string): Promise<CheckedDownload> {
  const entry = set.sidecar?.find((candidate) => candidate.file === file);
  if (!entry) return { problem: 'unlisted', message: `sidecar ${set.name}${SUFFIX.sidecar} does not list ${file}` };
  const path = join(dir, file);
  try {
    await store.download(objectKey(folder, file), path);
  } catch (error) {
    if (error instanceof StorageError) return { problem: 'storage', message: `download of ${file} failed: ${error.message}` };
    throw error;
  }
  const got = await sha256File(path);
  if (got !== entry.sha256) return { problem: 'mismatch', message: `checksum mismatch: ${file} (sidecar ${entry.sha256}, downloaded ${got}): the object is corrupt` };
  return { path };
}
