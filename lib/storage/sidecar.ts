/**
 * The checksum sidecar `<name>.sha256`, written last: the list of a set's objects with their sha256 and size.
 *
 * Format (text, one entry per object, then one size line per object):
 *
 *   <sha256>  <file name>
 *   ...
 *   #size <file name> <bytes>
 *   ...
 *
 * The first lines are `sha256sum` format (`sha256sum -c` checks the downloaded files); the `#size` lines name the
 * stored sizes, which a listing can check without downloading anything. Sidecars written before sizes were recorded
 * have no `#size` lines: their objects are checked for presence only.
 */

export interface SidecarEntry {
  /** The object's file name inside the set's folder (`<name><suffix>`). */
  readonly file: string;
  readonly sha256: string;
  /** Stored size in bytes; undefined in sidecars written before sizes were recorded. */
  readonly size?: number;
}

const HEX64 = /^[0-9a-f]{64}$/;
/** A file name the sidecar may name: one path segment, no whitespace (the sidecar never chooses a path). */
const FILE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The sidecar's text for these entries (every entry must have a size). */
export function formatSidecar(entries: readonly SidecarEntry[]): string {
  for (const entry of entries) {
    if (!HEX64.test(entry.sha256) || !FILE.test(entry.file) || entry.size === undefined || !Number.isSafeInteger(entry.size) || entry.size < 0) {
      throw new Error(`invalid sidecar entry: ${JSON.stringify(entry)}`);
    }
  }
  return entries.map((entry) => `${entry.sha256}  ${entry.file}\n`).join('')
    + entries.map((entry) => `#size ${entry.file} ${entry.size}\n`).join('');
}

/** The entries of a sidecar's text, or the reason it is unreadable (never thrown). */
export function parseSidecar(text: string): { entries: SidecarEntry[] } | { error: string } {
  const digests = new Map<string, string>();
  const sizes = new Map<string, number>();
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = raw.replace(/\r$/, '');
    if (line === '') continue;
    const size = /^#size ([^ ]+) ([0-9]{1,15})$/.exec(line);
    if (size) {
      sizes.set(size[1], Number(size[2]));
      continue;
    }
    if (line.startsWith('#')) continue;
    const entry = /^([0-9a-f]{64}) [ *]([^ ]+)$/.exec(line);
    if (!entry || !FILE.test(entry[2])) return { error: `line ${index + 1} is not "<sha256>  <file>": ${JSON.stringify(line.slice(0, 120))}` };
    if (digests.has(entry[2])) return { error: `line ${index + 1}: ${entry[2]} is listed twice` };
    digests.set(entry[2], entry[1]);
  }
  if (digests.size === 0) return { error: 'lists no object' };
  for (const file of sizes.keys()) {
    if (!digests.has(file)) return { error: `#size line for ${file}, which has no sha256 line` };
  }
  return { entries: [...digests].map(([file, sha256]) => ({ file, sha256, ...(sizes.has(file) ? { size: sizes.get(file)! } : {}) })) };
}
