/**
 * A restore request of one cluster, as the objects of its own folder (`dist/<cluster>/restore-<id>/`), applied on
 * purpose and never by an automated sync. kubeadm: one Job per member, pinned to its node, and (RestoreStaticPodsChart)
 * one static pod per member for when the API server is down. hosted: a coordinator Job that walks the state machine
 * through the API, and one Job per StatefulSet ordinal that rebuilds that replica's volume.
 */
import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import type { Cluster } from '../inventory/model';
import { POD_PATHS, type DestinationPlan } from '../plan/backup';
import { RESTORE_DEADLINE_SECONDS, RESTORE_PATHS, restorePlanKey, type AccessRule, type RestoreMember, type RestorePlan, type StaticPodsPlan } from '../plan/restore';
import { objectMeta } from './metadata';
import {
  agentCommand, caBundleVolume, configMapVolume, containerSecurityContext, destinationEnv, identityAccess, podSecurityContext, scratchVolume, TMPDIR_ENV,
  type MountedVolume,
} from './pod';

export interface RestoreChartProps {
  readonly cluster: Cluster;
  /** One restore request of the cluster (`ClusterPlan.restores`). */
  readonly plan: RestorePlan;
}

/** A local (node) storage: its folder on the node, read-only where the agent's plan expects it; none for S3. */
function localSource(source: DestinationPlan): MountedVolume[] {
  if (!source.hostPath) return [];
  return [{
    volume: { name: 'local-source', hostPath: { path: source.hostPath, type: 'Directory' } },
    mount: { name: 'local-source', mountPath: `${POD_PATHS.localDestinations}/${source.storage}`, readOnly: true },
  }];
}

/** Env and mounts that let a restore pod read the source storage (the agent's credentials env, CA bundle, local dir). */
function sourceAccess(source: DestinationPlan): { env: k8s.EnvVar[]; volumes: k8s.Volume[]; mounts: k8s.VolumeMount[] } {
  const identity = identityAccess([source]);
  const access = [...identity.volumes, ...localSource(source)];
  const volumes: k8s.Volume[] = access.map((a) => a.volume);
  const mounts: k8s.VolumeMount[] = access.map((a) => a.mount);
  const env = [...destinationEnv(source), ...identity.env];
  if (source.caBundle) {
    const ca = caBundleVolume('ca-source', source.caBundle);
    volumes.push(ca.volume);
    mounts.push(ca.mount);
  }
  return { env, volumes, mounts };
}

/** A plan's rule as a Role's rule (the k8s types want mutable arrays). */
const policyRule = (rule: AccessRule): k8s.PolicyRule => ({
  apiGroups: [...rule.apiGroups], resources: [...rule.resources], resourceNames: [...rule.resourceNames], verbs: [...rule.verbs],
});

export class RestoreChart extends Chart {
  constructor(scope: Construct, id: string, props: RestoreChartProps) {
    super(scope, id, { disableResourceNameHashes: true });
    const { cluster, plan } = props;
    const meta = (name: string, extra: Parameters<typeof objectMeta>[4] = {}) =>
      objectMeta(cluster.name, 'restore', name, plan.namespace, { ...extra, annotations: { 'controlplane-backup.io/restore-id': plan.request.id, ...extra.annotations } });

    // One typed plan per pod (lib/agent/restore/plans.ts), each mounted as that pod's plan file.
    new k8s.KubeConfigMap(this, 'Plan', {
      metadata: meta(plan.planConfigMap),
      data: Object.fromEntries(Object.entries(plan.podPlans).map(([key, value]) => [key, `${JSON.stringify(value, null, 2)}\n`])),
    });
    if (cluster.topology.kind === 'kubeadm') this.kubeadm(props, meta);
    else this.hosted(props, meta);
  }

  /** scratch (TMPDIR points into it: the root filesystem is read-only), the pod's plan, the age identity */
  private commonVolumes(cluster: Cluster, plan: RestorePlan, planKey: string): { volumes: k8s.Volume[]; mounts: k8s.VolumeMount[]; env: k8s.EnvVar[] } {
    const scratch = scratchVolume(cluster.backup.scratchSize);
    const podPlan = configMapVolume('plan', plan.planConfigMap, RESTORE_PATHS.planDir, [{ key: planKey, path: 'plan.json' }]);
    return {
      volumes: [
        scratch.volume,
        podPlan.volume,
        // Optional: without it the agent says plainly that the decryption key is missing, instead of a pod stuck in ContainerCreating.
        { name: 'identity', secret: { secretName: plan.identitySecret, optional: true, defaultMode: 0o440 } },
      ],
      mounts: [scratch.mount, podPlan.mount, { name: 'identity', mountPath: RESTORE_PATHS.identity, readOnly: true }],
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
      const pod = memberPod(cluster, plan, { command: agentCommand('restore-member', RESTORE_PATHS.planFile), env: [...common.env, ...source.env], mounts: [...common.mounts, ...source.mounts], volumes: [...common.volumes, ...source.volumes] });
      this.job(member.jobName, meta, cluster, {
        // nodeName, not a selector: the scheduler may be down while etcd is.
        nodeName: member.name,
        dnsPolicy: 'ClusterFirstWithHostNet',
        tolerations: [{ operator: 'Exists' }],
        serviceAccountName: plan.serviceAccountName,
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
    const ownerAccess = plan.ownerAccess ?? [];
    const source = sourceAccess(plan.source);
    // No data: a later `kubectl apply` of this folder must never reset the phase the coordinator wrote.
    new k8s.KubeConfigMap(this, 'Status', { metadata: meta(status) });
    // The coordinator's and the replicas' pods read the source: its workload identity goes on this ServiceAccount.
    const { serviceAccountAnnotations } = identityAccess([plan.source]);
    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: meta(coordinator, { annotations: serviceAccountAnnotations }) });
    new k8s.KubeRole(this, 'Role', {
      metadata: meta(coordinator),
      rules: [
        { apiGroups: ['apps'], resources: ['statefulsets', 'statefulsets/scale'], resourceNames: [topology.statefulSet], verbs: ['get', 'patch'] },
        ...(topology.controlPlaneDeployments.length
          ? [{ apiGroups: ['apps'], resources: ['deployments', 'deployments/scale'], resourceNames: [...topology.controlPlaneDeployments], verbs: ['get', 'patch'] }]
          : []),
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
        { apiGroups: [''], resources: ['configmaps'], resourceNames: [status], verbs: ['get', 'patch'] },
        ...ownerAccess.filter((access) => !access.roleName).flatMap((access) => access.rules.map(policyRule)),
      ],
    });
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: meta(coordinator),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: coordinator },
      subjects: [{ kind: 'ServiceAccount', name: coordinator, namespace: plan.namespace }],
    });
    // Pausing an owner elsewhere (Flux's or Argo CD's namespace) needs get/patch on exactly that object there.
    for (const access of ownerAccess) {
      if (!access.roleName) continue;
      const metadata = { ...meta(access.roleName), namespace: access.namespace };
      new k8s.KubeRole(this, `OwnerRole-${access.namespace}`, { metadata, rules: access.rules.map(policyRule) });
      new k8s.KubeRoleBinding(this, `OwnerRoleBinding-${access.namespace}`, {
        metadata,
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: access.roleName },
        subjects: [{ kind: 'ServiceAccount', name: coordinator, namespace: plan.namespace }],
      });
    }

    // Pod Security restricted for every pod (issue 11): non-root, fsGroup so that the PVC is writable, RuntimeDefault
    // seccomp, no capabilities, no privilege escalation, read-only root.
    const pod = (container: k8s.Container, volumes: k8s.Volume[]): k8s.PodSpec => ({
      serviceAccountName: plan.serviceAccountName,
      automountServiceAccountToken: true,
      ...(cluster.backup.priorityClassName ? { priorityClassName: cluster.backup.priorityClassName } : {}),
      securityContext: podSecurityContext(plan.runAsUser),
      containers: [{ ...container, securityContext: containerSecurityContext(plan.runAsUser) }],
      volumes,
    });

    const coordinatorCommon = this.commonVolumes(cluster, plan, restorePlanKey('coordinator'));
    this.job(coordinator, meta, cluster, pod({
      name: 'coordinator',
      image: cluster.backup.images.tools,
      imagePullPolicy: cluster.backup.images.pullPolicy,
      command: agentCommand('restore-coordinator', RESTORE_PATHS.planFile),
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
      command: agentCommand('restore-replica', RESTORE_PATHS.planFile),
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
    securityContext: podSecurityContext(plan.runAsUser),
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
      // Root without capabilities: the data dir, the manifests and the PKI are root-owned on the node.
      securityContext: containerSecurityContext(plan.runAsUser),
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
 * The kubeadm restore without an API server (issue 11 item 1): `RestorePlan.staticPods` as one Pod per member, which
 * an operator copies into the kubelet's folder on that node (RUNBOOK.md says how). It refers to no API object: its
 * plan is in its env, and the age identity, the storage's credentials and CA bundle are files the operator put into
 * the restore's folder on the node (hostPath). Not applied by kustomize: `static-pods/<member>.yaml`.
 */
export class RestoreStaticPodsChart extends Chart {
  /** its file in the restore folder (`static-pods/<member>.yaml`) -> the member's Pod */
  readonly pods: ReadonlyMap<string, k8s.KubePod>;

  constructor(scope: Construct, id: string, props: RestoreChartProps) {
    super(scope, id, { disableResourceNameHashes: true });
    const { cluster, plan } = props;
    const staticPods: StaticPodsPlan | undefined = plan.staticPods;
    if (!staticPods) throw new Error(`${cluster.name} is not a kubeadm cluster: static pods restore kubeadm members only`);
    const pods = new Map<string, k8s.KubePod>();
    const scratch = scratchVolume(cluster.backup.scratchSize);
    // a local storage is a folder on the node, as for the Job; an S3 storage is reached with the files in nodeDir
    const local = localSource(plan.source);
    for (const pod of staticPods.pods) {
      const spec = memberPod(cluster, plan, {
        command: agentCommand('restore-member', { env: RESTORE_PATHS.planEnv }),
        env: [
          TMPDIR_ENV,
          // the variables a Job takes from Secrets and ConfigMaps come from the env file instead (the plan names it)
          ...staticPods.env.map((variable) => ({ ...variable })),
          { name: RESTORE_PATHS.planEnv, value: JSON.stringify(pod.plan) },
        ],
        mounts: [scratch.mount, { name: 'restore-files', mountPath: RESTORE_PATHS.identity, readOnly: true }, ...local.map((l) => l.mount)],
        volumes: [
          scratch.volume,
          // DirectoryOrCreate: without the operator's files the agent says which one is missing, in `crictl logs`
          { name: 'restore-files', hostPath: { path: staticPods.nodeDir, type: 'DirectoryOrCreate' } },
          ...local.map((l) => l.volume),
        ],
      });
      pods.set(pod.file, new k8s.KubePod(this, `StaticPod-${pod.member}`, {
        metadata: objectMeta(cluster.name, 'restore', staticPods.name, staticPods.namespace, {
          annotations: { 'controlplane-backup.io/restore-id': plan.request.id, 'controlplane-backup.io/member': pod.member },
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
