/**
 * The backup pod, shared by the CronJob and on-demand Jobs: an exec-form etcdctl init container (the etcd image is
 * distroless) writes the snapshot to scratch; the tools container verifies, compresses, encrypts and uploads it.
 */
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { Cluster } from '../inventory/model';
import { backupPlanFile } from '../plan/agent';
import { HOSTED_ETCD_CLIENT_FILES, POD_PATHS, SIGNING_KEY, SIGNING_PATHS, type BackupPlan, type CronJobPlan, type DestinationPlan } from '../plan/backup';
import {
  agentCommand, caBundleVolume, configMapVolume, containerSecurityContext, destinationEnv, identityAccess, podSecurityContext, quantities,
  scratchVolume, TMPDIR_ENV,
} from './pod';
import { objectMeta } from './metadata';

/**
 * The ServiceAccount of a backup or drill pod, without a token: the pods talk to etcd and object storage only (the
 * drill to its own etcd on loopback), never to the Kubernetes API.
 */
export function tokenlessServiceAccount(scope: Construct, metadata: k8s.ObjectMeta, destinations: readonly DestinationPlan[] = []): k8s.KubeServiceAccount {
  const { serviceAccountAnnotations } = identityAccess(destinations);
  const annotations = { ...metadata.annotations, ...serviceAccountAnnotations };
  return new k8s.KubeServiceAccount(scope, 'ServiceAccount', {
    metadata: { ...metadata, ...(Object.keys(annotations).length ? { annotations } : {}) },
    automountServiceAccountToken: false,
  });
}

/**
 * What the backup and drill CronJobs share: whatever pauses a cluster's backups (the inventory, a pending restore)
 * pauses its drills too; never two runs at once; the cluster's starting deadline and history limits.
 */
export interface ToolsCronJobProps {
  readonly cluster: Cluster;
  readonly component: 'drill' | 'prune';
  readonly plan: CronJobPlan;
  readonly backoffLimit: number;
  readonly podSpec: k8s.PodSpec;
  /** The destinations its pod talks to: the ServiceAccount and the pod carry what their workload identity needs. */
  readonly destinations: readonly DestinationPlan[];
}

/**
 * A tools pod that runs beside the backup on a schedule (the drill, the prune), with a ServiceAccount of its own and
 * no token: the backup's timing rules, no retry beyond `backoffLimit`, bounded by the cluster's deadline.
 */
export class ToolsCronJob extends Construct {
  constructor(scope: Construct, id: string, props: ToolsCronJobProps) {
    super(scope, id);
    const { cluster, component, plan } = props;
    tokenlessServiceAccount(this, objectMeta(cluster.name, component, plan.serviceAccountName, plan.namespace), props.destinations);
    const labels = objectMeta(cluster.name, component, '').labels!;
    new k8s.KubeCronJob(this, 'Resource', {
      metadata: objectMeta(cluster.name, component, plan.cronJobName, plan.namespace),
      spec: {
        ...cronJobTiming(cluster, plan),
        jobTemplate: {
          metadata: { labels },
          spec: {
            backoffLimit: props.backoffLimit,
            activeDeadlineSeconds: cluster.backup.activeDeadlineSeconds,
            template: { metadata: identityAccess(props.destinations).podMetadata(labels), spec: props.podSpec },
          },
        },
      },
    });
  }
}

export function cronJobTiming(cluster: Cluster, plan: CronJobPlan): Omit<k8s.CronJobSpec, 'jobTemplate'> {
  const { backup } = cluster;
  return {
    schedule: plan.schedule,
    timeZone: plan.timeZone,
    suspend: plan.suspended,
    concurrencyPolicy: 'Forbid',
    startingDeadlineSeconds: backup.startingDeadlineSeconds,
    successfulJobsHistoryLimit: backup.successfulJobsHistoryLimit,
    failedJobsHistoryLimit: backup.failedJobsHistoryLimit,
  };
}

export interface BackupPodOptions {
  readonly cluster: Cluster;
  readonly plan: BackupPlan;
  /** Name of the on-demand request, recorded in the backup's metadata. */
  readonly request?: string;
}

/** Labels and annotations of the backup pod's template: the standard labels and what workload identity asks. */
export function backupPodMetadata(plan: BackupPlan, labels: Readonly<Record<string, string>>): k8s.ObjectMeta {
  return identityAccess(plan.destinations).podMetadata(labels, [BACKUP_SNAPSHOT_CONTAINER]);
}

/** The init container that takes the snapshot: it talks to etcd only. */
const BACKUP_SNAPSHOT_CONTAINER = 'snapshot';

export function backupPodSpec({ cluster, plan, request }: BackupPodOptions): k8s.PodSpec {
  const { backup, topology } = cluster;
  const kubeadm = topology.kind === 'kubeadm' ? topology : undefined;
  const hosted = topology.kind === 'hosted' ? topology : undefined;

  const scratch = scratchVolume(backup.scratchSize);
  const config = configMapVolume('config', plan.configMapName, POD_PATHS.config);
  const volumes: k8s.Volume[] = [scratch.volume, config.volume];
  const etcdMounts: k8s.VolumeMount[] = [];
  const toolsMounts: k8s.VolumeMount[] = [scratch.mount, config.mount];

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
        items: [
          { key: cert.caKey, path: HOSTED_ETCD_CLIENT_FILES.ca },
          { key: cert.certKey, path: HOSTED_ETCD_CLIENT_FILES.cert },
          { key: cert.keyKey, path: HOSTED_ETCD_CLIENT_FILES.key },
        ],
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
      const ca = caBundleVolume(`ca-${destination.storage}`, destination.caBundle);
      volumes.push(ca.volume);
      toolsMounts.push(ca.mount);
    }
  }

  if (backup.signing) {
    // The private key, read-only, only in the tools container. Optional: a missing Secret is the agent's exit 3 with
    // the command that creates it, rather than a pod stuck in ContainerCreating.
    volumes.push({ name: 'signing', secret: { secretName: backup.signing.secretName, optional: true, defaultMode: 0o440, items: [{ key: SIGNING_KEY, path: SIGNING_KEY }] } });
    toolsMounts.push({ name: 'signing', mountPath: SIGNING_PATHS.dir, readOnly: true });
  }

  // Workload identity: the token goes to the upload container only; the snapshot container never talks to the store.
  const identity = identityAccess(plan.destinations);
  for (const token of identity.volumes) {
    volumes.push(token.volume);
    toolsMounts.push(token.mount);
  }

  // Everything else is in the plan (the config ConfigMap): the env carries what only the kubelet knows.
  const env: k8s.EnvVar[] = [
    TMPDIR_ENV,
    { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    ...plan.destinations.flatMap(destinationEnv),
    ...identity.env,
  ];

  const resources = {
    requests: quantities(backup.resources.requests),
    limits: quantities(backup.resources.limits),
  };
  const containerSecurity = containerSecurityContext(plan.runAsUser);

  const snapshot: k8s.Container = {
    name: BACKUP_SNAPSHOT_CONTAINER,
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
    volumeMounts: [scratch.mount, ...etcdMounts],
    resources,
    securityContext: containerSecurity,
  };
  const upload: k8s.Container = {
    name: 'upload',
    image: backup.images.tools,
    imagePullPolicy: backup.images.pullPolicy,
    command: agentCommand('backup', `${POD_PATHS.config}/${backupPlanFile(request)}`),
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
    serviceAccountName: plan.serviceAccountName,
    automountServiceAccountToken: false,
    restartPolicy: 'Never',
    enableServiceLinks: false,
    ...(backup.priorityClassName ? { priorityClassName: backup.priorityClassName } : {}),
    ...(kubeadm
      ? { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet', nodeSelector: { ...kubeadm.nodeSelector } }
      : {}),
    ...(tolerations.length ? { tolerations } : {}),
    securityContext: podSecurityContext(plan.runAsUser),
    initContainers: [snapshot],
    containers: [upload],
    volumes,
  };
}
