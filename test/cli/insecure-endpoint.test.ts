/**
 * Issue 13, item 5: the CLI's snapshots and check sent the operator's AWS credentials (and session token) to any
 * endpoint, plain http included. Now plain http needs `insecure: true` on the storage, in the inventory and for
 * an objectBucketClaim's --endpoint.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Io } from '../../lib/cli/io';
import { run } from '../../lib/cli/main';
import { withToolsImage } from '../support/inventory';

const R = 'age1xzcq5v8xm62cefatuwlqdcla6gp6pu7fw85q30nvf3xppuhtpgfsk9272a';
const inventory = (storage: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'cpb-insecure-')), 'inventory.yaml');
  writeFileSync(file, withToolsImage(`apiVersion: controlplane-backup.io/v1
kind: Inventory
storages:
  store:
${storage}
clusters:
  prod:
    kubeadm: { members: [{ name: cp-1, ip: 10.0.0.1 }] }
    backup: { storages: [store], encryption: { recipients: [${R}] } }
`));
  return file;
};
async function cli(...argv: string[]) {
  let err = '';
  const io: Io = { out: () => undefined, err: (text) => { err += text; }, interactive: false };
  const code = await run(argv, io);
  return { code, err };
}
/** An HTTP server that records whether any request carried AWS credentials. */
async function listener() {
  const seen: string[] = [];
  const server = createServer((request, response) => {
    seen.push(String(request.headers.authorization ?? ''));
    response.statusCode = 500;
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { port, seen, close: () => new Promise((resolve) => server.close(resolve)) };
}
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'AKIAOPERATOR', AWS_SECRET_ACCESS_KEY: 'operator-secret', AWS_SESSION_TOKEN: 'operator-token' };

describe('snapshots and check never send credentials over plain http unless the storage says insecure', () => {
  it('fails if an s3 storage has an http endpoint without `insecure: true` (exit 2, nothing sent)', async () => {
    const server = await listener();
    const file = inventory(`    s3: { endpoint: "http://127.0.0.1:${server.port}", bucket: backups, pathStyle: true }\n    credentials: { existingSecret: { name: s3 } }`);
    Object.assign(process.env, CREDENTIALS);
    for (const command of ['snapshots', 'check']) {
      const result = await cli(command, '--inventory', file);
      expect(result.code).toBe(2);
      expect(result.err).toContain(`${file}:5:21: storages.store.s3.endpoint: "http://127.0.0.1:${server.port}" has no TLS: the storage credentials would travel in clear; use https, or set \`insecure: true\` on this storage if the network path is trusted`);
    }
    await server.close();
    expect(server.seen).toEqual([]);
  });

  it('fails if an objectBucketClaim\'s --endpoint is plain http without `insecure: true`', async () => {
    const server = await listener();
    const file = inventory('    objectBucketClaim: { storageClassName: rook-ceph-bucket, bucketName: backups, port: 80 }');
    Object.assign(process.env, CREDENTIALS);
    for (const endpoint of [`http://127.0.0.1:${server.port}`]) {
      const result = await cli('snapshots', '--inventory', file, '--endpoint', `store=${endpoint}`);
      expect(result).toEqual({
        code: 2,
        err: `controlplane-backup: --endpoint store=${endpoint}: plain http would send your S3 credentials in clear; pass an https:// endpoint, or set \`insecure: true\` on storage "store" if the network path is trusted\n`
          + 'Run `controlplane-backup snapshots --help` for usage.\n',
      });
    }
    await server.close();
    expect(server.seen).toEqual([]);
  });

  it('with `insecure: true` the http endpoint is used (the user chose it)', async () => {
    const server = await listener();
    const file = inventory(`    s3: { endpoint: "http://127.0.0.1:${server.port}", bucket: backups, pathStyle: true, insecure: true }\n    credentials: { existingSecret: { name: s3 } }`);
    Object.assign(process.env, CREDENTIALS);
    const result = await cli('snapshots', '--inventory', file);
    await server.close();
    expect(result.code).toBe(3);
    expect(server.seen.length).toBeGreaterThan(0);
  });
});
