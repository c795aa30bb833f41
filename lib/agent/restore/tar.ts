/**
 * Reads the PKI bundle (a tar archive: POSIX ustar, with GNU long names or pax paths) in memory: the tools image has
 * no tar. Only regular files are returned; links, devices and anything escaping the archive root are refused.
 */

export interface TarFile {
  /** path inside the archive, without a leading "./" or "/" */
  readonly path: string;
  readonly mode: number;
  readonly data: Buffer;
}

export class TarError extends Error {}

const octal = (field: Buffer): number => {
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return text ? parseInt(text, 8) : 0;
};
const str = (field: Buffer): string => field.toString('utf8').replace(/\0.*$/s, '');

export function readTar(archive: Buffer): TarFile[] {
  const files: TarFile[] = [];
  let offset = 0;
  let longName: string | undefined;
  for (;;) {
    // an archive ends with a zero block: anything else cut short is truncated
    if (offset + 512 > archive.length) throw new TarError(`tar archive truncated at byte ${archive.length} (no end-of-archive block)`);
    const header = archive.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const stored = octal(header.subarray(148, 156));
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
    if (sum !== stored) throw new TarError(`corrupt tar header at byte ${offset} (checksum)`);
    const size = octal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156] || 48);
    const prefix = header.subarray(257, 263).toString('latin1').startsWith('ustar') ? str(header.subarray(345, 500)) : '';
    let path = longName ?? (prefix ? `${prefix}/${str(header.subarray(0, 100))}` : str(header.subarray(0, 100)));
    longName = undefined;
    const body = archive.subarray(offset + 512, offset + 512 + size);
    if (body.length < size) throw new TarError(`tar archive truncated in ${path}`);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') { longName = str(body); continue; }
    if (type === 'x') {
      const m = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
      if (m) longName = m[1];
      continue;
    }
    if (type === 'g' || type === '5') continue;
    path = path.replace(/^(\.\/|\/)+/, '');
    if (type !== '0') throw new TarError(`${path}: only regular files are restored (tar entry type '${type}')`);
    if (path.split('/').includes('..')) throw new TarError(`${path}: a path outside the archive root`);
    files.push({ path, mode: octal(header.subarray(100, 108)) & 0o7777, data: Buffer.from(body) });
  }
  return files;
}
