/**
 * A ustar archive of files, written in Node (the image has no tar binary). Symbolic links are followed (`tar -h`):
 * a Secret volume's top-level names are links into `..data`, and the archive holds the real files once. Entries
 * whose name starts with `..` (the Secret volume's internals) are skipped. Paths are stored without the leading `/`.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';

/** Every regular file under `paths` (files or directories), following links, sorted, without duplicates. */
export async function collectFiles(paths: readonly string[]): Promise<string[]> {
  const files = new Set<string>();
  const walk = async (path: string): Promise<void> => {
    const info = await stat(path);
    if (info.isDirectory()) {
      for (const entry of (await readdir(path)).sort()) {
        if (!entry.startsWith('..')) await walk(join(path, entry));
      }
    } else if (info.isFile()) {
      files.add(path);
    }
  };
  for (const path of paths) await walk(path);
  return [...files].sort();
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** The 512-byte ustar header of one file. */
function header(name: string, size: number, mode: number, mtime: number): Buffer {
  const block = Buffer.alloc(512);
  let prefix = '';
  let rest = name;
  if (Buffer.byteLength(name) > 100) {
    // ustar splits a long path at a slash into prefix (155) and name (100).
    const cut = name.lastIndexOf('/', name.length - 1);
    const at = [...name.matchAll(/\//g)].map((m) => m.index!).find((index) => Buffer.byteLength(name.slice(index + 1)) <= 100 && index <= 155);
    if (at === undefined || cut < 0) throw new Error(`path too long for a tar archive: ${name}`);
    prefix = name.slice(0, at);
    rest = name.slice(at + 1);
  }
  block.write(rest, 0, 100, 'utf8');
  block.write(octal(mode & 0o7777, 8), 100, 8, 'ascii');
  block.write(octal(0, 8), 108, 8, 'ascii'); // uid
  block.write(octal(0, 8), 116, 8, 'ascii'); // gid
  block.write(octal(size, 12), 124, 12, 'ascii');
  block.write(octal(Math.floor(mtime / 1000), 12), 136, 12, 'ascii');
  block.write('        ', 148, 8, 'ascii'); // checksum placeholder
  block.write('0', 156, 1, 'ascii');
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  block.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return block;
}

/** A ustar stream of `files` (absolute paths, stored relative to `/`). */
export function tarStream(files: readonly string[]): Readable {
  async function* entries(): AsyncGenerator<Buffer> {
    for (const file of files) {
      const info = await stat(file);
      yield header(file.replace(/^\/+/, ''), info.size, info.mode, info.mtimeMs);
      let written = 0;
      for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
        written += chunk.length;
        yield chunk;
      }
      if (written !== info.size) throw new Error(`${file} changed size while it was archived`);
      if (written % 512) yield Buffer.alloc(512 - (written % 512));
    }
    yield Buffer.alloc(1024);
  }
  return Readable.from(entries(), { objectMode: false });
}

// ---- reading (the restore's PKI bundle): POSIX ustar, GNU long names, pax paths; regular files only ----

export interface TarFile {
  /** path inside the archive, without a leading "./" or "/" */
  readonly path: string;
  readonly mode: number;
  readonly data: Buffer;
}

export class TarError extends Error {}

const parseOctal = (field: Buffer): number => {
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
    const stored = parseOctal(header.subarray(148, 156));
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
    if (sum !== stored) throw new TarError(`corrupt tar header at byte ${offset} (checksum)`);
    const size = parseOctal(header.subarray(124, 136));
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
    files.push({ path, mode: parseOctal(header.subarray(100, 108)) & 0o7777, data: Buffer.from(body) });
  }
  return files;
}
