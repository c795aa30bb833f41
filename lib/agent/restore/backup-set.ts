/**
 * The backup set a restore reads: resolved in one listing (`latest` is the newest complete set, lib/storage's rule),
 * then its snapshot (and PKI bundle) fetched and decoded as every command does (lib/agent/fetch.ts) into the scratch
 * dir, and the snapshot's sha256 trailer checked. Nothing on a node or volume is touched before this succeeded.
 */
import { createReadStream } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { readFolder } from '../../storage/folder';
import { checkSnapshotFile, InvalidSnapshotError } from '../../storage/integrity';
import { SNAPSHOT_NAME, SUFFIX } from '../../storage/layout';
import { latestComplete, pkiEntry, snapshotEntry, untrustedLatestProblem, type AssessedSet } from '../../storage/sets';
import type { ObjectStore } from '../../storage/store';
import { AgentError, EXIT } from '../exit-codes';
import { decode, fetchChecked } from '../fetch';
import { which } from '../tools';

/** Where a set is: the store and the cluster's folder in it. */
export interface SetLocation {
  readonly store: ObjectStore;
  readonly cluster: string;
  readonly folder: string;
}

const where = (at: SetLocation) => `${at.store.description}/${at.folder}`;

/** What the cluster's signing key demands of the set (the restore plan's `signingPublicKey` and `allowUnsigned`). */
export interface Authenticity {
  /** null: the cluster has no signing key, signatures are not checked. */
  readonly publicKey: string | null;
  /** A named set that is not signed with the key is restored anyway (the request says so). */
  readonly allowUnsigned: boolean;
  readonly log: (message: string) => void;
}

/**
 * `latest` -> the newest trusted set (complete, and signed when the cluster has a key); a name -> that set, complete
 * and signed unless `allowUnsigned`. Exit 2 when there is none, 13 when it is not signed, 4 on a storage error.
 */
export async function resolveSet(at: SetLocation, name: string, now: Date, expectPki?: boolean, authenticity?: Authenticity): Promise<AssessedSet> {
  if (name !== 'latest' && (!SNAPSHOT_NAME.test(name) || !name.startsWith(`${at.cluster}-`))) {
    throw new AgentError(EXIT.config, `the snapshot must be latest or ${at.cluster}-<yyyymmddThhmmssZ> (got '${name}')`, 'resolve');
  }
  let sets: readonly AssessedSet[];
  try {
    sets = (await readFolder(at.store, at.cluster, at.folder, {
      ...(expectPki === undefined ? {} : { expectPki }),
      ...(authenticity?.publicKey ? { publicKey: authenticity.publicKey } : {}),
    })).sets;
  } catch (error) {
    throw new AgentError(EXIT.storage, `cannot list ${where(at)}: ${(error as Error).message}`, 'resolve');
  }
  if (name === 'latest') {
    const set = latestComplete(sets, now);
    if (!set) {
      const untrusted = untrustedLatestProblem(sets, now);
      if (untrusted) throw new AgentError(EXIT.untrusted, `no signed backup of ${at.cluster} in ${where(at)}: ${untrusted}`, 'resolve');
      const newest = sets[0];
      throw new AgentError(EXIT.invalidBackup, `no complete backup of ${at.cluster} in ${where(at)}${newest ? ` (newest: ${newest.name}: ${newest.problems.join('; ')})` : ''}`, 'resolve');
    }
    return set;
  }
  const set = sets.find((s) => s.name === name);
  if (!set) throw new AgentError(EXIT.invalidBackup, `backup ${name} not found in ${where(at)}`, 'resolve');
  if (!set.hasSidecar) throw new AgentError(EXIT.invalidBackup, `no checksum sidecar: ${name} is an incomplete backup (${name}${SUFFIX.sidecar} not found in ${where(at)})`, 'resolve');
  if (!set.complete) throw new AgentError(EXIT.invalidBackup, `${name} is an incomplete backup: ${set.problems.join('; ')}`, 'resolve');
  if (!set.trusted) {
    if (!authenticity?.allowUnsigned) {
      throw new AgentError(EXIT.untrusted, `refusing ${name}: it is ${set.signatureProblem}; it was not written by this cluster's backup (or before backup.signing was set). `
        + 'Restore a signed set, or, if you know where this one comes from, set `allowUnsigned: true` on the restore request', 'resolve');
    }
    authenticity.log(`WARNING: restoring ${name} although it is ${set.signatureProblem} (the request says allowUnsigned: true)`);
  }
  return set;
}

export interface FetchOptions {
  /** scratch directory (created by the caller) */
  readonly dir: string;
  readonly withPki: boolean;
  /** the age identity file; needed only when an object is encrypted */
  readonly identityFile: string | null;
  readonly log: (message: string) => void;
  readonly env?: NodeJS.ProcessEnv;
}

export interface FetchedSet {
  /** the decoded snapshot, its trailer verified */
  readonly snapshotFile: string;
  readonly snapshotBytes: number;
  /** the decoded PKI bundle (a tar archive) when asked for */
  readonly pkiTar?: Buffer;
  /** removes what was fetched */
  dispose(): Promise<void>;
}

/** Downloads, checks, decrypts and decodes the set's snapshot (and PKI bundle) into `options.dir`. */
export async function fetchVerifiedSet(at: SetLocation, set: AssessedSet, options: FetchOptions): Promise<FetchedSet> {
  const env = options.env ?? process.env;
  const snapshot = snapshotEntry(set);
  if (!snapshot) throw new AgentError(EXIT.invalidBackup, `sidecar ${set.name}${SUFFIX.sidecar} lists no snapshot object (${set.name}.db[.zst|.gz][.age])`, 'fetch');
  const pki = options.withPki ? pkiEntry(set) : undefined;
  if (options.withPki && !pki) throw new AgentError(EXIT.invalidBackup, `backup ${set.name} has no PKI bundle (${set.name}.pki.tar[.zst|.gz].age not in its sidecar)`, 'fetch');
  const entries = pki ? [snapshot, pki] : [snapshot];
  // fail before any download when a key or a tool is needed and absent
  if (entries.some((e) => e.file.endsWith('.age'))) {
    if (!options.identityFile || !(await nonEmpty(options.identityFile))) {
      throw new AgentError(EXIT.config, `decryption key missing: create the Secret mounted at ${options.identityFile ?? '<no identity file in the plan>'} with the age identity (AGE-SECRET-KEY-...) whose recipient the backups are encrypted to`, 'fetch');
    }
    if (!which('age', env)) throw new AgentError(EXIT.config, 'missing required tool(s): age', 'fetch');
  }
  if (entries.some((e) => /\.zst(\.age)?$/.test(e.file)) && !which('zstd', env)) throw new AgentError(EXIT.config, 'missing required tool(s): zstd', 'fetch');

  const files: string[] = [];
  const dispose = async () => { await Promise.all(files.map((f) => rm(f, { force: true }))); };
  try {
    const downloaded = await fetchChecked(at.store, at.folder, set, snapshot.file, options.dir);
    files.push(downloaded);
    options.log(`downloaded ${snapshot.file} (${(await stat(downloaded)).size} bytes), sha256 matches the sidecar`);
    const snapshotFile = join(options.dir, 'snapshot.db');
    files.push(snapshotFile);
    await decode(env, createReadStream(downloaded), snapshot.file.slice(set.name.length), options.identityFile ?? undefined, snapshotFile, snapshot.file);
    await rm(downloaded, { force: true }); // free scratch space early
    let size: number;
    try {
      size = (await checkSnapshotFile(snapshotFile)).size;
    } catch (error) {
      if (error instanceof InvalidSnapshotError) throw new AgentError(EXIT.invalidBackup, `${snapshot.file}: ${error.message}`, 'verify');
      throw error;
    }
    options.log(`snapshot ${snapshot.file} verified: ${size} bytes, sha256 trailer matches`);
    let pkiTar: Buffer | undefined;
    if (pki) {
      const path = await fetchChecked(at.store, at.folder, set, pki.file, options.dir);
      files.push(path);
      const chunks: Buffer[] = [];
      const sink = new Writable({ write(chunk: Buffer, _encoding, callback) { chunks.push(chunk); callback(); } });
      await decode(env, createReadStream(path), pki.file.slice(set.name.length), options.identityFile ?? undefined, sink, pki.file);
      await rm(path, { force: true });
      pkiTar = Buffer.concat(chunks);
    }
    return { snapshotFile, snapshotBytes: size, ...(pkiTar ? { pkiTar } : {}), dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** What a restore checks against its target in the set's meta.json (written by `agent backup`). */
export interface SetMeta {
  /** the cluster the backup was taken of */
  readonly cluster?: string;
  /** the etcd that served the snapshot (`etcd.serverVersion`) */
  readonly etcdVersion?: string;
}

/** Downloads meta.json (its sha256 checked against the sidecar) into `dir`, reads it and removes it. Exit 2 when unreadable. */
export async function readSetMeta(at: SetLocation, set: AssessedSet, dir: string): Promise<SetMeta> {
  const file = `${set.name}${SUFFIX.meta}`;
  const path = await fetchChecked(at.store, at.folder, set, file, dir);
  let meta: { cluster?: unknown; etcd?: { serverVersion?: unknown } };
  try {
    meta = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    throw new AgentError(EXIT.invalidBackup, `${file} is not JSON`, 'fetch');
  } finally {
    await rm(path, { force: true });
  }
  const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);
  const cluster = text(meta.cluster);
  const etcdVersion = text(meta.etcd?.serverVersion);
  return { ...(cluster ? { cluster } : {}), ...(etcdVersion ? { etcdVersion } : {}) };
}

async function nonEmpty(path: string): Promise<boolean> {
  try { return (await stat(path)).size > 0; } catch { return false; }
}
