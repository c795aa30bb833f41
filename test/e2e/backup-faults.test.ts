// The agent's backup against every fault the shell script was tested against: each run fails with its exit code,
// names the cause, writes no sidecar, runs no retention, and leaves older backups intact. s3rver and the agent run
// in a private netns; the agent is the built one (build/lib/agent/bin.js), as the tools image bundles it.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSidecar, sha256 } from '../../lib/storage';
import { startNetns, type NetNs } from '../support/netns';
import { mkTemp, rmTemp, run, stopChild } from '../support/proc';
import { startS3, type S3Server } from '../support/s3';
import { ageKeypair, HOST_PATH, resultLine, runAgent, s3Destination, shim, stamp, testBackupPlan, writeSyntheticSnapshot, type AgentRun } from '../support/agent';
import { AGENT_BIN } from '../support/agent-shim';

let tmp: string;
let netns: NetNs;
let s3: S3Server;
let keys: { identity: string; recipients: string };
let proxy: { port: number; child: ChildProcess };
let n = 0;
const CLUSTER = 'prod-1';
const OLD = [stamp(new Date(Date.now() - 3 * 86400_000)), stamp(new Date(Date.now() - 2 * 86400_000))];
const seededKeys = OLD.flatMap((t) => [`${CLUSTER}-${t}.db.zst`, `${CLUSTER}-${t}.meta.json`, `${CLUSTER}-${t}.sha256`]).sort();

/** A TCP proxy to s3rver inside the netns that cuts every connection once it has carried `limit` bytes upstream. */
async function startCuttingProxy(target: number, limit: number): Promise<{ port: number; child: ChildProcess }> {
  const code = `const net = require('node:net');
const server = net.createServer((client) => {
  let sent = 0;
  const upstream = net.connect(${target}, '127.0.0.1');
  client.on('data', (chunk) => { sent += chunk.length; if (sent > ${limit}) { client.destroy(); upstream.destroy(); } else upstream.write(chunk); });
  upstream.pipe(client);
  client.on('error', () => upstream.destroy()); upstream.on('error', () => client.destroy());
  client.on('close', () => upstream.destroy());
});
server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));`;
  const child = netns.spawn(process.execPath, ['-e', code]);
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => { const m = /port (\d+)/.exec(chunk.toString()); if (m) resolve(Number(m[1])); });
    child.on('exit', (status) => reject(new Error(`proxy exited ${status}`)));
  });
  return { port, child };
}

beforeAll(async () => {
  tmp = mkTemp('agent-faults');
  netns = await startNetns(300);
  [s3, keys] = await Promise.all([startS3({ netns, dir: tmp, buckets: ['backups'] }), ageKeypair(tmp)]);
  for (const key of seededKeys) {
    const body = key.endsWith('.sha256') ? formatSidecar([{ file: key.replace('.sha256', '.db.zst'), sha256: sha256(`old ${key.replace('.sha256', '.db.zst')}\n`), size: `old ${key.replace('.sha256', '.db.zst')}\n`.length }, { file: key.replace('.sha256', '.meta.json'), sha256: sha256(`old ${key.replace('.sha256', '.meta.json')}\n`), size: `old ${key.replace('.sha256', '.meta.json')}\n`.length }]) : `old ${key}\n`;
    await s3.put('backups', `${CLUSTER}/${key}`, body);
  }
  proxy = await startCuttingProxy(s3.port, 256 * 1024);
});

afterAll(async () => {
  if (proxy) await stopChild(proxy.child);
  await s3?.stop();
  await netns?.stop();
  rmTemp(tmp);
});

/** A fresh scratch with a valid synthetic snapshot (1 MiB); one s3 destination with keepLast 1: retention WOULD delete the seeds. */
function setup(o: { bucket?: string; endpoint?: string } = {}) {
  const dir = join(tmp, `run-${++n}`);
  mkdirSync(join(dir, 'scratch'), { recursive: true });
  const snapshotFile = join(dir, 'scratch', 'snapshot.db');
  writeSyntheticSnapshot(snapshotFile, 2048);
  const { destination, env } = s3Destination(s3, `primary:${o.bucket ?? 'backups'}/${CLUSTER}`, 'primary', { keepLast: 1 });
  const plan = testBackupPlan({ cluster: CLUSTER, snapshotFile, destinations: [{ ...destination, ...(o.endpoint ? { endpoint: o.endpoint } : {}) }] });
  return { dir, snapshotFile, plan, env: { ...env, TMPDIR: join(dir, 'scratch') } };
}

async function expectIntact() {
  expect(await s3.list('backups', CLUSTER)).toEqual(seededKeys);
}

function expectFailed(r: AgentRun, code: number, message: RegExp) {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr).toMatch(message);
  expect(r.result).toMatchObject({ command: 'backup', status: 'failed', exitCode: code });
  expect(r.stdout.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/retention removed/);
  for (const line of r.stderr.trim().split('\n')) expect(line).toMatch(/^controlplane-backup: /);
}

describe('agent backup faults', () => {
  it('S3 unreachable -> exit 4, bounded', async () => {
    const { plan, env } = setup({ endpoint: 'http://127.0.0.1:9' });
    const started = Date.now();
    const r = await runAgent(netns, 'backup', plan, env);
    expectFailed(r, 4, /destination primary .*upload of prod-1-\S+\.db\.zst failed: unreachable: http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/);
    expect(r.result!.destinations).toMatchObject([{ name: 'primary', status: 'upload-failed' }]);
    expect(Date.now() - started).toBeLessThan(30_000);
    await expectIntact();
  });

  it('wrong access key id -> exit 4 naming the cause', async () => {
    const { plan, env } = setup();
    const r = await runAgent(netns, 'backup', plan, { ...env, CPB_PRIMARY_ACCESS_KEY_ID: 'NOTAKEY' });
    expectFailed(r, 4, /destination primary .*access denied to s3:\/\/backups\/prod-1\/prod-1-\S+\.db\.zst \(InvalidAccessKeyId\)/);
    await expectIntact();
  });

  it('missing bucket -> exit 4 (the bucket is never created)', async () => {
    const { plan, env } = setup({ bucket: 'no-such-bucket' });
    const r = await runAgent(netns, 'backup', plan, env);
    expectFailed(r, 4, /bucket "no-such-bucket" does not exist/);
    expect(readdirSync(s3.dir)).not.toContain('no-such-bucket');
    await expectIntact();
  });

  it('compressor failing mid-stream -> exit 1, nothing uploaded', async () => {
    const { dir, plan, env } = setup();
    const shims = join(dir, 'shims');
    shim(shims, 'zstd', 'head -c 3000 /dev/urandom\nexit 1');
    const r = await runAgent(netns, 'backup', plan, env, { pathPrefix: shims });
    expectFailed(r, 1, /compression\/encryption of the snapshot failed \(zstd, encryption none\): zstd exited 1/);
    expect(r.result!.stage).toBe('compress');
    await expectIntact();
  });

  it('compressor failing mid-stream before age -> exit 1 naming zstd (age encrypting the short input is no success)', async () => {
    const { dir, snapshotFile, env } = setup();
    const shims = join(dir, 'shims');
    shim(shims, 'zstd', 'head -c 3000 /dev/urandom\nexit 1');
    const plan = testBackupPlan({ cluster: CLUSTER, snapshotFile, recipientsFile: keys.recipients, destinations: setup().plan.destinations });
    const r = await runAgent(netns, 'backup', plan, env, { pathPrefix: shims });
    expectFailed(r, 1, /compression\/encryption of the snapshot failed \(zstd, encryption age\): zstd exited 1/);
    await expectIntact();
  });

  it('encryptor failing mid-stream -> exit 1 naming age, nothing uploaded', async () => {
    const { dir, snapshotFile, env } = setup();
    const shims = join(dir, 'shims');
    // the recipients probe (empty input) passes; the stream dies after 5000 bytes
    shim(shims, 'age', 'n=$(head -c 5000 | wc -c)\n[ "$n" -lt 5000 ] && exit 0\necho "age: simulated failure" >&2\nexit 1');
    const plan = testBackupPlan({ cluster: CLUSTER, snapshotFile, recipientsFile: keys.recipients, destinations: setup().plan.destinations });
    const r = await runAgent(netns, 'backup', plan, env, { pathPrefix: shims });
    expectFailed(r, 1, /compression\/encryption of the snapshot failed \(zstd, encryption age\): age exited 1: age: simulated failure/);
    await expectIntact();
  });

  it('an encryptor failing while the compressor still produces -> exit 1 naming age, and no stage left running', async () => {
    const { dir, snapshotFile, env } = setup();
    const shims = join(dir, 'shims');
    // the compressor never ends on its own; nobody reads it once age is gone, so only the agent can stop it
    shim(shims, 'zstd', 'exec cat /dev/zero');
    shim(shims, 'age', 'n=$(head -c 5000 | wc -c)\n[ "$n" -lt 5000 ] && exit 0\necho "age: simulated failure" >&2\nexit 1');
    const plan = testBackupPlan({ cluster: CLUSTER, snapshotFile, recipientsFile: keys.recipients, destinations: setup().plan.destinations });
    const r = await runAgent(netns, 'backup', plan, env, { pathPrefix: shims, timeoutMs: 20_000 });
    expectFailed(r, 1, /age exited 1: age: simulated failure/);
    await expectIntact();
  });

  it('streamed snapshot upload cut mid-way -> exit 4, partial objects removed, the other destination complete', async () => {
    const { dir, snapshotFile, env } = setup();
    const local = join(dir, 'local');
    mkdirSync(local);
    // the snapshot (1 MiB, half random: about 0.5 MiB after zstd) goes through a proxy that cuts connections at 256 KiB
    const cut = s3Destination(s3, `primary:backups/${CLUSTER}`, 'primary', { keepLast: 1 }).destination;
    const plan = testBackupPlan({
      cluster: CLUSTER, snapshotFile, recipientsFile: keys.recipients,
      destinations: [{ ...cut, endpoint: `http://127.0.0.1:${proxy.port}` }, { name: 'local', kind: 'local', path: local, folder: CLUSTER, retention: { keepLast: 1, maxAgeHours: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0 } }],
    });
    const r = await runAgent(netns, 'backup', plan, env);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/destination primary .*upload of prod-1-\S+\.db\.zst\.age failed/);
    expect(r.result!.destinations.map((d: any) => [d.name, d.status])).toEqual([['primary', 'upload-failed'], ['local', 'ok']]);
    const files = readdirSync(join(local, CLUSTER));
    const sidecar = files.find((f) => f.endsWith('.sha256'))!;
    expect(files).toHaveLength(3);
    const check = await run('sha256sum', ['-c', sidecar], { cwd: join(local, CLUSTER) });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    await expectIntact();
  });

  it('truncated snapshot -> exit 2 before any upload', async () => {
    const { snapshotFile, plan, env } = setup();
    truncateSync(snapshotFile, 100_000);
    const r = await runAgent(netns, 'backup', plan, env);
    expectFailed(r, 2, /snapshot truncated or corrupt: size 100000 is not 512\*n\+32/);
    expect(r.result!.stage).toBe('verify');
    await expectIntact();
  });

  it('corrupt snapshot (bytes overwritten) -> exit 2, trailer mismatch', async () => {
    const { snapshotFile, plan, env } = setup();
    const bytes = readFileSync(snapshotFile);
    bytes.write('garbage', 5000);
    writeFileSync(snapshotFile, bytes);
    const r = await runAgent(netns, 'backup', plan, env);
    expectFailed(r, 2, /snapshot corrupt: sha256 trailer mismatch/);
    await expectIntact();
  });

  it('snapshot smaller than minSnapshotBytes -> exit 2', async () => {
    const { plan, env } = setup();
    const r = await runAgent(netns, 'backup', { ...plan, minSnapshotBytes: 4 * 1024 * 1024 }, env);
    expectFailed(r, 2, /snapshot too small: 1048608 bytes < the minimum of 4194304 bytes/);
    await expectIntact();
  });

  it('a missing snapshot file (the init container did not run) -> exit 2', async () => {
    const { plan, env } = setup();
    const r = await runAgent(netns, 'backup', { ...plan, snapshotFile: '/nonexistent/snapshot.db' }, env);
    expectFailed(r, 2, /snapshot file missing: \/nonexistent\/snapshot.db \(did the snapshot init container run\?\)/);
  });

  it('PKI wanted but no recipients -> exit 3, before anything is touched', async () => {
    const { plan, env } = setup();
    const r = await runAgent(netns, 'backup', { ...plan, pki: { paths: [tmp], encryptionConfigFile: null } }, env);
    expectFailed(r, 3, /invalid plan \(.*\): recipients: a PKI bundle is always encrypted: recipients are required/);
    await expectIntact();
  });

  it('a signing key that is not the one the inventory names -> exit 3, before anything is touched', async () => {
    const { plan, env } = setup();
    const mounted = generateKeyPairSync('ed25519');
    const named = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const keyFile = join(tmp, `signing-${n}.pem`);
    writeFileSync(keyFile, mounted.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    const r = await runAgent(netns, 'backup', { ...plan, signing: { keyFile, publicKey: named } }, env);
    expectFailed(r, 3, /signing key .* \(key [0-9a-f]{16}\) is not the one backup\.signing\.publicKey names \(key [0-9a-f]{16}\): put its public key MCowBQYDK2VwAyEA\S+ into the inventory, or mount the matching Secret/);
    await expectIntact();
  });

  it('a signing key file that holds no key -> exit 3, its content never repeated', async () => {
    const { plan, env } = setup();
    const keyFile = join(tmp, `signing-bad-${n}.pem`);
    writeFileSync(keyFile, 'not-a-key-but-a-secret-looking-string');
    const named = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    const r = await runAgent(netns, 'backup', { ...plan, signing: { keyFile, publicKey: named } }, env);
    expectFailed(r, 3, /signing key .* not a PEM private key/);
    expect(r.stdout + r.stderr).not.toContain('secret-looking');
    await expectIntact();
  });

  it('a missing tool -> exit 3 naming it', async () => {
    const { plan, env } = setup();
    const withAge = testBackupPlan({ cluster: CLUSTER, snapshotFile: plan.snapshotFile, recipientsFile: keys.recipients, destinations: plan.destinations });
    const r = await runAgent(netns, 'backup', withAge, { ...env, PATH: join(tmp, 'empty-path') });
    expectFailed(r, 3, /missing required tool\(s\): zstd age/);
    await expectIntact();
  });

  it('a missing credential env var -> exit 3 naming it', async () => {
    const { plan, env } = setup();
    const r = await runAgent(netns, 'backup', plan, { ...env, CPB_PRIMARY_SECRET_ACCESS_KEY: '' });
    expectFailed(r, 3, /destination primary: the credential env var CPB_PRIMARY_SECRET_ACCESS_KEY is not set/);
  });

  it('one destination failing does not skip the others, and retention runs where the set is complete', async () => {
    const { dir, snapshotFile, env } = setup();
    const local = join(dir, 'local');
    mkdirSync(local);
    const good = s3Destination(s3, `primary:backups/other-${CLUSTER}`, 'good', { keepLast: 1 });
    const bad = s3Destination(s3, `primary:no-such-bucket/${CLUSTER}`, 'bad');
    const plan = testBackupPlan({ cluster: CLUSTER, snapshotFile, destinations: [bad.destination, good.destination] });
    const r = await runAgent(netns, 'backup', plan, { ...env, ...good.env, ...bad.env });
    expect(r.code, r.stderr).toBe(4);
    expect(r.result!.destinations.map((d: any) => [d.name, d.status])).toEqual([['bad', 'upload-failed'], ['good', 'ok']]);
    expect((await s3.list('backups', `other-${CLUSTER}`)).filter((key) => key.endsWith('.sha256'))).toHaveLength(1);
  });

  it('writes nothing outside the scratch volume: a read-only /tmp changes nothing', async () => {
    // scratch and plan outside /tmp (the worktree's .tmp/, ignored by git), /tmp read-only in the agent's mount namespace
    const dir = mkdtempSync(join(resolve(__dirname, '../../.tmp'), 'agent-ro-tmp-'));
    try {
      mkdirSync(join(dir, 'scratch'));
      const snapshotFile = join(dir, 'scratch', 'snapshot.db');
      writeSyntheticSnapshot(snapshotFile, 256);
      const { destination, env } = s3Destination(s3, `primary:backups/readonly-${CLUSTER}`);
      const plan = testBackupPlan({ cluster: CLUSTER, snapshotFile, recipientsFile: keys.recipients, pkiPaths: [join(dir, 'scratch')], destinations: [destination] });
      const planFile = join(dir, 'plan.json');
      writeFileSync(planFile, JSON.stringify(plan));
      const r = await netns.exec('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c',
        'mount --bind /tmp /tmp && mount -o remount,bind,ro /tmp && touch /tmp/probe 2>/dev/null && exit 99; exec "$@"', 'sh',
        process.execPath, AGENT_BIN, 'agent', 'backup', '--plan', planFile,
      ], { env: { ...env, TMPDIR: join(dir, 'scratch'), PATH: HOST_PATH }, timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(resultLine(r.stdout)).toMatchObject({ status: 'ok', destinations: [{ name: 'primary', status: 'ok' }] });
      // the work dir in scratch is gone, the snapshot freed
      expect(readdirSync(join(dir, 'scratch')).filter((name) => name.startsWith('.agent-'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps older sets taken before the PKI bundle was switched on: they are complete without one', async () => {
    const { dir, snapshotFile, env } = setup();
    const folder = `nopki-${CLUSTER}`;
    const old = `${CLUSTER}-${OLD[0]}`;
    const objects = { [`${old}.db.zst`]: 'old snapshot\n', [`${old}.meta.json`]: '{}\n' };
    for (const [file, body] of Object.entries(objects)) await s3.put('backups', `${folder}/${file}`, body);
    await s3.put('backups', `${folder}/${old}.sha256`, formatSidecar(Object.entries(objects).map(([file, body]) => ({ file, sha256: sha256(body), size: body.length }))));
    const { destination } = s3Destination(s3, `primary:backups/${folder}`, 'primary', { keepLast: 5 });
    mkdirSync(join(dir, 'pki'));
    writeFileSync(join(dir, 'pki', 'ca.crt'), 'CA\n');
    const plan = testBackupPlan({ cluster: CLUSTER, snapshotFile, recipientsFile: keys.recipients, pkiPaths: [join(dir, 'pki')], destinations: [destination] });
    const r = await runAgent(netns, 'backup', plan, env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.result!.destinations).toMatchObject([{ name: 'primary', status: 'ok', deleted: 0 }]);
    expect((await s3.list('backups', folder)).filter((key) => key.startsWith(old))).toEqual([`${old}.db.zst`, `${old}.meta.json`, `${old}.sha256`]);
  });
});
