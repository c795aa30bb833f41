// The etcd of the tests is etcd 3.5 from Debian trixie (what the drill and the restores run in the image), and its
// `etcdutl snapshot restore --bump-revision --mark-compacted` keeps the keyspace while moving the revision forward.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyspaceDigest, loadKeys, snapshotSave, snapshotStatus, startEtcd, type EtcdServer } from './etcd';
import { startNetns, type NetNs } from './netns';
import { makePki, type Pki } from './pki';
import { mkTemp, rmTemp, runOk } from './proc';
import { etcdBinary } from './roots';

let tmp: string;
let netns: NetNs;
let pki: Pki;
const servers: EtcdServer[] = [];

beforeAll(async () => {
  tmp = mkTemp('etcd35');
  netns = await startNetns(120);
  pki = await makePki(tmp);
});

afterAll(async () => {
  for (const s of servers) await s.stop();
  await netns?.stop();
  rmTemp(tmp);
});

describe('etcd 3.5 of the test world', () => {
  it('is Debian trixie\'s 3.5, with etcdutl', async () => {
    expect((await runOk(etcdBinary('etcd'), ['--version'])).stdout).toMatch(/^etcd Version: 3\.5\.\d+$/m);
    for (const name of ['etcdctl', 'etcdutl'] as const) {
      expect((await runOk(etcdBinary(name), ['version'])).stdout, name).toMatch(/^(etcdctl|etcdutl) version: 3\.5\.\d+$/m);
    }
  });

  it('restores a snapshot with --bump-revision --mark-compacted: the same keyspace, a later revision, old revisions compacted', async () => {
    const first = await startEtcd({ netns, pki, dir: join(tmp, 'first') });
    servers.push(first);
    await loadKeys(first, { count: 700, valueBytes: 200 });
    await loadKeys(first, { count: 100, valueBytes: 50 }); // overwrites: more revisions than keys
    const before = await keyspaceDigest(first);
    const snapshot = join(tmp, 'snap.db');
    const saved = await snapshotSave(netns, snapshot, { cacert: pki.etcdCa.cert, client: pki.etcdHealthcheckClient });
    expect(saved.code, saved.stderr).toBe(0);
    const status = await snapshotStatus(snapshot);
    await first.stop();

    const bump = 1_000_000;
    const dataDir = join(tmp, 'second', 'etcd-data');
    await runOk(etcdBinary('etcdutl'), ['snapshot', 'restore', snapshot, `--data-dir=${dataDir}`, '--name=node-1',
      '--initial-cluster=node-1=https://127.0.0.1:2380', '--initial-advertise-peer-urls=https://127.0.0.1:2380',
      '--initial-cluster-token=restored', `--bump-revision=${bump}`, '--mark-compacted']);
    const second = await startEtcd({ netns, pki, dir: join(tmp, 'second') });
    servers.push(second);
    expect(await keyspaceDigest(second)).toEqual(before);
    expect(before.count).toBe(700);
    const header = JSON.parse((await second.ctl(['get', 'nothing', '-w', 'json'])).stdout).header;
    expect(header.revision).toBeGreaterThanOrEqual(status.revision + bump);
    // A watch cache that asks for a revision from before the restore is told it was compacted, not given old data.
    const old = await second.ctl(['get', '/registry/test/key-000001', `--rev=${status.revision}`]);
    expect(old.code).not.toBe(0);
    expect(old.stderr).toMatch(/required revision has been compacted/);
  });
});
