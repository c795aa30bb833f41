/**
 * The bucket layout, the one implementation (the agent in the pods and the CLI both use it), pure: the key grammar
 * of a backup set (`<folder>/<cluster>-<yyyymmddThhmmssZ><suffix>`), its suffixes and time stamps, and the objects
 * of one cluster's folder grouped into backup sets and everything else ("other objects", never a backup).
 */

/** `<cluster>-<yyyymmddThhmmssZ>`: the name of a backup set, which a restore's typed confirmation repeats. */
export const SNAPSHOT_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)-([0-9]{8}T[0-9]{6}Z)$/;

export type Compression = 'zstd' | 'gzip' | 'none';

/** File-name extension of each compression (`.zst`, `.gz`, none). */
const COMPRESSION_EXTENSION: Readonly<Record<Compression, string>> = { zstd: '.zst', gzip: '.gz', none: '' };

/** The suffixes of a set's objects after `<cluster>-<stamp>`. */
export const SUFFIX = {
  /** Written last: the marker of a complete set. */
  sidecar: '.sha256',
  /** The Ed25519 signature of the sidecar (signature.ts), written just before it. */
  signature: '.sha256.sig',
  meta: '.meta.json',
  drill: '.drill.json',
  snapshot: (compression: Compression, encrypted: boolean) => `.db${COMPRESSION_EXTENSION[compression]}${encrypted ? '.age' : ''}`,
  /** The PKI bundle is always age-encrypted. */
  pki: (compression: Compression) => `.pki.tar${COMPRESSION_EXTENSION[compression]}.age`,
} as const;

/** The instant as a set's stamp, `20260102T030405Z` (UTC, whole seconds). */
export function formatStamp(date: Date): string {
  return date.toISOString().replace(/\.[0-9]{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** `<cluster>-<stamp>` of a set created at `date`. */
export function setName(cluster: string, date: Date): string {
  return `${cluster}-${formatStamp(date)}`;
}

/** `<folder>/<file>`, or `<file>` at the root. */
export function objectKey(folder: string, file: string): string {
  return folder ? `${folder}/${file}` : file;
}

/** What decides a storage's key layout; satisfied by the model's Storage and by a parsed storage spec alike. */
export type StorageLayout = {
  readonly s3?: { readonly prefix: string };
  readonly gcs?: { readonly prefix: string };
  readonly azureBlob?: { readonly prefix: string };
  readonly objectBucketClaim?: { readonly prefix: string };
};

/** Folder of a cluster's backups inside a storage (bucket-relative for S3, path-relative for local storages). */
export function clusterFolder(storage: StorageLayout | object, cluster: string): string {
  const layout = storage as StorageLayout;
  const prefix = layout.s3?.prefix ?? layout.gcs?.prefix ?? layout.azureBlob?.prefix ?? layout.objectBucketClaim?.prefix ?? '';
  return [prefix, cluster].filter(Boolean).join('/');
}

export interface SnapshotReference {
  /** Folder of the set relative to the storage root (the bucket, or a local storage's path). */
  readonly folder: string;
  /** `<cluster>-<timestamp>`, or `latest`. */
  readonly name: string;
  /** The cluster whose backup this is, from the name (the request's cluster for `latest`). */
  readonly cluster: string;
}

/** Parses a request's `snapshot`; undefined when it is neither `latest` nor the key of a set's object. */
export function snapshotReference(storage: StorageLayout | object, cluster: string, snapshot: string): SnapshotReference | undefined {
  if (snapshot === 'latest') return { folder: clusterFolder(storage, cluster), name: 'latest', cluster };
  const slash = snapshot.lastIndexOf('/');
  const file = snapshot.slice(slash + 1);
  const name = file.split('.')[0];
  const match = SNAPSHOT_NAME.exec(name);
  const folder = slash < 0 ? '' : snapshot.slice(0, slash);
  // Another cluster's key (allowCrossCluster) is still an object key: a folder such as "other cluster" is none.
  if (!match || keyPrefixProblem(folder) !== undefined || !/^[A-Za-z0-9._-]+$/.test(file)) return undefined;
  return { folder, name, cluster: match[1] };
}

/** Why a key prefix (a storage's `prefix`, a snapshot key's folder) is not one; undefined when it is. */
export function keyPrefixProblem(prefix: string): string | undefined {
  if (prefix === '') return undefined;
  if (prefix.startsWith('/') || prefix.endsWith('/')) return 'must not start or end with "/"';
  if (prefix.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
    return 'must not contain empty, "." or ".." segments';
  }
  if (!/^[A-Za-z0-9!_.*'()/-]+$/.test(prefix)) return 'may contain only letters, digits, "/" and !_.*\'()-';
  return undefined;
}

/** Compression of a snapshot or PKI key's suffix (`.db.zst.age` -> zstd). */
export function compressionOf(suffix: string): Compression {
  return /\.zst(\.|$)/.test(suffix) ? 'zstd' : /\.gz(\.|$)/.test(suffix) ? 'gzip' : 'none';
}

/** One object as a listing returns it; `key` is bucket-relative. */
export interface StoredObject {
  readonly key: string;
  readonly size: number;
}

/** The outcome of a restore drill, as `<base>.drill.json` records it. */
export type DrillResult = 'passed' | 'failed' | 'verified-not-restored' | 'unreadable';

export interface DrillSummary {
  readonly result: DrillResult;
  /** ISO-8601 time of the drill, as recorded; null when the report has none or is unreadable. */
  readonly checkedAt: string | null;
  readonly message: string | null;
}

/** A backup set: every object whose name starts with the set's name and a dot. */
export interface BackupSet {
  /** `<cluster>-<yyyymmddThhmmssZ>`. */
  readonly name: string;
  /** From the name, UTC. */
  readonly createdAt: Date;
  /** Sum of the set's objects, the drill report included. */
  readonly sizeBytes: number;
  readonly objectCount: number;
  /**
   * The checksum sidecar (`<name>.sha256`, written last) is present. That alone does not make the set complete:
   * `assessSet` (sets.ts) checks the objects the sidecar names.
   */
  readonly hasSidecar: boolean;
  /** The snapshot object is age-encrypted (`.age`); false when there is no snapshot object. */
  readonly encrypted: boolean;
  /** The PKI bundle (`<name>.pki.tar...`) is present. */
  readonly pki: boolean;
  readonly compression: 'zstd' | 'gzip' | 'none' | null;
  /** Bucket-relative key of the snapshot (what `restore --snapshot` takes), or null when it is missing. */
  readonly snapshotKey: string | null;
  /** Bucket-relative key of `<name>.drill.json`, when a drill left one. */
  readonly drillKey: string | null;
  /** Bucket-relative key of `<name>.sha256`, when present. */
  readonly sidecarKey: string | null;
  /** Bucket-relative key of `<name>.sha256.sig`, when present. */
  readonly signatureKey: string | null;
  /** The folder the set was listed in (bucket-relative). */
  readonly folder: string;
  /** Every object of the set, by key. */
  readonly objects: readonly StoredObject[];
}

export interface FolderContents {
  /** Newest first. */
  readonly sets: readonly BackupSet[];
  /** Objects of the folder that belong to no set of this cluster, by key. */
  readonly others: readonly StoredObject[];
}

/** `.db[.zst|.gz][.age]`. */
export const SNAPSHOT_SUFFIX = /^\.db(\.zst|\.gz)?(\.age)?$/;
/** `.pki.tar[.zst|.gz].age`. */
export const PKI_SUFFIX = /^\.pki\.tar(\.zst|\.gz)?\.age$/;

/** `20260102T030405Z` -> the instant, or undefined when it is no calendar time. */
export function parseStamp(stamp: string): Date | undefined {
  const m = /^([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z$/.exec(stamp);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC rolls 2026-02-30 over to March: such a name is not a time the backup script wrote.
  const same = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
    && date.getUTCHours() === hour && date.getUTCMinutes() === minute && date.getUTCSeconds() === second;
  return same ? date : undefined;
}

/**
 * Groups the objects listed under `<folder>/` into the cluster's backup sets and other objects. Only names of the
 * cluster's exact pattern (`^<cluster>-[0-9]{8}T[0-9]{6}Z\.`) directly in the folder form sets: `prod-1-latest.db`,
 * `notes.txt` or anything in a subfolder are other objects.
 */
export function groupFolder(cluster: string, folder: string, objects: readonly StoredObject[]): FolderContents {
  const prefix = folder ? `${folder}/` : '';
  const pattern = new RegExp(`^(${cluster.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-([0-9]{8}T[0-9]{6}Z))(\\..*)$`);
  const groups = new Map<string, { createdAt: Date; objects: StoredObject[] }>();
  const others: StoredObject[] = [];
  for (const object of objects) {
    const file = object.key.startsWith(prefix) ? object.key.slice(prefix.length) : undefined;
    const match = file === undefined || file.includes('/') ? null : pattern.exec(file);
    const createdAt = match ? parseStamp(match[2]) : undefined;
    if (!match || !createdAt) {
      others.push(object);
      continue;
    }
    const group = groups.get(match[1]) ?? { createdAt, objects: [] };
    group.objects.push(object);
    groups.set(match[1], group);
  }
  const sets = [...groups].map(([name, group]): BackupSet => {
    const suffixes = new Map(group.objects.map((object) => [object.key.slice(prefix.length + name.length), object]));
    const snapshot = [...suffixes.keys()].filter((suffix) => SNAPSHOT_SUFFIX.test(suffix)).sort()[0];
    return {
      name,
      createdAt: group.createdAt,
      sizeBytes: group.objects.reduce((sum, object) => sum + object.size, 0),
      objectCount: group.objects.length,
      hasSidecar: suffixes.has(SUFFIX.sidecar),
      encrypted: snapshot !== undefined && snapshot.endsWith('.age'),
      pki: [...suffixes.keys()].some((suffix) => PKI_SUFFIX.test(suffix)),
      compression: snapshot === undefined ? null : compressionOf(snapshot),
      snapshotKey: snapshot === undefined ? null : `${prefix}${name}${snapshot}`,
      drillKey: suffixes.has(SUFFIX.drill) ? `${prefix}${name}${SUFFIX.drill}` : null,
      sidecarKey: suffixes.has(SUFFIX.sidecar) ? `${prefix}${name}${SUFFIX.sidecar}` : null,
      signatureKey: suffixes.has(SUFFIX.signature) ? `${prefix}${name}${SUFFIX.signature}` : null,
      folder,
      objects: [...group.objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    };
  });
  sets.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.name < b.name ? -1 : 1));
  others.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { sets, others };
}

/** Reads a drill report's text; a report that is not the JSON the drill writes is `unreadable`, never thrown. */
export function parseDrillReport(text: string): DrillSummary {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return { result: 'unreadable', checkedAt: null, message: `not JSON: ${(error as Error).message}` };
  }
  const report = (data && typeof data === 'object' ? data : {}) as Record<string, unknown>;
  const result = report.result;
  if (report.kind !== 'DrillReport' || (result !== 'passed' && result !== 'failed' && result !== 'verified-not-restored')) {
    return { result: 'unreadable', checkedAt: null, message: 'not a DrillReport with result passed, failed or verified-not-restored' };
  }
  return {
    result,
    checkedAt: typeof report.checkedAt === 'string' ? report.checkedAt : null,
    message: typeof report.message === 'string' ? report.message : null,
  };
}
