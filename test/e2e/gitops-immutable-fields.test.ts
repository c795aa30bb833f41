/**
 * Issue 12 item 1: no inventory edit changes an immutable field of an object the GitOps tools would update.
 *
 * The settings come from the inventory's JSON Schema (generated from the zod schema): every leaf, every array and
 * every free-form map of it. test/fixtures/valid/every-setting.yaml sets each of them at least once, with on-demand
 * backups and restore requests present. For each setting the test finds a different valid value (a search over
 * candidates, checked by the real validator), synthesizes both inventories, lists every changed field of every
 * object, and fails on a change inside an immutable field (test/support/immutable-fields.ts: the list and its source,
 * the Kubernetes API reference) unless both tools are told to leave that field alone on an existing object: Flux by
 * `kustomize.toolkit.fluxcd.io/ssa: IfNotPresent` on the object, Argo CD by the Application's ignoreDifferences with
 * RespectIgnoreDifferences=true. Restore folders are outside the comparison: no sync applies them (test/synth/gitops.test.ts), a
 * person applies each once.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { formatProblem } from '../../lib/inventory/errors';
import { inventoryJsonSchema } from '../../lib/inventory/json-schema';
import { parseInventory } from '../../lib/inventory/load';
import { renderInventory } from '../../lib/synth/render';
import { groupKind, immutableFieldOf } from '../support/immutable-fields';

const BASE_FILE = 'test/fixtures/valid/every-setting.yaml';
const base: Record<string, any> = parse(readFileSync(BASE_FILE, 'utf8'));

type Segment = string | number;
/** A setting of the schema: `*` for any key of a map, `[]` for any element of a list. */
interface Setting {
  readonly path: readonly string[];
  readonly schema: Record<string, any>;
  readonly shape: 'leaf' | 'list' | 'map';
}

const root = inventoryJsonSchema() as Record<string, any>;
const resolve = (schema: Record<string, any>): Record<string, any> =>
  schema.$ref ? resolve(schema.$ref.split('/').slice(1).reduce((node: any, key: string) => node[key], root)) : schema;

/** Every setting of the schema, walked from the root: the list the property runs over. */
function settingsOf(schema: Record<string, any>, path: string[] = []): Setting[] {
  const node = resolve(schema);
  if (node.anyOf || node.oneOf) return (node.anyOf ?? node.oneOf).flatMap((option: any) => settingsOf(option, path));
  if (node.type === 'object' && node.properties) {
    return Object.entries(node.properties).flatMap(([key, child]) => settingsOf(child as any, [...path, key]));
  }
  if (node.type === 'object' && node.additionalProperties && typeof node.additionalProperties === 'object') {
    // The top-level maps (storages, clusters) are identities, not settings: their entries are walked, not added.
    const own: Setting[] = path.length > 1 ? [{ path, schema: node, shape: 'map' }] : [];
    return [...own, ...settingsOf(node.additionalProperties, [...path, '*'])];
  }
  if (node.type === 'array') return [{ path, schema: node, shape: 'list' }, ...settingsOf(node.items, [...path, '[]'])];
  return [{ path, schema: node, shape: 'leaf' }];
}

/** Concrete places of a setting in a document: maps by key, lists by index; the last segment may be unset. */
function placesOf(document: any, path: readonly string[]): Segment[][] {
  let places: { at: Segment[]; value: any }[] = [{ at: [], value: document }];
  path.forEach((segment, i) => {
    const last = i === path.length - 1;
    places = places.flatMap(({ at, value }) => {
      if (value === null || typeof value !== 'object') return [];
      if (segment === '*') return Object.keys(value).map((key) => ({ at: [...at, key], value: value[key] }));
      if (segment === '[]') return Array.isArray(value) ? value.map((item, index) => ({ at: [...at, index], value: item })) : [];
      if (!last && value[segment] === undefined) return [];
      return [{ at: [...at, segment], value: value[segment] }];
    });
  });
  return places.map(({ at }) => at);
}

const get = (document: any, at: readonly Segment[]) => at.reduce((value, key) => value?.[key], document);
function set(document: any, at: readonly Segment[], value: unknown): void {
  const parent = get(document, at.slice(0, -1));
  if (value === undefined) delete parent[at[at.length - 1]];
  else parent[at[at.length - 1]] = value;
}

const STRING_POOL = [
  '15 3 * * *', 'Europe/Berlin', 'Etc/UTC', '2Gi', '500m', '30d', '8w', '5m', 'registry.example.com/etcd:3.5.22-0',
  'https://s3.other.example.com:9443', 'https://etcd-other.tenant-a.svc:2379', 'eu-west-1', 'other-bucket', 'other',
  'other/prefix', '/var/lib/other', '/etc/other/enc.yaml', '10.0.0.99', 'https://runbooks.example.com/other',
  'https://git.example.com/platform/other.git', 'refs/tags/v2',
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
];

/** Values to try, in order, for one place: derived from the current value first, then the pool. */
function candidates(setting: Setting, current: unknown, document: any): unknown[] {
  const { schema, shape } = setting;
  if (shape === 'list') {
    const list = (current as unknown[] | undefined) ?? [];
    const grow = list.length ? [[...list, structuredClone(list[list.length - 1])]] : [];
    const names = Object.keys(document.storages).filter((name) => !list.includes(name)).map((name) => [...list, name]);
    return [...(list.length > 1 ? [list.slice(0, -1)] : []), ...names, ...grow, []];
  }
  if (shape === 'map') return [{ ...(current as object), 'example.com/extra': 'x' }];
  if (schema.const !== undefined) return [];
  if (schema.enum) return schema.enum.filter((value: unknown) => value !== current);
  if (schema.type === 'boolean') return [!(current ?? schema.default ?? false)];
  if (schema.type === 'number' || schema.type === 'integer') {
    const value = typeof current === 'number' ? current : (schema.default ?? schema.minimum ?? 1);
    const within = (n: number) => (schema.minimum === undefined || n >= schema.minimum) && (schema.maximum === undefined || n <= schema.maximum)
      && (schema.exclusiveMinimum === undefined || n > schema.exclusiveMinimum) && (schema.type === 'number' || Number.isInteger(n));
    return [value + 1, value - 1, value * 2, schema.minimum, schema.maximum, 1, 60].filter((n) => typeof n === 'number' && n !== current && within(n));
  }
  const text = typeof current === 'string' ? current : '';
  const derived = text ? [`${text}x`, `${text}-2`, text.replace(/[0-9](?=[^0-9]*$)/, (d) => String((Number(d) + 1) % 10)), `${text.slice(0, 2)}Z${text.slice(3)}`] : [];
  return [...derived, ...STRING_POOL, ...Object.keys(document.storages)].filter((value) => value !== current);
}

/** Settings that are valid only together: a restore's snapshot and its typed confirmation, an SSE type and its key. */
const COMPANIONS: Readonly<Record<string, (document: any, at: Segment[]) => void>> = {
  // A KMS key id goes with aws:kms only.
  'storages.*.s3.sse.type': (document, at) => {
    const sse = get(document, at.slice(0, -1));
    if (sse.type !== 'aws:kms') delete sse.kmsKeyId;
  },
  'clusters.*.restores.[].snapshot': (document, at) => {
    const request = get(document, at.slice(0, -1));
    request.confirm = request.snapshot === 'latest' ? at[1] : /([^/]+)\.db/.exec(request.snapshot)?.[1];
  },
  'clusters.*.restores.[].confirm': (document, at) => {
    const request = get(document, at.slice(0, -1));
    if (request.snapshot !== 'latest') request.snapshot = request.snapshot.replace(/[^/]+\.db/, `${request.confirm}.db`);
  },
};
const SNAPSHOT_CANDIDATES = ['etcd/prod/prod-20261122T020000Z.db.zst.age', 'obc/tenant/tenant-20261122T020000Z.db.zst.age', 'latest'];
const CONFIRM_CANDIDATES = ['prod-20261122T020000Z'];

const valid = (document: unknown) => parseInventory(stringify(document), BASE_FILE).ok;

interface Change {
  readonly setting: string;
  readonly place: string;
  readonly document: Record<string, any>;
}

/**
 * One valid change per place (at most two places per setting, to bound the run; places that set it first, since a
 * field of one storage kind is valid only on storages of that kind), or none when nothing is valid.
 */
function changesOf(setting: Setting): Change[] {
  const name = setting.path.join('.');
  const found: Change[] = [];
  const places = placesOf(base, setting.path);
  const isSet = (at: Segment[]) => (get(base, at) === undefined ? 1 : 0);
  for (const at of [...places].sort((a, b) => isSet(a) - isSet(b)).slice(0, 2)) {
    const current = get(base, at);
    const tries = name.endsWith('restores.[].snapshot') ? SNAPSHOT_CANDIDATES : name.endsWith('restores.[].confirm') ? CONFIRM_CANDIDATES : candidates(setting, current, base);
    for (const value of tries) {
      const document = structuredClone(base);
      set(document, at, structuredClone(value));
      COMPANIONS[name]?.(document, at);
      if (valid(document)) {
        found.push({ setting: name, place: at.join('.'), document });
        break;
      }
    }
  }
  return found;
}

interface Rendered {
  /** Synced objects by identity: group/kind/namespace/name. */
  readonly objects: Map<string, { file: string; object: any }>;
  readonly files: Map<string, string>;
}

function render(document: unknown): Rendered {
  const result = parseInventory(stringify(document), BASE_FILE);
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
  const files = renderInventory(result.inventory);
  const objects = new Map<string, { file: string; object: any }>();
  for (const [file, text] of files) {
    if (!file.endsWith('.yaml') || file.endsWith('kustomization.yaml') || /\/restore-[^/]+\//.test(file)) continue;
    const object = parse(text);
    objects.set(`${groupKind(object)}/${object.metadata.namespace ?? ''}/${object.metadata.name}`, { file, object });
  }
  return { objects, files };
}

/** Every changed leaf between two values, as dotted paths (`spec.template.spec.containers[1].env[3].value`). */
function changedFields(a: unknown, b: unknown, path = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (Array.isArray(a) && Array.isArray(b)) {
    return Array.from({ length: Math.max(a.length, b.length) }, (_, i) => changedFields(a[i], b[i], `${path}[${i}]`)).flat();
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((key) => changedFields((a as any)[key], (b as any)[key], path ? `${path}.${key}` : key));
  }
  return [path];
}

/** Both tools leave this field of this existing object alone: Flux IfNotPresent, Argo CD RespectIgnoreDifferences. */
function heldByTools(rendered: Rendered, file: string, object: any, field: string): boolean {
  const flux = object.metadata.annotations?.['kustomize.toolkit.fluxcd.io/ssa'] === 'IfNotPresent';
  const folder = file.slice(0, file.lastIndexOf('/'));
  const application = [...rendered.files].filter(([path]) => path.startsWith('argocd/application-')).map(([, text]) => parse(text))
    .find((app) => app.spec.source.path === `dist/${folder}`);
  const argo = Boolean(application?.spec.syncPolicy.syncOptions.includes('RespectIgnoreDifferences=true')
    && application.spec.ignoreDifferences?.some((entry: any) => `${entry.group || 'core'}/${entry.kind}` === groupKind(object)
      && (!entry.name || entry.name === object.metadata.name)
      && (entry.jsonPointers ?? []).some((pointer: string) => {
        const dotted = pointer.split('/').slice(1).join('.');
        return field === dotted || field.startsWith(`${dotted}.`);
      })));
  return flux && argo;
}

describe('inventory edits against immutable fields', () => {
  const settings = settingsOf(root);
  const baseRendered = render(base);

  it('walks the schema: every setting, the restore and on-demand ones included', () => {
    const names = settings.map((s) => s.path.join('.'));
    for (const name of ['clusters.*.onDemandBackups.[].name', 'clusters.*.restores.[].snapshot', 'defaults.backup.retention.keepLast', 'storages.*.objectBucketClaim.port', 'gitops.flux.wait']) {
      expect(names).toContain(name);
    }
    expect(settings.length).toBeGreaterThan(150);
  });

  const changes = settings.flatMap(changesOf);

  it('finds a valid different value for every setting the base sets (constants aside)', () => {
    const changed = new Set(changes.map((c) => c.setting));
    const missing = settings.filter((s) => s.schema.const === undefined && !changed.has(s.path.join('.'))).map((s) => s.path.join('.'));
    expect(missing).toEqual([]);
  });

  it('changes no immutable field that a GitOps tool would apply', () => {
    const violations: string[] = [];
    let held = 0;
    let changedObjects = 0;
    for (const change of changes) {
      const rendered = render(change.document);
      for (const [identity, { file, object }] of rendered.objects) {
        const before = baseRendered.objects.get(identity);
        if (!before) continue; // a new object (a rename is a delete and a create)
        const fields = changedFields(before.object, object);
        if (fields.length) changedObjects += 1;
        for (const field of fields) {
          const immutable = immutableFieldOf(before.object, field);
          if (!immutable) continue;
          if (heldByTools(rendered, file, object, field)) held += 1;
          else violations.push(`${change.place}: ${file}: ${field} (inside immutable ${immutable})`);
        }
      }
    }
    expect([...new Set(violations)]).toEqual([]);
    // The on-demand Jobs' specs do change with ordinary edits: the tools' settings are what keeps them out.
    expect(held).toBeGreaterThan(0);
    expect(changedObjects).toBeGreaterThan(changes.length);
    // One synth per setting: the walk grows with the schema (it came near vitest's default on 2 busy cores).
  }, 180_000);
});
