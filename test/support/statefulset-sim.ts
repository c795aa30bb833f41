// A simulated etcd StatefulSet (hosted control plane) for the restore tests: replicas N -> N Debian etcd members
// inside the test's netns, member i with data dir <dir>/pvc-<i>/default.etcd (the "PVC"), peer URL by NAME
// https://<sts>-<i>.<svc>.<ns>.svc:2380 (resolvable only for the members: each runs in its own mount namespace with
// <dir>/hosts bind-mounted on /etc/hosts; the restore Jobs do not see these names, as in a cluster where the pods are
// gone), client URL https://127.0.1.<i+1>:2379, /health on http://127.0.1.<i+1>:2381. Parallel pod management:
// scaling up starts every missing member at once (OrderedReady deadlocks a multi-member etcd). Scaling down stops
// members by PID (SIGTERM); a member is a "pod" until its process has exited.
import { randomBytes } from 'node:crypto';
import { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetNs } from './netns';
import { RunResult, runOk, stopChild } from './proc';
import { etcdBinary } from './roots';

export interface SimPki {
  dir: string;
  ca: string;
  /** one cert for API server and etcd members: serverAuth + clientAuth, SANs 127.0.0.1, 127.0.1.1-9, *.<svc>.<ns>.svc */
  cert: string;
  key: string;
}

/** CA + one leaf (EC P-256) made with openssl; `extraIps` (e.g. the kubernetes Service's ClusterIP) join the IP SANs. */
export async function makeSimPki(dir: string, dnsNames: string[], extraIps: string[] = []): Promise<SimPki> {
  mkdirSync(dir, { recursive: true });
  const ca = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  const gen = (out: string) => runOk('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', out]);
  await Promise.all([gen(caKey), gen(key)]);
  await runOk('openssl', ['req', '-x509', '-new', '-key', caKey, '-subj', '/CN=sim-ca', '-days', '2', '-out', ca,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
  const ips = ['127.0.0.1', ...Array.from({ length: 9 }, (_, i) => `127.0.1.${i + 1}`), ...extraIps];
  const san = [...ips.map((i) => `IP:${i}`), 'DNS:localhost', ...dnsNames.map((d) => `DNS:${d}`)].join(',');
  writeFileSync(join(dir, 'leaf.ext'), `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${san}\n`);
  await runOk('openssl', ['req', '-new', '-key', key, '-subj', '/CN=sim', '-out', join(dir, 'leaf.csr')]);
  await runOk('openssl', ['x509', '-req', '-in', join(dir, 'leaf.csr'), '-CA', ca, '-CAkey', caKey, '-set_serial', `0x${randomBytes(16).toString('hex')}`, '-days', '2',
    '-extfile', join(dir, 'leaf.ext'), '-out', cert]);
  return { dir, ca, cert, key };
}

export interface SimOptions {
  netns: NetNs;
  dir: string;
  pki: SimPki;
  name?: string; // StatefulSet, default "etcd"
  service?: string; // headless Service, default "<name>-hl"
  namespace?: string; // default "tenant-a"
  replicas: number; // initial
  /** etcd's --data-dir inside the volume, default "default.etcd" */
  dataSubdir?: string;
}

interface Member { ordinal: number; child: ChildProcess; exited: boolean; exit: Promise<void> }

export class StatefulSetSim {
  readonly name: string;
  readonly service: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  /** spec.replicas */
  replicas = 0;
  /** the largest replica count ever set: ordinals whose PVCs exist */
  pvcCount = 0;
  private members = new Map<number, Member>();
  private readonly hostsFile: string;
  private readonly dataSubdir: string;
  /** every scale change, in order */
  readonly scaleLog: number[] = [];

  constructor(private readonly o: SimOptions) {
    this.name = o.name ?? 'etcd';
    this.service = o.service ?? `${this.name}-hl`;
    this.namespace = o.namespace ?? 'tenant-a';
    this.labels = { 'app.kubernetes.io/name': 'etcd', 'app.kubernetes.io/instance': this.name };
    this.dataSubdir = o.dataSubdir ?? 'default.etcd';
    this.hostsFile = join(o.dir, 'hosts');
    const lines = ['127.0.0.1 localhost'];
    for (let i = 0; i < 9; i++) lines.push(`127.0.1.${i + 1} ${this.host(i)}`);
    mkdirSync(o.dir, { recursive: true });
    writeFileSync(this.hostsFile, lines.join('\n') + '\n');
  }

  host(i: number): string { return `${this.name}-${i}.${this.service}.${this.namespace}.svc`; }
  memberName(i: number): string { return `${this.name}-${i}`; }
  peerUrl(i: number): string { return `https://${this.host(i)}:2380`; }
  clientUrl(i: number): string { return `https://127.0.1.${i + 1}:2379`; }
  pvcDir(i: number): string { return join(this.o.dir, `pvc-${i}`); }
  dataDir(i: number): string { return join(this.pvcDir(i), this.dataSubdir); }
  initialCluster(n = this.replicas): string {
    return Array.from({ length: n }, (_, i) => `${this.memberName(i)}=${this.peerUrl(i)}`).join(',');
  }
  endpoints(n = this.replicas): string { return Array.from({ length: n }, (_, i) => this.clientUrl(i)).join(','); }

  /** ordinals with a live process ("pods", Terminating included) */
  pods(): number[] { return [...this.members.values()].filter((m) => !m.exited).map((m) => m.ordinal).sort(); }

  /** Set spec.replicas and reconcile (members are started/stopped asynchronously). */
  scale(n: number): void {
    this.replicas = n;
    this.scaleLog.push(n);
    this.pvcCount = Math.max(this.pvcCount, n);
    for (const m of this.members.values()) {
      if (m.ordinal >= n && !m.exited) void stopChild(m.child, 8000);
    }
    for (let i = 0; i < n; i++) {
      const m = this.members.get(i);
      if (!m || m.exited) this.start(i);
    }
  }

  private start(i: number): void {
    const dir = this.pvcDir(i);
    mkdirSync(dir, { recursive: true });
    const { pki } = this.o;
    const ip = `127.0.1.${i + 1}`;
    const args = [
      `--name=${this.memberName(i)}`, `--data-dir=${this.dataDir(i)}`,
      `--listen-client-urls=https://${ip}:2379`, `--advertise-client-urls=${this.clientUrl(i)}`,
      `--listen-peer-urls=https://${ip}:2380`, `--initial-advertise-peer-urls=${this.peerUrl(i)}`,
      `--initial-cluster=${this.initialCluster(this.replicas)}`, '--initial-cluster-state=new', '--initial-cluster-token=sim-initial',
      `--listen-metrics-urls=http://${ip}:2381`,
      '--client-cert-auth=true', `--trusted-ca-file=${pki.ca}`, `--cert-file=${pki.cert}`, `--key-file=${pki.key}`,
      '--peer-client-cert-auth=true', `--peer-trusted-ca-file=${pki.ca}`, `--peer-cert-file=${pki.cert}`, `--peer-key-file=${pki.key}`,
      '--snapshot-count=10000', '--max-txn-ops=1000', '--logger=zap', '--log-outputs=stderr',
    ];
    const logFd = openSync(join(dir, 'etcd.log'), 'a');
    const child = this.o.netns.spawn('unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c',
      'mount --bind "$0" /etc/hosts && etcd=$1 && shift && exec "$etcd" "$@"', this.hostsFile, etcdBinary('etcd'), ...args], { stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    const m: Member = { ordinal: i, child, exited: false, exit: Promise.resolve() };
    m.exit = new Promise<void>((r) => child.once('exit', () => { m.exited = true; r(); }));
    this.members.set(i, m);
  }

  /** members answering /health with true, among ordinals < replicas */
  async readyReplicas(): Promise<number> {
    const live = this.pods().filter((i) => i < this.replicas);
    const ok = await Promise.all(live.map(async (i) => {
      const r = await this.o.netns.exec('curl', ['-s', '--max-time', '2', `http://127.0.1.${i + 1}:2381/health`], { timeoutMs: 5000 });
      return r.code === 0 && /"health":\s*"true"/.test(r.stdout);
    }));
    return ok.filter(Boolean).length;
  }

  /** etcdctl against the given members (default: all current), with the sim client cert */
  ctl(args: string[], o: { endpoints?: string; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
    const { pki } = this.o;
    return this.o.netns.exec(etcdBinary('etcdctl'), ['--dial-timeout=3s', '--command-timeout=20s', ...args], {
      env: { PATH: process.env.PATH, ETCDCTL_API: '3', ETCDCTL_ENDPOINTS: o.endpoints ?? this.endpoints(), ETCDCTL_CACERT: pki.ca, ETCDCTL_CERT: pki.cert, ETCDCTL_KEY: pki.key },
      input: o.input, timeoutMs: o.timeoutMs ?? 30_000,
    });
  }

  /** Stop every member (by PID) and wait for the processes to exit. */
  async stop(): Promise<void> {
    await Promise.all([...this.members.values()].map((m) => stopChild(m.child, 5000)));
  }
}
