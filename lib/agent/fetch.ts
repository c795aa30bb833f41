/**
 * Reading a backup set back, for every command that restores one (drill, restores): one object downloaded into the
 * scratch volume and checked against the sidecar, then decrypted and decompressed as a stream. Failures are
 * AgentErrors of the one table: 2 corrupt or missing, 3 wrong key, 4 storage.
 */
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { downloadChecked } from '../storage/integrity';
import { compressionOf } from '../storage/layout';
import type { AssessedSet } from '../storage/sets';
import type { ObjectStore } from '../storage/store';
import { AgentError, EXIT } from './exit-codes';
import { pipeThrough, StageError } from './tools';

/** Downloads `<folder>/<file>` of the set into `work` and checks its sha256 against the set's sidecar; its path. */
export async function fetchChecked(store: ObjectStore, folder: string, set: AssessedSet, file: string, work: string): Promise<string> {
  const checked = await downloadChecked(store, folder, set, file, work);
  if ('path' in checked) return checked.path;
  throw new AgentError(checked.problem === 'storage' ? EXIT.storage : EXIT.invalidBackup, checked.message, 'fetch');
}

/**
 * `age -d -i identity` (for `.age`), then zstd -d or gunzip as the suffix says, from `input` into `out` (a path or a
 * stream). A key that does not open it is exit 3; anything else that fails to decode is exit 2.
 */
export async function decode(env: NodeJS.ProcessEnv, input: Readable, suffix: string, identity: string | undefined, out: NodeJS.WritableStream | string, label: string): Promise<void> {
  let stream: Readable = input;
  if (suffix.endsWith('.age')) {
    if (!identity) throw new AgentError(EXIT.config, `${label} is age-encrypted and no identity is given`, 'fetch');
    stream = pipeThrough('age', 'age', ['-d', '-i', identity], stream, env);
  }
  const compression = compressionOf(suffix);
  const sink = typeof out === 'string' ? createWriteStream(out, { mode: 0o600 }) : out;
  try {
    if (compression === 'zstd') stream = pipeThrough('zstd', 'zstd', ['-d', '-q', '-c'], stream, env);
    if (compression === 'gzip') await pipeline(stream, createGunzip(), sink);
    else await pipeline(stream, sink);
  } catch (error) {
    const message = (error as Error).message;
    if (error instanceof StageError && message.startsWith('age') && /no identity matched|incorrect|failed to decrypt|header/i.test(message)) {
      throw new AgentError(EXIT.config, `${label} could not be decrypted with the given identity (${message}): is its recipient in encryption.recipients?`, 'fetch');
    }
    throw new AgentError(EXIT.invalidBackup, `${label} could not be decoded: ${message}`, 'fetch');
  }
}
