/**
 * Reading a backup set's objects back, for every command that does (drill, restores): each object downloaded into
 * the work dir and checked against the sidecar's sha256, then decrypted (age) and decompressed (zstd, gzip) as its
 * suffix says, streaming, with each stage's exit status checked.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { sha256File } from '../storage/integrity';
import { compressionOf, objectKey, SUFFIX } from '../storage/layout';
import type { AssessedSet } from '../storage/sets';
import { StorageError, type ObjectStore } from '../storage/store';
import { AgentError, EXIT } from './exit-codes';
import { pipeThrough, StageError } from './tools';

/** Downloads `file` of the set (in `folder` of the store) into `work` and checks its sha256 against the sidecar. */
export async function fetchChecked(store: ObjectStore, folder: string, set: AssessedSet, file: string, work: string): Promise<string> {
  const entry = set.sidecar?.find((candidate) => candidate.file === file);
  if (!entry) throw new AgentError(EXIT.invalidBackup, `sidecar ${set.name}${SUFFIX.sidecar} does not list ${file}`, 'fetch');
  const path = join(work, file);
  try {
    await store.download(objectKey(folder, file), path);
  } catch (error) {
    if (error instanceof StorageError) throw new AgentError(EXIT.storage, `download of ${file} failed: ${error.message}`, 'fetch');
    throw error;
  }
  const got = await sha256File(path);
  if (got !== entry.sha256) throw new AgentError(EXIT.invalidBackup, `checksum mismatch: ${file} (sidecar ${entry.sha256}, downloaded ${got}): the object is corrupt`, 'fetch');
  return path;
}

/**
 * age -d (with `identity`) then zstd -d / gunzip as `suffix` says, into `out`. A key that does not open it is exit 3
 * (`whose`: "the drill identity", "the restore identity"); anything else that fails to decode is exit 2.
 */
export async function decode(input: Readable, suffix: string, identity: string | undefined, out: NodeJS.WritableStream, label: string, env: NodeJS.ProcessEnv, whose = 'the drill identity'): Promise<void> {
  let stream: Readable = input;
  // age's failure reaches the decompressor as a short input: keep it, it is the cause worth reporting
  let ageError: Error | undefined;
  if (suffix.endsWith('.age')) {
    stream = pipeThrough('age', 'age', ['-d', '-i', identity!], stream, env);
    stream.on('error', (error) => { ageError ??= error; });
  }
  const compression = compressionOf(suffix);
  try {
    if (compression === 'zstd') stream = pipeThrough('zstd', 'zstd', ['-d', '-q', '-c'], stream, env);
    if (compression === 'gzip') await pipeline(stream, createGunzip(), out);
    else await pipeline(stream, out);
  } catch (caught) {
    const error = ageError instanceof StageError ? ageError : caught;
    const message = (error as Error).message;
    if (error instanceof StageError && message.startsWith('age') && /no identity matched|incorrect|failed to decrypt|header/i.test(message)) {
      throw new AgentError(EXIT.config, `${label} could not be decrypted with ${whose} (${message}): is its recipient in encryption.recipients?`, 'fetch');
    }
    throw new AgentError(EXIT.invalidBackup, `${label} could not be decoded: ${message}`, 'fetch');
  }
}
