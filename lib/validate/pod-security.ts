/**
 * Pod Security Standards (https://kubernetes.io/docs/concepts/security/pod-security-standards/), the checks of the
 * `baseline` and `restricted` levels as the Pod Security admission controller implements them
 * (k8s.io/pod-security-admission/policy, version "latest" as of Kubernetes 1.33), over the pod templates of
 * synthesized objects. Each check returns the admission controller's reason and detail, so a failure reads like the
 * API server's own refusal. Windows pods (spec.os.name: windows) are not synthesized and not special-cased.
 */

import { isStaticPodFile } from './static-pod';

export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';
const LEVELS: readonly PodSecurityLevel[] = ['privileged', 'baseline', 'restricted'];

export interface CheckFailure {
  readonly level: 'baseline' | 'restricted';
  readonly check: string;
  /** `reason (detail)`, as the admission controller words it. */
  readonly message: string;
}

interface Container { name: string; securityContext?: any; ports?: { hostPort?: number }[] }
interface PodTemplate { metadata?: { annotations?: Record<string, string> }; spec: any }

const containersOf = (spec: any): Container[] => [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
const quoted = (names: readonly string[]) => names.map((n) => `"${n}"`).join(', ');
const oneOrMany = (names: readonly string[], one: string, many: string) => (names.length === 1 ? one : many);

const BASELINE_CAPABILITIES = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes',
]);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
const RESTRICTED_VOLUME_TYPES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

type Check = (template: PodTemplate) => string | undefined;

const BASELINE: Readonly<Record<string, Check>> = {
  hostProcess: ({ spec }) => {
    const bad = containersOf(spec).filter((c) => c.securityContext?.windowsOptions?.hostProcess === true).map((c) => c.name);
    if (spec.securityContext?.windowsOptions?.hostProcess === true || bad.length) return 'hostProcess (pod or containers must not set securityContext.windowsOptions.hostProcess=true)';
    return undefined;
  },
  hostNamespaces: ({ spec }) => {
    const set = ['hostNetwork', 'hostPID', 'hostIPC'].filter((field) => spec[field] === true);
    return set.length ? `host namespaces (${set.map((f) => `${f}=true`).join(', ')})` : undefined;
  },
  privileged: ({ spec }) => {
    const bad = containersOf(spec).filter((c) => c.securityContext?.privileged === true).map((c) => c.name);
    return bad.length ? `privileged (${oneOrMany(bad, 'container', 'containers')} ${quoted(bad)} must not set securityContext.privileged=true)` : undefined;
  },
  capabilities_baseline: ({ spec }) => {
    const added = [...new Set(containersOf(spec).flatMap((c) => (c.securityContext?.capabilities?.add ?? []) as string[]).filter((cap) => !BASELINE_CAPABILITIES.has(cap)))];
    return added.length ? `non-default capabilities (capabilities ${quoted(added)} must not be added)` : undefined;
  },
  hostPathVolumes: ({ spec }) => {
    const bad = (spec.volumes ?? []).filter((v: any) => v.hostPath).map((v: any) => v.name);
    return bad.length ? `hostPath volumes (${oneOrMany(bad, 'volume', 'volumes')} ${quoted(bad)})` : undefined;
  },
  hostPorts: ({ spec }) => {
    const ports = containersOf(spec).flatMap((c) => (c.ports ?? []).map((p) => p.hostPort).filter((port): port is number => Boolean(port)));
    return ports.length ? `hostPort (${oneOrMany(ports.map(String), 'port', 'ports')} ${ports.join(', ')})` : undefined;
  },
  appArmorProfile: ({ metadata, spec }) => {
    const annotations = Object.entries(metadata?.annotations ?? {}).filter(([key]) => key.startsWith('container.apparmor.security.beta.kubernetes.io/'))
      .filter(([, value]) => value !== 'runtime/default' && !value.startsWith('localhost/'));
    const fields = [spec.securityContext?.appArmorProfile, ...containersOf(spec).map((c) => c.securityContext?.appArmorProfile)]
      .filter((profile) => profile && profile.type !== 'RuntimeDefault' && profile.type !== 'Localhost');
    return annotations.length || fields.length ? 'forbidden AppArmor profile (must be RuntimeDefault or Localhost)' : undefined;
  },
  seLinuxOptions: ({ spec }) => {
    const options = [spec.securityContext?.seLinuxOptions, ...containersOf(spec).map((c) => c.securityContext?.seLinuxOptions)].filter(Boolean);
    const bad = options.some((o: any) => !SELINUX_TYPES.has(o.type ?? '') || (o.user ?? '') !== '' || (o.role ?? '') !== '');
    return bad ? 'seLinuxOptions (type must be container_t, container_init_t, container_kvm_t or container_engine_t; user and role must be empty)' : undefined;
  },
  procMount: ({ spec }) => {
    const bad = containersOf(spec).filter((c) => c.securityContext?.procMount !== undefined && c.securityContext.procMount !== 'Default').map((c) => c.name);
    return bad.length ? `procMount (${oneOrMany(bad, 'container', 'containers')} ${quoted(bad)} must not set securityContext.procMount)` : undefined;
  },
  seccompProfile_baseline: ({ spec }) => {
    const bad = spec.securityContext?.seccompProfile?.type === 'Unconfined' || containersOf(spec).some((c) => c.securityContext?.seccompProfile?.type === 'Unconfined');
    return bad ? 'seccompProfile (pod or containers must not set securityContext.seccompProfile.type to "Unconfined")' : undefined;
  },
  sysctls: ({ spec }) => {
    const bad = (spec.securityContext?.sysctls ?? []).map((s: any) => s.name).filter((name: string) => !SAFE_SYSCTLS.has(name));
    return bad.length ? `forbidden sysctls (${bad.join(', ')})` : undefined;
  },
};

const RESTRICTED: Readonly<Record<string, Check>> = {
  restrictedVolumes: ({ spec }) => {
    const bad = (spec.volumes ?? []).filter((v: any) => !RESTRICTED_VOLUME_TYPES.some((type) => v[type] !== undefined)).map((v: any) => v.name);
    return bad.length ? `restricted volume types (${oneOrMany(bad, 'volume', 'volumes')} ${quoted(bad)} must use one of ${RESTRICTED_VOLUME_TYPES.join(', ')})` : undefined;
  },
  allowPrivilegeEscalation: ({ spec }) => {
    const bad = containersOf(spec).filter((c) => c.securityContext?.allowPrivilegeEscalation !== false).map((c) => c.name);
    return bad.length ? `allowPrivilegeEscalation != false (${oneOrMany(bad, 'container', 'containers')} ${quoted(bad)} must set securityContext.allowPrivilegeEscalation=false)` : undefined;
  },
  runAsNonRoot: ({ spec }) => {
    const pod = spec.securityContext?.runAsNonRoot;
    const explicitFalse = containersOf(spec).filter((c) => c.securityContext?.runAsNonRoot === false).map((c) => c.name);
    const unset = pod === true ? [] : containersOf(spec).filter((c) => c.securityContext?.runAsNonRoot !== true).map((c) => c.name);
    if (pod === false || explicitFalse.length || unset.length) {
      const named = explicitFalse.length ? explicitFalse : unset;
      const must = explicitFalse.length ? 'not set securityContext.runAsNonRoot=false' : 'set securityContext.runAsNonRoot=true';
      return `runAsNonRoot != true (${pod === false ? 'pod must not set securityContext.runAsNonRoot=false' : `${oneOrMany(named, 'container', 'containers')} ${quoted(named)} must ${must}`})`;
    }
    return undefined;
  },
  runAsUser: ({ spec }) => {
    const bad = containersOf(spec).filter((c) => c.securityContext?.runAsUser === 0).map((c) => c.name);
    if (spec.securityContext?.runAsUser === 0 || bad.length) {
      return `runAsUser=0 (${spec.securityContext?.runAsUser === 0 ? 'pod' : `${oneOrMany(bad, 'container', 'containers')} ${quoted(bad)}`} must not set runAsUser=0)`;
    }
    return undefined;
  },
  seccompProfile_restricted: ({ spec }) => {
    const ok = (type: unknown) => type === 'RuntimeDefault' || type === 'Localhost';
    const podType = spec.securityContext?.seccompProfile?.type;
    const bad = containersOf(spec).filter((c) => {
      const type = c.securityContext?.seccompProfile?.type;
      return type === undefined ? !ok(podType) : !ok(type);
    }).map((c) => c.name);
    return bad.length ? `seccompProfile (pod or ${oneOrMany(bad, 'container', 'containers')} ${quoted(bad)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")` : undefined;
  },
  capabilities_restricted: ({ spec }) => {
    const noDrop = containersOf(spec).filter((c) => !(c.securityContext?.capabilities?.drop ?? []).includes('ALL')).map((c) => c.name);
    const added = [...new Set(containersOf(spec).flatMap((c) => (c.securityContext?.capabilities?.add ?? []) as string[]).filter((cap) => cap !== 'NET_BIND_SERVICE'))];
    const parts = [
      ...(noDrop.length ? [`${oneOrMany(noDrop, 'container', 'containers')} ${quoted(noDrop)} must set securityContext.capabilities.drop=["ALL"]`] : []),
      ...(added.length ? [`capabilities ${quoted(added)} must not be added`] : []),
    ];
    return parts.length ? `unrestricted capabilities (${parts.join('; ')})` : undefined;
  },
};

export interface PodSecurityResult {
  /** The strictest level every check of which passes. */
  readonly level: PodSecurityLevel;
  readonly failures: readonly CheckFailure[];
}

export function evaluatePodSecurity(template: PodTemplate): PodSecurityResult {
  const run = (level: 'baseline' | 'restricted', checks: Readonly<Record<string, Check>>) =>
    Object.entries(checks).flatMap(([check, fn]) => {
      const message = fn(template);
      return message ? [{ level, check, message }] : [];
    });
  const failures = [...run('baseline', BASELINE), ...run('restricted', RESTRICTED)];
  const level = failures.some((f) => f.level === 'baseline') ? 'privileged' : failures.length ? 'baseline' : 'restricted';
  return { level, failures };
}

/** The pod template of an object that makes pods, or undefined. */
function podTemplateOf(object: any): PodTemplate | undefined {
  switch (object?.kind) {
    case 'Pod': return { metadata: object.metadata, spec: object.spec };
    case 'CronJob': return object.spec?.jobTemplate?.spec?.template;
    case 'Job': case 'Deployment': case 'StatefulSet': case 'DaemonSet': case 'ReplicaSet': return object.spec?.template;
    default: return undefined;
  }
}

/** Does a pod at `level` pass a namespace that enforces `enforced`? */
export const admits = (enforced: PodSecurityLevel, level: PodSecurityLevel) => LEVELS.indexOf(level) >= LEVELS.indexOf(enforced);

export interface PodSecurityFinding {
  /** Path of the manifest, relative to the output folder. */
  readonly file: string;
  readonly subject: string;
  readonly namespace: string;
  readonly level: PodSecurityLevel;
  /** The level the namespace is documented to enforce. */
  readonly enforced: PodSecurityLevel;
  readonly admitted: boolean;
  readonly failures: readonly CheckFailure[];
}

/**
 * The level each namespace is documented to enforce: the `pod-security.kubernetes.io/enforce` label of a Namespace
 * synthesized in the same cluster folder (kubeadm: privileged), otherwise `restricted` (a hosted cluster's objects go
 * into the tenant's namespace, which the README documents as restricted).
 */
export function podSecurityFindings(documents: readonly { file: string; object: any }[]): PodSecurityFinding[] {
  const folderOf = (file: string) => file.split('/')[0];
  const enforcedIn = new Map<string, PodSecurityLevel>();
  for (const { file, object } of documents) {
    const label = object?.kind === 'Namespace' ? object.metadata?.labels?.['pod-security.kubernetes.io/enforce'] : undefined;
    if (label && (LEVELS as readonly string[]).includes(label)) enforcedIn.set(`${folderOf(file)}/${object.metadata.name}`, label as PodSecurityLevel);
  }
  const findings: PodSecurityFinding[] = [];
  for (const { file, object } of documents) {
    const template = podTemplateOf(object);
    // the kubelet runs a static pod whatever admission says of its mirror pod (lib/validate/static-pod.ts checks it)
    if (!template || isStaticPodFile(file)) continue;
    const namespace = object.metadata?.namespace ?? 'default';
    const enforced = enforcedIn.get(`${folderOf(file)}/${namespace}`) ?? 'restricted';
    const { level, failures } = evaluatePodSecurity(template);
    findings.push({ file, subject: `${object.kind} ${namespace}/${object.metadata?.name}`, namespace, level, enforced, admitted: admits(enforced, level), failures });
  }
  return findings;
}

/** One line per pod template: the level it meets and the namespace's; a refusal lists the failing checks of that level. */
export function formatPodSecurity(finding: PodSecurityFinding): string {
  const head = `${finding.file}: ${finding.subject}: pod meets ${finding.level}; namespace ${finding.namespace} enforces ${finding.enforced}`;
  if (finding.admitted) return head;
  const needed = finding.failures.filter((f) => LEVELS.indexOf(f.level) <= LEVELS.indexOf(finding.enforced as PodSecurityLevel));
  return `${head}: the API server would refuse its pods: ${needed.map((f) => f.message).join('; ')}`;
}
