// The PKI bundle read back in Node (the image has no tar): GNU, ustar and pax archives, corrupt and truncated ones.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTar, TarError } from '../../lib/agent/tar';
import { mkTemp, rmTemp } from '../support/proc';

function tarOf(format: string, files: Record<string, string>, mode = 0o600): Buffer {
  const dir = mkTemp('tar');
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text, { mode });
    }
    return execFileSync('tar', [`--format=${format}`, '-C', dir, '-cf', '-', ...Object.keys(files).map((p) => p.split('/')[0]).filter((p, i, a) => a.indexOf(p) === i)]);
  } finally {
    rmTemp(dir);
  }
}

describe('PKI bundle tar reader', () => {
  const long = `etc/kubernetes/pki/${'d'.repeat(90)}/${'f'.repeat(60)}.crt`;
  for (const format of ['gnu', 'ustar', 'pax']) {
    it(`reads the regular files of a ${format} archive with their modes`, () => {
      const files = format === 'ustar' ? { 'etc/kubernetes/pki/ca.crt': 'ca', 'etc/kubernetes/pki/etcd/ca.key': 'key' } : { 'etc/kubernetes/pki/ca.crt': 'ca', 'etc/kubernetes/pki/etcd/ca.key': 'key', [long]: 'long' };
      const read = readTar(tarOf(format, files));
      expect(Object.fromEntries(read.map((f) => [f.path, f.data.toString()]))).toEqual(files);
      expect(read.every((f) => f.mode === 0o600)).toBe(true);
    });
  }

  it('fails on a corrupt header and on a truncated archive', () => {
    const tar = tarOf('gnu', { 'a/b': 'x'.repeat(1000) });
    const corrupt = Buffer.from(tar);
    corrupt[10] ^= 0xff;
    expect(() => readTar(corrupt)).toThrow(TarError);
    expect(() => readTar(tar.subarray(0, 700))).toThrow(/truncated/);
    expect(() => readTar(tar.subarray(0, 1100))).toThrow(/truncated/);
    expect(() => readTar(tar.subarray(0, 1024))).toThrow(/truncated/);
  });
});
