// N etcd members (1, 3 or 5) on 127.0.0.1, 127.0.0.2, ... inside a netns, each on a "node" laid out like a kubeadm
// control-plane host under a temp root, each run by a fake kubelet that watches the node's static pod manifest:
//
//   <root>/<node>/var/lib/etcd                          data dir (--data-dir)
//   <root>/<node>/etc/kubernetes/manifests/etcd.yaml    static pod manifest; its command list is what the kubelet runs
//   <root>/<node>/etc/kubernetes/pki                    kubeadm PKI (one CA for all; server/peer SANs cover every member)
//   <root>/<node>/etcd.log                              the member's log (appended across restarts)
//
// The fake kubelet polls (every 200 ms) whether etcd.yaml exists: present and not running -> start etcd with the
// manifest's flags; gone and running -> SIGTERM by PID, SIGKILL after a grace period; exited while present -> start it
// again after a short back-off (like a static pod's restart). Dot files in the manifests dir are ignored, as the
// kubelet does.
import { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EtcdServer, loadKeys } from './etcd';
import { NetNs } from './netns';
import { makePki, Pki } from './pki';
import { RunResult, sleep, stopChild, waitFor } from './proc';
import { etcdBinary } from './roots';

export interface ClusterNode {
  name: string;
  ip: string;
  /** the node's root directory (stands for "/" of the host) */
  root: string;
  dataDir: string;
  manifestsDir: string;
  manifest: string;
  pkiDir: string;
  clientUrl: string;
  peerUrl: string;
  logFile: string;
  /** ETCDCTL_API/CACERT/CERT/KEY (healthcheck client of this node's PKI) */
  clientEnv: Record<string, string>;
  /** PID of the running etcd, undefined when stopped */
  pid(): number | undefined;
  /** how many times the kubelet started this member's etcd */
  starts(): number;
  /** etcdctl inside the netns against this member only */
  ctl(args: string[], opts?: { timeoutMs?: number; input?: string }): Promise<RunResult>;
}

export interface MemberStatus {
  endpoint: string;
  /** ids as decimal strings (uint64: JSON numbers would lose precision) */
  clusterId: string;
  memberId: string;
  leader: string;
  revision: number;
}

export interface Digest {
  count: number;
  sha256: string;
}

export interface EtcdCluster {
  nodes: ClusterNode[];
  /** n1=https://127.0.0.1:2380,... */
  initialCluster: string;
  token: string;
  /** the PKI every node got a copy of (paths under <root>/pki-src) */
  pki: Pki;
  /** wait until every member answers `endpoint health` */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** `endpoint health` per member (bounded) */
  health(): Promise<boolean[]>;
  /** `endpoint status` of every member; members that do not answer are missing */
  statuses(): Promise<MemberStatus[]>;
  /** members that consider themselves leader */
  leaderCount(): Promise<number>;
  /** keyspace digest served by one member (serializable reads: that member's own data) */
  digest(node: ClusterNode): Promise<Digest>;
  digests(): Promise<Digest[]>;
  /** put `count` keys through the given (default first) member, like etcd.ts loadKeys */
  loadKeys(opts: { count: number; valueBytes?: number; prefix?: string; via?: ClusterNode }): Promise<void>;
  put(key: string, value: string, via?: ClusterNode): Promise<void>;
  /** EtcdServer view of a member (for helpers of etcd.ts); its stop() does nothing: the kubelet owns the process */
  server(node: ClusterNode): EtcdServer;
  /** stop the kubelets and every etcd (by PID) */
  stop(): Promise<void>;
}

export interface StartClusterOptions {
  netns: NetNs;
  root: string;
  size: 1 | 3 | 5;
  token?: string;
  /** kubelet poll interval, default 200 ms */
  pollMs?: number;
  /** SIGTERM -> SIGKILL grace, default 5000 ms */
  stopGraceMs?: number;
  /** bound of the initial wait for health, default 30 s */
  timeoutMs?: number;
}

/** The kubeadm-like manifest of one member; its `command` list is what the fake kubelet runs. */
export function etcdManifest(n: { name: string; ip: string; dataDir: string; pkiDir: string }, initialCluster: string, token: string): string {
  const e = join(n.pkiDir, 'etcd');
  const flags = [
    `--advertise-client-urls=https://${n.ip}:2379`, `--cert-file=${e}/server.crt`, '--client-cert-auth=true',
    `--data-dir=${n.dataDir}`, `--initial-advertise-peer-urls=https://${n.ip}:2380`, `--initial-cluster=${initialCluster}`,
    '--initial-cluster-state=new', `--initial-cluster-token=${token}`, `--key-file=${e}/server.key`,
    `--listen-client-urls=https://${n.ip}:2379`, `--listen-metrics-urls=http://${n.ip}:2381`,
    `--listen-peer-urls=https://${n.ip}:2380`, `--name=${n.name}`, `--peer-cert-file=${e}/peer.crt`,
    '--peer-client-cert-auth=true', `--peer-key-file=${e}/peer.key`, `--peer-trusted-ca-file=${e}/ca.crt`,
    '--snapshot-count=10000', `--trusted-ca-file=${e}/ca.crt`, '--logger=zap', '--log-outputs=stderr',
    '--max-txn-ops=1000', // not a kubeadm flag: loadKeys puts 500 keys per transaction
  ];
  return [
    'apiVersion: v1', 'kind: Pod', 'metadata:', '  name: etcd', '  namespace: kube-system',
    '  labels:', '    component: etcd', '    tier: control-plane', 'spec:', '  hostNetwork: true', '  containers:',
    '  - name: etcd', '    image: registry.k8s.io/etcd:3.5.21-0', '    command:', '    - etcd',
    ...flags.map((f) => `    - ${f}`), '',
  ].join('\n');
}

/** flags of the manifest's command list */
function manifestFlags(text: string): string[] {
  return [...text.matchAll(/^ {4}- (--\S+)$/gm)].map((m) => m[1]);
}

class FakeKubelet {
  child?: ChildProcess;
  starts = 0;
  private timer?: NodeJS.Timeout;
  private busy = false;
  private exitedAt = 0;
  private stopped = false;

  constructor(private netns: NetNs, private node: Omit<ClusterNode, 'pid' | 'starts' | 'ctl'>, private pollMs: number, private graceMs: number) {}

  running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.pollMs);
    void this.tick();
  }

  private async tick(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      const want = existsSync(this.node.manifest);
      if (want && !this.running()) {
        if (Date.now() - this.exitedAt < 1000) return; // restart back-off
        const flags = manifestFlags(readFileSync(this.node.manifest, 'utf8'));
        const fd = openSync(this.node.logFile, 'a');
        const child = this.netns.spawn(etcdBinary('etcd'), flags, { stdio: ['ignore', fd, fd] });
        closeSync(fd);
        child.on('exit', () => (this.exitedAt = Date.now()));
        this.child = child;
        this.starts++;
      } else if (!want && this.running()) {
        await stopChild(this.child!, this.graceMs);
      }
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    while (this.busy) await sleep(20);
    if (this.child) await stopChild(this.child, this.graceMs);
  }
}

function digestOf(stdout: string): Digest {
  const j = JSON.parse(stdout) as { kvs?: { key: string; value?: string }[] };
  const kvs = (j.kvs ?? []).map((kv) => [Buffer.from(kv.key, 'base64'), Buffer.from(kv.value ?? '', 'base64')] as const);
  kvs.sort((a, b) => Buffer.compare(a[0], b[0]));
  const h = createHash('sha256');
  for (const [k, v] of kvs) h.update(`${k.length}:`).update(k).update(`${v.length}:`).update(v);
  return { count: kvs.length, sha256: h.digest('hex') };
}

/** Start the nodes, their kubelets and wait until every member is healthy. */
export async function startEtcdCluster(opts: StartClusterOptions): Promise<EtcdCluster> {
  const { netns, root, size } = opts;
  const token = opts.token ?? 'test-cluster';
  const ips = Array.from({ length: size }, (_, i) => `127.0.0.${i + 1}`);
  const pki = await makePki(join(root, 'pki-src'), { serverIps: ips });
  const initialCluster = ips.map((ip, i) => `node-${i + 1}=https://${ip}:2380`).join(',');
  const kubelets: FakeKubelet[] = [];
  const nodes: ClusterNode[] = ips.map((ip, i) => {
    const name = `node-${i + 1}`;
    const nroot = join(root, name);
    const dataDir = join(nroot, 'var/lib/etcd');
    const manifestsDir = join(nroot, 'etc/kubernetes/manifests');
    const pkiDir = join(nroot, 'etc/kubernetes/pki');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    mkdirSync(manifestsDir, { recursive: true });
    cpSync(pki.dir, pkiDir, { recursive: true, preserveTimestamps: true });
    const manifest = join(manifestsDir, 'etcd.yaml');
    writeFileSync(manifest, etcdManifest({ name, ip, dataDir, pkiDir }, initialCluster, token));
    const clientEnv = {
      ETCDCTL_API: '3',
      ETCDCTL_CACERT: join(pkiDir, 'etcd/ca.crt'),
      ETCDCTL_CERT: join(pkiDir, 'etcd/healthcheck-client.crt'),
      ETCDCTL_KEY: join(pkiDir, 'etcd/healthcheck-client.key'),
    };
    const base = {
      name, ip, root: nroot, dataDir, manifestsDir, manifest, pkiDir, clientEnv,
      clientUrl: `https://${ip}:2379`, peerUrl: `https://${ip}:2380`, logFile: join(nroot, 'etcd.log'),
    };
    const k = new FakeKubelet(netns, base, opts.pollMs ?? 200, opts.stopGraceMs ?? 5000);
    kubelets.push(k);
    return {
      ...base,
      pid: () => (k.running() ? k.child!.pid : undefined),
      starts: () => k.starts,
      ctl: (args, o = {}) => netns.exec(etcdBinary('etcdctl'), [`--endpoints=${base.clientUrl}`, '--dial-timeout=2s', '--command-timeout=10s', ...args], {
        env: { PATH: process.env.PATH, ...clientEnv }, input: o.input, timeoutMs: o.timeoutMs ?? 20_000,
      }),
    };
  });

  const health = () => Promise.all(nodes.map(async (n) => (await n.ctl(['endpoint', 'health'], { timeoutMs: 15_000 })).code === 0));
  const statuses = async (): Promise<MemberStatus[]> => {
    const r = await netns.exec(etcdBinary('etcdctl'), [`--endpoints=${nodes.map((n) => n.clientUrl).join(',')}`, '--dial-timeout=2s', '--command-timeout=5s',
      'endpoint', 'status', '-w', 'json'], { env: { PATH: process.env.PATH, ...nodes[0].clientEnv }, timeoutMs: 15_000 });
    const out: MemberStatus[] = [];
    for (const m of r.stdout.matchAll(/"Endpoint":"([^"]+)","Status":\{"header":\{"cluster_id":(\d+),"member_id":(\d+),"revision":(\d+)[^}]*\}.*?"leader":(\d+)/g)) {
      out.push({ endpoint: m[1], clusterId: m[2], memberId: m[3], revision: Number(m[4]), leader: m[5] });
    }
    return out;
  };
  const view = (n: ClusterNode): EtcdServer => ({
    endpoint: n.clientUrl, pid: n.pid() ?? 0, dataDir: n.dataDir, logFile: n.logFile, clientEnv: n.clientEnv,
    ctl: (a, o = {}) => n.ctl(a, { timeoutMs: o.timeoutMs, input: o.input }),
    stop: async () => undefined,
  });
  const digest = async (n: ClusterNode) => {
    const r = await n.ctl(['get', '', '--prefix', '--consistency=s', '-w', 'json'], { timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`etcdctl get on ${n.name} failed: ${r.stderr}`);
    return digestOf(r.stdout);
  };
  const cluster: EtcdCluster = {
    nodes, initialCluster, token, pki,
    health, statuses,
    waitHealthy: async (timeoutMs = 30_000) => {
      await waitFor('all etcd members healthy', async () => (await health()).every(Boolean), timeoutMs, 300);
    },
    leaderCount: async () => (await statuses()).filter((s) => s.memberId === s.leader).length,
    digest,
    digests: () => Promise.all(nodes.map(digest)),
    loadKeys: (o) => loadKeys(view(o.via ?? nodes[0]), o),
    put: async (key, value, via) => {
      const r = await (via ?? nodes[0]).ctl(['put', key, value]);
      if (r.code !== 0) throw new Error(`etcdctl put ${key} failed: ${r.stderr}`);
    },
    server: view,
    stop: async () => {
      await Promise.all(kubelets.map((k) => k.stop()));
    },
  };
  for (const k of kubelets) k.start();
  try {
    await cluster.waitHealthy(opts.timeoutMs ?? 30_000);
  } catch (e) {
    await cluster.stop();
    throw new Error(`${String(e)}; logs: ${nodes.map((n) => n.logFile).join(' ')}`);
  }
  return cluster;
}
