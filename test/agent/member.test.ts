// The kubeadm member restore's steps on a scratch "node" (data dir, manifests dir, PKI dir), with a stand-in etcdutl,
// an in-memory barrier and etcd "running" exactly while its manifest is in place (what the kubelet does).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Member, type Barrier, type MemberDeps, type MemberPlan } from '../../lib/agent/restore/member';
import { AgentError as RestoreFailure } from '../../lib/agent/exit-codes';
import { mkTemp, rmTemp } from '../support/proc';
import { fakeEtcdutl } from '../support/fake-etcdutl';

const NAME = 'c1-20261201T000000Z';
let tmp: string;
let node: { data: string; manifests: string; pki: string; scratch: string };
let savedPath: string | undefined;

function plan(over: Partial<MemberPlan> = {}): MemberPlan {
  return {
    cluster: 'c1', restoreId: 'r1', snapshotName: 'latest', memberName: 'n1', peerUrl: 'https://10.0.0.1:2380', members: ['n1'],
    initialCluster: 'n1=https://10.0.0.1:2380', initialClusterToken: 'c1-restore-r1', dataDir: node.data,
    etcdManifest: join(node.manifests, 'etcd.yaml'), etcd: { endpoint: 'https://10.0.0.1:2379', caFile: '/ca', certFile: '/c', keyFile: '/k' },
    pki: { restore: false, dir: node.pki, archivePrefix: 'etc/kubernetes/pki' }, bumpRevision: true, scratchDir: node.scratch,
    timeouts: { barrierSeconds: 10, stopSeconds: 10, healthSeconds: 10 }, ...over,
  };
}

function memoryBarrier(staged: Map<string, string>): Barrier {
  return { location: 'mem://barrier', stage: async (m, s) => { staged.set(m, s); }, staged: async () => new Map(staged) };
}

function deps(over: Partial<MemberDeps> = {}): MemberDeps {
  let t = 0;
  const running = () => existsSync(join(node.manifests, 'etcd.yaml'));
  return {
    resolve: async () => NAME,
    fetchVerified: async (_name, _pki, dir) => {
      writeFileSync(join(dir, 'snapshot.db'), 'restored-db');
      return { snapshotFile: join(dir, 'snapshot.db'), dispose: () => undefined };
    },
    etcdAnswers: async () => running(),
    etcdHealthy: async () => ({ ok: running(), detail: running() ? '' : 'connection refused' }),
    log: () => undefined, sleep: async (ms) => { t += ms; }, now: () => t, ...over,
  };
}

const tree = (dir: string) => readdirSync(dir).sort();

beforeEach(() => {
  tmp = mkTemp('member');
  node = { data: join(tmp, 'var/lib/etcd'), manifests: join(tmp, 'manifests'), pki: join(tmp, 'pki'), scratch: join(tmp, 'scratch') };
  for (const d of Object.values(node)) mkdirSync(d, { recursive: true });
  mkdirSync(join(node.data, 'member/snap'), { recursive: true });
  writeFileSync(join(node.data, 'member/snap/db'), 'old-db');
  writeFileSync(join(node.manifests, 'etcd.yaml'), 'kind: Pod');
  savedPath = process.env.PATH;
  process.env.PATH = `${fakeEtcdutl(tmp)}:${savedPath}`;
});
afterEach(() => {
  process.env.PATH = savedPath;
  rmTemp(tmp);
});

describe('restore-member', () => {
  it('restores through staging, keeps the old data, writes the marker and puts the manifest back', async () => {
    const result = await new Member(plan(), deps()).run();
    expect(result).toMatchObject({ status: 'ok', exitCode: 0, stage: 'done', snapshot: NAME, member: 'n1', revisionBumped: true, pkiRestored: false });
    expect(tree(node.data)).toEqual(['.controlplane-backup-restore-r1.done', '.controlplane-backup-restore-r1.result.json', 'member', 'member.before-restore-r1']);
    expect(JSON.parse(readFileSync(join(node.data, '.controlplane-backup-restore-r1.result.json'), 'utf8'))).toEqual(result);
    expect(readFileSync(join(node.data, 'member/snap/db'), 'utf8')).toBe('restored-db');
    expect(readFileSync(join(node.data, 'member.before-restore-r1/snap/db'), 'utf8')).toBe('old-db');
    const args = JSON.parse(readFileSync(join(node.data, 'member/args.json'), 'utf8'));
    expect(args).toEqual(expect.arrayContaining(['--name', 'n1', '--initial-cluster', 'n1=https://10.0.0.1:2380', '--initial-cluster-token', 'c1-restore-r1',
      '--initial-advertise-peer-urls', 'https://10.0.0.1:2380', '--bump-revision', '1000000000', '--mark-compacted']));
    expect(readFileSync(join(node.data, '.controlplane-backup-restore-r1.done'), 'utf8')).toMatch(/^snapshot=c1-20261201T000000Z\nrestoreId=r1\nmember=n1\nrestoredAt=.*Z\nrevisionBumped=true\npki=false\n$/);
    expect(tree(node.manifests)).toEqual(['etcd.yaml']);
    expect(tree(node.scratch)).toEqual([]);
    expect(Object.keys(result.durationsMs)).toEqual(['fetch', 'restore', 'stopEtcd', 'swap', 'startEtcd', 'total']);

    const again = await new Member(plan(), deps({ resolve: async () => { throw new Error('must not resolve'); } })).run();
    expect(again).toMatchObject({ status: 'skipped', exitCode: 0, snapshot: NAME, pkiRestored: null });
    // the result file still says how the restore ended
    expect(JSON.parse(readFileSync(join(node.data, '.controlplane-backup-restore-r1.result.json'), 'utf8')).status).toBe('ok');
  });

  it('without --bump-revision in the tool: restores and says the revision was not bumped', async () => {
    process.env.FAKE_ETCDUTL_NO_BUMP = '1';
    try {
      expect(await new Member(plan(), deps()).run()).toMatchObject({ status: 'ok', revisionBumped: false });
    } finally {
      delete process.env.FAKE_ETCDUTL_NO_BUMP;
    }
  });

  it('finishes a run that stopped between the marker and the manifest', async () => {
    writeFileSync(join(node.data, '.controlplane-backup-restore-r1.done'), `snapshot=${NAME}\n`);
    const { renameSync } = await import('node:fs');
    renameSync(join(node.manifests, 'etcd.yaml'), join(node.manifests, '.etcd.yaml.restore-r1'));
    expect(await new Member(plan(), deps()).run()).toMatchObject({ status: 'skipped' });
    expect(tree(node.manifests)).toEqual(['etcd.yaml']);
  });

  it('fails before touching the node when the backup does not verify (the verifier\'s exit code)', async () => {
    const result = await new Member(plan(), deps({ fetchVerified: async () => { throw new RestoreFailure(2, `checksum mismatch: ${NAME}.db.zst.age`, 'fetch'); } })).run();
    expect(result).toMatchObject({ status: 'failed', exitCode: 2, stage: 'fetch' });
    expect(tree(node.data).filter((f) => !f.endsWith('.result.json'))).toEqual(['member']);
    expect(tree(node.manifests)).toEqual(['etcd.yaml']);
  });

  it('a failed etcdutl restore leaves no staging dir and the node untouched (exit 1)', async () => {
    const result = await new Member(plan(), deps({
      fetchVerified: async (_n, _p, dir) => { writeFileSync(join(dir, 'snapshot.db'), 'fail'); return { snapshotFile: join(dir, 'snapshot.db'), dispose: () => undefined }; },
    })).run();
    expect(result).toMatchObject({ exitCode: 1, stage: 'restore' });
    expect(result.message).toBe('etcdutl snapshot restore failed (exit 1): Error: snapshot file is corrupt');
    expect(tree(node.data).filter((f) => !f.endsWith('.result.json'))).toEqual(['member']);
  });

  it('barrier timeout (a member never stages): exit 6, node untouched, staging removed', async () => {
    const staged = new Map<string, string>();
    const result = await new Member(plan({ members: ['n1', 'n2'], initialCluster: 'n1=https://10.0.0.1:2380,n2=https://10.0.0.2:2380' }), deps({ barrier: memoryBarrier(staged) })).run();
    expect(result).toMatchObject({ exitCode: 6, stage: 'barrier' });
    expect(result.message).toBe('barrier timeout: after 10s still waiting for member(s): n2 at mem://barrier (is each member\'s restore Job running?); nothing on this node was changed');
    expect(staged.get('n1')).toBe(NAME);
    expect(tree(node.data).filter((f) => !f.endsWith('.result.json'))).toEqual(['member']);
    expect(tree(node.manifests)).toEqual(['etcd.yaml']);
  });

  it('members on different backups: exit 6, node untouched', async () => {
    const staged = new Map([['n2', 'c1-20261130T000000Z']]);
    const result = await new Member(plan({ members: ['n1', 'n2'] }), deps({ barrier: memoryBarrier(staged) })).run();
    expect(result).toMatchObject({ exitCode: 6 });
    expect(result.message).toMatch(/^members resolved different snapshots \(n1=c1-20261201T000000Z, n2=c1-20261130T000000Z\)/);
    expect(tree(node.data).filter((f) => !f.endsWith('.result.json'))).toEqual(['member']);
  });

  it('passes the barrier when every member staged the same backup', async () => {
    const staged = new Map([['n2', NAME]]);
    expect(await new Member(plan({ members: ['n1', 'n2'] }), deps({ barrier: memoryBarrier(staged) })).run()).toMatchObject({ status: 'ok' });
  });

  it('etcd that does not stop: exit 7, manifest moved back, data untouched', async () => {
    const result = await new Member(plan(), deps({ etcdAnswers: async () => true })).run();
    expect(result).toMatchObject({ exitCode: 7, stage: 'stop-etcd' });
    expect(tree(node.manifests)).toEqual(['etcd.yaml']);
    expect(tree(node.data).filter((f) => !f.endsWith('.result.json'))).toEqual(['member']);
  });

  it('etcd not healthy after the restore: exit 8, data in place, marker written', async () => {
    const result = await new Member(plan(), deps({ etcdHealthy: async () => ({ ok: false, detail: 'context deadline exceeded' }) })).run();
    expect(result).toMatchObject({ exitCode: 8, stage: 'start-etcd' });
    expect(result.message).toMatch(/^etcd at https:\/\/10\.0\.0\.1:2379 not healthy 10s after the restore \(context deadline exceeded\)/);
    expect(tree(node.data)).toContain('.controlplane-backup-restore-r1.done');
    expect(tree(node.manifests)).toEqual(['etcd.yaml']);
  });

  it('restores the PKI files of the bundle, the current ones copied aside first', async () => {
    const { execFileSync } = await import('node:child_process');
    const src = join(tmp, 'bundle');
    mkdirSync(join(src, 'etc/kubernetes/pki/etcd'), { recursive: true });
    writeFileSync(join(src, 'etc/kubernetes/pki/ca.crt'), 'ca-at-backup', { mode: 0o644 });
    writeFileSync(join(src, 'etc/kubernetes/pki/etcd/ca.key'), 'key-at-backup', { mode: 0o600 });
    const tar = execFileSync('tar', ['-C', src, '-cf', '-', 'etc/kubernetes/pki']);
    writeFileSync(join(node.pki, 'ca.crt'), 'ca-now');
    writeFileSync(join(node.pki, 'only-now.crt'), 'x');
    const result = await new Member(plan({ pki: { restore: true, dir: node.pki, archivePrefix: 'etc/kubernetes/pki' } }), deps({
      fetchVerified: async (_n, pki, dir) => {
        expect(pki).toBe(true);
        writeFileSync(join(dir, 'snapshot.db'), 'db');
        return { snapshotFile: join(dir, 'snapshot.db'), pkiTar: tar, dispose: () => undefined };
      },
    })).run();
    expect(result).toMatchObject({ status: 'ok', pkiRestored: true });
    expect(readFileSync(join(node.pki, 'ca.crt'), 'utf8')).toBe('ca-at-backup');
    expect(readFileSync(join(node.pki, 'etcd/ca.key'), 'utf8')).toBe('key-at-backup');
    expect(readFileSync(join(node.pki, 'only-now.crt'), 'utf8')).toBe('x');
    expect(readFileSync(join(node.pki, '.before-restore-r1/ca.crt'), 'utf8')).toBe('ca-now');
  });

  it('records a failure where it outlives the pod: next to the marker and in the object store', async () => {
    const recorded: string[] = [];
    const result = await new Member(plan(), deps({ etcdHealthy: async () => ({ ok: false, detail: 'no quorum' }), recordResult: async (line) => { recorded.push(line); } })).run();
    expect(result.exitCode).toBe(8);
    expect(recorded.map((l) => JSON.parse(l))).toEqual([result]);
    expect(JSON.parse(readFileSync(join(node.data, '.controlplane-backup-restore-r1.result.json'), 'utf8'))).toEqual(result);
  });

  // A static pod removes its own manifest once it has recorded its result, so the file on the node is where a person
  // there reads why it stopped, also when it stopped before touching anything.
  it('records a failure before anything was touched on the node too, beside the untouched data (and in the object store)', async () => {
    const recorded: string[] = [];
    const result = await new Member(plan(), deps({ fetchVerified: async () => { throw new RestoreFailure(2, 'checksum mismatch', 'fetch'); }, recordResult: async (line) => { recorded.push(line); } })).run();
    expect(result.exitCode).toBe(2);
    expect(recorded).toHaveLength(1);
    expect(tree(node.data)).toEqual(['.controlplane-backup-restore-r1.result.json', 'member']);
    expect(JSON.parse(readFileSync(join(node.data, '.controlplane-backup-restore-r1.result.json'), 'utf8'))).toMatchObject({ status: 'failed', stage: 'fetch', message: 'checksum mismatch' });
  });

  // Issue 11 item 2: after a rollback through the Job, the restored API server no longer knows the Job's pod and its
  // kubelet stops it while the member waits for etcd's health. How the restore ended must outlive that pod.
  it('records, when stopped by a signal during the health wait, that the data is in place (on the node and in the object store)', async () => {
    const recorded: string[] = [];
    let signalled: Promise<unknown> | undefined;
    const member: Member = new Member(plan(), deps({
      recordResult: async (line) => { recorded.push(line); },
      // the kubelet's SIGTERM arrives while the member polls the restored etcd; the agent exits after the handler
      etcdHealthy: () => {
        signalled = member.onSignal();
        return new Promise(() => undefined);
      },
    }));
    void member.run();
    const result = await (async () => { while (!signalled) await new Promise((r) => setTimeout(r, 5)); return signalled; })() as Awaited<ReturnType<Member['onSignal']>>;
    expect(result).toMatchObject({ status: 'failed', stage: 'start-etcd', snapshot: NAME });
    expect(result.message).toMatch(/^terminated by signal while waiting for etcd's health: the data of c1-20261201T000000Z is in place \(marker .*\.controlplane-backup-restore-r1\.done\)/);
    const onNode = JSON.parse(readFileSync(join(node.data, '.controlplane-backup-restore-r1.result.json'), 'utf8'));
    expect(onNode).toEqual(result);
    expect(JSON.parse(recorded.at(-1)!)).toEqual(result);
    // the data stays restored: the signal does not undo the swap
    expect(readFileSync(join(node.data, 'member/snap/db'), 'utf8')).toBe('restored-db');
    expect(tree(node.manifests)).toEqual(['etcd.yaml']);
  });

  it('warns, with the date, about a certificate of the backup that expires within 7 days, and restores', async () => {
    const { execFileSync } = await import('node:child_process');
    const src = join(tmp, 'bundle');
    mkdirSync(join(src, 'etc/kubernetes/pki'), { recursive: true });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(src, 'etc/kubernetes/pki/apiserver.key'),
      '-subj', '/CN=kube-apiserver', '-days', '3', '-out', join(src, 'etc/kubernetes/pki/apiserver.crt')], { stdio: 'ignore' });
    const tar = execFileSync('tar', ['-C', src, '-cf', '-', 'etc/kubernetes/pki']);
    const logs: string[] = [];
    const result = await new Member(plan({ pki: { restore: true, dir: node.pki, archivePrefix: 'etc/kubernetes/pki' } }), deps({
      log: (m) => logs.push(m),
      fetchVerified: async (_n, _p, dir) => { writeFileSync(join(dir, 'snapshot.db'), 'db'); return { snapshotFile: join(dir, 'snapshot.db'), pkiTar: tar, dispose: () => undefined }; },
    })).run();
    expect(result).toMatchObject({ status: 'ok', pkiRestored: true });
    expect(logs.filter((l) => l.startsWith('WARNING: certificates:'))).toEqual([expect.stringMatching(/^WARNING: certificates: etc\/kubernetes\/pki\/apiserver\.crt of the backup expires on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, within 7 days/)]);
  });

  describe('checks before etcd is stopped (issue 11 item 5)', () => {
    const withMeta = (meta: { cluster?: string; etcdVersion?: string }): Partial<MemberDeps> => ({
      fetchVerified: async (_n, _p, dir) => { writeFileSync(join(dir, 'snapshot.db'), 'db'); return { snapshotFile: join(dir, 'snapshot.db'), meta, dispose: () => undefined }; },
    });
    const untouched = () => {
      expect(readFileSync(join(node.data, 'member/snap/db'), 'utf8')).toBe('old-db');
      expect(tree(node.manifests)).toEqual(['etcd.yaml']);
    };

    it('fails if the backup is of another cluster (exit 2), unless allowCrossCluster', async () => {
      const result = await new Member(plan(), deps(withMeta({ cluster: 'c2', etcdVersion: '3.5.16' }))).run();
      expect(result).toMatchObject({ status: 'failed', exitCode: 2, stage: 'checks' });
      expect(result.message).toBe('cluster: the backup was taken of cluster c2 (its meta.json), this restore is for c1: pick a backup of c1, or set allowCrossCluster: true on the restore request if this is on purpose; nothing on this node was changed');
      untouched();
      expect(await new Member(plan({ allowCrossCluster: true }), deps(withMeta({ cluster: 'c2', etcdVersion: '3.5.16' }))).run()).toMatchObject({ status: 'ok' });
    });

    it('fails if the snapshot was taken by a newer etcd minor than `etcdutl version` (exit 2)', async () => {
      const result = await new Member(plan(), deps(withMeta({ cluster: 'c1', etcdVersion: '3.6.2' }))).run();
      expect(result).toMatchObject({ status: 'failed', exitCode: 2, stage: 'checks' });
      expect(result.message).toBe('etcd-version: the snapshot was taken by etcd 3.6.2, the restore tools are etcd 3.5.16: restore with a tools image whose etcdutl is 3.6 or newer (images.tools); nothing on this node was changed');
      untouched();
    });

    it('restores a snapshot of an older etcd minor with the version it reads from etcdutl', async () => {
      process.env.FAKE_ETCDUTL_VERSION = '3.6.0';
      try {
        expect(await new Member(plan(), deps(withMeta({ cluster: 'c1', etcdVersion: '3.5.21' }))).run()).toMatchObject({ status: 'ok' });
      } finally {
        delete process.env.FAKE_ETCDUTL_VERSION;
      }
    });
  });
});
