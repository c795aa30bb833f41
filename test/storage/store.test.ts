// The object stores (S3 through s3rver on loopback, Azure Blob through azurite on loopback, and a local directory)
// behind one interface, the sidecar format, and the snapshot trailer check.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AzureBlobStore, checkSnapshotFile, GcsStore, formatSidecar, LocalStore, parseSidecar, readFolder, S3Store, snapshotTrailerMatches, StorageError,
  type ObjectStore,
} from '../../lib/storage';
import { closedPort, startLocalS3, type LocalS3 } from '../support/s3';
import { AZURITE_ACCOUNT, startAzurite, type Azurite } from '../support/azurite';

let work: string;
let s3: LocalS3;
let azurite: Azurite;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cpb-store-'));
  [s3, azurite] = await Promise.all([startLocalS3(join(work, 's3'), 'bkt'), startAzurite({ containers: ['bkt'] })]);
});
afterAll(async () => {
  await s3?.stop();
  await azurite?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** A snapshot-shaped file: 512·n bytes then their sha256. */
function snapshotBytes(blocks: number): Buffer {
  const body = Buffer.alloc(512 * blocks, 7);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

describe('checkSnapshotFile', () => {
  it('accepts a snapshot with its trailer and names each fault', async () => {
    const good = join(work, 'good.db');
    writeFileSync(good, snapshotBytes(4));
    expect(await checkSnapshotFile(good, 100)).toMatchObject({ size: 2080 });
    expect(snapshotTrailerMatches(readFileSync(good))).toBe(true);
    await expect(checkSnapshotFile(good, 4096)).rejects.toThrow(`snapshot too small: 2080 bytes < the minimum of 4096 bytes (${good})`);
    const truncated = join(work, 'truncated.db');
    writeFileSync(truncated, snapshotBytes(4).subarray(0, 1500));
    await expect(checkSnapshotFile(truncated)).rejects.toThrow('snapshot truncated or corrupt: size 1500 is not 512*n+32');
    const flipped = snapshotBytes(4);
    flipped[10] ^= 1;
    writeFileSync(truncated, flipped);
    await expect(checkSnapshotFile(truncated)).rejects.toThrow('snapshot corrupt: sha256 trailer mismatch');
    await expect(checkSnapshotFile(join(work, 'none.db'))).rejects.toThrow('snapshot file missing');
  });
});

describe('sidecar', () => {
  it('round-trips, stays sha256sum-readable, and refuses paths', () => {
    const text = formatSidecar([{ file: 'a-20260101T000000Z.db', sha256: 'b'.repeat(64), size: 12 }]);
    expect(text).toBe(`${'b'.repeat(64)}  a-20260101T000000Z.db\n#size a-20260101T000000Z.db 12\n`);
    expect(parseSidecar(text)).toEqual({ entries: [{ file: 'a-20260101T000000Z.db', sha256: 'b'.repeat(64), size: 12 }] });
    expect(parseSidecar(`${'b'.repeat(64)}  dir/a.db\n`)).toEqual({ error: `line 1 is not "<sha256>  <file>": "${'b'.repeat(64)}  dir/a.db"` });
    expect(parseSidecar('')).toEqual({ error: 'lists no object' });
  });
});

function stores(): [string, () => ObjectStore][] {
  return [
    ['s3', () => new S3Store({ endpoint: s3.endpoint, region: 'us-east-1', pathStyle: true, bucket: 'bkt', insecure: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, partSize: 5 * 1024 * 1024 })],
    ['local', () => new LocalStore(join(work, 'local'))],
    // 4 MiB blocks: the 12 MiB upload below is staged as three blocks, two in flight.
    ['azureBlob', () => new AzureBlobStore({ account: AZURITE_ACCOUNT, container: 'bkt', connectionString: azurite.connectionString, blockSize: 4 * 1024 * 1024 })],
  ];
}

describe.each(stores())('%s store', (kind, make) => {
  it('writes, uploads streams (multipart), lists, reads, downloads and deletes', async () => {
    if (kind === 'local') rmSync(join(work, 'local'), { recursive: true, force: true });
    const store = make();
    try {
      if (kind === 'local') {
        // a missing root is an error, never created
        await expect(store.list('f')).rejects.toThrow(StorageError);
        mkdirSync(join(work, 'local'));
      }
      await store.write('f/c-20260101T000000Z.meta.json', '{}');
      const big = Buffer.alloc(12 * 1024 * 1024, 1);
      await store.upload('f/c-20260101T000000Z.db', Readable.from([big.subarray(0, 6e6), big.subarray(6e6)]));
      const objects = await store.list('f');
      expect(objects).toEqual([{ key: 'f/c-20260101T000000Z.db', size: big.length }, { key: 'f/c-20260101T000000Z.meta.json', size: 2 }]);
      expect((await store.read('f/c-20260101T000000Z.meta.json')).toString()).toBe('{}');
      expect(await store.download('f/c-20260101T000000Z.db', join(work, `dl-${kind}`))).toBe(big.length);
      await store.delete(['f/c-20260101T000000Z.db', 'f/c-20260101T000000Z.meta.json', 'f/gone']);
      expect(await store.list('f')).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('leaves no object behind when the producer fails mid-stream, and rejects with its error', async () => {
    const store = make();
    try {
      const body = new PassThrough();
      const done = store.upload('f/broken.db', body);
      body.write(Buffer.alloc(1024));
      setTimeout(() => body.destroy(new Error('zstd exited 1')), 50);
      await expect(done).rejects.toThrow('zstd exited 1');
      expect(await store.list('f')).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('reads a folder into assessed sets', async () => {
    const store = make();
    try {
      const name = 'c-20260101T000000Z';
      await store.write(`g/${name}.db`, 'x'.repeat(10));
      await store.write(`g/${name}.meta.json`, '{}');
      await store.write(`g/${name}.sha256`, formatSidecar([
        { file: `${name}.db`, sha256: 'c'.repeat(64), size: 10 }, { file: `${name}.meta.json`, sha256: 'd'.repeat(64), size: 2 },
      ]));
      await store.write('g/notes.txt', 'n');
      const folder = await readFolder(store, 'c', 'g');
      expect(folder.sets.map((set) => [set.name, set.complete])).toEqual([[name, true]]);
      expect(folder.others.map((object) => object.key)).toEqual(['g/notes.txt']);
    } finally {
      store.close();
    }
  });
});

describe('S3 errors', () => {
  it('says what is wrong: missing bucket, unreachable endpoint, wrong access key', async () => {
    const base = { region: 'us-east-1', pathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, maxAttempts: 1, insecure: true };
    const missing = new S3Store({ ...base, endpoint: s3.endpoint, bucket: 'nope' });
    await expect(missing.list('f')).rejects.toThrow(`bucket "nope" does not exist at ${s3.endpoint}`);
    missing.close();
    const port = await closedPort();
    const down = new S3Store({ ...base, endpoint: `http://127.0.0.1:${port}`, bucket: 'bkt' });
    await expect(down.write('k', 'v')).rejects.toThrow(`unreachable: http://127.0.0.1:${port} (ECONNREFUSED)`);
    down.close();
    const denied = new S3Store({ ...base, endpoint: s3.endpoint, bucket: 'bkt', credentials: { accessKeyId: 'WRONG', secretAccessKey: 'S3RVER' } });
    await expect(denied.list('f')).rejects.toThrow('access denied to s3://bkt/f (InvalidAccessKeyId)');
    denied.close();
  });
});

describe('Azure Blob errors', () => {
  it('says what is wrong: missing container, unreachable endpoint, wrong account key', async () => {
    const base = { account: AZURITE_ACCOUNT, maxAttempts: 1 };
    const missing = new AzureBlobStore({ ...base, container: 'nope', connectionString: azurite.connectionString });
    await expect(missing.list('f')).rejects.toThrow(`container "nope" does not exist in storage account "${AZURITE_ACCOUNT}" (${azurite.endpoint}): create it, or fix \`azureBlob.container\``);
    const port = await closedPort();
    const downEndpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
    const down = new AzureBlobStore({ ...base, container: 'bkt', connectionString: azurite.connectionString.replace(azurite.endpoint, downEndpoint) });
    await expect(down.write('k', 'v')).rejects.toThrow(`unreachable: ${downEndpoint} (ECONNREFUSED)`);
    const wrongKey = azurite.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.alloc(64, 1).toString('base64')}`);
    const denied = new AzureBlobStore({ ...base, container: 'bkt', connectionString: wrongKey, identity: 'the connection string of Secret azure-creds' });
    await expect(denied.list('f')).rejects.toThrow(
      `access denied to azure://${AZURITE_ACCOUNT}/bkt/f (AuthorizationFailure) for the connection string of Secret azure-creds: it needs the role "Storage Blob Data Contributor"`,
    );
  });
});

describe('GCS errors (no GCS server on loopback: see README, storage table)', () => {
  it('rejects within the request bound, naming the endpoint, when nothing listens (the SDK must not leave the promise pending)', async () => {
    const port = await closedPort();
    const endpoint = `http://127.0.0.1:${port}`;
    const store = new GcsStore({ bucket: 'bkt', endpoint, maxRetries: 0, requestTimeoutMs: 5_000 });
    await expect(store.list('f')).rejects.toThrow(`unreachable: ${endpoint} (ECONNREFUSED)`);
    await expect(store.write('f/k', 'v')).rejects.toThrow(`unreachable: ${endpoint} (ECONNREFUSED)`);
  });
});
