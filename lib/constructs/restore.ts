/**
 * A restore request of one cluster, as the objects of its own folder (`dist/<cluster>/restore-<id>/`), applied on
 * purpose and never by an automated sync. kubeadm: one Job per member, pinned to its node. hosted: a coordinator Job
 * that walks the state machine through the API, and one Job per StatefulSet ordinal that rebuilds that replica's volume.
 */
import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import type { Cluster, Inventory } from '../inventory/model';
import { POD_PATHS, type DestinationPlan } from '../plan/backup';
import { backupServiceAccountName } from '../plan/names';
import { planRestore, replicaDataDir, RESTORE_PATHS, type RestorePlan } from '../plan/restore';
import { envVar, TMPDIR_ENV } from './backup-pod';
import { objectMeta } from './metadata';
import { scriptText } from './script-files';

export const KUBEADM_RESTORE_SCRIPTS = ['common.sh', 'restore-lib.sh', 'restore-member.sh'] as const;
export const HOSTED_RESTORE_SCRIPTS = ['common.sh', 'restore-lib.sh', 'kube-api.sh', 'restore-hosted-lib.sh', 'restore-coordinator.sh', 'restore-replica.sh'] as const;

/** A restore has no retry: a failure needs a person, who reads the Job's log and the runbook. */
const RESTORE_DEADLINE_SECONDS = 3600;
const HOSTED_USER = 65532;

export interface RestoreChartProps {
  readonly inventory: Inventory;
  readonly cluster: Cluster;
  readonly plan: RestorePlan;
}


/** Env and mounts that let a restore pod read the source storage (the same wiring the backup pod has). */
function sourceAccess(source: DestinationPlan): { env: k8s.EnvVar[]; volumes: k8s.Volume[]; mounts: k8s.VolumeMount[] } {
  const volumes: k8s.Volume[] = [];
  const mounts: k8s.VolumeMount[] = [];
  const env = source.env.map((variable) => envVar(variable.name, variable.source));
  if (source.hostPath) {
    volumes.push({ name: 'local-source', hostPath: { path: source.hostPath, type: 'Directory' } });
    mounts.push({ name: 'local-source', mountPath: `${POD_PATHS.localDestinations}/${source.storage}`, readOnly: true });
  }
  if (source.caBundle) {
    volumes.push({ name: 'ca-source', configMap: { name: source.caBundle.configMap, defaultMode: 0o444, items: [{ key: source.caBundle.key, path: source.caBundle.key }] } });
    mounts.push({ name: 'ca-source', mountPath: source.caBundle.mountPath, readOnly: true });
    env.push({ name: 'RCLONE_CA_CERT', value: `${source.caBundle.mountPath}/${source.caBundle.key}` });
  }
  return { env, volumes, mounts };
}

export class RestoreChart extends Chart {
  constructor(scope: Construct, id: string, props: RestoreChartProps) {
    super(scope, id, { disableResourceNameHashes: true });
    const { cluster, plan } = props;
    const scripts = cluster.topology.kind === 'kubeadm' ? KUBEADM_RESTORE_SCRIPTS : HOSTED_RESTORE_SCRIPTS;
    const meta = (name: string, extra: Parameters<typeof objectMeta>[4] = {}) =>
      objectMeta(cluster.name, 'restore', name, plan.namespace, { ...extra, annotations: { 'controlplane-backup.io/restore-id': plan.request.id, ...extra.annotations } });

    new k8s.KubeConfigMap(this, 'Scripts', {
      metadata: meta(plan.scriptsConfigMap),
      data: Object.fromEntries(scripts.map((file) => [file, scriptText(file)])),
    });
    if (cluster.topology.kind === 'kubeadm') this.kubeadm(props, meta);
    else this.hosted(props, meta);
  }

  private commonEnv(plan: RestorePlan): k8s.EnvVar[] {
    return [
      { name: 'CLUSTER_NAME', value: plan.cluster },
      { name: 'RESTORE_ID', value: plan.request.id },
      { name: 'SNAPSHOT_DIR', value: plan.snapshotDir },
      { name: 'SNAPSHOT_NAME', value: plan.snapshotName },
      { name: 'INITIAL_CLUSTER', value: plan.initialCluster },
      { name: 'INITIAL_CLUSTER_TOKEN', value: plan.initialClusterToken },
      { name: 'AGE_IDENTITY_FILE', value: RESTORE_PATHS.identityFile },
      { name: 'BUMP_REVISION', value: String(plan.request.bumpRevision) },
      { name: 'SCRATCH_DIR', value: POD_PATHS.scratch },
      TMPDIR_ENV,
    ];
  }

  private commonVolumes(cluster: Cluster, plan: RestorePlan): { volumes: k8s.Volume[]; mounts: k8s.VolumeMount[] } {
    return {
      volumes: [
        { name: 'scratch', emptyDir: { sizeLimit: k8s.Quantity.fromString(cluster.backup.scratchSize) } },
        { name: 'scripts', configMap: { name: plan.scriptsConfigMap, defaultMode: 0o444 } },
        // Optional: without it the script says plainly that the decryption key is missing, instead of a pod stuck in ContainerCreating.
        { name: 'identity', secret: { secretName: plan.identitySecret, optional: true, defaultMode: 0o400 } },
      ],
      mounts: [
        { name: 'scratch', mountPath: POD_PATHS.scratch },
        { name: 'scripts', mountPath: POD_PATHS.scripts, readOnly: true },
        { name: 'identity', mountPath: RESTORE_PATHS.identity, readOnly: true },
      ],
    };
  }

  private job(name: string, meta: (name: string) => k8s.ObjectMeta, cluster: Cluster, pod: k8s.PodSpec): void {
    new k8s.KubeJob(this, name, {
      metadata: meta(name),
      spec: {
        // No retry and no TTL: a finished restore Job stays as the record of what happened, and a re-sync cannot re-create it.
        backoffLimit: 0,
        activeDeadlineSeconds: RESTORE_DEADLINE_SECONDS,
        template: {
          metadata: { labels: objectMeta(cluster.name, 'restore', '').labels, annotations: { 'controlplane-backup.io/restore-id': meta(name).annotations!['controlplane-backup.io/restore-id'] } },
          spec: { restartPolicy: 'Never', enableServiceLinks: false, ...pod },
        },
      },
    });
  }

  private kubeadm({ cluster, plan }: RestoreChartProps, meta: (name: string) => k8s.ObjectMeta): void {
    if (cluster.topology.kind !== 'kubeadm') return;
    const topology = cluster.topology;
    const source = sourceAccess(plan.source);
    const common = this.commonVolumes(cluster, plan);
    const manifest = `${topology.manifestsDir}/etcd.yaml`;
    for (const member of plan.members) {
      this.job(member.jobName, meta, cluster, {
        // nodeName, not a selector: the scheduler may be down while etcd is.
        nodeName: member.name,
        hostNetwork: true,
        dnsPolicy: 'ClusterFirstWithHostNet',
        tolerations: [{ operator: 'Exists' }],
        serviceAccountName: backupServiceAccountName(cluster.name),
        automountServiceAccountToken: false,
        ...(cluster.backup.priorityClassName ? { priorityClassName: cluster.backup.priorityClassName } : {}),
        securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
        containers: [{
          name: 'restore',
          image: cluster.backup.images.tools,
          imagePullPolicy: cluster.backup.images.pullPolicy,
          command: ['/bin/sh', `${POD_PATHS.scripts}/restore-member.sh`],
          // Storage settings first: SNAPSHOT_DIR may refer to them as $(NAME), which the kubelet expands in order.
          env: [
            ...source.env,
            ...this.commonEnv(plan),
            { name: 'MEMBER_NAME', value: member.name },
            { name: 'MEMBER_PEER_URL', value: member.peerUrl },
            { name: 'MEMBERS', value: plan.members.map((m) => m.name).join(' ') },
            { name: 'DATA_DIR', value: topology.dataDir },
            { name: 'ETCD_MANIFEST', value: manifest },
            { name: 'ETCD_ENDPOINT', value: member.clientEndpoint! },
            { name: 'ETCDCTL_CACERT', value: `${topology.pkiDir}/etcd/ca.crt` },
            { name: 'ETCDCTL_CERT', value: `${topology.pkiDir}/etcd/healthcheck-client.crt` },
            { name: 'ETCDCTL_KEY', value: `${topology.pkiDir}/etcd/healthcheck-client.key` },
            { name: 'PKI_RESTORE', value: String(plan.request.pki) },
            { name: 'PKI_DIR', value: topology.pkiDir },
            { name: 'BARRIER_DIR', value: plan.barrierDir },
          ],
          volumeMounts: [
            ...common.mounts,
            { name: 'etcd-data', mountPath: topology.dataDir },
            { name: 'manifests', mountPath: topology.manifestsDir },
            { name: 'pki', mountPath: topology.pkiDir, readOnly: !plan.request.pki },
            ...source.mounts,
          ],
          securityContext: {
            // Root without capabilities: the data dir, the manifests and the PKI are root-owned on the node.
            runAsUser: 0, runAsNonRoot: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] },
          },
        }],
        volumes: [
          ...common.volumes,
          { name: 'etcd-data', hostPath: { path: topology.dataDir, type: 'Directory' } },
          { name: 'manifests', hostPath: { path: topology.manifestsDir, type: 'Directory' } },
          { name: 'pki', hostPath: { path: topology.pkiDir, type: 'Directory' } },
          ...source.volumes,
        ],
      });
    }
  }

  private hosted({ cluster, plan }: RestoreChartProps, meta: (name: string, extra?: Parameters<typeof objectMeta>[4]) => k8s.ObjectMeta): void {
    if (cluster.topology.kind !== 'hosted') return;
    const topology = cluster.topology;
    const coordinator = plan.coordinatorName!;
    const status = plan.statusConfigMap!;
    const source = sourceAccess(plan.source);
    const common = this.commonVolumes(cluster, plan);
    const api: k8s.EnvVar[] = [
      { name: 'NAMESPACE', value: plan.namespace },
      { name: 'STATUS_CONFIGMAP', value: status },
      { name: 'KUBE_API', value: 'https://kubernetes.default.svc' },
    ];

    // No data: a later `kubectl apply` of this folder must never reset the phase the coordinator wrote.
    new k8s.KubeConfigMap(this, 'Status', { metadata: meta(status) });
    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: meta(coordinator) });
    new k8s.KubeRole(this, 'Role', {
      metadata: meta(coordinator),
      rules: [
        { apiGroups: ['apps'], resources: ['statefulsets', 'statefulsets/scale'], resourceNames: [topology.statefulSet], verbs: ['get', 'patch'] },
        ...(topology.controlPlaneDeployments.length
          ? [{ apiGroups: ['apps'], resources: ['deployments', 'deployments/scale'], resourceNames: [...topology.controlPlaneDeployments], verbs: ['get', 'patch'] }]
          : []),
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
        { apiGroups: [''], resources: ['configmaps'], resourceNames: [status], verbs: ['get', 'patch'] },
      ],
    });
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: meta(coordinator),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: coordinator },
      subjects: [{ kind: 'ServiceAccount', name: coordinator, namespace: plan.namespace }],
    });

    const restricted: k8s.SecurityContext = {
      runAsUser: HOSTED_USER, runAsGroup: HOSTED_USER, runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] },
    };
    const pod = (container: k8s.Container, volumes: k8s.Volume[], securityContext: k8s.PodSecurityContext): k8s.PodSpec => ({
      serviceAccountName: coordinator,
      automountServiceAccountToken: true,
      ...(cluster.backup.priorityClassName ? { priorityClassName: cluster.backup.priorityClassName } : {}),
      securityContext: { seccompProfile: { type: 'RuntimeDefault' }, ...securityContext },
      containers: [container],
      volumes,
    });

    this.job(coordinator, meta, cluster, pod({
      name: 'coordinator',
      image: cluster.backup.images.tools,
      imagePullPolicy: cluster.backup.images.pullPolicy,
      command: ['/bin/sh', `${POD_PATHS.scripts}/restore-coordinator.sh`],
      env: [
        ...source.env,
        ...this.commonEnv(plan),
        ...api,
        { name: 'STATEFULSET', value: topology.statefulSet },
        { name: 'REPLICAS', value: String(topology.replicas) },
        { name: 'CONTROL_PLANE_DEPLOYMENTS', value: topology.controlPlaneDeployments.join(' ') },
      ],
      volumeMounts: [...common.mounts, ...source.mounts],
      securityContext: restricted,
    }, [...common.volumes, ...source.volumes], { runAsNonRoot: true, runAsUser: HOSTED_USER, runAsGroup: HOSTED_USER, fsGroup: HOSTED_USER }));

    for (const member of plan.members) {
      this.job(member.jobName, meta, cluster, pod({
        name: 'restore',
        image: cluster.backup.images.tools,
        imagePullPolicy: cluster.backup.images.pullPolicy,
        command: ['/bin/sh', `${POD_PATHS.scripts}/restore-replica.sh`],
        env: [
          ...source.env,
          ...this.commonEnv(plan),
          ...api,
          { name: 'ORDINAL', value: String(member.ordinal) },
          { name: 'MEMBER_NAME', value: member.name },
          { name: 'MEMBER_PEER_URL', value: member.peerUrl },
          { name: 'DATA_DIR', value: replicaDataDir(topology.dataDirInVolume) },
        ],
        volumeMounts: [...common.mounts, { name: 'etcd-data', mountPath: RESTORE_PATHS.volume }, ...source.mounts],
        // etcd's files in the volume belong to the etcd container's user (root in the upstream images).
        securityContext: { runAsUser: 0, runAsNonRoot: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
      }, [...common.volumes, { name: 'etcd-data', persistentVolumeClaim: { claimName: member.claimName! } }, ...source.volumes], {}));
    }
  }
}

/** Every restore request of a cluster, planned. */
export function restorePlans(inventory: Inventory, cluster: Cluster): RestorePlan[] {
  return cluster.restores.map((request) => planRestore(inventory, cluster, request));
}
