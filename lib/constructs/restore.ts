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
import { backupServiceAccountName, staticRestorePodName, STATIC_POD_NAMESPACE } from '../plan/names';
import {
  agentCoordinatorPlan, agentMemberPlan, agentReplicaPlan, planRestore, RESTORE_DEADLINE_SECONDS, RESTORE_PATHS, restorePlanKey, STATIC_POD_FILES,
  type RestoreMember, type RestorePlan,
} from '../plan/restore';
import { envVar, TMPDIR_ENV } from './backup-pod';
import { objectMeta } from './metadata';

/** The tools image's non-root user (Pod Security restricted). */
const HOSTED_USER = 65532;

export interface RestoreChartProps {
  readonly inventory: Inventory;
  readonly cluster: Cluster;
  readonly plan: RestorePlan;
}

/** Env and mounts that let a restore pod read the source storage (the agent's credentials env, CA bundle, local dir). */
function sourceAccess(source: DestinationPlan): { env: k8s.EnvVar[]; volumes: k8s.Volume[]; mounts: k8s.VolumeMount[] } {
  const volumes: k8s.Volume[] = [];
  const mounts: k8s.VolumeMount[] = [];
  const env = source.agentEnv.map((variable) => envVar(variable.name, variable.source));
  if (source.hostPath) {
    volumes.push({ name: 'local-source', hostPath: { path: source.hostPath, type: 'Directory' } });
    mounts.push({ name: 'local-source', mountPath: `${POD_PATHS.localDestinations}/${source.storage}`, readOnly: true });
  }
  if (source.caBundle) {
    volumes.push({ name: 'ca-source', configMap: { name: source.caBundle.configMap, defaultMode: 0o444, items: [{ key: source.caBundle.key, path: source.caBundle.key }] } });
    mounts.push({ name: 'ca-source', mountPath: source.caBundle.mountPath, readOnly: true });
  }
  return { env, volumes, mounts };
}

/** `controlplane-backup agent <command> --plan <file>`: the tools image's agent on the pod's own plan. */
const agentCommand = (command: string) => ['controlplane-backup', 'agent', command, '--plan', RESTORE_PATHS.planFile];

export class RestoreChart extends Chart {
  constructor(scope: Construct, id: string, props: RestoreChartProps) {
    super(scope, id, { disableResourceNameHashes: true });
    const { cluster, plan } = props;
    const meta = (name: string, extra: Parameters<typeof objectMeta>[4] = {}) =>
      objectMeta(cluster.name, 'restore', name, plan.namespace, { ...extra, annotations: { 'controlplane-backup.io/restore-id': plan.request.id, ...extra.annotations } });

    // One typed plan per pod (lib/agent/restore/plans.ts), each mounted as that pod's plan file.
    const plans: Record<string, unknown> = cluster.topology.kind === 'kubeadm'
      ? Object.fromEntries(plan.members.map((member) => [restorePlanKey(member), agentMemberPlan(cluster, plan, member)]))
      : {
          [restorePlanKey('coordinator')]: agentCoordinatorPlan(cluster, plan),
          ...Object.fromEntries(plan.members.map((member) => [restorePlanKey(member), agentReplicaPlan(cluster, plan, member)])),
        };
    new k8s.KubeConfigMap(this, 'Plan', {
      metadata: meta(plan.planConfigMap),
      data: Object.fromEntries(Object.entries(plans).map(([key, value]) => [key, `${JSON.stringify(value, null, 2)}\n`])),
    });
    if (cluster.topology.kind === 'kubeadm') this.kubeadm(props, meta);
    else this.hosted(props, meta);
  }

  /** scratch (TMPDIR points into it: the root filesystem is read-only), the pod's plan, the age identity */
  private commonVolumes(cluster: Cluster, plan: RestorePlan, planKey: string): { volumes: k8s.Volume[]; mounts: k8s.VolumeMount[]; env: k8s.EnvVar[] } {
    return {
      volumes: [
        { name: 'scratch', emptyDir: { sizeLimit: k8s.Quantity.fromString(cluster.backup.scratchSize) } },
        { name: 'plan', configMap: { name: plan.planConfigMap, defaultMode: 0o444, items: [{ key: planKey, path: 'plan.json' }] } },
        // Optional: without it the agent says plainly that the decryption key is missing, instead of a pod stuck in ContainerCreating.
        { name: 'identity', secret: { secretName: plan.identitySecret, optional: true, defaultMode: 0o440 } },
      ],
      mounts: [
        { name: 'scratch', mountPath: POD_PATHS.scratch },
        { name: 'plan', mountPath: RESTORE_PATHS.planDir, readOnly: true },
        { name: 'identity', mountPath: RESTORE_PATHS.identity, readOnly: true },
      ],
      env: [TMPDIR_ENV],
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
    const source = sourceAccess(plan.source);
    for (const member of plan.members) {
      const common = this.commonVolumes(cluster, plan, restorePlanKey(member));
      const pod = memberPod(cluster, plan, { command: agentCommand('restore-member'), env: [...common.env, ...source.env], mounts: [...common.mounts, ...source.mounts], volumes: [...common.volumes, ...source.volumes] });
      this.job(member.jobName, meta, cluster, {
        // nodeName, not a selector: the scheduler may be down while etcd is.
        nodeName: member.name,
        dnsPolicy: 'ClusterFirstWithHostNet',
        tolerations: [{ operator: 'Exists' }],
        serviceAccountName: backupServiceAccountName(cluster.name),
        ...(cluster.backup.priorityClassName ? { priorityClassName: cluster.backup.priorityClassName } : {}),
        ...pod,
      });
    }
  }

  private hosted({ cluster, plan }: RestoreChartProps, meta: (name: string, extra?: Parameters<typeof objectMeta>[4]) => k8s.ObjectMeta): void {
    if (cluster.topology.kind !== 'hosted') return;
    const topology = cluster.topology;
    const coordinator = plan.coordinatorName!;
    const status = plan.statusConfigMap!;
    const source = sourceAccess(plan.source);
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
    // Pod Security restricted for every pod (issue 11): non-root, fsGroup so that the PVC is writable, RuntimeDefault
    // seccomp, no capabilities, no privilege escalation, read-only root.
    const pod = (container: k8s.Container, volumes: k8s.Volume[]): k8s.PodSpec => ({
      serviceAccountName: coordinator,
      automountServiceAccountToken: true,
      ...(cluster.backup.priorityClassName ? { priorityClassName: cluster.backup.priorityClassName } : {}),
      securityContext: { seccompProfile: { type: 'RuntimeDefault' }, runAsNonRoot: true, runAsUser: HOSTED_USER, runAsGroup: HOSTED_USER, fsGroup: HOSTED_USER },
      containers: [{ ...container, securityContext: restricted }],
      volumes,
    });

    const coordinatorCommon = this.commonVolumes(cluster, plan, restorePlanKey('coordinator'));
    this.job(coordinator, meta, cluster, pod({
      name: 'coordinator',
      image: cluster.backup.images.tools,
      imagePullPolicy: cluster.backup.images.pullPolicy,
      command: agentCommand('restore-coordinator'),
      env: [...coordinatorCommon.env, ...source.env],
      volumeMounts: [...coordinatorCommon.mounts, ...source.mounts],
    }, [...coordinatorCommon.volumes, ...source.volumes]));

    for (const member of plan.members) this.replica(cluster, plan, member, meta, pod, source);
  }

  private replica(cluster: Cluster, plan: RestorePlan, member: RestoreMember, meta: (name: string) => k8s.ObjectMeta,
    pod: (container: k8s.Container, volumes: k8s.Volume[]) => k8s.PodSpec, source: ReturnType<typeof sourceAccess>): void {
    const common = this.commonVolumes(cluster, plan, restorePlanKey(member));
    this.job(member.jobName, meta, cluster, pod({
      name: 'restore',
      image: cluster.backup.images.tools,
      imagePullPolicy: cluster.backup.images.pullPolicy,
      command: agentCommand('restore-replica'),
      env: [...common.env, ...source.env],
      volumeMounts: [...common.mounts, { name: 'etcd-data', mountPath: RESTORE_PATHS.volume }, ...source.mounts],
    }, [...common.volumes, { name: 'etcd-data', persistentVolumeClaim: { claimName: member.claimName! } }, ...source.volumes]));
  }
}

/** What a kubeadm member's restore pod is, as a Job's pod and as a static pod: the agent as root on the node's folders. */
function memberPod(cluster: Cluster, plan: RestorePlan, own: { command: string[]; env: k8s.EnvVar[]; mounts: k8s.VolumeMount[]; volumes: k8s.Volume[] }): k8s.PodSpec {
  if (cluster.topology.kind !== 'kubeadm') throw new Error(`${cluster.name} is not a kubeadm cluster`);
  const topology = cluster.topology;
  return {
    hostNetwork: true,
    automountServiceAccountToken: false,
    securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
    containers: [{
      name: 'restore',
      image: cluster.backup.images.tools,
      imagePullPolicy: cluster.backup.images.pullPolicy,
      command: own.command,
      env: own.env,
      volumeMounts: [
        ...own.mounts,
        { name: 'etcd-data', mountPath: topology.dataDir },
        { name: 'manifests', mountPath: topology.manifestsDir },
        { name: 'pki', mountPath: topology.pkiDir, readOnly: !plan.request.pki },
      ],
      securityContext: {
        // Root without capabilities: the data dir, the manifests and the PKI are root-owned on the node.
        runAsUser: 0, runAsNonRoot: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] },
      },
    }],
    volumes: [
      ...own.volumes,
      { name: 'etcd-data', hostPath: { path: topology.dataDir, type: 'Directory' } },
      { name: 'manifests', hostPath: { path: topology.manifestsDir, type: 'Directory' } },
      { name: 'pki', hostPath: { path: topology.pkiDir, type: 'Directory' } },
    ],
  };
}

/**
 * The kubeadm restore without an API server (issue 11 item 1): per member, a static pod an operator copies into the
 * kubelet's folder on that node (RUNBOOK.md says how). The kubelet runs it with the API server down, so it refers to
 * no API object: its plan is in its env, and the age identity, the storage's credentials and CA bundle are files the
 * operator put into the restore's folder on the node (hostPath). Not applied by kustomize: `static-pods/<member>.yaml`.
 */
export class RestoreStaticPodsChart extends Chart {
  /** member name -> its Pod */
  readonly pods: ReadonlyMap<string, k8s.KubePod>;

  constructor(scope: Construct, id: string, props: RestoreChartProps) {
    super(scope, id, { disableResourceNameHashes: true });
    const { cluster, plan } = props;
    if (cluster.topology.kind !== 'kubeadm') throw new Error(`${cluster.name} is not a kubeadm cluster: static pods restore kubeadm members only`);
    const pods = new Map<string, k8s.KubePod>();
    const files = STATIC_POD_FILES.dir(plan.request.id);
    // a local storage is a folder on the node, as for the Job; an S3 storage is reached with the files in `files`
    const local = plan.source.hostPath
      ? { volumes: [{ name: 'local-source', hostPath: { path: plan.source.hostPath, type: 'Directory' } }], mounts: [{ name: 'local-source', mountPath: `${POD_PATHS.localDestinations}/${plan.source.storage}`, readOnly: true }] }
      : { volumes: [], mounts: [] };
    for (const member of plan.members) {
      const agentPlan = agentMemberPlan(cluster, plan, member, { staticPod: true });
      const spec = memberPod(cluster, plan, {
        command: ['controlplane-backup', 'agent', 'restore-member', '--plan-env', RESTORE_PATHS.planEnv],
        env: [
          TMPDIR_ENV,
          // the variables a Job takes from Secrets and ConfigMaps come from the env file instead (the plan names it)
          ...plan.source.agentEnv.filter((variable) => 'value' in variable.source).map((variable) => envVar(variable.name, variable.source)),
          { name: RESTORE_PATHS.planEnv, value: JSON.stringify(agentPlan) },
        ],
        mounts: [
          { name: 'scratch', mountPath: POD_PATHS.scratch },
          { name: 'restore-files', mountPath: RESTORE_PATHS.identity, readOnly: true },
          ...local.mounts,
        ],
        volumes: [
          { name: 'scratch', emptyDir: { sizeLimit: k8s.Quantity.fromString(cluster.backup.scratchSize) } },
          // DirectoryOrCreate: without the operator's files the agent says which one is missing, in `crictl logs`
          { name: 'restore-files', hostPath: { path: files, type: 'DirectoryOrCreate' } },
          ...local.volumes,
        ],
      });
      pods.set(member.name, new k8s.KubePod(this, member.name, {
        metadata: objectMeta(cluster.name, 'restore', staticRestorePodName(cluster.name, plan.request.id), STATIC_POD_NAMESPACE, {
          annotations: { 'controlplane-backup.io/restore-id': plan.request.id, 'controlplane-backup.io/member': member.name },
        }),
        spec: {
          ...spec,
          // run once: the pod removes its own manifest when its result is recorded; a failure waits for a person
          restartPolicy: 'Never',
          // the cluster's DNS is down with its API server: the node's resolver finds the storage
          dnsPolicy: 'Default',
          enableServiceLinks: false,
          activeDeadlineSeconds: RESTORE_DEADLINE_SECONDS,
        },
      }));
    }
    this.pods = pods;
  }
}

/** Every restore request of a cluster, planned. */
export function restorePlans(inventory: Inventory, cluster: Cluster): RestorePlan[] {
  return cluster.restores.map((request) => planRestore(inventory, cluster, request));
}
