/**
 * The YAML text of an API object: the one serializer of dist/ (no cdk8s here, so bench/floor.ts uses it as is).
 *
 * Every cluster ships the same scripts in its ConfigMaps (about 80 KB a cluster), and rendering a block scalar is
 * most of the cost of stringify. A top-level block-map pair renders the same whatever its siblings are (`yaml` joins
 * a block map's pairs with newlines, and adds nothing else without comments), so a trailing `data` of large strings
 * is rendered once per distinct content and appended: the bytes are those of one stringify of the whole object.
 */
import { stringify } from 'yaml';

const OPTIONS = { lineWidth: 0, indent: 2, aliasDuplicateObjects: false } as const;

/** Below this many characters a string map is rendered in place: caching it would cost more than it saves. */
const LARGE = 4096;
/** Distinct large blocks kept; a fleet has a handful (one per script set), so the cache stays small. */
const MAX_CACHED = 64;

interface CachedTail {
  readonly key: string;
  readonly values: Readonly<Record<string, string>>;
  readonly text: string;
}

const tails: CachedTail[] = [];

function largeStringMap(value: unknown): value is Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype) return false;
  let size = 0;
  for (const item of Object.values(value)) {
    if (typeof item !== 'string') return false;
    size += item.length;
  }
  return size >= LARGE;
}

/** Same keys in the same order, same strings: the scripts are one string each, so `===` mostly compares references. */
function sameTail(cached: CachedTail, key: string, values: Record<string, string>): boolean {
  if (cached.key !== key) return false;
  const a = Object.keys(cached.values);
  const b = Object.keys(values);
  return a.length === b.length && a.every((k, i) => k === b[i] && cached.values[k] === values[k]);
}

export function toYaml(value: unknown): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return stringify(value, OPTIONS);
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  const last = keys[keys.length - 1];
  const values = object[last];
  if (keys.length < 2 || !largeStringMap(values)) return stringify(value, OPTIONS);
  let text = tails.find((cached) => sameTail(cached, last, values))?.text;
  if (text === undefined) {
    text = stringify({ [last]: values }, OPTIONS);
    if (tails.length < MAX_CACHED) tails.push({ key: last, values: { ...values }, text });
  }
  const head: Record<string, unknown> = {};
  for (const k of keys.slice(0, -1)) head[k] = object[k];
  return stringify(head, OPTIONS) + text;
}
