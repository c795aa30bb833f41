// Runs the containers of a Kubernetes PodSpec on this host, like a tiny kubelet for tests:
// initContainers in order (stop at the first failure), then containers in order. Each container runs in its own
// mount namespace (`unshare --mount`) with its volumes bind-mounted at their real mountPath (read-only where asked),
// inside the test's netns when given, with ONLY its own env (+ PATH), bounded in time (its process group is killed
// by PID). The image is ignored: host binaries stand in (etcdctl for the etcd image, /bin/sh or `busybox sh`).
//
// Pod-level extras a kubelet/cluster provides, applied in every container's mount namespace after its volumeMounts:
// `serviceAccount` (the token, CA and namespace at /var/run/secrets/kubernetes.io/serviceaccount, read-only, only when
// the PodSpec does not set automountServiceAccountToken: false), `hosts` (a generated /etc/hosts, the cluster DNS of
// the test) and `extraMounts` (any host path at any mountPath).
//
// Side effect on the host: missing mount points (directories, or empty files for file subPaths) are created with
// mkdir -p / touch before the bind mount, because a bind mount needs an existing target. Nothing is mounted on the host.
import { chmodSync, existsSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NetNs } from './netns';
import { mkTemp, run } from './proc';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

export interface PodRunOptions {
  /** PodSpec as found in a synthesized manifest (spec.jobTemplate.spec.template.spec for a CronJob) */
  podSpec: Json;
  netns?: NetNs;
  /** volumeName -> host directory, for hostPath/persistentVolumeClaim volumes (required for those) or to override any */
  volumes?: Record<string, string>;
  configMaps?: Record<string, Record<string, string>>;
  secrets?: Record<string, Record<string, string | Buffer>>;
  nodeName?: string;
  podName?: string;
  namespace?: string;
  /** run /bin/sh and sh as `busybox sh` */
  shell?: 'sh' | 'busybox';
  /** directories put in front of PATH (e.g. shims) */
  pathPrefix?: string[];
  /** per container timeout; default: activeDeadlineSeconds or 120 s */
  timeoutMs?: number;
  /** temp root for emptyDirs and generated volumes (default: new temp dir) */
  workDir?: string;
  /** host paths bind-mounted in every container (after its volumeMounts) */
  extraMounts?: { hostPath: string; mountPath: string; readOnly?: boolean }[];
  /** hostname -> IP: a generated /etc/hosts (localhost included) bind-mounted read-only in every container */
  hosts?: Record<string, string>;
  /** the kubernetes Service's ClusterIP and port: KUBERNETES_SERVICE_HOST/PORT in every container, as the kubelet sets them */
  kubernetesService?: { host: string; port: number };
  /** the automounted service-account volume (kubelet layout, read-only), unless spec.automountServiceAccountToken is false */
  serviceAccount?: { token: string; caCert: string | Buffer; namespace?: string };
}

/** where the kubelet mounts the service-account token, CA and namespace */
export const SERVICE_ACCOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface ContainerResult {
  name: string;
  init: boolean;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** argv as run (after $(VAR) expansion and binary substitution) */
  argv: string[];
  env: Record<string, string>;
}

export interface PodRunResult {
  ok: boolean;
  results: ContainerResult[];
  /** volumeName -> host directory actually used */
  volumeDirs: Record<string, string>;
  workDir: string;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Kubernetes $(VAR) expansion: $$(VAR) -> $(VAR); unknown references stay as written. */
export function expandK8s(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name?: string) => {
    if (m === '$$') return '$';
    return name !== undefined && Object.prototype.hasOwnProperty.call(env, name) ? env[name] : m;
  });
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function writeKeys(dir: string, data: Record<string, string | Buffer>, items: Json[] | undefined, defaultMode: number | undefined, what: string, optional: boolean, secretStyle: boolean) {
  mkdirSync(dir, { recursive: true });
  // kubelet layout: real files in ..<timestamp>/, ..data -> it, top-level symlinks key -> ..data/key
  const real = secretStyle ? join(dir, '..2024_01_01_00_00_00.000000001') : dir;
  mkdirSync(real, { recursive: true });
  const entries: [string, string | Buffer, number | undefined][] = [];
  if (items && items.length) {
    for (const it of items) {
      if (!(it.key in data)) {
        if (optional) continue;
        throw new Error(`${what}: key ${it.key} not found`);
      }
      entries.push([it.path, data[it.key], it.mode]);
    }
  } else {
    for (const [k, v] of Object.entries(data)) entries.push([k, v, undefined]);
  }
  const tops = new Set<string>();
  for (const [p, v, mode] of entries) {
    const f = join(real, p);
    mkdirSync(dirname(f), { recursive: true });
    writeFileSync(f, v);
    chmodSync(f, mode ?? defaultMode ?? 0o644);
    tops.add(p.split('/')[0]);
  }
  if (secretStyle) {
    symlinkSync('..2024_01_01_00_00_00.000000001', join(dir, '..data'));
    for (const t of tops) symlinkSync(join('..data', t), join(dir, t));
  }
}

function resolveEnv(c: Json, o: PodRunOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ef of c.envFrom ?? []) {
    const src = ef.configMapRef ? o.configMaps?.[ef.configMapRef.name] : ef.secretRef ? o.secrets?.[ef.secretRef.name] : undefined;
    const optional = (ef.configMapRef ?? ef.secretRef)?.optional;
    if (!src) {
      if (optional) continue;
      throw new Error(`container ${c.name}: envFrom source not found`);
    }
    for (const [k, v] of Object.entries(src)) env[(ef.prefix ?? '') + k] = v.toString();
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.secretKeyRef || vf.configMapKeyRef) {
        const ref = vf.secretKeyRef ?? vf.configMapKeyRef;
        const map = vf.secretKeyRef ? o.secrets?.[ref.name] : o.configMaps?.[ref.name];
        const v = map?.[ref.key];
        if (v === undefined) {
          if (ref.optional) continue;
          throw new Error(`container ${c.name}: env ${e.name}: ${vf.secretKeyRef ? 'secret' : 'configMap'} ${ref.name} key ${ref.key} not found`);
        }
        env[e.name] = v.toString();
      } else if (vf.fieldRef) {
        const fp = vf.fieldRef.fieldPath;
        const v = fp === 'spec.nodeName' ? o.nodeName : fp === 'metadata.name' ? o.podName : fp === 'metadata.namespace' ? o.namespace : undefined;
        if (v === undefined) throw new Error(`container ${c.name}: env ${e.name}: fieldRef ${fp} has no value`);
        env[e.name] = v;
      } else {
        throw new Error(`container ${c.name}: env ${e.name}: unsupported valueFrom ${JSON.stringify(vf)}`);
      }
    } else {
      env[e.name] = expandK8s(e.value ?? '', env);
    }
  }
  return env;
}

function hostBinary(cmd: string, shell: 'sh' | 'busybox' | undefined): string[] {
  if ((cmd === '/bin/sh' || cmd === 'sh') && shell === 'busybox') return ['busybox', 'sh'];
  if (cmd.startsWith('/') && !existsSync(cmd)) return [cmd.split('/').pop()!];
  return [cmd];
}

export async function runPod(o: PodRunOptions): Promise<PodRunResult> {
  const spec = o.podSpec;
  const workDir = o.workDir ?? mkTemp('pod');
  mkdirSync(workDir, { recursive: true });
  const volumeDirs: Record<string, string> = {};
  for (const v of spec.volumes ?? []) {
    if (o.volumes?.[v.name]) {
      volumeDirs[v.name] = o.volumes[v.name];
    } else if (v.emptyDir) {
      volumeDirs[v.name] = join(workDir, 'volumes', v.name);
      mkdirSync(volumeDirs[v.name], { recursive: true });
    } else if (v.configMap || v.secret) {
      const isSecret = !!v.secret;
      const src = v.configMap ?? v.secret;
      const name = isSecret ? src.secretName : src.name;
      const data = (isSecret ? o.secrets?.[name] : o.configMaps?.[name]) as Record<string, string | Buffer> | undefined;
      const dir = join(workDir, 'volumes', v.name);
      if (!data) {
        if (!src.optional) throw new Error(`volume ${v.name}: ${isSecret ? 'secret' : 'configMap'} ${name} not given`);
        mkdirSync(dir, { recursive: true });
      } else {
        writeKeys(dir, data, src.items, src.defaultMode, `volume ${v.name}`, !!src.optional, true);
      }
      volumeDirs[v.name] = dir;
    } else {
      throw new Error(`volume ${v.name}: hostPath/PVC/other volumes need a host directory in options.volumes`);
    }
  }
  const podMounts: { src: string; mountPath: string; readOnly: boolean }[] = [];
  if (o.serviceAccount && spec.automountServiceAccountToken !== false) {
    const dir = join(workDir, 'volumes', 'kube-api-access');
    const data: Record<string, string | Buffer> = { token: o.serviceAccount.token, 'ca.crt': o.serviceAccount.caCert };
    if (o.serviceAccount.namespace ?? o.namespace) data.namespace = (o.serviceAccount.namespace ?? o.namespace)!;
    writeKeys(dir, data, undefined, 0o644, 'service account', false, true);
    podMounts.push({ src: dir, mountPath: SERVICE_ACCOUNT_PATH, readOnly: true });
  }
  if (o.hosts) {
    const file = join(workDir, 'hosts');
    writeFileSync(file, ['127.0.0.1 localhost', ...Object.entries(o.hosts).map(([name, ip]) => `${ip} ${name}`)].join('\n') + '\n');
    podMounts.push({ src: file, mountPath: '/etc/hosts', readOnly: true });
  }
  for (const m of o.extraMounts ?? []) podMounts.push({ src: m.hostPath, mountPath: m.mountPath, readOnly: !!m.readOnly });
  const results: ContainerResult[] = [];
  const deadline = spec.activeDeadlineSeconds ? spec.activeDeadlineSeconds * 1000 : 120_000;
  const all: [Json, boolean][] = [...(spec.initContainers ?? []).map((c: Json) => [c, true] as [Json, boolean]), ...(spec.containers ?? []).map((c: Json) => [c, false] as [Json, boolean])];
  let ok = true;
  for (const [c, init] of all) {
    const env = resolveEnv(c, o);
    const PATH = env.PATH ?? [...(o.pathPrefix ?? []), DEFAULT_PATH].join(':');
    // the kubelet sets these in every container, enableServiceLinks or not; the container's own env wins
    const service: Record<string, string> = o.kubernetesService ? { KUBERNETES_SERVICE_HOST: o.kubernetesService.host, KUBERNETES_SERVICE_PORT: String(o.kubernetesService.port) } : {};
    const fullEnv = { ...service, ...env, PATH };
    const cmd = [...(c.command ?? []), ...(c.args ?? [])].map((s: string) => expandK8s(s, env));
    if (!c.command || cmd.length === 0) throw new Error(`container ${c.name}: no command (image entrypoints are not known to the runner)`);
    const argv = [...hostBinary(cmd[0], o.shell), ...cmd.slice(1)];
    // mount script
    const lines = ['set -e'];
    const mounts = (c.volumeMounts ?? []).map((m: Json) => {
      const base = volumeDirs[m.name];
      if (!base) throw new Error(`container ${c.name}: volumeMount ${m.name} has no volume`);
      const src = m.subPath ? join(base, m.subPath) : base;
      if (!existsSync(src)) {
        if (m.subPath) mkdirSync(src, { recursive: true });
        else throw new Error(`volume dir ${src} missing`);
      }
      return { src, mountPath: m.mountPath as string, readOnly: !!m.readOnly };
    });
    for (const m of [...mounts, ...podMounts]) {
      const src = m.src;
      if (!existsSync(src)) throw new Error(`container ${c.name}: mount source ${src} missing`);
      const isDir = statSync(src).isDirectory();
      if (isDir) mkdirSync(m.mountPath, { recursive: true });
      else if (!existsSync(m.mountPath)) {
        mkdirSync(dirname(m.mountPath), { recursive: true });
        writeFileSync(m.mountPath, '');
      }
      lines.push(`mount --bind ${shq(src)} ${shq(m.mountPath)}`);
      if (m.readOnly) lines.push(`mount -o remount,bind,ro ${shq(m.mountPath)}`);
    }
    if (c.workingDir) lines.push(`cd ${shq(c.workingDir)}`);
    lines.push('exec env -i "$@"');
    const scriptFile = join(workDir, `mounts-${c.name}.sh`);
    writeFileSync(scriptFile, lines.join('\n') + '\n');
    const envArgs = Object.entries(fullEnv).map(([k, v]) => `${k}=${v}`);
    const inner = ['unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', scriptFile, ...envArgs, ...argv];
    const outer = o.netns ? [...o.netns.nsPrefix, ...inner] : inner;
    const r = await run(outer[0], outer.slice(1), { env: { PATH: DEFAULT_PATH }, timeoutMs: o.timeoutMs ?? deadline });
    results.push({
      name: c.name, init, exitCode: r.code, signal: r.signal, timedOut: r.timedOut, stdout: r.stdout, stderr: r.stderr,
      durationMs: r.durationMs, argv, env: fullEnv,
    });
    if (r.code !== 0) {
      ok = false;
      if (init) break; // like the kubelet (restartPolicy Never): a failed init container fails the pod
    }
  }
  return { ok, results, volumeDirs, workDir };
}
