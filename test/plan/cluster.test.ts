import { App } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { ClusterChart, objectFile, planCluster } from '../../lib';
import { renderInventory } from '../../lib/synth/render';
import { exampleDocument, inventoryOf } from '../support/inventory';

const inventory = inventoryOf(exampleDocument());

describe('planCluster', () => {
  it('is all a ClusterChart needs: the chart of a plan holds the objects synth writes for that cluster', () => {
    const cli = renderInventory(inventory);
    const chart = new ClusterChart(new App(), { plan: planCluster(inventory, 'tenant-a') });
    const objects = chart.toJson();
    expect(objects.length).toBeGreaterThan(0);
    for (const object of objects) {
      const { path, text } = objectFile('tenant-a', object);
      expect(text, path).toBe(cli.get(path));
    }
  });

  it('decides the pod users: root without capabilities only where kubeadm node files are root-owned', () => {
    const kubeadm = planCluster(inventory, 'staging-us-1');
    const hosted = planCluster(inventory, 'tenant-b');
    expect(kubeadm.backup.runAsUser).toBe(0);
    expect(kubeadm.restores.map((restore) => restore.runAsUser)).toEqual([0]);
    expect(kubeadm.drill?.runAsUser).toBe(65532);
    expect(hosted.backup.runAsUser).toBe(65532);
    expect(hosted.restores.map((restore) => restore.runAsUser)).toEqual([65532]);
    expect(hosted.drill?.runAsUser).toBe(65532);
  });

  it('plans each restore with its pods\' agent plans, and the namespace only where the chart creates it', () => {
    const kubeadm = planCluster(inventory, 'staging-us-1');
    expect(Object.keys(kubeadm.restores[0].podPlans)).toEqual(['member-staging-cp.json']);
    expect(kubeadm.namespaceLabels?.['pod-security.kubernetes.io/enforce']).toBe('privileged');
    const hosted = planCluster(inventory, 'tenant-b');
    expect(Object.keys(hosted.restores[0].podPlans)).toEqual(['coordinator.json', 'replica-0.json']);
    expect(hosted.namespaceLabels).toBeUndefined();
  });

  it('fails if the inventory has no such cluster, naming the clusters it has', () => {
    expect(() => planCluster(inventory, 'prod-eu-2')).toThrow(
      'the inventory has no cluster "prod-eu-2"; its clusters are prod-eu-1, staging-us-1, tenant-a and tenant-b',
    );
  });
});
