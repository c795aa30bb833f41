/**
 * Issue 12: the example fleet through the GitOps tools' apply and removal semantics (test/support/gitops-sim.ts):
 * Flux applies the core before the alerts and the backups land without the PrometheusRule CRD; an ordinary edit
 * (keepLast 48 -> 49 with an on-demand backup present, the issue's case) syncs; removing a cluster removes exactly
 * the objects synthesis made for it and nothing a user put in its namespace.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderInventory } from '../../lib/synth/render';
import { EXAMPLE, exampleDocument, inventoryOf } from '../support/inventory';
import { ArgoApplicationController, buildFolder, FakeApiServer, FluxController, keyOf, type KubeObject } from '../support/gitops-sim';

/** CRDs a cluster has for its core: credentials and bucket claims. No Prometheus Operator. */
const CORE_CRDS = ['external-secrets.io/v1/ExternalSecret', 'bitnami.com/v1alpha1/SealedSecret', 'objectbucket.io/v1alpha1/ObjectBucketClaim'];
const PROMETHEUS_RULE = 'monitoring.coreos.com/v1/PrometheusRule';

const render = (document: Record<string, any>) => renderInventory(inventoryOf(document, EXAMPLE));
const fluxKustomizations = (files: ReadonlyMap<string, string>) =>
  [...files].filter(([path]) => path.startsWith('flux/kustomization-')).map(([, text]) => parse(text) as KubeObject);
const tenantNamespace = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

/** One API server per target: a kubeadm cluster's own (by kubeconfig Secret), and the management cluster. */
function world() {
  const servers = new Map<string, FakeApiServer>();
  const serverOf = (kustomization: KubeObject) => {
    const target = kustomization.spec.kubeConfig?.secretRef?.name ?? 'management';
    if (!servers.has(target)) {
      const server = new FakeApiServer(CORE_CRDS);
      // The tenants' namespaces (and their etcd) exist in the management cluster before any backup does.
      if (target === 'management') for (const name of ['tenant-a', 'tenant-b']) server.apply(tenantNamespace(name));
      servers.set(target, server);
    }
    return servers.get(target)!;
  };
  return { servers, flux: new FluxController(serverOf), serverOf };
}

describe('Flux, with no PrometheusRule CRD anywhere', () => {
  const files = render(exampleDocument());
  const { servers, flux } = world();
  flux.reconcileAll(fluxKustomizations(files), files);

  it('applies every core Kustomization before the alerts Kustomization that depends on it', () => {
    for (const cluster of ['prod-eu-1', 'staging-us-1', 'tenant-a', 'tenant-b']) {
      const alerts = parse(files.get(`flux/kustomization-${cluster}.alerts.yaml`)!);
      expect(alerts.spec.dependsOn).toEqual([{ name: `controlplane-backup-${cluster}` }]);
      expect(flux.appliedOrder).toContain(`controlplane-backup-${cluster}`);
    }
  });

  it('runs the backups: every core is Ready and its CronJobs exist', () => {
    for (const cluster of ['prod-eu-1', 'staging-us-1', 'tenant-a', 'tenant-b']) {
      expect(flux.status.get(`controlplane-backup-${cluster}`), cluster).toMatchObject({ ready: true });
    }
    const prod = servers.get('prod-eu-1-kubeconfig')!;
    expect([...prod.objects.keys()]).toContain('batch/CronJob/controlplane-backup/prod-eu-1-etcd-backup');
    expect([...prod.objects.keys()]).toContain('batch/Job/controlplane-backup/prod-eu-1-backup-before-1-29-upgrade');
    expect([...servers.get('management')!.objects.keys()]).toContain('batch/CronJob/tenant-a/tenant-a-etcd-backup');
  });

  it('says on the alerts Kustomization why the alerts are missing', () => {
    expect(flux.status.get('controlplane-backup-prod-eu-1.alerts')).toEqual({
      ready: false,
      message: 'PrometheusRule/controlplane-backup/prod-eu-1-controlplane-backup dry-run failed: no matches for kind "PrometheusRule" in version "monitoring.coreos.com/v1"',
      inventory: [],
    });
  });

  it('would have lost the backups with the alerts in the same Kustomization (the model fails a Kustomization whole)', () => {
    const server = new FakeApiServer(CORE_CRDS);
    const together = [...buildFolder(files, 'prod-eu-1'), ...buildFolder(files, 'prod-eu-1/alerts')];
    const status = new FluxController(() => server).reconcile({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'together', namespace: 'flux-system' }, spec: { prune: true } }, together);
    expect(status.ready).toBe(false);
    expect([...server.objects.keys()]).toEqual(['core/Namespace//controlplane-backup']);
  });

  it('applies the alerts once the CRD is installed', () => {
    for (const server of servers.values()) server.installCrd(PROMETHEUS_RULE);
    flux.reconcileAll(fluxKustomizations(files), files);
    expect(flux.status.get('controlplane-backup-prod-eu-1.alerts')).toMatchObject({ ready: true });
  });
});

describe('an ordinary edit with an on-demand backup present (keepLast 48 -> 49, and a new tools image)', () => {
  const job = 'prod-eu-1/job-prod-eu-1-backup-before-1-29-upgrade.yaml';
  const before = render(exampleDocument());
  const retentionOnly = exampleDocument();
  retentionOnly.clusters['prod-eu-1'].backup.retention.keepLast = 49;
  const edited = exampleDocument();
  edited.clusters['prod-eu-1'].backup.retention.keepLast = 49;
  edited.defaults.backup.images.tools = 'registry.example.com/platform/controlplane-backup-tools:0.1.1';
  const after = render(edited);

  it('a retention edit alone leaves the on-demand Job spec as it was: its settings live in the plan ConfigMap', () => {
    const retention = render(retentionOnly);
    expect(parse(retention.get(job)!).spec).toEqual(parse(before.get(job)!).spec);
    expect(retention.get('prod-eu-1/configmap-prod-eu-1-backup-config.yaml')).not.toEqual(before.get('prod-eu-1/configmap-prod-eu-1-backup-config.yaml'));
  });

  it('a new image changes the on-demand Job spec in dist/ (so the tools must not apply it)', () => {
    expect(parse(after.get(job)!).spec).not.toEqual(parse(before.get(job)!).spec);
  });

  it('Flux: the core stays Ready, the Job is left as it was created, the CronJob is updated', () => {
    const { servers, flux } = world();
    flux.reconcileAll(fluxKustomizations(before), before);
    flux.reconcileAll(fluxKustomizations(after), after);
    expect(flux.status.get('controlplane-backup-prod-eu-1')).toMatchObject({ ready: true });
    const prod = servers.get('prod-eu-1-kubeconfig')!;
    expect(prod.objects.get('batch/Job/controlplane-backup/prod-eu-1-backup-before-1-29-upgrade')!.spec).toEqual(parse(before.get(job)!).spec);
    expect(prod.objects.get('batch/CronJob/controlplane-backup/prod-eu-1-etcd-backup')!.spec).toEqual(parse(after.get('prod-eu-1/cronjob-prod-eu-1-etcd-backup.yaml')!).spec);
  });

  it('Flux without the IfNotPresent annotation would fail the whole Kustomization (the issue as reported)', () => {
    const server = new FakeApiServer(CORE_CRDS);
    const controller = new FluxController(() => server);
    const kustomization = { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'bare', namespace: 'flux-system' }, spec: { prune: true } };
    const bare = (files: ReadonlyMap<string, string>) => buildFolder(files, 'prod-eu-1').map((object) => {
      delete object.metadata.annotations?.['kustomize.toolkit.fluxcd.io/ssa'];
      return object;
    });
    expect(controller.reconcile(kustomization, bare(before)).ready).toBe(true);
    expect(controller.reconcile(kustomization, bare(after)).message)
      .toBe('Job/controlplane-backup/prod-eu-1-backup-before-1-29-upgrade dry-run failed: Job "prod-eu-1-backup-before-1-29-upgrade" is invalid: spec.template: field is immutable');
  });

  it('Argo CD: the sync passes, keeping the live Job spec (ignoreDifferences on /spec, RespectIgnoreDifferences)', () => {
    const server = new FakeApiServer([...CORE_CRDS, PROMETHEUS_RULE]);
    const application = parse(before.get('argocd/application-prod-eu-1.yaml')!) as KubeObject;
    const argo = new ArgoApplicationController(application, server);
    expect(argo.sync(buildFolder(before, 'prod-eu-1'))).toBeUndefined();
    expect(argo.sync(buildFolder(after, 'prod-eu-1'))).toBeUndefined();
    expect(server.objects.get('batch/Job/controlplane-backup/prod-eu-1-backup-before-1-29-upgrade')!.spec).toEqual(parse(before.get(job)!).spec);
    // Without RespectIgnoreDifferences the same sync is refused by the API server.
    const plain = new ArgoApplicationController({ ...application, spec: { ...application.spec, ignoreDifferences: [] } }, new FakeApiServer([...CORE_CRDS, PROMETHEUS_RULE]));
    expect(plain.sync(buildFolder(before, 'prod-eu-1'))).toBeUndefined();
    expect(plain.sync(buildFolder(after, 'prod-eu-1'))).toBe('Job/controlplane-backup/prod-eu-1-backup-before-1-29-upgrade: Job "prod-eu-1-backup-before-1-29-upgrade" is invalid: spec.template: field is immutable');
  });
});

describe('removing a cluster from the inventory', () => {
  const before = render(exampleDocument());
  const document = exampleDocument();
  delete document.clusters['prod-eu-1'];
  delete document.clusters['tenant-a'];
  const after = render(document);
  /** Secrets people create, as the README says (drill identity; existingSecret credentials in a tenant namespace). */
  const drillIdentity: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'prod-eu-1-drill-identity', namespace: 'controlplane-backup' } };
  const tenantEtcd: KubeObject = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'tenant-a-etcd', namespace: 'tenant-a' } };
  const synthesized = (files: ReadonlyMap<string, string>, cluster: string) =>
    [...buildFolder(files, cluster), ...buildFolder(files, `${cluster}/alerts`)].map(keyOf).sort();

  it('shows on the Namespace that the tools keep it', () => {
    expect(parse(before.get('prod-eu-1/namespace-controlplane-backup.yaml')!).metadata.annotations).toMatchObject({
      'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false',
      'kustomize.toolkit.fluxcd.io/prune': 'disabled',
    });
  });

  it('Flux: removes exactly the objects synthesis made for it; the Namespace and what users put there stay', () => {
    const { servers, flux } = world();
    // A first pass creates the servers (the alerts wait for the CRD), the second applies the alerts too.
    flux.reconcileAll(fluxKustomizations(before), before);
    const prod = servers.get('prod-eu-1-kubeconfig')!;
    const management = servers.get('management')!;
    for (const server of [prod, management]) server.installCrd(PROMETHEUS_RULE);
    flux.reconcileAll(fluxKustomizations(before), before);
    prod.apply(drillIdentity);
    management.apply(tenantEtcd);
    const prodBefore = new Set(prod.objects.keys());
    const managementBefore = new Set(management.objects.keys());

    flux.reconcileAll(fluxKustomizations(after), after);
    const gone = (server: FakeApiServer, was: Set<string>) => [...was].filter((key) => !server.objects.has(key)).sort();
    expect(gone(prod, prodBefore)).toEqual(synthesized(before, 'prod-eu-1').filter((key) => key !== 'core/Namespace//controlplane-backup'));
    expect([...prod.objects.keys()].sort()).toEqual(['core/Namespace//controlplane-backup', 'core/Secret/controlplane-backup/prod-eu-1-drill-identity']);
    // tenant-a's objects go; tenant-b's, the tenant namespaces and the tenant's etcd stay.
    expect(gone(management, managementBefore)).toEqual(synthesized(before, 'tenant-a'));
    expect(management.objects.has('apps/StatefulSet/tenant-a/tenant-a-etcd')).toBe(true);
    expect(management.objects.has('batch/CronJob/tenant-b/tenant-b-etcd-backup')).toBe(true);
  });

  it('Argo CD: deleting the Applications (resources finalizer) removes the same objects, and keeps the same', () => {
    const server = new FakeApiServer([...CORE_CRDS, PROMETHEUS_RULE]);
    const apps = ['', '.alerts'].map((suffix) => {
      const application = parse(before.get(`argocd/application-prod-eu-1${suffix}.yaml`)!) as KubeObject;
      expect(application.metadata.finalizers).toEqual(['resources-finalizer.argocd.argoproj.io']);
      const argo = new ArgoApplicationController(application, server);
      expect(argo.sync(buildFolder(before, `prod-eu-1${suffix ? '/alerts' : ''}`))).toBeUndefined();
      return argo;
    });
    server.apply(drillIdentity);
    const was = new Set(server.objects.keys());
    expect(after.has('argocd/application-prod-eu-1.yaml')).toBe(false);
    for (const argo of apps) argo.delete();
    expect([...was].filter((key) => !server.objects.has(key)).sort()).toEqual(synthesized(before, 'prod-eu-1').filter((key) => key !== 'core/Namespace//controlplane-backup'));
    expect([...server.objects.keys()].sort()).toEqual(['core/Namespace//controlplane-backup', 'core/Secret/controlplane-backup/prod-eu-1-drill-identity']);
  });
});
