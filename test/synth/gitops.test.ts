import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { SYNC_WAVE_ANNOTATION } from '../../lib/constructs/metadata';
import { synthesize } from '../../lib/synth';
import { renderInventory } from '../../lib/synth/render';
import { formatIssue, kustomizeBuild, validateDirectory, validateObject } from '../../lib/validate';
import { EXAMPLE, exampleDocument, inventoryOf, minimalDocument, withToolsImageDocument } from '../support/inventory';
import { changedPaths } from '../support/tree';

const work = mkdtempSync(join(tmpdir(), 'cpb-gitops-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const GITOPS = {
  repoURL: 'https://git.example.com/platform/backups.git',
  argocd: {},
  flux: {},
};

/** The minimal inventory with GitOps settings and a restore request on the kubeadm cluster. */
function gitopsDocument(gitops: Record<string, unknown> = GITOPS): Record<string, any> {
  const document = minimalDocument();
  document.gitops = gitops;
  document.clusters.alpha.restores = [{ id: 'undo', snapshot: 'etcd/alpha/alpha-20261121T020000Z.db.zst.age', confirm: 'alpha-20261121T020000Z' }];
  return document;
}

const objectsIn = (files: Map<string, string>, folder: string) =>
  [...files].filter(([path]) => path.startsWith(`${folder}/`) && !path.endsWith('/kustomization.yaml')).map(([path, text]) => ({ path, object: parse(text) }));

describe('the example inventory', () => {
  const out = join(work, 'example');
  synthesize(EXAMPLE, out);

  it('writes an Application and a Flux Kustomization per cluster and part (core, alerts) with their GitRepository', () => {
    const clusters = ['prod-eu-1', 'staging-us-1', 'tenant-a', 'tenant-b'];
    expect(readdirSync(join(out, 'argocd')).sort()).toEqual([
      ...clusters.flatMap((cluster) => [`application-${cluster}.alerts.yaml`, `application-${cluster}.yaml`]), 'kustomization.yaml',
    ]);
    expect(readdirSync(join(out, 'flux')).sort()).toEqual([
      'gitrepository-controlplane-backup.yaml',
      ...clusters.flatMap((cluster) => [`kustomization-${cluster}.alerts.yaml`, `kustomization-${cluster}.yaml`]), 'kustomization.yaml',
    ]);
  });

  it('validates every Argo CD and Flux object against its CRD', () => {
    expect(validateDirectory(join(out, 'argocd')).map(formatIssue)).toEqual([]);
    expect(validateDirectory(join(out, 'flux')).map(formatIssue)).toEqual([]);
  });

  it('builds dist/argocd and dist/flux with kubectl kustomize', () => {
    for (const folder of ['argocd', 'flux']) {
      const build = kustomizeBuild(join(out, folder));
      expect(build.error).toBe('');
      expect(build.ok).toBe(true);
      const kinds = parseAllDocuments(build.output).map((document) => document.toJSON().kind);
      expect(kinds.length).toBe(folder === 'argocd' ? 8 : 9);
    }
  });
});

describe('Argo CD Applications', () => {
  const files = renderInventory(inventoryOf(gitopsDocument({ ...GITOPS, argocd: { project: 'platform' } })));
  const application = (cluster: string) => parse(files.get(`argocd/application-${cluster}.yaml`)!);

  it('default configuration: automated sync with prune and self-heal, our Namespace, server-side apply, on-demand Jobs never updated', () => {
    const alpha = application('alpha');
    expect(alpha.metadata).toMatchObject({ name: 'controlplane-backup-alpha', namespace: 'argocd', finalizers: ['resources-finalizer.argocd.argoproj.io'] });
    expect(alpha.spec).toEqual({
      project: 'platform',
      source: { repoURL: 'https://git.example.com/platform/backups.git', targetRevision: 'main', path: 'dist/alpha' },
      destination: { name: 'alpha', namespace: 'controlplane-backup' },
      ignoreDifferences: [{ group: 'batch', kind: 'Job', jsonPointers: ['/spec'] }],
      syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=false', 'ServerSideApply=true', 'RespectIgnoreDifferences=true'] },
    });
    // The alerts of the cluster: an Application of their own, on the folder alerts/.
    expect(application('alpha.alerts').metadata.name).toBe('controlplane-backup-alpha.alerts');
    expect(application('alpha.alerts').spec.source.path).toBe('dist/alpha/alerts');
  });

  it('sends a hosted cluster to the management cluster, in the tenant namespace', () => {
    expect(application('beta').spec.destination).toEqual({ name: 'in-cluster', namespace: 'tenant-beta' });
  });

  it('uses destination.server when the Argo CD cluster is an API server URL', () => {
    const document = gitopsDocument({ ...GITOPS, argocd: { managementCluster: 'https://kubernetes.default.svc' } });
    document.clusters.alpha.gitops = { argocdCluster: 'https://10.0.0.1:6443' };
    const rendered = renderInventory(inventoryOf(document));
    expect(parse(rendered.get('argocd/application-alpha.yaml')!).spec.destination).toEqual({ server: 'https://10.0.0.1:6443', namespace: 'controlplane-backup' });
    expect(parse(rendered.get('argocd/application-beta.yaml')!).spec.destination).toEqual({ server: 'https://kubernetes.default.svc', namespace: 'tenant-beta' });
  });

  it('leaves sync to people when automated is false, and keeps the objects when prune is false', () => {
    const rendered = renderInventory(inventoryOf(gitopsDocument({ ...GITOPS, argocd: { automated: false, prune: false } })));
    const alpha = parse(rendered.get('argocd/application-alpha.yaml')!);
    expect(alpha.spec.syncPolicy).toEqual({ syncOptions: ['CreateNamespace=false', 'ServerSideApply=true', 'RespectIgnoreDifferences=true'] });
    expect(alpha.metadata.finalizers).toBeUndefined();
  });

  it('changing one cluster changes its own Application only, among the Argo CD files', () => {
    const document = gitopsDocument();
    const changed = structuredClone(document);
    changed.clusters.alpha.gitops = { argocdCluster: 'alpha-prod' };
    const paths = changedPaths(renderInventory(inventoryOf(document)), renderInventory(inventoryOf(changed)));
    expect(paths).toEqual(['argocd/application-alpha.alerts.yaml', 'argocd/application-alpha.yaml']);
  });

  it('validates against the Application CRD', () => {
    for (const { path, object } of objectsIn(files, 'argocd')) expect(validateObject(object).map(formatIssue), path).toEqual([]);
  });
});

describe('Argo CD ApplicationSet mode', () => {
  const document = gitopsDocument({ ...GITOPS, argocd: { mode: 'applicationSet' } });
  document.clusters.alpha.gitops = { argocdCluster: 'https://10.0.0.1:6443' };
  const files = renderInventory(inventoryOf(document));

  it('writes one ApplicationSet with a list element per cluster, and no Applications', () => {
    expect([...files.keys()].filter((path) => path.startsWith('argocd/'))).toEqual(['argocd/applicationset-controlplane-backup.yaml', 'argocd/kustomization.yaml']);
    const set = parse(files.get('argocd/applicationset-controlplane-backup.yaml')!);
    expect(set.spec.generators).toEqual([{
      list: {
        elements: [
          { cluster: 'alpha', name: 'controlplane-backup-alpha', path: 'dist/alpha', destinationName: '', destinationServer: 'https://10.0.0.1:6443', namespace: 'controlplane-backup' },
          { cluster: 'alpha', name: 'controlplane-backup-alpha.alerts', path: 'dist/alpha/alerts', destinationName: '', destinationServer: 'https://10.0.0.1:6443', namespace: 'controlplane-backup' },
          { cluster: 'beta', name: 'controlplane-backup-beta', path: 'dist/beta', destinationName: 'in-cluster', destinationServer: '', namespace: 'tenant-beta' },
          { cluster: 'beta', name: 'controlplane-backup-beta.alerts', path: 'dist/beta/alerts', destinationName: 'in-cluster', destinationServer: '', namespace: 'tenant-beta' },
        ],
      },
    }]);
    expect(set.spec.template.spec.source.path).toBe('{{.path}}');
    expect(set.spec.template.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
  });

  it('validates against the ApplicationSet CRD and builds with kubectl kustomize', () => {
    const out = join(work, 'applicationset');
    const file = join(work, 'applicationset.yaml');
    writeFileSync(file, stringify(withToolsImageDocument(document)));
    synthesize(file, out);
    expect(validateDirectory(join(out, 'argocd')).map(formatIssue)).toEqual([]);
    expect(kustomizeBuild(join(out, 'argocd')).ok).toBe(true);
  });
});

describe('Flux', () => {
  const files = renderInventory(inventoryOf(gitopsDocument({ ...GITOPS, flux: { secretRef: 'git-credentials' } })));

  it('writes a GitRepository from repoURL, revision and secretRef', () => {
    expect(parse(files.get('flux/gitrepository-controlplane-backup.yaml')!).spec).toEqual({
      url: 'https://git.example.com/platform/backups.git',
      ref: { branch: 'main' },
      interval: '10m',
      secretRef: { name: 'git-credentials' },
    });
  });

  it('applies a kubeadm cluster through its kubeconfig Secret, a hosted one where Flux runs', () => {
    const alpha = parse(files.get('flux/kustomization-alpha.yaml')!);
    expect(alpha.metadata).toMatchObject({ name: 'controlplane-backup-alpha', namespace: 'flux-system' });
    expect(alpha.spec).toEqual({
      interval: '10m',
      path: './dist/alpha',
      prune: true,
      wait: true,
      sourceRef: { kind: 'GitRepository', name: 'controlplane-backup' },
      kubeConfig: { secretRef: { name: 'alpha-kubeconfig', key: 'value' } },
    });
    const beta = parse(files.get('flux/kustomization-beta.yaml')!);
    expect(beta.spec.kubeConfig).toBeUndefined();
    expect(beta.spec.targetNamespace).toBeUndefined();
    expect(beta.spec.dependsOn).toBeUndefined();
  });

  it('uses an existing source instead of writing a GitRepository when sourceRef is set', () => {
    const document = gitopsDocument({ ...GITOPS, revision: 'refs/tags/v1', flux: { sourceRef: { name: 'platform' } } });
    document.clusters.alpha.gitops = { fluxKubeConfigSecret: 'alpha-admin' };
    const rendered = renderInventory(inventoryOf(document));
    expect([...rendered.keys()].filter((path) => path.startsWith('flux/'))).toEqual([
      'flux/kustomization-alpha.yaml', 'flux/kustomization-alpha.alerts.yaml', 'flux/kustomization-beta.yaml', 'flux/kustomization-beta.alerts.yaml', 'flux/kustomization.yaml',
    ]);
    const alpha = parse(rendered.get('flux/kustomization-alpha.yaml')!);
    expect(alpha.spec.sourceRef).toEqual({ kind: 'GitRepository', name: 'platform' });
    expect(alpha.spec.kubeConfig).toEqual({ secretRef: { name: 'alpha-admin', key: 'value' } });
  });

  it('names a tag or commit revision as such in the GitRepository', () => {
    const tag = renderInventory(inventoryOf(gitopsDocument({ ...GITOPS, revision: 'refs/tags/v1.2.0' })));
    expect(parse(tag.get('flux/gitrepository-controlplane-backup.yaml')!).spec.ref).toEqual({ name: 'refs/tags/v1.2.0' });
    const commit = 'a'.repeat(40);
    const pinned = renderInventory(inventoryOf(gitopsDocument({ ...GITOPS, revision: commit })));
    expect(parse(pinned.get('flux/gitrepository-controlplane-backup.yaml')!).spec.ref).toEqual({ commit });
  });

  it('validates against the Kustomization and GitRepository CRDs', () => {
    for (const { path, object } of objectsIn(files, 'flux')) expect(validateObject(object).map(formatIssue), path).toEqual([]);
  });
});

describe('without gitops', () => {
  it('writes no argocd/ or flux/ folder, and the cluster folders are the same as with it', () => {
    const without = renderInventory(inventoryOf(minimalDocument()));
    const withGitops = renderInventory(inventoryOf({ ...minimalDocument(), gitops: GITOPS }));
    expect([...without.keys()].some((path) => path.startsWith('argocd/') || path.startsWith('flux/'))).toBe(false);
    expect(changedPaths(without, withGitops).filter((path) => !path.startsWith('argocd/') && !path.startsWith('flux/'))).toEqual([]);
  });
});

describe('sync waves', () => {
  const files = renderInventory(inventoryOf(exampleDocument()));
  const waveOf = (kind: string) => {
    const waves = new Set<number>();
    for (const [path, text] of files) {
      if (!path.endsWith('.yaml') || path.startsWith('argocd/') || path.startsWith('flux/') || path.split('/').length !== 2) continue;
      const object = parse(text);
      if (object.kind === kind) waves.add(Number(object.metadata.annotations[SYNC_WAVE_ANNOTATION]));
    }
    expect(waves.size, kind).toBe(1);
    return [...waves][0];
  };

  it('orders Namespace < credentials and bucket claims < configuration and identity < CronJob and Jobs', () => {
    const namespace = waveOf('Namespace');
    const credentials = [waveOf('ExternalSecret'), waveOf('ObjectBucketClaim')];
    const config = [waveOf('ConfigMap'), waveOf('ServiceAccount'), waveOf('NetworkPolicy')];
    const workloads = [waveOf('CronJob'), waveOf('Job')];
    expect(Math.max(namespace)).toBeLessThan(Math.min(...credentials));
    expect(Math.max(...credentials)).toBeLessThan(Math.min(...config));
    expect(Math.max(...config)).toBeLessThan(Math.min(...workloads));
  });

  it('annotates every object of every cluster folder', () => {
    for (const [path, text] of files) {
      if (path.split('/').length !== 2 || !path.endsWith('.yaml') || path.endsWith('kustomization.yaml') || path.startsWith('argocd/') || path.startsWith('flux/')) continue;
      expect(parse(text).metadata.annotations?.[SYNC_WAVE_ANNOTATION], path).toMatch(/^[0-9]+$/);
    }
  });
});

describe('restore requests', () => {
  const document = gitopsDocument();
  const out = join(work, 'restores');
  const file = join(work, 'restores.yaml');
  writeFileSync(file, stringify(withToolsImageDocument(document)));
  synthesize(file, out);
  const files = renderInventory(inventoryOf(document));

  it('are never applied by an automated sync: no Application or Kustomization points into a restore folder', () => {
    const paths = [
      ...objectsIn(files, 'argocd').map(({ object }) => object.spec.source.path),
      ...objectsIn(files, 'flux').filter(({ object }) => object.kind === 'Kustomization').map(({ object }) => object.spec.path),
    ];
    expect(paths.sort()).toEqual([
      './dist/alpha', './dist/alpha/alerts', './dist/beta', './dist/beta/alerts', 'dist/alpha', 'dist/alpha/alerts', 'dist/beta', 'dist/beta/alerts',
    ]);
    expect(paths.some((path) => path.includes('restore'))).toBe(false);
  });

  it('are not listed in the cluster kustomization that the synced folder builds', () => {
    const clusterKustomization = parse(files.get('alpha/kustomization.yaml')!);
    expect(clusterKustomization.resources.every((resource: string) => !resource.includes('/') && !resource.startsWith('restore-'))).toBe(true);
    const build = kustomizeBuild(join(out, 'alpha'));
    expect(build.ok).toBe(true);
    const components = parseAllDocuments(build.output).map((d) => d.toJSON().metadata.labels['app.kubernetes.io/component']);
    expect(components).not.toContain('restore');
    // The restore folder exists (dist/<cluster>/restore-<id>/) and sits outside the synced kustomization.
    expect([...files.keys()].some((path) => path.startsWith('alpha/restore-undo/'))).toBe(true);
    for (const path of files.keys()) {
      if (path.startsWith('alpha/restore-')) expect(clusterKustomization.resources).not.toContain(path.slice('alpha/'.length));
    }
  });

  it('are listed in SUMMARY.md as pending', () => {
    expect(files.get('SUMMARY.md')).toContain('- `undo`: snapshot `etcd/alpha/alpha-20261121T020000Z.db.zst.age` from `s3main`.');
  });
});
