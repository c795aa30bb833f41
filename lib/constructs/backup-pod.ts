/**
 * The backup pod, shared by the CronJob and on-demand Jobs: an exec-form etcdctl init container (the etcd image is
 * distroless) writes the snapshot to scratch; the tools container verifies, compresses, encrypts and uploads it.
 */
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import type { Cluster } from '../inventory/model';
import { backupPlanFile } from '../plan/agent';
import { POD_PATHS, SIGNING_KEY, SIGNING_PATHS, type BackupPlan, type EnvSource } from '../plan/backup';
import { backupConfigMapName, backupServiceAccountName } from '../plan/names';
import { schedulePause } from '../plan/pause';

export const AGE_RECIPIENTS_FILE = 'age-recipients.txt';

/**
 * The ServiceAccount of a backup or drill pod, without a token: the pods talk to etcd and object storage only (the
 * drill to its own etcd on loopback), never to the Kubernetes API.
 */
export function tokenlessServiceAccount(scope: Construct, metadata: k8s.ObjectMeta): k8s.KubeServiceAccount {
  return new k8s.KubeServiceAccount(scope, 'ServiceAccount', { metadata, automountServiceAccountToken: false });
}

/**
 * What the backup and drill CronJobs share: whatever pauses a cluster's backups (the inventory, a pending restore)
 * pauses its drills too; never two runs at once; the cluster's starting deadline and history limits.
 */
export function cronJobTiming(cluster: Cluster, schedule: string, timeZone: string | undefined): Omit<k8s.CronJobSpec, 'jobTemplate'> {
  const { backup } = cluster;
  return {
    schedule,
    timeZone,
    suspend: schedulePause(cluster).suspended,
    concurrencyPolicy: 'Forbid',
    startingDeadlineSeconds: backup.startingDeadlineSeconds,
    successfulJobsHistoryLimit: backup.successfulJobsHistoryLimit,
    failedJobsHistoryLimit: backup.failedJobsHistoryLimit,
  };
}

/**
 * Temporary files of the tools containers go to the scratch volume: the root filesystem is read-only, /tmp included.
 */
export const TMPDIR_ENV: k8s.EnvVar = { name: 'TMPDIR', value: POD_PATHS.scratch };

/** The tools image's agent: `controlplane-backup agent <command> --plan <file of the config ConfigMap>`. */
export function agentCommand(command: string, planFile: string): string[] {
  return ['controlplane-backup', 'agent', command, '--plan', `${POD_PATHS.config}/${planFile}`];
}

/** A container env var from a plan's value source. */
export function envVar(name: string, source: EnvSource): k8s.EnvVar {
  if ('value' in source) return { name, value: source.value };
  if ('secret' in source) return { name, valueFrom: { secretKeyRef: { name: source.secret.name, key: source.secret.key } } };
  return { name, valueFrom: { configMapKeyRef: { name: source.configMap.name, key: source.configMap.key } } };
}

const HOSTED_USER = 65532;

export interface BackupPodOptions {
  readonly cluster: Cluster;
  readonly plan: BackupPlan;
  /** Name of the on-demand request, recorded in the backup's metadata. */
  readonly request?: string;
}

export function backupPodSpec({ cluster, plan, request }: BackupPodOptions): k8s.PodSpec {
  const { backup, topology } = cluster;
  const kubeadm = topology.kind === 'kubeadm' ? topology : undefined;
  const hosted = topology.kind === 'hosted' ? topology : undefined;

  const volumes: k8s.Volume[] = [
    { name: 'scratch', emptyDir: { sizeLimit: k8sQuantity(backup.scratchSize) } },
    { name: 'config', configMap: { name: backupConfigMapName(cluster.name), defaultMode: 0o444 } },
  ];
  const etcdMounts: k8s.VolumeMount[] = [];
  const toolsMounts: k8s.VolumeMount[] = [
    { name: 'scratch', mountPath: POD_PATHS.scratch },
    { name: 'config', mountPath: POD_PATHS.config, readOnly: true },
  ];

  if (kubeadm) {
    volumes.push({ name: 'pki', hostPath: { path: kubeadm.pkiDir, type: 'Directory' } });
    etcdMounts.push({ name: 'pki', mountPath: kubeadm.pkiDir, readOnly: true });
    toolsMounts.push({ name: 'pki', mountPath: kubeadm.pkiDir, readOnly: true });
    if (backup.encryptionConfig?.hostPath && plan.encryptionConfigFile) {
      volumes.push({ name: 'encryption-config', hostPath: { path: backup.encryptionConfig.hostPath, type: 'File' } });
      toolsMounts.push({ name: 'encryption-config', mountPath: plan.encryptionConfigFile, readOnly: true });
    }
  } else if (hosted) {
    const cert = hosted.clientCertSecret;
    volumes.push({
      name: 'etcd-client',
      secret: {
        secretName: cert.name,
        defaultMode: 0o440,
        items: [{ key: cert.caKey, path: 'ca.crt' }, { key: cert.certKey, path: 'tls.crt' }, { key: cert.keyKey, path: 'tls.key' }],
      },
    });
    etcdMounts.push({ name: 'etcd-client', mountPath: POD_PATHS.hostedEtcdClient, readOnly: true });
    toolsMounts.push({ name: 'etcd-client', mountPath: POD_PATHS.hostedEtcdClient, readOnly: true });
    if (backup.pki) {
      hosted.pkiSecrets.forEach((secretName, i) => {
        volumes.push({ name: `pki-${i}`, secret: { secretName, defaultMode: 0o440 } });
        toolsMounts.push({ name: `pki-${i}`, mountPath: `${POD_PATHS.hostedPki}/${secretName}`, readOnly: true });
      });
    }
    const secret = backup.encryptionConfig?.secret;
    if (secret) {
      volumes.push({ name: 'encryption-config', secret: { secretName: secret.name, defaultMode: 0o440, items: [{ key: secret.key, path: secret.key }] } });
      toolsMounts.push({ name: 'encryption-config', mountPath: POD_PATHS.encryptionConfig, readOnly: true });
    }
  }

  for (const destination of plan.destinations) {
    if (destination.hostPath) {
      const name = `local-${destination.storage}`;
      volumes.push({ name, hostPath: { path: destination.hostPath, type: 'DirectoryOrCreate' } });
      toolsMounts.push({ name, mountPath: `${POD_PATHS.localDestinations}/${destination.storage}` });
    }
    if (destination.caBundle) {
      const name = `ca-${destination.storage}`;
      volumes.push({ name, configMap: { name: destination.caBundle.configMap, defaultMode: 0o444, items: [{ key: destination.caBundle.key, path: destination.caBundle.key }] } });
      toolsMounts.push({ name, mountPath: destination.caBundle.mountPath, readOnly: true });
    }
  }

  if (backup.signing) {
    // The private key, read-only, only in the tools container. Optional: a missing Secret is the agent's exit 3 with
    // the command that creates it, rather than a pod stuck in ContainerCreating.
    volumes.push({ name: 'signing', secret: { secretName: backup.signing.secretName, optional: true, defaultMode: 0o440, items: [{ key: SIGNING_KEY, path: SIGNING_KEY }] } });
    toolsMounts.push({ name: 'signing', mountPath: SIGNING_PATHS.dir, readOnly: true });
  }

  // Everything else is in the plan (the config ConfigMap): the env carries what only the kubelet knows.
  const env: k8s.EnvVar[] = [
    TMPDIR_ENV,
    { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    ...plan.destinations.flatMap((destination) => destination.agentEnv.map((variable) => envVar(variable.name, variable.source))),
  ];

  const resources = {
    requests: quantities(backup.resources.requests),
    limits: quantities(backup.resources.limits),
  };
  const containerSecurity: k8s.SecurityContext = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    // kubeadm keeps the etcd client keys root-owned with mode 0600: only uid 0 (without any capability) reads them.
    ...(kubeadm ? { runAsUser: 0, runAsNonRoot: false } : { runAsUser: HOSTED_USER, runAsGroup: HOSTED_USER, runAsNonRoot: true }),
  };

  const snapshot: k8s.Container = {
    name: 'snapshot',
    image: backup.images.etcd,
    imagePullPolicy: backup.images.pullPolicy,
    command: ['etcdctl'],
    args: [
      `--endpoints=${plan.etcd.endpoint}`,
      `--cacert=${plan.etcd.caFile}`,
      `--cert=${plan.etcd.certFile}`,
      `--key=${plan.etcd.keyFile}`,
      '--dial-timeout=10s',
      `--command-timeout=${backup.snapshotTimeoutSeconds}s`,
      'snapshot',
      'save',
      POD_PATHS.snapshot,
    ],
    volumeMounts: [{ name: 'scratch', mountPath: POD_PATHS.scratch }, ...etcdMounts],
    resources,
    securityContext: containerSecurity,
  };
  const upload: k8s.Container = {
    name: 'upload',
    image: backup.images.tools,
    imagePullPolicy: backup.images.pullPolicy,
    command: agentCommand('backup', backupPlanFile(request)),
    env,
    volumeMounts: toolsMounts,
    resources,
    securityContext: containerSecurity,
  };

  const tolerations: k8s.Toleration[] = [
    ...(kubeadm ? [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }] : []),
    ...backup.tolerations.map((t) => ({ ...t })),
  ];

  return {
    serviceAccountName: backupServiceAccountName(cluster.name),
    automountServiceAccountToken: false,
    restartPolicy: 'Never',
    enableServiceLinks: false,
    ...(backup.priorityClassName ? { priorityClassName: backup.priorityClassName } : {}),
    ...(kubeadm
      ? { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet', nodeSelector: { ...kubeadm.nodeSelector } }
      : {}),
    ...(tolerations.length ? { tolerations } : {}),
    securityContext: {
      seccompProfile: { type: 'RuntimeDefault' },
      ...(hosted ? { runAsNonRoot: true, runAsUser: HOSTED_USER, runAsGroup: HOSTED_USER, fsGroup: HOSTED_USER } : {}),
    },
    initContainers: [snapshot],
    containers: [upload],
    volumes,
  };
}

function k8sQuantity(value: string): k8s.Quantity {
  return k8s.Quantity.fromString(value);
}

/** Resource quantities of the inventory (requests or limits), or undefined when none is set. */
export function quantities(values: Readonly<Record<string, string>>): Record<string, k8s.Quantity> | undefined {
  const entries = Object.entries(values);
  if (entries.length === 0) return undefined;
  return Object.fromEntries(entries.map(([key, value]) => [key, k8sQuantity(value)]));
}
