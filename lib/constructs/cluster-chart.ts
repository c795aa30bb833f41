/** Everything one cluster gets, as one Chart: its folder in dist/ is this chart's objects and nothing else. */
import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import type { ClusterPlan } from '../plan/cluster';
import { Alerts } from './alerts';
import { Backup } from './backup';
import { ToolsCronJob } from './backup-pod';
import { drillPodSpec } from './drill';
import { applySyncWaves, objectMeta } from './metadata';
import { BackupNetworkPolicy } from './network-policy';
import { prunePodSpec } from './prune';
import { DRILL_BACKOFF_LIMIT } from '../plan/drill';
import { PRUNE_BACKOFF_LIMIT } from '../plan/prune';
import { StorageAccess } from './storage';

export interface ClusterChartProps {
  /** Every decision for the cluster: `planCluster(inventory, name)`. */
  readonly plan: ClusterPlan;
}

export class ClusterChart extends Chart {
  constructor(scope: Construct, props: ClusterChartProps) {
    const { plan } = props;
    const { cluster, backup } = plan;
    // Names are set explicitly on every object; no hash suffixes.
    super(scope, cluster.name, { disableResourceNameHashes: true });

    if (plan.namespaceLabels) {
      new k8s.KubeNamespace(this, 'Namespace', {
        metadata: objectMeta(cluster.name, 'namespace', backup.namespace, undefined, { labels: { ...plan.namespaceLabels } }),
      });
    }
    for (const storage of plan.storages) {
      new StorageAccess(this, `Storage-${storage.name}`, { cluster, namespace: backup.namespace, storage });
    }
    // Its construct path changed when it left Backup; names are explicit, so the object is the same.
    if (plan.networkPolicy) new BackupNetworkPolicy(this, 'NetworkPolicy', { plan: plan.networkPolicy });
    new Backup(this, 'Backup', { plan });
    const { drill, prune } = plan;
    if (drill) new ToolsCronJob(this, 'Drill', { cluster, component: 'drill', plan: drill, backoffLimit: DRILL_BACKOFF_LIMIT, podSpec: drillPodSpec(cluster, drill), destinations: [drill.source] });
    if (prune) new ToolsCronJob(this, 'Prune', { cluster, component: 'prune', plan: prune, backoffLimit: PRUNE_BACKOFF_LIMIT, podSpec: prunePodSpec(cluster, prune), destinations: prune.destinations });
    if (plan.alerts) new Alerts(this, 'Alerts', { plan: plan.alerts });
    applySyncWaves(this);
  }
}
