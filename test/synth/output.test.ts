import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { run } from '../../lib/cli/main';
import { renderInventory } from '../../lib/synth/render';
import { synthesize } from '../../lib/synth';
import { replaceDirectory } from '../../lib/synth/write';
import { kustomizeBuild, formatIssue, validateDirectory } from '../../lib/validate';
import { EXAMPLE, exampleDocument, inventoryOf, withToolsImageDocument } from '../support/inventory';
import { changedPaths, readTree } from '../support/tree';

const work = mkdtempSync(join(tmpdir(), 'cpb-synth-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const quietIo = () => {
  const err: string[] = [];
  return { io: { out: () => {}, err: (text: string) => err.push(text), interactive: false }, err };
};

function synthDocument(document: unknown, out: string): void {
  const file = join(work, `inventory-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify(withToolsImageDocument(document)));
  synthesize(file, out);
}

describe('the example inventory', () => {
  const out = join(work, 'example');
  synthesize(EXAMPLE, out);
  const tree = readTree(out);

  it('matches the committed dist/ byte for byte (regenerate with `npm run synth`)', () => {
    const committed = readTree('dist');
    expect(changedPaths(committed, tree)).toEqual([]);
  });

  it('is byte-identical from run to run', () => {
    const again = join(work, 'example-again');
    synthesize(EXAMPLE, again);
    expect(changedPaths(tree, readTree(again))).toEqual([]);
  });

  it('has one folder per cluster, each with a kustomization listing every object file', () => {
    const clusters = Object.keys(exampleDocument().clusters).sort();
    // Beside them, the fleet-level output: argocd/, flux/ and SUMMARY.md (test/synth/gitops.test.ts), and the marker of our output.
    expect(readdirSync(out).sort()).toEqual([...clusters, '.controlplane-backup-output', 'SUMMARY.md', 'argocd', 'flux'].sort());
    for (const cluster of clusters) {
      // Restore folders (restore-<id>/) are sub-folders with their own kustomization, never listed here.
      const files = readdirSync(join(out, cluster), { withFileTypes: true }).filter((f) => f.isFile() && f.name !== 'kustomization.yaml').map((f) => f.name).sort();
      const kustomization = parse(readFileSync(join(out, cluster, 'kustomization.yaml'), 'utf8'));
      expect(kustomization.resources).toEqual(files);
    }
  });

  it('validates against the Kubernetes 1.28 schemas and the CRDs the package ships (crds/)', () => {
    expect(validateDirectory(out).map(formatIssue)).toEqual([]);
  });

  it('builds with kubectl kustomize in every cluster folder', () => {
    for (const cluster of Object.keys(exampleDocument().clusters)) {
      const build = kustomizeBuild(join(out, cluster));
      expect(build.error).toBe('');
      expect(build.ok).toBe(true);
      expect(build.output).toContain(`name: ${cluster}-etcd-backup`);
    }
  });

  it('defines every $(VAR) an env value uses before it, and every $(VAR) of a mounted plan in the env the agent expands it from', () => {
    let checked = 0;
    const configMaps = new Map<string, Record<string, string>>();
    for (const [path, text] of tree) {
      if (!path.endsWith('.yaml')) continue;
      const object = parse(text);
      if (object?.kind === 'ConfigMap') configMaps.set(`${path.slice(0, path.lastIndexOf('/'))}/${object.metadata.name}`, object.data ?? {});
    }
    for (const [path, text] of tree) {
      if (!path.endsWith('.yaml') || path.endsWith('kustomization.yaml')) continue;
      const object = parse(text);
      const pod = object.spec?.jobTemplate?.spec?.template?.spec ?? object.spec?.template?.spec;
      for (const container of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]) {
        const defined = new Set<string>();
        for (const variable of container.env ?? []) {
          for (const [, name] of String(variable.value ?? '').matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) {
            expect(defined.has(name), `${path} ${container.name} ${variable.name} uses $(${name})`).toBe(true);
            checked++;
          }
          defined.add(variable.name);
        }
        // the plans the container mounts: the agent expands $(VAR) in them from its env
        for (const mount of container.volumeMounts ?? []) {
          const volume = (pod.volumes ?? []).find((v: any) => v.name === mount.name)?.configMap;
          const data = volume && configMaps.get(`${path.slice(0, path.lastIndexOf('/'))}/${volume.name}`);
          if (!data) continue;
          for (const item of volume.items ?? Object.keys(data).map((key) => ({ key }))) {
            if (!String(item.key).endsWith('.json')) continue;
            for (const [, name] of String(data[item.key] ?? '').matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) {
              expect(defined.has(name), `${path} ${container.name} plan ${item.key} uses $(${name})`).toBe(true);
              checked++;
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('gives every object an explicit name, the app.kubernetes.io labels, and no cdk8s address label', () => {
    for (const [path, text] of tree) {
      if (path.endsWith('kustomization.yaml') || !path.endsWith('.yaml')) continue;
      if (path.startsWith('argocd/') || path.startsWith('flux/')) continue; // fleet-level: test/synth/gitops.test.ts
      const object = parse(text);
      const cluster = path.split('/')[0];
      expect(object.metadata.name, path).toMatch(/^[a-z0-9][-a-z0-9.]*$/);
      expect(object.metadata.labels, path).toMatchObject({
        'app.kubernetes.io/name': 'controlplane-backup',
        'app.kubernetes.io/instance': cluster,
        'app.kubernetes.io/part-of': 'controlplane-backup',
        'app.kubernetes.io/managed-by': 'controlplane-backup',
      });
      expect(object.metadata.labels['app.kubernetes.io/component'], path).toBeTruthy();
      expect(text, path).not.toContain('cdk8s.io/metadata.addr');
    }
  });
});

describe('diff locality', () => {
  const base = exampleDocument();
  const before = renderInventory(inventoryOf(base));

  it('changing one cluster changes files under that cluster folder only', () => {
    const changed = structuredClone(base);
    changed.clusters['tenant-a'].backup.schedule = '*/15 * * * *';
    const after = renderInventory(inventoryOf(changed));
    const paths = changedPaths(before, after);
    // SUMMARY.md describes the schedule and the alerts' thresholds derive from it; nothing else changes.
    expect(paths).toEqual(['SUMMARY.md', 'tenant-a/alerts/prometheusrule-tenant-a-controlplane-backup.yaml', 'tenant-a/cronjob-tenant-a-etcd-backup.yaml']);
  });

  it('changing a default changes exactly the clusters that inherit it', () => {
    const changed = structuredClone(base);
    changed.defaults.backup.timeZone = 'Europe/Berlin';
    const after = renderInventory(inventoryOf(changed));
    const clusters = [...new Set(changedPaths(before, after).map((path) => path.split('/')[0]))];
    expect(clusters).toEqual(['SUMMARY.md', 'prod-eu-1', 'tenant-a', 'tenant-b']);
  });

  it('a cluster removed from the inventory disappears from the output, the others stay identical', () => {
    const out = join(work, 'removal');
    synthDocument(base, out);
    const first = readTree(out);
    const smaller = structuredClone(base);
    delete smaller.clusters['staging-us-1'];
    synthDocument(smaller, out);
    const second = readTree(out);
    expect(existsSync(join(out, 'staging-us-1'))).toBe(false);
    const fleetLevel = [
      'SUMMARY.md', 'argocd/application-staging-us-1.alerts.yaml', 'argocd/application-staging-us-1.yaml', 'argocd/kustomization.yaml',
      'flux/kustomization-staging-us-1.alerts.yaml', 'flux/kustomization-staging-us-1.yaml', 'flux/kustomization.yaml',
    ];
    expect(changedPaths(first, second).filter((path) => !path.startsWith('staging-us-1/'))).toEqual(fleetLevel);
    expect(changedPaths(first, second).length).toBeGreaterThan(0);
  });
});

describe('atomic output', () => {
  it('leaves the previous output exactly as it was when the inventory is invalid', async () => {
    const out = join(work, 'atomic');
    synthesize(EXAMPLE, out);
    const before = readTree(out);
    const bad = structuredClone(exampleDocument());
    bad.clusters['tenant-a'].backup.schedule = '0 25 * * *';
    const file = join(work, 'bad.yaml');
    writeFileSync(file, stringify(withToolsImageDocument(bad)));
    const { io, err } = quietIo();
    expect(await run(['synth', '--inventory', file, '--out', out], io)).toBe(2);
    expect(err.join('')).toContain('clusters.tenant-a.backup.schedule: "0 25 * * *" is not a valid schedule: hour field "25": 25 is out of range 0-23');
    expect(changedPaths(before, readTree(out))).toEqual([]);
    expect(readdirSync(work).filter((name) => name.includes('.staging-') || name.includes('.previous-'))).toEqual([]);
  });

  it('leaves the previous output as it was when writing fails half-way', () => {
    const out = join(work, 'atomic-write');
    synthesize(EXAMPLE, out);
    const before = readTree(out);
    const files = renderInventory(inventoryOf(exampleDocument()));
    // A path that cannot be created (a file name used as a folder) makes the write fail after some files.
    files.set('prod-eu-1/kustomization.yaml/impossible.yaml', 'x');
    expect(() => replaceDirectory(out, files)).toThrow();
    expect(changedPaths(before, readTree(out))).toEqual([]);
  });
});
