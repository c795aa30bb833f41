import { createHash } from 'node:crypto';

/**
 * A copy of `value` in which every string longer than `limit` characters (plan JSON, alert expressions, long
 * descriptions) stands as `sha256:<hex> (<n> chars)`: a snapshot then shows that such a text changed without holding
 * it, so an edit of a plan or an alert does not rewrite the snapshot. Tests assert the fields under test themselves.
 */
export function digestLongText<T>(value: T, limit = 200): T {
  if (typeof value === 'string') {
    return (value.length > limit ? `sha256:${createHash('sha256').update(value).digest('hex')} (${value.length} chars)` : value) as T;
  }
  if (Array.isArray(value)) return value.map((item) => digestLongText(item, limit)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, digestLongText(item, limit)])) as T;
  }
  return value;
}
