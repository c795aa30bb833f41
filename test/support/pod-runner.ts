// Runs the containers of a Kubernetes PodSpec on this host, like a tiny kubelet for tests: initContainers in order
// (stop at the first failure), then containers in order, each inside the image it names, as the user it declares.
//
// - Image: a container's root filesystem is chosen by its `image` (roots.ts): the tools image of the test inventories
//   (TEST_TOOLS_IMAGE, or any reference in options.images) is the root unpacked from the archive `npm run image`
//   built; `registry.k8s.io/etcd:*` is a shell-less root with only etcd, etcdctl, etcdutl, the loader and libc.
//   An overlay over the shared root gives each container its own writable layer; the runner adds /proc (own PID
//   namespace), a minimal /dev, a generated /etc/hosts, and binds every volume at its mountPath inside the root.
// - Security, merged as Kubernetes does (container securityContext over the pod's): runAsUser / runAsGroup (default:
//   the image's user), fsGroup and supplementalGroups as supplementary groups; runAsNonRoot refuses to start a
//   container that would run as uid 0, with the kubelet's message; readOnlyRootFilesystem mounts the root read-only
//   (nothing outside volumes is writable, /tmp included). fsGroup makes emptyDir and persistentVolumeClaim volumes
//   group-owned and group-writable (setgid directories) and ConfigMap/Secret files group-readable, as the kubelet's
//   volume ownership does; emptyDirs are 0777 as the kubelet makes them. Capabilities are not dropped.
// - Each container runs in its own mount and PID namespace, inside the test's netns when given, with ONLY its own env
//   (+ the image's PATH), bounded in time (its process group is killed by PID). Nothing is mounted on the host.
//
// Pod-level extras a kubelet/cluster provides, applied in every container after its volumeMounts: `serviceAccount`
// (the token, CA and namespace at /var/run/secrets/kubernetes.io/serviceaccount, read-only, unless the PodSpec sets
// automountServiceAccountToken: false), `hosts` (entries of the generated /etc/hosts) and `extraMounts` (any host path
// at any mountPath).
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NetNs } from './netns';
import { mkTemp, run } from './proc';
import { TEST_TOOLS_IMAGE, testRoots } from './roots';

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
  /** more image references that run in the tools root (TEST_TOOLS_IMAGE always does) */
  images?: string[];
  /** per container timeout; default: activeDeadlineSeconds or 120 s */
  timeoutMs?: number;
  /** temp root for emptyDirs and generated volumes (default: new temp dir) */
  workDir?: string;
  /** host paths bind-mounted in every container (after its volumeMounts) */
  extraMounts?: { hostPath: string; mountPath: string; readOnly?: boolean }[];
  /** hostname -> IP: entries of the generated /etc/hosts (localhost is always there) bind-mounted in every container */
  hosts?: Record<string, string>;
  /** the kubernetes Service's ClusterIP and port: KUBERNETES_SERVICE_HOST/PORT in every container, as the kubelet sets them */
  kubernetesService?: { host: string; port: number };
  /** the automounted service-account volume (kubelet layout, read-only), unless spec.automountServiceAccountToken is false */
  serviceAccount?: { token: string; caCert: string | Buffer; namespace?: string };
  /** the kubelet stops the pod (SIGTERM to the running container, SIGKILL after the grace period; no further containers) */
  stop?: AbortSignal;
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
  /** argv as run inside the root (after $(VAR) expansion) */
  argv: string[];
  env: Record<string, string>;
  /** uid, gid and supplementary groups the container ran with */
  user: { uid: number; gid: number; groups: number[] };
  /** the kubelet's refusal to start the container (runAsNonRoot), when it did not run */
  refused?: string;
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

/** The root filesystem and default user of an image, as the test world provides them. */
export function imageRoot(image: string, extraToolsImages: readonly string[] = []): { root: string; uid: number; gid: number } {
  if (image === TEST_TOOLS_IMAGE || extraToolsImages.includes(image)) return { root: testRoots().tools, uid: 65532, gid: 65532 };
  if (/^registry\.k8s\.io\/etcd[:@]/.test(image)) return { root: testRoots().etcd, uid: 0, gid: 0 };
  throw new Error(`no root filesystem for image ${JSON.stringify(image)}: the test world runs ${TEST_TOOLS_IMAGE} (npm run image) and registry.k8s.io/etcd:*`);
}

/** The effective security settings of a container: its securityContext over the pod's, as Kubernetes merges them. */
export function effectiveSecurity(pod: Json, c: Json): { runAsUser?: number; runAsGroup?: number; runAsNonRoot?: boolean; readOnlyRootFilesystem: boolean; fsGroup?: number; supplementalGroups: number[] } {
  const p = pod.securityContext ?? {};
  const s = c.securityContext ?? {};
  return {
    runAsUser: s.runAsUser ?? p.runAsUser,
    runAsGroup: s.runAsGroup ?? p.runAsGroup,
    runAsNonRoot: s.runAsNonRoot ?? p.runAsNonRoot,
    readOnlyRootFilesystem: s.readOnlyRootFilesystem === true,
    fsGroup: p.fsGroup,
    supplementalGroups: p.supplementalGroups ?? [],
  };
}

/** Primary group of a uid in the root's /etc/passwd (what the runtime uses when runAsGroup is not set), else 0. */
function passwdGid(root: string, uid: number): number {
  try {
    for (const line of readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length > 3 && Number(f[2]) === uid) return Number(f[3]);
    }
  } catch { /* no /etc/passwd: distroless */ }
  return 0;
}

/** The kubelet's volume ownership for fsGroup: group fsGroup, group rw (r for ConfigMap/Secret), setgid directories. */
function applyFsGroup(dir: string, gid: number, readOnly: boolean): void {
  const walk = (path: string) => {
    const st = lstatSync(path);
    if (st.isSymbolicLink()) return;
    chownSync(path, st.uid, gid);
    if (st.isDirectory()) {
      chmodSync(path, (st.mode & 0o7777) | 0o2000 | (readOnly ? 0o050 : 0o070));
      for (const e of readdirSync(path)) walk(join(path, e));
    } else {
      chmodSync(path, (st.mode & 0o7777) | (readOnly ? 0o040 : 0o060) | (st.mode & 0o100 ? 0o010 : 0));
    }
  };
  walk(dir);
}

/**
 * A path inside a root with the root's symlinks followed inside the root (Debian's /var/run -> /run must not lead to
 * the host's /run), as the runtime resolves mount targets. Missing components are kept as written.
 */
export function resolveInRoot(root: string, path: string): string {
  const todo = path.split('/').filter(Boolean);
  const done: string[] = [];
  for (let hops = 0; todo.length > 0;) {
    const part = todo.shift()!;
    if (part === '.') continue;
    if (part === '..') { done.pop(); continue; }
    const host = join(root, ...done, part);
    let link: string | undefined;
    try {
      if (lstatSync(host).isSymbolicLink()) link = readlinkSync(host);
    } catch { /* missing: created as a directory */ }
    if (link === undefined) { done.push(part); continue; }
    if (++hops > 40) throw new Error(`${path}: too many symlinks in ${root}`);
    if (link.startsWith('/')) done.length = 0;
    todo.unshift(...link.split('/').filter(Boolean));
  }
  return `/${done.join('/')}`;
}

/** The message the kubelet gives when runAsNonRoot forbids the user (CreateContainerConfigError). */
export function nonRootRefusal(podName: string, namespace: string, container: string, fromSecurityContext: boolean): string {
  const pod = `${podName}_${namespace}(00000000-0000-0000-0000-000000000000)`;
  return fromSecurityContext
    ? `Error: container's runAsUser breaks non-root policy (pod: "${pod}", container: ${container})`
    : `Error: container has runAsNonRoot and image will run as root (pod: "${pod}", container: ${container})`;
}

export async function runPod(o: PodRunOptions): Promise<PodRunResult> {
  const spec = o.podSpec;
  const workDir = o.workDir ?? mkTemp('pod');
  mkdirSync(workDir, { recursive: true });
  const fsGroup: number | undefined = spec.securityContext?.fsGroup;
  const volumeDirs: Record<string, string> = {};
  for (const v of spec.volumes ?? []) {
    if (o.volumes?.[v.name]) {
      volumeDirs[v.name] = o.volumes[v.name];
      if (fsGroup !== undefined && (v.persistentVolumeClaim || v.emptyDir)) applyFsGroup(volumeDirs[v.name], fsGroup, false);
    } else if (v.emptyDir) {
      volumeDirs[v.name] = join(workDir, 'volumes', v.name);
      mkdirSync(volumeDirs[v.name], { recursive: true });
      chmodSync(volumeDirs[v.name], 0o777); // the kubelet's emptyDir mode
      if (fsGroup !== undefined) applyFsGroup(volumeDirs[v.name], fsGroup, false);
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
      if (fsGroup !== undefined) applyFsGroup(dir, fsGroup, true);
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
  // The kubelet always gives a pod its /etc/hosts.
  const hostsFile = join(workDir, 'hosts');
  writeFileSync(hostsFile, ['127.0.0.1 localhost', ...Object.entries(o.hosts ?? {}).map(([name, ip]) => `${ip} ${name}`)].join('\n') + '\n');
  podMounts.push({ src: hostsFile, mountPath: '/etc/hosts', readOnly: false });
  for (const m of o.extraMounts ?? []) podMounts.push({ src: m.hostPath, mountPath: m.mountPath, readOnly: !!m.readOnly });
  const results: ContainerResult[] = [];
  const deadline = spec.activeDeadlineSeconds ? spec.activeDeadlineSeconds * 1000 : 120_000;
  const containers: [Json, boolean][] = [...(spec.initContainers ?? []).map((c: Json) => [c, true] as [Json, boolean]), ...(spec.containers ?? []).map((c: Json) => [c, false] as [Json, boolean])];
  let ok = true;
  for (const [c, init] of containers) {
    const image = imageRoot(c.image, o.images);
    const sec = effectiveSecurity(spec, c);
    const uid = sec.runAsUser ?? image.uid;
    const gid = sec.runAsGroup ?? (sec.runAsUser !== undefined ? passwdGid(image.root, uid) : image.gid);
    const groups = [...new Set([gid, ...(sec.fsGroup !== undefined ? [sec.fsGroup] : []), ...sec.supplementalGroups])];
    const env = resolveEnv(c, o);
    // the kubelet sets these in every container, enableServiceLinks or not; the container's own env wins
    const service: Record<string, string> = o.kubernetesService ? { KUBERNETES_SERVICE_HOST: o.kubernetesService.host, KUBERNETES_SERVICE_PORT: String(o.kubernetesService.port) } : {};
    const fullEnv = { ...service, ...env, PATH: env.PATH ?? DEFAULT_PATH };
    const cmd = [...(c.command ?? []), ...(c.args ?? [])].map((s: string) => expandK8s(s, env));
    if (!c.command || cmd.length === 0) throw new Error(`container ${c.name}: no command (image entrypoints are not known to the runner)`);
    if (c.workingDir) throw new Error(`container ${c.name}: workingDir is not supported by the runner`);
    const argv = cmd;
    const user = { uid, gid, groups };
    if (sec.runAsNonRoot && uid === 0) {
      // The kubelet does not start it (CreateContainerConfigError): the pod gets no further.
      const refused = nonRootRefusal(o.podName ?? 'pod', o.namespace ?? 'default', c.name, sec.runAsUser !== undefined);
      results.push({ name: c.name, init, exitCode: null, signal: null, timedOut: false, stdout: '', stderr: `${refused}\n`, durationMs: 0, argv, env: fullEnv, user, refused });
      ok = false;
      break;
    }
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
    // The container's root: an overlay over the shared image root (its own writable layer), mounted at `rootfs`.
    const layer = join(workDir, 'containers', c.name);
    const rootfs = join(layer, 'rootfs');
    for (const d of ['upper', 'work', 'rootfs']) mkdirSync(join(layer, d), { recursive: true });
    const at = (p: string) => shq(join(rootfs, resolveInRoot(image.root, p)));
    const lines = ['set -e', `mount -t overlay overlay -o ${shq(`lowerdir=${image.root},upperdir=${layer}/upper,workdir=${layer}/work`)} ${shq(rootfs)}`];
    lines.push(`mkdir -p ${at('proc')} ${at('dev')} ${at('etc')}`);
    const binds = [...mounts, ...podMounts];
    for (const m of binds) {
      if (!existsSync(m.src)) throw new Error(`container ${c.name}: mount source ${m.src} missing`);
      lines.push(statSync(m.src).isDirectory() ? `mkdir -p ${at(m.mountPath)}` : `mkdir -p "$(dirname ${at(m.mountPath)})"; [ -e ${at(m.mountPath)} ] || : > ${at(m.mountPath)}`);
    }
    if (sec.readOnlyRootFilesystem) lines.push(`mount -o remount,ro ${shq(rootfs)}`);
    lines.push(`mount -t proc -o nosuid,nodev,noexec proc ${at('proc')}`);
    lines.push(`mount -t tmpfs -o nosuid,mode=0755,size=1m tmpfs ${at('dev')}`);
    for (const d of ['null', 'zero', 'full', 'random', 'urandom', 'tty']) lines.push(`: > ${at(`dev/${d}`)}; mount --bind /dev/${d} ${at(`dev/${d}`)}`);
    lines.push(`ln -s /proc/self/fd ${at('dev/fd')}; ln -s /proc/self/fd/0 ${at('dev/stdin')}; ln -s /proc/self/fd/1 ${at('dev/stdout')}; ln -s /proc/self/fd/2 ${at('dev/stderr')}`);
    for (const m of binds) {
      lines.push(`mount --bind ${shq(m.src)} ${at(m.mountPath)}`);
      if (m.readOnly) lines.push(`mount -o remount,bind,ro ${at(m.mountPath)}`);
    }
    // chroot(1) enters the root, sets the groups, gid and uid, then execs the command found on the container's PATH.
    lines.push('exec env -i "$@"');
    const scriptFile = join(workDir, `mounts-${c.name}.sh`);
    writeFileSync(scriptFile, lines.join('\n') + '\n');
    const envArgs = Object.entries(fullEnv).map(([k, v]) => `${k}=${v}`);
    const inner = ['unshare', '--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child', '--', '/bin/sh', scriptFile, ...envArgs,
      'chroot', `--userspec=${uid}:${gid}`, `--groups=${groups.join(',')}`, rootfs, ...argv];
    const outer = o.netns ? [...o.netns.nsPrefix, ...inner] : inner;
    if (o.stop?.aborted) { ok = false; break; }
    const graceMs = (spec.terminationGracePeriodSeconds ?? 30) * 1000;
    const r = await run(outer[0], outer.slice(1), { env: { PATH: DEFAULT_PATH }, timeoutMs: o.timeoutMs ?? deadline, signal: o.stop, graceMs });
    results.push({
      name: c.name, init, exitCode: r.code, signal: r.signal, timedOut: r.timedOut, stdout: r.stdout, stderr: r.stderr,
      durationMs: r.durationMs, argv, env: fullEnv, user,
    });
    if (r.code !== 0) {
      ok = false;
      if (init) break; // like the kubelet (restartPolicy Never): a failed init container fails the pod
    }
  }
  return { ok, results, volumeDirs, workDir };
}
