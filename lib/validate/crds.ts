// Validation of custom resources against the openAPIV3Schema of their CustomResourceDefinition, read at run
// time from the CRD folder the package ships (crds/, see its README for provenance). Files are indexed cheaply (group from the
// file name `<plural>.<group>.yaml`, kind from the `names:` block), and a CRD is parsed and compiled only when
// an object of its group/kind is first validated; parsed CRDs are cached per folder. The schema is walked
// directly (no code generation): compiling the 1.3 MB ApplicationSet schema with Ajv took over 3 s.
import * as fs from 'fs';
import * as path from 'path';
import type { ValidationIssue } from './issues';
import { formatPath, nearest } from '../text';
import { describeValue } from './issues';
import { parseAllDocuments } from 'yaml';
import { packageRoot } from '../package-root';

type JsonSchema = Record<string, unknown>;
interface Subject {
  kind: string;
  name: string;
}

/** The CRD folder: explicit argument, else $CONTROLPLANE_BACKUP_CRDS_DIR, else the `crds/` the package ships. */
export function resolveCrdsDir(dir?: string): string {
  if (dir !== undefined && dir !== '') return path.resolve(dir);
  const env = process.env.CONTROLPLANE_BACKUP_CRDS_DIR;
  if (env !== undefined && env !== '') return path.resolve(env);
  return path.join(packageRoot(), 'crds');
}

export interface CrdVersionInfo {
  file: string;
  crdName: string;
  group: string;
  kind: string;
  version: string;
  served: boolean;
  scope: string;
}

export type CrdLookup =
  | { status: 'ok'; info: CrdVersionInfo; validate: (obj: Record<string, unknown>, subject: Subject) => ValidationIssue[] }
  | { status: 'unserved'; info: CrdVersionInfo; served: string[] }
  | { status: 'no-version'; kind: string; group: string; versions: string[] }
  | { status: 'unknown' };

interface FileIndexEntry {
  file: string;
  group: string;
  kind: string | undefined; // undefined: header scan failed, parse on demand
}

interface ParsedCrd {
  crdName: string;
  group: string;
  kind: string;
  scope: string;
  versions: { name: string; served: boolean; schema: JsonSchema | undefined }[];
}

class CrdCatalog {
  private index: FileIndexEntry[] | undefined;
  private readonly parsed = new Map<string, ParsedCrd | null>();

  constructor(readonly dir: string) {}

  /** Whether the folder exists (a missing folder is named in "no schema" errors). */
  exists(): boolean {
    return fs.existsSync(this.dir) && fs.statSync(this.dir).isDirectory();
  }

  private listFiles(): FileIndexEntry[] {
    if (this.index !== undefined) return this.index;
    const out: FileIndexEntry[] = [];
    const walk = (d: string) => {
      if (!fs.existsSync(d)) return;
      const entries = fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => {
        // files of a folder before its subfolders: the top-level (released) CRDs win on a tie
        if (a.isDirectory() !== b.isDirectory()) return a.isDirectory() ? 1 : -1;
        return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
      });
      for (const e of entries) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.ya?ml$/.test(e.name)) {
          const stem = e.name.replace(/\.ya?ml$/, '');
          const dot = stem.indexOf('.');
          const group = dot >= 0 ? stem.slice(dot + 1) : '';
          out.push({ file: p, group, kind: headerKind(fs.readFileSync(p, 'utf8')) });
        }
      }
    };
    walk(this.dir);
    this.index = out;
    return out;
  }

  private parse(file: string): ParsedCrd | null {
    const hit = this.parsed.get(file);
    if (hit !== undefined) return hit;
    let result: ParsedCrd | null = null;
    for (const doc of parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
      if (!('toJS' in doc) || doc.errors.length > 0) continue;
      const o = doc.toJS({ maxAliasCount: -1 }) as Record<string, any> | null;
      if (o?.kind !== 'CustomResourceDefinition' || typeof o.spec !== 'object') continue;
      const spec = o.spec as Record<string, any>;
      result = {
        crdName: String(o.metadata?.name ?? ''),
        group: String(spec.group ?? ''),
        kind: String(spec.names?.kind ?? ''),
        scope: String(spec.scope ?? 'Namespaced'),
        versions: ((spec.versions ?? []) as Record<string, any>[]).map((v) => ({
          name: String(v.name),
          served: v.served !== false,
          schema: (v.schema?.openAPIV3Schema ?? spec.validation?.openAPIV3Schema) as JsonSchema | undefined,
        })),
      };
      break;
    }
    this.parsed.set(file, result);
    return result;
  }

  /** Finds the CRD (and compiled validator) for an object of `apiVersion`/`kind`. */
  lookup(apiVersion: string, kind: string): CrdLookup {
    const slash = apiVersion.lastIndexOf('/');
    if (slash < 0) return { status: 'unknown' };
    const group = apiVersion.slice(0, slash);
    const version = apiVersion.slice(slash + 1);
    const candidates = this.listFiles().filter((f) => f.group === group && (f.kind === undefined || f.kind === kind));
    const crds: { file: string; crd: ParsedCrd }[] = [];
    for (const c of candidates) {
      const crd = this.parse(c.file);
      if (crd !== null && crd.group === group && crd.kind === kind) crds.push({ file: c.file, crd });
    }
    if (crds.length === 0) return { status: 'unknown' };
    for (const { file, crd } of crds) {
      const v = crd.versions.find((x) => x.name === version);
      if (v === undefined) continue;
      const info: CrdVersionInfo = { file, crdName: crd.crdName, group, kind, version, served: v.served, scope: crd.scope };
      if (!v.served) continue;
      const schema = v.schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
      return { status: 'ok', info, validate: (obj, subject) => validateCustomResource(schema, obj, subject) };
    }
    // Not served anywhere: report the first CRD that has the version but does not serve it.
    for (const { file, crd } of crds) {
      const v = crd.versions.find((x) => x.name === version);
      if (v !== undefined)
        return {
          status: 'unserved',
          info: { file, crdName: crd.crdName, group, kind, version, served: false, scope: crd.scope },
          served: crds.flatMap((c) => c.crd.versions.filter((x) => x.served).map((x) => x.name)),
        };
    }
    return { status: 'no-version', kind, group, versions: crds.flatMap((c) => c.crd.versions.filter((x) => x.served).map((x) => x.name)) };
  }
}

/** `spec.names.kind` read from the text without a full parse; undefined when the layout is unusual. */
function headerKind(text: string): string | undefined {
  const m = /^([ \t]*)names:[ \t]*\r?\n((?:\1[ \t]+.*\r?\n)+)/m.exec(text);
  if (m === null) return undefined;
  const k = /^[ \t]+kind:[ \t]*["']?([A-Za-z0-9]+)["']?[ \t]*$/m.exec(m[2]);
  return k?.[1];
}

/**
 * Validates a custom resource against a structural openAPIV3Schema with the API server's semantics:
 * - an object's unknown fields are errors (the server prunes them; strict field validation rejects them)
 *   unless `x-kubernetes-preserve-unknown-fields: true` (or `additionalProperties` gives their schema);
 * - `x-kubernetes-int-or-string: true` accepts an integer or a string; `nullable: true` accepts null;
 * - `x-kubernetes-embedded-resource: true` also accepts apiVersion, kind and metadata;
 * - allOf/anyOf/oneOf/not only constrain values (they cannot declare fields in a structural schema);
 * - the root `metadata` is left to the caller, who checks it as ObjectMeta; apiVersion/kind are strings.
 * Not evaluated: CEL rules (`x-kubernetes-validations`), `format`, list-type/map-keys uniqueness.
 */
function validateCustomResource(root: JsonSchema, obj: Record<string, unknown>, subject: Subject): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const rootSchema: JsonSchema = {
    ...root,
    type: 'object',
    properties: {
      ...((root.properties as Record<string, JsonSchema> | undefined) ?? {}),
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    },
  };
  walk(rootSchema, obj, [], false, (segs, message) => issues.push({ ...subject, path: formatPath(segs), message }));
  return issues;
}

type Report = (segs: (string | number)[], message: string) => void;

const regexCache = new Map<string, RegExp | null>();
/** Go RE2 patterns as JS regexps; a leading `(?i)` becomes the i flag; unsupported patterns are skipped. */
function goRegex(p: string): RegExp | null {
  let r = regexCache.get(p);
  if (r === undefined) {
    try {
      r = p.startsWith('(?i)') ? new RegExp(p.slice(4), 'iu') : new RegExp(p, 'u');
    } catch {
      r = null;
    }
    regexCache.set(p, r);
  }
  return r;
}

function typeOk(type: string, v: unknown): boolean {
  switch (type) {
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    default:
      return true;
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** Walks value and schema together. `valueOnly`: inside allOf/anyOf/oneOf/not, where fields are not declared. */
function walk(s: JsonSchema, v: unknown, segs: (string | number)[], valueOnly: boolean, report: Report): void {
  if (v === null) {
    if (s.nullable !== true && (s.type !== undefined || s['x-kubernetes-int-or-string'] === true))
      report(segs, `must be ${s['x-kubernetes-int-or-string'] === true ? 'integer or string' : String(s.type)} (found null)`);
    return;
  }
  if (s['x-kubernetes-int-or-string'] === true) {
    if (!typeOk('integer', v) && typeof v !== 'string') {
      report(segs, `must be integer or string (found ${describeValue(v)})`);
      return;
    }
  } else if (typeof s.type === 'string' && !typeOk(s.type, v)) {
    report(segs, `must be ${s.type} (found ${describeValue(v)})`);
    return;
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => sameValue(e, v))) {
    report(segs, `must be one of ${s.enum.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join(', ')} (found ${JSON.stringify(v)})`);
  }
  if (typeof v === 'string') {
    if (typeof s.minLength === 'number' && [...v].length < s.minLength)
      report(segs, `must be at least ${s.minLength} characters long (found ${JSON.stringify(v)})`);
    if (typeof s.maxLength === 'number' && [...v].length > s.maxLength)
      report(segs, `must be at most ${s.maxLength} characters long (found ${[...v].length})`);
    if (typeof s.pattern === 'string') {
      const re = goRegex(s.pattern);
      if (re !== null && !re.test(v)) report(segs, `must match pattern ${s.pattern} (found ${JSON.stringify(v)})`);
    }
  } else if (typeof v === 'number') {
    if (typeof s.minimum === 'number' && (s.exclusiveMinimum === true ? v <= s.minimum : v < s.minimum))
      report(segs, `must be ${s.exclusiveMinimum === true ? 'greater than' : 'at least'} ${s.minimum} (found ${v})`);
    if (typeof s.maximum === 'number' && (s.exclusiveMaximum === true ? v >= s.maximum : v > s.maximum))
      report(segs, `must be ${s.exclusiveMaximum === true ? 'less than' : 'at most'} ${s.maximum} (found ${v})`);
    if (typeof s.multipleOf === 'number' && s.multipleOf > 0 && !Number.isInteger(v / s.multipleOf))
      report(segs, `must be a multiple of ${s.multipleOf} (found ${v})`);
  } else if (Array.isArray(v)) {
    if (typeof s.minItems === 'number' && v.length < s.minItems) report(segs, `must have at least ${s.minItems} item(s) (found ${v.length})`);
    if (typeof s.maxItems === 'number' && v.length > s.maxItems) report(segs, `must have at most ${s.maxItems} item(s) (found ${v.length})`);
    if (s.uniqueItems === true) {
      const seen = new Set<string>();
      v.forEach((item, i) => {
        const k = JSON.stringify(item);
        if (seen.has(k)) report([...segs, i], 'duplicate item');
        seen.add(k);
      });
    }
    const items = s.items;
    if (items !== null && typeof items === 'object' && !Array.isArray(items))
      v.forEach((item, i) => walk(items as JsonSchema, item, [...segs, i], valueOnly, report));
  } else if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const props = (s.properties as Record<string, JsonSchema> | undefined) ?? {};
    const keys = Object.keys(o);
    if (Array.isArray(s.required))
      for (const r of s.required as string[]) if (o[r] === undefined) report([...segs, r], 'required field is missing');
    if (typeof s.minProperties === 'number' && keys.length < s.minProperties)
      report(segs, `must have at least ${s.minProperties} field(s) (found ${keys.length})`);
    if (typeof s.maxProperties === 'number' && keys.length > s.maxProperties)
      report(segs, `must have at most ${s.maxProperties} field(s) (found ${keys.length})`);
    const extra = s.additionalProperties;
    const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
    const embedded = s['x-kubernetes-embedded-resource'] === true;
    for (const k of keys) {
      const ps = Object.prototype.hasOwnProperty.call(props, k) ? props[k] : undefined;
      if (ps !== undefined) walk(ps, o[k], [...segs, k], valueOnly, report);
      else if (extra !== null && typeof extra === 'object') walk(extra as JsonSchema, o[k], [...segs, k], valueOnly, report);
      else if (valueOnly || preserve || extra === true) continue;
      else if (embedded && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) continue;
      else {
        const hint = nearest(k, Object.keys(props));
        report([...segs, k], `unknown field "${k}"${hint !== undefined ? ` (did you mean "${hint}"?)` : ''}`);
      }
    }
  }
  // Value validations of the junctors. Their own failures are collected, not reported directly.
  const branchErrors = (b: JsonSchema): string[] => {
    const errs: string[] = [];
    walk(b, v, segs, true, (p, m) => errs.push(p.length > segs.length ? `${formatPath(p.slice(segs.length))}: ${m}` : m));
    return errs;
  };
  if (Array.isArray(s.allOf)) for (const b of s.allOf as JsonSchema[]) walk(b, v, segs, true, report);
  if (Array.isArray(s.anyOf)) {
    const results = (s.anyOf as JsonSchema[]).map(branchErrors);
    if (!results.some((r) => r.length === 0))
      report(segs, `must satisfy at least one of: ${results.map((r) => r.join('; ')).map((r) => `(${r})`).join(' or ')}`);
  }
  if (Array.isArray(s.oneOf)) {
    const results = (s.oneOf as JsonSchema[]).map(branchErrors);
    const passing = results.filter((r) => r.length === 0).length;
    if (passing === 0) report(segs, `must satisfy one of: ${results.map((r) => `(${r.join('; ')})`).join(' or ')}`);
    else if (passing > 1) report(segs, `must satisfy exactly one of ${results.length} alternatives (satisfies ${passing})`);
  }
  if (s.not !== null && typeof s.not === 'object' && branchErrors(s.not as JsonSchema).length === 0)
    report(segs, 'matches a schema it must not match');
}
const catalogs = new Map<string, CrdCatalog>();

/** Cached catalog of one CRD folder. */
export function crdCatalog(dir?: string): CrdCatalog {
  const resolved = resolveCrdsDir(dir);
  let c = catalogs.get(resolved);
  if (c === undefined) {
    c = new CrdCatalog(resolved);
    catalogs.set(resolved, c);
  }
  return c;
}

export type { CrdCatalog };
