/**
 * The restore drill of one cluster: a CronJob whose pod takes the newest complete backup from object storage,
 * verifies and restores it into scratch space, serves it with a throwaway etcd on 127.0.0.1 inside the pod, compares
 * it with the backup's metadata and records `<base>.drill.json` beside the backup (`agent drill`). It never
 * talks to the cluster's live etcd and needs no node access, so it meets Pod Security `restricted` everywhere.
 */
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import type { Cluster } from '../inventory/model';
import { DRILL_PLAN_FILE } from '../plan/agent';
import { POD_PATHS } from '../plan/backup';
import { DRILL_BACKOFF_LIMIT, DRILL_IDENTITY_KEY, DRILL_PATHS, type DrillPlan } from '../plan/drill';
import { backupConfigMapName } from '../plan/names';
import { agentCommand, cronJobTiming, envVar, identityAccess, quantities, TMPDIR_ENV, tokenlessServiceAccount } from './backup-pod';
import { objectMeta } from './metadata';

export interface DrillProps {
  readonly cluster: Cluster;
  readonly plan: DrillPlan;
}

const DRILL_USER = 65532;



export class Drill extends Construct {
  constructor(scope: Construct, id: string, props: DrillProps) {
    super(scope, id);
    const { cluster, plan } = props;
    const { backup } = cluster;
    const name = cluster.name;

    tokenlessServiceAccount(this, objectMeta(name, 'drill', plan.serviceAccountName, plan.namespace), [plan.source]);

    new k8s.KubeCronJob(this, 'Resource', {
      metadata: objectMeta(name, 'drill', plan.cronJobName, plan.namespace),
      spec: {
        ...cronJobTiming(cluster, plan.schedule, plan.timeZone),
        jobTemplate: {
          metadata: { labels: objectMeta(name, 'drill', '').labels },
          spec: {
            backoffLimit: DRILL_BACKOFF_LIMIT,
            activeDeadlineSeconds: backup.activeDeadlineSeconds,
            template: {
              metadata: { labels: { ...identityAccess([plan.source]).podMetadata([]).labels, ...objectMeta(name, 'drill', '').labels } },
              spec: drillPodSpec(cluster, plan),
            },
          },
        },
      },
    });
  }
}

/** The drill pod: one tools container, no host access, Pod Security `restricted`. */
export function drillPodSpec(cluster: Cluster, plan: DrillPlan): k8s.PodSpec {
  const { backup } = cluster;
  const { source } = plan;
  const volumes: k8s.Volume[] = [
    { name: 'scratch', emptyDir: { sizeLimit: k8s.Quantity.fromString(backup.scratchSize) } },
    // The drill's plan is in the backup's config ConfigMap (drill-plan.json).
    { name: 'config', configMap: { name: backupConfigMapName(cluster.name), defaultMode: 0o444 } },
  ];
  const mounts: k8s.VolumeMount[] = [
    { name: 'scratch', mountPath: POD_PATHS.scratch },
    { name: 'config', mountPath: POD_PATHS.config, readOnly: true },
  ];
  if (plan.identitySecret) {
    // Optional: without the Secret the drill still verifies, and says plainly that it did not restore.
    volumes.push({
      name: 'identity',
      secret: { secretName: plan.identitySecret, optional: true, defaultMode: 0o400, items: [{ key: DRILL_IDENTITY_KEY, path: DRILL_IDENTITY_KEY }] },
    });
    mounts.push({ name: 'identity', mountPath: DRILL_PATHS.identity, readOnly: true });
  }
  // Everything else is in the plan; the env carries the storage's credentials (and a bucket claim's values).
  const identity = identityAccess([source]);
  volumes.push(...identity.volumes);
  mounts.push(...identity.mounts);
  const env: k8s.EnvVar[] = [
    TMPDIR_ENV,
    ...source.agentEnv.map((variable) => envVar(variable.name, variable.source)),
    ...identity.env,
  ];
  if (source.caBundle) {
    volumes.push({ name: 'ca-source', configMap: { name: source.caBundle.configMap, defaultMode: 0o444, items: [{ key: source.caBundle.key, path: source.caBundle.key }] } });
    mounts.push({ name: 'ca-source', mountPath: source.caBundle.mountPath, readOnly: true });
  }
  return {
    serviceAccountName: plan.serviceAccountName,
    automountServiceAccountToken: false,
    restartPolicy: 'Never',
    enableServiceLinks: false,
    ...(backup.tolerations.length ? { tolerations: backup.tolerations.map((t) => ({ ...t })) } : {}),
    securityContext: {
      runAsNonRoot: true, runAsUser: DRILL_USER, runAsGroup: DRILL_USER, fsGroup: DRILL_USER, seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [{
      name: 'drill',
      image: backup.images.tools,
      imagePullPolicy: backup.images.pullPolicy,
      command: agentCommand('drill', DRILL_PLAN_FILE),
      env,
      volumeMounts: mounts,
      resources: { requests: quantities(backup.resources.requests), limits: quantities(backup.resources.limits) },
      securityContext: {
        runAsNonRoot: true, runAsUser: DRILL_USER, runAsGroup: DRILL_USER,
        allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] },
      },
    }],
    volumes,
  };
}
