// etcd 3.5 (Debian trixie's, unpacked by scripts/setup-test-roots.sh) with TLS like kubeadm, inside a netns on https://127.0.0.1:2379 (peer 2380, metrics 2381).
import { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { NetNs } from './netns';
import { Pki, CertPair } from './pki';
import { RunResult, runOk, stopChild, waitFor } from './proc';
import { etcdBinary } from './roots';

export const ETCD_ENDPOINT = 'https://127.0.0.1:2379';

export interface EtcdServer {
  endpoint: string;
  pid: number;
  dataDir: string;
  logFile: string;
  /** env for etcdctl with the healthcheck client cert (ETCDCTL_CACERT/CERT/KEY/ENDPOINTS) */
  clientEnv: Record<string, string>;
  /** etcdctl inside the netns with clientEnv (extra env may override) */
  ctl(args: string[], opts?: { timeoutMs?: number; input?: string; env?: Record<string, string> }): Promise<RunResult>;
  stop(): Promise<void>;
}

export async function startEtcd(opts: { netns: NetNs; pki: Pki; dir: string; timeoutMs?: number }): Promise<EtcdServer> {
  const { netns, pki } = opts;
  const dataDir = join(opts.dir, 'etcd-data');
  mkdirSync(opts.dir, { recursive: true });
  const logFile = join(opts.dir, 'etcd.log');
  const logFd = openSync(logFile, 'a');
  const args = [
    '--name=node-1', `--data-dir=${dataDir}`,
    '--listen-client-urls=https://127.0.0.1:2379', `--advertise-client-urls=${ETCD_ENDPOINT}`,
    '--listen-peer-urls=https://127.0.0.1:2380', '--initial-advertise-peer-urls=https://127.0.0.1:2380',
    '--initial-cluster=node-1=https://127.0.0.1:2380', '--listen-metrics-urls=http://127.0.0.1:2381',
    '--client-cert-auth=true', `--trusted-ca-file=${pki.etcdCa.cert}`,
    `--cert-file=${pki.etcdServer.cert}`, `--key-file=${pki.etcdServer.key}`,
    '--peer-client-cert-auth=true', `--peer-trusted-ca-file=${pki.etcdCa.cert}`,
    `--peer-cert-file=${pki.etcdPeer.cert}`, `--peer-key-file=${pki.etcdPeer.key}`,
    '--snapshot-count=10000', '--max-txn-ops=1000', '--logger=zap', '--log-outputs=stderr',
  ];
  const child: ChildProcess = netns.spawn(etcdBinary('etcd'), args, { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const clientEnv = {
    ETCDCTL_API: '3',
    ETCDCTL_ENDPOINTS: ETCD_ENDPOINT,
    ETCDCTL_CACERT: pki.etcdCa.cert,
    ETCDCTL_CERT: pki.etcdHealthcheckClient.cert,
    ETCDCTL_KEY: pki.etcdHealthcheckClient.key,
  };
  const ctl: EtcdServer['ctl'] = (a, o = {}) =>
    netns.exec(etcdBinary('etcdctl'), ['--dial-timeout=3s', '--command-timeout=20s', ...a], {
      env: { PATH: process.env.PATH, ...clientEnv, ...(o.env ?? {}) },
      input: o.input,
      timeoutMs: o.timeoutMs ?? 30_000,
    });
  const server: EtcdServer = {
    endpoint: ETCD_ENDPOINT, pid: child.pid!, dataDir, logFile, clientEnv, ctl,
    stop: () => stopChild(child, 5000),
  };
  try {
    await waitFor('etcd health', async () => {
      if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}, see ${logFile}`);
      const r = await ctl(['endpoint', 'health'], { timeoutMs: 5000 });
      return r.code === 0;
    }, opts.timeoutMs ?? 20_000, 150);
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

/** Deterministic value for key i, valueBytes long, no whitespace. */
export function valueFor(i: number, valueBytes: number): string {
  const seed = createHash('sha256').update(String(i)).digest('hex');
  return seed.repeat(Math.ceil(valueBytes / seed.length)).slice(0, valueBytes);
}

/** Put count keys `${prefix}${i}` in transactions of up to 500 puts. */
export async function loadKeys(etcd: EtcdServer, opts: { count: number; valueBytes?: number; prefix?: string }): Promise<void> {
  const prefix = opts.prefix ?? '/registry/test/key-';
  const vb = opts.valueBytes ?? 300;
  const batches: string[] = [];
  for (let start = 0; start < opts.count; start += 500) {
    const lines = ['', ''];
    for (let i = start; i < Math.min(opts.count, start + 500); i++) lines.splice(lines.length - 1, 0, `put ${prefix}${String(i).padStart(6, '0')} ${valueFor(i, vb)}`);
    // txn -i input: compares, blank line, success ops, blank line, failure ops, blank line
    batches.push(lines.join('\n') + '\n\n');
  }
  for (const input of batches) {
    const r = await etcd.ctl(['txn'], { input, timeoutMs: 30_000 });
    if (r.code !== 0 || !r.stdout.includes('SUCCESS')) throw new Error(`etcdctl txn failed: ${r.stderr}${r.stdout.slice(0, 300)}`);
  }
}

/** sha256 over all key/value pairs (sorted by key) and the key count: compare before backup / after restore. */
export async function keyspaceDigest(etcd: EtcdServer): Promise<{ count: number; sha256: string }> {
  const r = await runOkCtl(etcd, ['get', '', '--prefix', '-w', 'json']);
  const j = JSON.parse(r.stdout) as { kvs?: { key: string; value?: string }[] };
  const kvs = (j.kvs ?? []).map((kv) => [Buffer.from(kv.key, 'base64'), Buffer.from(kv.value ?? '', 'base64')] as const);
  kvs.sort((a, b) => Buffer.compare(a[0], b[0]));
  const h = createHash('sha256');
  for (const [k, v] of kvs) {
    h.update(`${k.length}:`).update(k).update(`${v.length}:`).update(v);
  }
  return { count: kvs.length, sha256: h.digest('hex') };
}

async function runOkCtl(etcd: EtcdServer, args: string[]): Promise<RunResult> {
  const r = await etcd.ctl(args);
  if (r.code !== 0) throw new Error(`etcdctl ${args.join(' ')} failed: ${r.stderr}`);
  return r;
}

/** What the snapshot init container runs (exec form), inside the netns; bounded by --command-timeout. */
export function snapshotSave(netns: NetNs, file: string, o: { cacert: string; client: CertPair; endpoint?: string; commandTimeoutS?: number }): Promise<RunResult> {
  return netns.exec(etcdBinary('etcdctl'), [
    `--endpoints=${o.endpoint ?? ETCD_ENDPOINT}`, `--cacert=${o.cacert}`, `--cert=${o.client.cert}`, `--key=${o.client.key}`,
    '--dial-timeout=10s', `--command-timeout=${o.commandTimeoutS ?? 30}s`, 'snapshot', 'save', file,
  ], { env: { PATH: process.env.PATH }, timeoutMs: ((o.commandTimeoutS ?? 30) + 15) * 1000 });
}

export interface SnapshotStatus { hash: number; revision: number; totalKey: number; totalSize: number }

/** `etcdutl snapshot status -w json` (etcd 3.5). */
export async function snapshotStatus(file: string): Promise<SnapshotStatus> {
  const r = await runOk(etcdBinary('etcdutl'), ['snapshot', 'status', '-w', 'json', file], { env: { PATH: process.env.PATH } });
  return JSON.parse(r.stdout) as SnapshotStatus;
}
