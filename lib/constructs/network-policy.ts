/** The NetworkPolicy of a hosted cluster's backup and drill pods: no ingress, egress only where they must go. */
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { NetworkPolicyPlan } from '../plan/network-policy';
import { objectMeta } from './metadata';

export interface BackupNetworkPolicyProps {
  readonly plan: NetworkPolicyPlan;
}

const tcp = (port: number): k8s.NetworkPolicyPort => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) });

export class BackupNetworkPolicy extends Construct {
  constructor(scope: Construct, id: string, props: BackupNetworkPolicyProps) {
    super(scope, id);
    const { plan } = props;
    new k8s.KubeNetworkPolicy(this, 'Resource', {
      metadata: objectMeta(plan.cluster, 'network-policy', plan.name, plan.namespace),
      spec: {
        // The backup pods, the restore drill's and the prune pods: all reach object storage only (the drill's etcd is on its loopback).
        podSelector: {
          matchLabels: { 'app.kubernetes.io/instance': plan.cluster },
          matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'In', values: ['backup', 'drill', 'prune'] }],
        },
        policyTypes: ['Ingress', 'Egress'],
        egress: [
          { to: [{ podSelector: {} }], ports: [tcp(plan.etcdPort)] },
          {
            to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
            ports: [{ protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) }, tcp(53)],
          },
          // Object storage is outside the cluster or behind a Service: by port, to any address.
          ...(plan.storagePorts.length ? [{ ports: plan.storagePorts.map(tcp) }] : []),
        ],
      },
    });
  }
}
