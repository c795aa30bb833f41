/** The scheduled backup of one cluster and its on-demand backups, with what they need to run. */
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import type { Cluster } from '../inventory/model';
import type { BackupPlan, DestinationPlan } from '../plan/backup';
import {
  backupConfigMapName, backupCronJobName, backupServiceAccountName, onDemandJobName,
} from '../plan/names';
import { agentBackupPlan, agentDrillPlan, backupPlanFile, DRILL_PLAN_FILE, planText } from '../plan/agent';
import type { DrillPlan } from '../plan/drill';
import { AGE_RECIPIENTS_FILE, backupPodMetadata, backupPodSpec, cronJobTiming, tokenlessServiceAccount } from './backup-pod';
import { objectMeta } from './metadata';

export interface BackupProps {
  readonly cluster: Cluster;
  readonly plan: BackupPlan;
  /** Plans of the on-demand requests, by request name (they may name other storages). */
  readonly onDemandPlans: readonly { readonly request: string; readonly plan: BackupPlan }[];
  /** The restore drill's plan, rendered into the same ConfigMap. @default no drill */
  readonly drillPlan?: DrillPlan;
  /** The sources of the kubeadm restores, which run as the backup's ServiceAccount. @default none */
  readonly restoreSources?: readonly DestinationPlan[];
}

export class Backup extends Construct {
  constructor(scope: Construct, id: string, props: BackupProps) {
    super(scope, id);
    const { cluster, plan } = props;
    const { backup } = cluster;
    const namespace = plan.namespace;
    const name = cluster.name;

    // Its pods: the backups (scheduled and on demand) and the kubeadm restores.
    tokenlessServiceAccount(this, objectMeta(name, 'backup', backupServiceAccountName(name), namespace),
      [...plan.destinations, ...props.onDemandPlans.flatMap((request) => request.plan.destinations), ...(props.restoreSources ?? [])]);

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
        ...cronJobTiming(cluster, backup.schedule, backup.timeZone),
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
  }
}

function jobSpec(cluster: Cluster, plan: BackupPlan, request?: string): k8s.JobSpec {
  const { backup } = cluster;
  return {
    backoffLimit: backup.backoffLimit,
    activeDeadlineSeconds: backup.activeDeadlineSeconds,
    template: {
      metadata: backupPodMetadata(cluster, plan, objectMeta(cluster.name, 'backup', '').labels!),
      spec: backupPodSpec({ cluster, plan, request }),
    },
  };
}
