/** Everything one cluster gets, as one Chart: its folder in dist/ is this chart's objects and nothing else. */
import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { clusterStorages, type Cluster, type Inventory } from '../inventory/model';
import { planAlerts } from '../plan/alerts';
import { planBackup, planDestination } from '../plan/backup';
import { Alerts } from './alerts';
import { planDrill } from '../plan/drill';
import { Backup } from './backup';
import { Drill } from './drill';
import { applySyncWaves, objectMeta } from './metadata';
import { StorageAccess } from './storage';
import { planNetworkPolicy } from '../plan/network-policy';
import { BackupNetworkPolicy } from './network-policy';

export interface ClusterChartProps {
  readonly inventory: Inventory;
  readonly cluster: Cluster;
}

export class ClusterChart extends Chart {
  constructor(scope: Construct, props: ClusterChartProps) {
    // Names are set explicitly on every object; no hash suffixes.
    super(scope, props.cluster.name, { disableResourceNameHashes: true });
    const { inventory, cluster } = props;
    const plan = planBackup(inventory, cluster);
    const onDemandPlans = cluster.onDemandBackups.map((request) => ({
      request: request.name,
      plan: planBackup(inventory, cluster, request.storages),
    }));

    if (cluster.topology.kind === 'kubeadm') {
      // The backup pod needs hostNetwork and hostPath: the namespace must admit privileged pods, and nothing else runs there.
      new k8s.KubeNamespace(this, 'Namespace', {
        metadata: objectMeta(cluster.name, 'namespace', plan.namespace, undefined, {
          labels: {
            'pod-security.kubernetes.io/enforce': 'privileged',
            'pod-security.kubernetes.io/warn': 'privileged',
            'pod-security.kubernetes.io/audit': 'privileged',
          },
        }),
      });
    }

    const storageNames = clusterStorages(cluster).sort();
    for (const storageName of storageNames) {
      new StorageAccess(this, `Storage-${storageName}`, { cluster, namespace: plan.namespace, storage: inventory.storages[storageName] });
    }

    const networkPolicy = planNetworkPolicy(inventory, cluster);
    // Its construct path changed when it left Backup; names are explicit, so the object is the same.
    if (networkPolicy) new BackupNetworkPolicy(this, 'NetworkPolicy', { plan: networkPolicy });
    const drill = planDrill(cluster, plan);
    // kubeadm restores run as the backup's ServiceAccount (hosted ones as their coordinator's): its identity covers their sources.
    const restoreSources = cluster.topology.kind === 'kubeadm'
      ? cluster.restores.map((request) => planDestination(cluster, inventory.storages[request.storage], cluster.backup.retention))
      : [];
    new Backup(this, 'Backup', { cluster, plan, onDemandPlans, restoreSources, ...(drill ? { drillPlan: drill } : {}) });
    if (drill) new Drill(this, 'Drill', { cluster, plan: drill });
    const alertPlan = planAlerts(cluster, plan.namespace, drill);
    if (alertPlan) new Alerts(this, 'Alerts', { plan: alertPlan });
    applySyncWaves(this);
  }
}
