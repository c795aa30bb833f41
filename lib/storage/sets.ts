/**
 * Completeness, the future and "latest", pure: what a listing and the sets' sidecars say about each backup set.
 *
 * A set is complete only when its sidecar is readable and names the snapshot, the metadata and (when expected) the
 * PKI bundle of this very set, and each of them is in the listing with the size the sidecar names. A set dated in
 * the future (beyond a small clock skew) is never "latest", never counted by retention and never deleted: it is
 * reported instead. Digests are checked where the bytes are read (restore, drill): a listing has none.
 *
 * When the cluster has a signing key (signature.ts), a set is trusted only when it is complete and its sidecar's
 * signature verifies against that key: an unsigned or forged set is never "latest" and never counts for retention.
 * Without a key every complete set is trusted, as before signatures existed.
 */
import { PKI_SUFFIX, SNAPSHOT_SUFFIX, SUFFIX, type BackupSet } from './layout';
import { parseSidecar, type SidecarEntry } from './sidecar';
import { checkSignature, type SignatureStatus } from './signature';

/** How far a set's stamp may be ahead of the clock before it counts as dated in the future. */
export const DEFAULT_CLOCK_SKEW_SECONDS = 300;

export interface AssessOptions {
  /**
   * Whether the set must hold a PKI bundle: true (the backup takes one), false (it must not matter), or undefined
   * (required when the sidecar names one).
   */
  readonly expectPki?: boolean;
  /** The cluster's signing public key (signature.ts); undefined: signatures are not checked. */
  readonly publicKey?: string;
}

/** A set with what its sidecar and the listing say about it. */
export interface AssessedSet extends BackupSet {
  /** Sidecar readable, and every object it names present with the size it names (see module comment). */
  readonly complete: boolean;
  /** Why the set is not complete (empty when complete). */
  readonly problems: readonly string[];
  /** The sidecar's entries, when it could be read. */
  readonly sidecar: readonly SidecarEntry[] | null;
  /** The sidecar is there but could not be read (a storage error): nothing is known, so nothing may be deleted. */
  readonly undetermined: boolean;
  /** The signature of the sidecar, against the cluster's key (`not-checked` without a key or without a readable sidecar). */
  readonly signature: SignatureStatus;
  /** Why the signature does not make the set trusted; null when it does or was not checked. */
  readonly signatureProblem: string | null;
  /** Complete and, when the cluster has a signing key, signed with it: what "latest" and retention count. */
  readonly trusted: boolean;
}

/**
 * Checks one set against its sidecar's text (undefined: no sidecar, or it could not be read; pass `readError` to
 * say why) and, with `options.publicKey`, the sidecar's signature text (undefined: no signature object; `{error}`:
 * it could not be read).
 */
export function assessSet(set: BackupSet, sidecarText: string | undefined, options: AssessOptions = {}, readError?: string, signatureText?: string | { error: string }): AssessedSet {
  const unchecked = { signature: 'not-checked' as const, signatureProblem: null, trusted: false };
  const incomplete = (problem: string, undetermined = false): AssessedSet => ({ ...set, complete: false, problems: [problem], sidecar: null, undetermined, ...unchecked });
  if (!set.hasSidecar) return incomplete(`no checksum sidecar ${set.name}${SUFFIX.sidecar}`);
  if (sidecarText === undefined) return incomplete(`sidecar ${set.name}${SUFFIX.sidecar} could not be read${readError ? `: ${readError}` : ''}`, true);
  const parsed = parseSidecar(sidecarText);
  if ('error' in parsed) return incomplete(`sidecar ${set.name}${SUFFIX.sidecar} is unreadable: ${parsed.error}`);
  const entries = parsed.entries;
  const prefix = set.folder ? `${set.folder}/` : '';
  const listed = new Map(set.objects.map((object) => [object.key.slice(prefix.length), object.size]));
  const problems: string[] = [];
  const own = (entry: SidecarEntry) => entry.file.startsWith(`${set.name}.`) ? entry.file.slice(set.name.length) : undefined;
  const snapshots = entries.filter((entry) => SNAPSHOT_SUFFIX.test(own(entry) ?? ''));
  const pkis = entries.filter((entry) => PKI_SUFFIX.test(own(entry) ?? ''));
  const metas = entries.filter((entry) => own(entry) === SUFFIX.meta);
  for (const entry of entries) {
    const suffix = own(entry);
    if (suffix === undefined || !(SNAPSHOT_SUFFIX.test(suffix) || PKI_SUFFIX.test(suffix) || suffix === SUFFIX.meta)) {
      problems.push(`sidecar names ${entry.file}, which is not an object of ${set.name}`);
      continue;
    }
    const size = listed.get(entry.file);
    if (size === undefined) problems.push(`${entry.file} is missing`);
    else if (entry.size !== undefined && size !== entry.size) problems.push(`${entry.file} is ${size} bytes, the sidecar says ${entry.size}`);
  }
  if (snapshots.length !== 1) problems.push(snapshots.length === 0 ? 'sidecar names no snapshot' : 'sidecar names more than one snapshot');
  if (metas.length !== 1) problems.push('sidecar names no metadata');
  if (pkis.length > 1) problems.push('sidecar names more than one PKI bundle');
  if (options.expectPki === true && pkis.length === 0) problems.push('sidecar names no PKI bundle');
  const complete = problems.length === 0;
  if (options.publicKey === undefined) return { ...set, complete, problems, sidecar: entries, undetermined: false, ...unchecked, trusted: complete };
  const cluster = set.name.slice(0, set.name.length - '-yyyymmddThhmmssZ'.length);
  const check = checkSignature(options.publicKey, cluster, set.name, sidecarText, signatureText);
  return {
    ...set, complete, problems, sidecar: entries, undetermined: false,
    signature: check.status, signatureProblem: check.problem, trusted: complete && check.status === 'valid',
  };
}

/** Why a complete set is not trusted (its signature problem), or its completeness problems; empty when trusted. */
export function distrust(set: AssessedSet): string {
  if (set.trusted) return '';
  return set.complete ? set.signatureProblem ?? 'not signed' : set.problems.join('; ');
}

/** Whether a set's stamp is later than `now` plus the skew. */
export function isFuture(set: Pick<BackupSet, 'createdAt'>, now: Date, skewSeconds = DEFAULT_CLOCK_SKEW_SECONDS): boolean {
  return set.createdAt.getTime() > now.getTime() + skewSeconds * 1000;
}

/**
 * The newest trusted set (complete, and signed when the cluster has a key) not dated in the future, or undefined.
 * Sets may come in any order; ties (same stamp) cannot happen within one folder.
 */
export function latestComplete<T extends AssessedSet>(sets: readonly T[], now: Date, skewSeconds = DEFAULT_CLOCK_SKEW_SECONDS): T | undefined {
  let best: T | undefined;
  for (const set of sets) {
    if (!set.trusted || isFuture(set, now, skewSeconds)) continue;
    if (!best || set.createdAt.getTime() > best.createdAt.getTime()) best = set;
  }
  return best;
}

/**
 * Why "latest" found nothing although complete sets are there: the newest complete present set is not signed with
 * the cluster's key (a message for people); undefined when there is no such set (then nothing complete is there).
 */
export function untrustedLatestProblem(sets: readonly AssessedSet[], now: Date, skewSeconds = DEFAULT_CLOCK_SKEW_SECONDS): string | undefined {
  const newest = sets.filter((set) => set.complete && !set.trusted && !isFuture(set, now, skewSeconds))
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
  if (!newest) return undefined;
  return `the newest complete set ${newest.name} is ${newest.signatureProblem}; "latest" is only ever a set signed with the cluster's signing key`;
}

/** The sets dated in the future, newest first: to be reported, never chosen or deleted. */
export function futureSets<T extends BackupSet>(sets: readonly T[], now: Date, skewSeconds = DEFAULT_CLOCK_SKEW_SECONDS): T[] {
  return sets.filter((set) => isFuture(set, now, skewSeconds)).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
}

/** The sidecar entry of the set's snapshot, once assessed complete. */
export function snapshotEntry(set: AssessedSet): SidecarEntry | undefined {
  return set.sidecar?.find((entry) => SNAPSHOT_SUFFIX.test(entry.file.slice(set.name.length)) && entry.file.startsWith(`${set.name}.`));
}

/** The sidecar entry of the set's PKI bundle, when it names one. */
export function pkiEntry(set: AssessedSet): SidecarEntry | undefined {
  return set.sidecar?.find((entry) => PKI_SUFFIX.test(entry.file.slice(set.name.length)) && entry.file.startsWith(`${set.name}.`));
}
