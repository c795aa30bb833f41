/** The scheduled backup of one cluster and its on-demand backups, with what they need to run. */
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import type { Cluster } from '../inventory/model';
import type { BackupPlan } from '../plan/backup';
import type { ClusterPlan } from '../plan/cluster';
import { backupPodMetadata, backupPodSpec, cronJobTiming, tokenlessServiceAccount } from './backup-pod';
import { objectMeta } from './metadata';

export interface BackupProps {
  /** The cluster's plan: its backup, on-demand requests and the config ConfigMap's files (`planCluster`). */
  readonly plan: ClusterPlan;
}

export class Backup extends Construct {
  constructor(scope: Construct, id: string, props: BackupProps) {
    super(scope, id);
    const { cluster, backup: plan } = props.plan;
    const { namespace } = plan;
    const name = cluster.name;

    tokenlessServiceAccount(this, objectMeta(name, 'backup', plan.serviceAccountName, namespace), props.plan.backupServiceAccountDestinations);

    new k8s.KubeConfigMap(this, 'Config', {
      metadata: objectMeta(name, 'backup', plan.configMapName, namespace),
      data: { ...props.plan.configFiles },
    });

    new k8s.KubeCronJob(this, 'Resource', {
      metadata: objectMeta(name, 'backup', plan.cronJobName, namespace),
      spec: {
        ...cronJobTiming(cluster, plan),
        jobTemplate: {
          metadata: { labels: objectMeta(name, 'backup', '').labels },
          spec: jobSpec(cluster, plan),
        },
      },
    });

    for (const { request, jobName, plan: requestPlan } of props.plan.onDemandBackups) {
      new k8s.KubeJob(this, `OnDemand-${request}`, {
        metadata: objectMeta(name, 'backup', jobName, namespace, {
          annotations: { 'controlplane-backup.io/request': request },
        }),
        // No ttlSecondsAfterFinished: a deleted Job would be re-created, and re-run, by the next GitOps sync.
        spec: jobSpec(cluster, requestPlan, request),
      });
    }
  }
}

function jobSpec(cluster: Cluster, plan: BackupPlan, request?: string): k8s.JobSpec {
  const { backup } = cluster;
  return {
    backoffLimit: backup.backoffLimit,
    activeDeadlineSeconds: backup.activeDeadlineSeconds,
    template: {
      metadata: backupPodMetadata(plan, objectMeta(cluster.name, 'backup', '').labels!),
      spec: backupPodSpec({ cluster, plan, request }),
    },
  };
}
