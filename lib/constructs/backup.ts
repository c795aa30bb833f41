/** The scheduled backup of one cluster and its on-demand backups, with what they need to run. */
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import type { Cluster } from '../inventory/model';
import type { BackupPlan } from '../plan/backup';
import {
  backupConfigMapName, backupCronJobName, backupNetworkPolicyName, backupServiceAccountName, onDemandJobName,
} from '../plan/names';
import { agentBackupPlan, agentDrillPlan, backupPlanFile, DRILL_PLAN_FILE, planText } from '../plan/agent';
import type { DrillPlan } from '../plan/drill';
import { AGE_RECIPIENTS_FILE, backupPodSpec } from './backup-pod';
import { objectMeta } from './metadata';

export interface BackupProps {
  readonly cluster: Cluster;
  readonly plan: BackupPlan;
  /** Plans of the on-demand requests, by request name (they may name other storages). */
  readonly onDemandPlans: readonly { readonly request: string; readonly plan: BackupPlan }[];
  /** The restore drill's plan, rendered into the same ConfigMap. @default no drill */
  readonly drillPlan?: DrillPlan;
}

export class Backup extends Construct {
  constructor(scope: Construct, id: string, props: BackupProps) {
    super(scope, id);
    const { cluster, plan } = props;
    const { backup } = cluster;
    const namespace = plan.namespace;
    const name = cluster.name;

    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: objectMeta(name, 'backup', backupServiceAccountName(name), namespace),
      // The pod talks to etcd and object storage only, never to the Kubernetes API.
      automountServiceAccountToken: false,
    });

    new k8s.KubeConfigMap(this, 'Config', {
      metadata: objectMeta(name, 'backup', backupConfigMapName(name), namespace),
      data: {
        // Public keys only: the matching identities never leave the operators' hands.
        [AGE_RECIPIENTS_FILE]: backup.encryption.recipients.map((recipient) => `${recipient}\n`).join(''),
        // The agent's plans (no credentials: those come from Secrets through env).
        [backupPlanFile()]: planText(agentBackupPlan(cluster, plan)),
        ...Object.fromEntries(props.onDemandPlans.map(({ request, plan: requestPlan }) => [backupPlanFile(request), planText(agentBackupPlan(cluster, requestPlan, request))])),
        ...(props.drillPlan ? { [DRILL_PLAN_FILE]: planText(agentDrillPlan(cluster, props.drillPlan)) } : {}),
      },
    });

    new k8s.KubeCronJob(this, 'Resource', {
      metadata: objectMeta(name, 'backup', backupCronJobName(name), namespace),
      spec: {
        schedule: backup.schedule,
        timeZone: backup.timeZone,
        suspend: backup.suspend,
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: backup.startingDeadlineSeconds,
        successfulJobsHistoryLimit: backup.successfulJobsHistoryLimit,
        failedJobsHistoryLimit: backup.failedJobsHistoryLimit,
        jobTemplate: {
          metadata: { labels: objectMeta(name, 'backup', '').labels },
          spec: jobSpec(cluster, plan),
        },
      },
    });

    for (const { request, plan: requestPlan } of props.onDemandPlans) {
      new k8s.KubeJob(this, `OnDemand-${request}`, {
        metadata: objectMeta(name, 'backup', onDemandJobName(name, request), namespace, {
          annotations: { 'controlplane-backup.io/request': request },
        }),
        // No ttlSecondsAfterFinished: a deleted Job would be re-created, and re-run, by the next GitOps sync.
        spec: jobSpec(cluster, requestPlan, request),
      });
    }

    if (cluster.topology.kind === 'hosted') {
      this.networkPolicy(cluster, plan);
    }
  }

  /**
   * Hosted clusters only: hostNetwork pods (kubeadm) are outside NetworkPolicy in common CNIs, so a policy there
   * would only pretend. No ingress at all; egress to etcd's client port in this namespace, DNS, and object storage.
   */
  private networkPolicy(cluster: Cluster, plan: BackupPlan): void {
    const etcdPort = Number(new URL(plan.etcd.endpoint).port || 2379);
    // An ObjectBucketClaim's port is known only at run time: then egress to object storage is open on every port.
    const storagePorts = plan.destinations.filter((d) => d.kind !== 'local').map((d) => endpointPort(d.env));
    const storageRule: k8s.NetworkPolicyEgressRule = storagePorts.includes(undefined)
      ? {}
      : { ports: [...new Set(storagePorts as number[])].sort((a, b) => a - b).map((port) => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) })) };
    new k8s.KubeNetworkPolicy(this, 'NetworkPolicy', {
      metadata: objectMeta(cluster.name, 'network-policy', backupNetworkPolicyName(cluster.name), plan.namespace),
      spec: {
        // The backup pods and the restore drill's: both reach object storage only (the drill's etcd is on its loopback).
        podSelector: {
          matchLabels: { 'app.kubernetes.io/instance': cluster.name },
          matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'In', values: ['backup', 'drill'] }],
        },
        policyTypes: ['Ingress', 'Egress'],
        egress: [
          { to: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(etcdPort) }] },
          {
            to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
            ports: [{ protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) }, { protocol: 'TCP', port: k8s.IntOrString.fromNumber(53) }],
          },
          ...(storagePorts.length ? [storageRule] : []),
        ],
      },
    });
  }
}

function endpointPort(env: BackupPlan['destinations'][number]['env']): number | undefined {
  const endpoint = env.find((variable) => variable.name.endsWith('_ENDPOINT'))?.source;
  if (!endpoint || !('value' in endpoint) || endpoint.value.includes('$(')) return undefined;
  const url = new URL(endpoint.value);
  return Number(url.port || (url.protocol === 'http:' ? 80 : 443));
}

function jobSpec(cluster: Cluster, plan: BackupPlan, request?: string): k8s.JobSpec {
  const { backup } = cluster;
  return {
    backoffLimit: backup.backoffLimit,
    activeDeadlineSeconds: backup.activeDeadlineSeconds,
    template: {
      metadata: { labels: objectMeta(cluster.name, 'backup', '').labels },
      spec: backupPodSpec({ cluster, plan, request }),
    },
  };
}
