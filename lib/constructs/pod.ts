/**
 * What every pod we write is built from (backup, on-demand, drill, restore): the tools image's agent command, its
 * scratch space, plan and CA-bundle volumes, env from a plan's value sources, and the security contexts of a user.
 */
import { k8s } from 'cdk8s-plus-28';
import type { Cluster } from '../inventory/model';
import { POD_PATHS, type DestinationPlan, type EnvSource } from '../plan/backup';
import { mergeIdentity } from '../plan/identity';

/** A volume and where a container mounts it. */
export interface MountedVolume {
  readonly volume: k8s.Volume;
  readonly mount: k8s.VolumeMount;
}

/**
 * Temporary files of the tools containers go to the scratch volume: the root filesystem is read-only, /tmp included.
 */
export const TMPDIR_ENV: k8s.EnvVar = { name: 'TMPDIR', value: POD_PATHS.scratch };

/**
 * `controlplane-backup agent <command> --plan <file>`: the tools image's agent on a plan file mounted in the pod; or
 * `--plan-env <name>` with the plan in an env var (a static pod, which can mount no ConfigMap).
 */
export function agentCommand(command: string, plan: string | { readonly env: string }): string[] {
  return ['controlplane-backup', 'agent', command, ...(typeof plan === 'string' ? ['--plan', plan] : ['--plan-env', plan.env])];
}

/** A container env var from a plan's value source. */
function envVar(name: string, source: EnvSource): k8s.EnvVar {
  if ('value' in source) return { name, value: source.value };
  if ('secret' in source) return { name, valueFrom: { secretKeyRef: { name: source.secret.name, key: source.secret.key } } };
  return { name, valueFrom: { configMapKeyRef: { name: source.configMap.name, key: source.configMap.key } } };
}

/** The env the agent needs for one storage: its credentials, and a bucket claim's values. */
export function destinationEnv(destination: DestinationPlan): k8s.EnvVar[] {
  return destination.agentEnv.map((variable) => envVar(variable.name, variable.source));
}

/**
 * What a pod needs for the workload identity of the destinations it talks to (lib/plan/identity.ts): the token volumes
 * with their mounts and the env of the containers that talk to the store, the ServiceAccount's annotations, and the
 * labels and annotations of the pod (the containers named in `others` are kept out of what a webhook injects, where
 * the webhook allows it).
 */
export function identityAccess(destinations: readonly DestinationPlan[]) {
  const identity = mergeIdentity(destinations.flatMap((destination) => (destination.identity ? [destination.identity] : [])));
  return {
    serviceAccountAnnotations: identity.serviceAccountAnnotations,
    volumes: identity.projectedTokens.map((token): MountedVolume => ({
      volume: {
        name: token.volume,
        projected: { defaultMode: 0o444, sources: [{ serviceAccountToken: { audience: token.audience, expirationSeconds: token.expirationSeconds, path: token.path } }] },
      },
      mount: { name: token.volume, mountPath: token.mountPath, readOnly: true },
    })),
    env: identity.env.map((variable) => envVar(variable.name, variable.source)),
    /** The pod template's metadata: the standard `labels` and what the identity asks of the pod. */
    podMetadata: (labels: Readonly<Record<string, string>>, others: readonly string[] = []): k8s.ObjectMeta => {
      const annotations = {
        ...identity.podAnnotations,
        ...(others.length ? Object.fromEntries(identity.skipContainers.map((skip) => [skip.annotation, others.join(skip.separator)])) : {}),
      };
      return { labels: { ...identity.podLabels, ...labels }, ...(Object.keys(annotations).length ? { annotations } : {}) };
    },
  };
}

/** Resource quantities of the inventory (requests or limits), or undefined when none is set. */
export function quantities(values: Readonly<Record<string, string>>): Record<string, k8s.Quantity> | undefined {
  const entries = Object.entries(values);
  if (entries.length === 0) return undefined;
  return Object.fromEntries(entries.map(([key, value]) => [key, k8s.Quantity.fromString(value)]));
}

/** The scratch space of the tools containers (the snapshot, downloads, TMPDIR), bounded by the cluster's scratchSize. */
export function scratchVolume(sizeLimit: string): MountedVolume {
  return {
    volume: { name: 'scratch', emptyDir: { sizeLimit: k8s.Quantity.fromString(sizeLimit) } },
    mount: { name: 'scratch', mountPath: POD_PATHS.scratch },
  };
}

/** A ConfigMap mounted read-only: every key, or the given keys under the given file names. */
export function configMapVolume(name: string, configMap: string, mountPath: string, items?: readonly k8s.KeyToPath[]): MountedVolume {
  return {
    volume: { name, configMap: { name: configMap, defaultMode: 0o444, ...(items ? { items: [...items] } : {}) } },
    mount: { name, mountPath, readOnly: true },
  };
}

/** The CA bundle of a storage whose endpoint uses a private CA, where the agent's plan expects it. */
export function caBundleVolume(name: string, caBundle: NonNullable<DestinationPlan['caBundle']>): MountedVolume {
  return configMapVolume(name, caBundle.configMap, caBundle.mountPath, [{ key: caBundle.key, path: caBundle.key }]);
}

/**
 * The pod's security context for its user: RuntimeDefault seccomp always; a non-root user also as the pod's user,
 * group and fsGroup (so that mounted volumes are writable).
 */
export function podSecurityContext(user: number): k8s.PodSecurityContext {
  return {
    seccompProfile: { type: 'RuntimeDefault' },
    ...(user === 0 ? {} : { runAsNonRoot: true, runAsUser: user, runAsGroup: user, fsGroup: user }),
  };
}

/**
 * A container's security context for its user: read-only root, no capabilities, no privilege escalation. uid 0 only
 * where node files are root-owned, and then without any capability.
 */
export function containerSecurityContext(user: number): k8s.SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    ...(user === 0 ? { runAsUser: 0, runAsNonRoot: false } : { runAsUser: user, runAsGroup: user, runAsNonRoot: true }),
  };
}

export interface ToolsPodOptions {
  readonly serviceAccountName: string;
  readonly runAsUser: number;
  /** The agent command, also the container's name (drill, prune). */
  readonly command: 'drill' | 'prune';
  /** The backup's config ConfigMap, which holds the pod's plan, and the plan's file there. */
  readonly configMapName: string;
  readonly planFile: string;
  /** Besides TMPDIR: the storages' credentials (and a bucket claim's values). */
  readonly env: k8s.EnvVar[];
  /** Besides scratch and the config: CA bundles, an identity. */
  readonly volumes: readonly MountedVolume[];
  /** The destinations the pod talks to: their workload identity's token volumes and env (`identityAccess`). */
  readonly destinations: readonly DestinationPlan[];
}

/**
 * A pod of one tools container that needs no node access and no API token (the drill, the prune): Pod Security
 * `restricted` wherever it runs, with the cluster's image, tolerations and resources.
 */
export function toolsPodSpec(cluster: Cluster, options: ToolsPodOptions): k8s.PodSpec {
  const { backup } = cluster;
  const identity = identityAccess(options.destinations);
  const volumes = [scratchVolume(backup.scratchSize), configMapVolume('config', options.configMapName, POD_PATHS.config), ...options.volumes, ...identity.volumes];
  return {
    serviceAccountName: options.serviceAccountName,
    automountServiceAccountToken: false,
    restartPolicy: 'Never',
    enableServiceLinks: false,
    ...(backup.tolerations.length ? { tolerations: backup.tolerations.map((t) => ({ ...t })) } : {}),
    securityContext: podSecurityContext(options.runAsUser),
    containers: [{
      name: options.command,
      image: backup.images.tools,
      imagePullPolicy: backup.images.pullPolicy,
      command: agentCommand(options.command, `${POD_PATHS.config}/${options.planFile}`),
      env: [TMPDIR_ENV, ...options.env, ...identity.env],
      volumeMounts: volumes.map((volume) => volume.mount),
      resources: { requests: quantities(backup.resources.requests), limits: quantities(backup.resources.limits) },
      securityContext: containerSecurityContext(options.runAsUser),
    }],
    volumes: volumes.map((volume) => volume.volume),
  };
}
