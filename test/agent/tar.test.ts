// The PKI bundle's tar, written in Node: GNU tar reads it back byte for byte, long paths included; Secret-volume
// internals (`..data`, `..2024_...`) are skipped and the top-level links are archived once, as real files.
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { collectFiles, tarStream } from '../../lib/agent/tar';
import { runOk } from '../support/proc';

const work = mkdtempSync(join(tmpdir(), 'cpb-tar-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('tarStream', () => {
  it('is read back by tar byte for byte, long paths and Secret volumes included', async () => {
    const pki = join(work, 'etc', 'kubernetes', 'pki');
    const deep = join(pki, 'a'.repeat(60), 'b'.repeat(60));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(pki, 'ca.crt'), 'CA\n');
    writeFileSync(join(deep, 'long-name.key'), Buffer.alloc(1500, 7));
    // a Secret volume as the kubelet lays it out
    const secret = join(work, 'secret');
    mkdirSync(join(secret, '..2024_01_01'), { recursive: true });
    writeFileSync(join(secret, '..2024_01_01', 'tls.key'), 'KEY\n');
    symlinkSync('..2024_01_01', join(secret, '..data'));
    symlinkSync(join('..data', 'tls.key'), join(secret, 'tls.key'));
    const files = await collectFiles([pki, secret]);
    expect(files).toEqual([join(deep, 'long-name.key'), join(pki, 'ca.crt'), join(secret, 'tls.key')]);
    const archive = join(work, 'bundle.tar');
    await pipeline(tarStream(files), createWriteStream(archive));
    const out = join(work, 'out');
    mkdirSync(out);
    await runOk('tar', ['-x', '-f', archive, '-C', out]);
    for (const file of files) expect(readFileSync(join(out, file)).equals(readFileSync(file)), file).toBe(true);
    expect((await runOk('tar', ['-t', '-f', archive])).stdout.split('\n').filter(Boolean)).toEqual(files.map((file) => file.slice(1)));
  });
});
