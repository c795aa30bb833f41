/**
 * Issue 13, item 4: "a separate prune credential where the user wants writers that cannot delete". A storage's
 * `pruneCredentials` moves its retention from the backup Jobs into a prune CronJob per cluster that alone reads
 * the prune Secret; the backup pods keep only the writers' credentials.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { backupPlanSchema } from '../../lib/agent/plan';
import { loadInventory } from '../../lib/inventory/load';
import { renderInventory } from '../../lib/synth/render';
import { evaluatePodSecurity } from '../../lib/validate/pod-security';

const FIXTURE = 'test/fixtures/valid/prune-credentials.yaml';
const files = renderInventory(loadInventory(FIXTURE));
const objectsOf = (cluster: string): any[] =>
  [...files].filter(([path]) => path.startsWith(`${cluster}/`) && !path.endsWith('kustomization.yaml')).map(([, text]) => parse(text));
const find = (objects: any[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const podOf = (cronJob: any) => cronJob.spec.jobTemplate.spec.template.spec;
const secretsRead = (pod: any): string[] =>
  [...new Set(pod.containers.flatMap((c: any) => (c.env ?? []).map((e: any) => e.valueFrom?.secretKeyRef?.name)).filter(Boolean))].sort() as string[];

describe('pruneCredentials: retention by a prune CronJob with its own Secret', () => {
  it.each([['prod', 'controlplane-backup'], ['tenant', 'tenant']])('%s gets <cluster>-etcd-prune, which alone reads the prune Secret', (cluster, namespace) => {
    const objects = objectsOf(cluster);
    const prune = find(objects, 'CronJob', `${cluster}-etcd-prune`);
    expect(prune.metadata.namespace).toBe(namespace);
    const backup = find(objects, 'CronJob', `${cluster}-etcd-backup`);
    expect(prune.spec.schedule).toBe(backup.spec.schedule);
    expect(prune.spec.concurrencyPolicy).toBe('Forbid');
    const pod = podOf(prune);
    expect(pod.containers.map((c: any) => c.command)).toEqual([['controlplane-backup', 'agent', 'prune', '--plan', '/etc/controlplane-backup/prune-plan.json']]);
    expect(secretsRead(pod)).toEqual(['controlplane-backup-primary-prune']);
    expect(secretsRead(podOf(backup))).not.toContain('controlplane-backup-primary-prune');
    expect(pod.automountServiceAccountToken).toBe(false);
    // No node access: Pod Security restricted, in a kubeadm cluster's privileged namespace too.
    expect(evaluatePodSecurity(prune.spec.jobTemplate.spec.template)).toEqual({ level: 'restricted', failures: [] });
    // The storage's private CA is mounted where the plan names it.
    expect(pod.volumes.map((v: any) => v.name)).toEqual(['scratch', 'config', 'ca-primary']);
    // Its ExternalSecret writes the prune Secret beside the writers' (an existingSecret here: nothing to write).
    expect(find(objects, 'ExternalSecret', 'controlplane-backup-primary-prune').spec.target).toEqual({ name: 'controlplane-backup-primary-prune' });
    expect(find(objects, 'ServiceAccount', `${cluster}-etcd-prune`).automountServiceAccountToken).toBe(false);
  });

  it('the backup plan leaves retention of that storage to the prune CronJob; the prune plan holds that storage alone', () => {
    const config = find(objectsOf('prod'), 'ConfigMap', 'prod-backup-config').data;
    const backupPlan = backupPlanSchema.parse(JSON.parse(config['backup-plan.json']));
    expect(backupPlan.destinations.map((d) => [d.name, 'retentionBy' in d ? d.retentionBy : undefined])).toEqual([['primary', 'pruneJob'], ['writer-deletes', undefined]]);
    const prunePlan = backupPlanSchema.parse(JSON.parse(config['prune-plan.json']));
    expect(prunePlan.destinations.map((d) => d.name)).toEqual(['primary']);
    // The same env names: the prune pod's env fills them from the prune Secret.
    const prunePod = podOf(find(objectsOf('prod'), 'CronJob', 'prod-etcd-prune'));
    const credentials = prunePlan.destinations[0].kind === 's3' ? prunePlan.destinations[0].credentials : null;
    expect(prunePod.containers[0].env.find((e: any) => e.name === credentials?.accessKeyIdEnv).valueFrom.secretKeyRef)
      .toEqual({ name: 'controlplane-backup-primary-prune', key: 'AWS_ACCESS_KEY_ID' });
  });

  it('the hosted cluster\'s NetworkPolicy lets the prune pod reach the storage, and a failed prune alerts', () => {
    const objects = objectsOf('tenant');
    const policy = objects.find((o) => o.kind === 'NetworkPolicy');
    expect(policy.spec.podSelector.matchExpressions).toEqual([{ key: 'app.kubernetes.io/component', operator: 'In', values: ['backup', 'drill', 'prune'] }]);
    const rules = [...files].filter(([path]) => path.startsWith('tenant/alerts/') && !path.endsWith('kustomization.yaml')).map(([, text]) => parse(text))
      .flatMap((rule: any) => rule.spec.groups.flatMap((group: any) => group.rules));
    const pruneFailed = rules.find((rule: any) => rule.alert === 'ControlPlaneBackupPruneFailed');
    expect(pruneFailed.expr).toContain('tenant-etcd-prune');
    expect(pruneFailed.annotations.summary).toBe('A retention (prune) Job of cluster tenant failed');
  });

  it('a cluster without pruneCredentials in its schedule gets no prune CronJob', () => {
    expect(objectsOf('prod').length).toBeGreaterThan(0);
    const example = renderInventory(loadInventory('examples/inventory.yaml'));
    expect([...example.keys()].filter((path) => path.includes('etcd-prune'))).toEqual([]);
  });
});
