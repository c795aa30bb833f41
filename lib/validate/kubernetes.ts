// Strict JSON schemas for the built-in Kubernetes 1.28 API, assembled offline from two npm packages.
//
// Where the schemas come from, and why two packages:
//
// * Structure (which fields exist, their types, which are required) comes from `cdk8s-plus-28` (already a
//   dependency of this project; the library that synthesizes our manifests). Its `k8s` namespace is generated
//   by `cdk8s import k8s@1.28.0`, i.e. from the Kubernetes **v1.28.0** OpenAPI document, and its jsii assembly
//   (`node_modules/cdk8s-plus-28/.jsii`, the documented jsii type-system file) records, for every struct,
//   each property's type, whether it is optional and (in `docs.custom.schema`, e.g.
//   `io.k8s.api.batch.v1.CronJobSpec#jobTemplate`) the original OpenAPI definition and JSON field name. This
//   gives exactly the 1.28 field set: e.g. the 1.28 additions Container.restartPolicy (sidecars) and
//   JobSpec.podReplacementPolicy / backoffLimitPerIndex are accepted, and post-1.28 fields are unknown.
// * The upstream 1.28 OpenAPI v2 document no longer carries `enum` lists (removed in 1.24, kubernetes#109178)
//   and jsii has a single `number` type. Enum lists and integer-vs-number come from `kubernetes-models`
//   **4.3.1** (pinned exactly), whose `_schemas/*.js` hold plain JSON schemas generated from Kubernetes
//   **v1.27.1** with the enums restored (tommy351/kubernetes-openapi-spec). No kubernetes-models release
//   matches 1.28: 4.3.x and 4.4.x are v1.27.1 (4.4 ships only precompiled validators, no JSON), 4.5.x is
//   v1.33.0 and 5.x is v1.36 (ESM only, Node 22). Enums are applied only where the 1.27.1 definition has the
//   same field; a field new in 1.28 is checked for type only.
//
// Strictness follows `kubectl --validate=strict`: every object schema gets `additionalProperties: false`,
// `x-kubernetes-int-or-string` fields accept integer or string, Quantity accepts string or number.
import * as fs from 'fs';
import * as path from 'path';
import Ajv, { type ValidateFunction } from 'ajv';

type JsonSchema = Record<string, unknown>;

interface JsiiTypeRef {
  primitive?: 'string' | 'number' | 'boolean' | 'date' | 'any' | 'json';
  fqn?: string;
  collection?: { kind: 'array' | 'map'; elementtype: JsiiTypeRef };
  union?: { types: JsiiTypeRef[] };
}
interface JsiiProperty {
  name: string;
  type: JsiiTypeRef;
  optional?: boolean;
  docs?: { custom?: { schema?: string } };
}
interface JsiiType {
  kind: 'interface' | 'class' | 'enum';
  fqn: string;
  properties?: JsiiProperty[];
  docs?: { custom?: { schema?: string } };
}

export const KUBERNETES_VERSION = '1.28.0';
const PLUS = 'cdk8s-plus-28';
const PREFIX = `${PLUS}.k8s.`;
const INT_OR_STRING = `${PREFIX}IntOrString`;
const QUANTITY = `${PREFIX}Quantity`;
export const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

interface BuiltinModel {
  ajv: Ajv;
  /** "batch/v1|CronJob" -> OpenAPI definition name */
  gvk: Map<string, string>;
  validators: Map<string, ValidateFunction>;
}

let model: BuiltinModel | undefined;

function packageDir(name: string, from?: string): string {
  return path.dirname(require.resolve(`${name}/package.json`, from !== undefined ? { paths: [from] } : undefined));
}

/** OpenAPI definition name -> kubernetes-models schema file stem: io.k8s.api.core.v1.Pod -> IoK8sApiCoreV1Pod */
function kmStem(def: string): string {
  return def
    .split(/[.-]/)
    .map((s) => s.charAt(0).toUpperCase() + s.slice(1))
    .join('');
}

const kmCache = new Map<string, JsonSchema | null>();
let kmDirs: string[] | undefined;

/** The kubernetes-models (v1.27.1) JSON schema of one definition, or null when it has none. */
function kmSchema(def: string): JsonSchema | null {
  const hit = kmCache.get(def);
  if (hit !== undefined) return hit;
  if (kmDirs === undefined) {
    const km = packageDir('kubernetes-models');
    kmDirs = [path.join(km, '_schemas'), path.join(packageDir('@kubernetes-models/apimachinery', km), '_schemas')];
  }
  let result: JsonSchema | null = null;
  for (const dir of kmDirs) {
    const file = path.join(dir, `${kmStem(def)}.js`);
    if (!fs.existsSync(file)) continue;
    const text = fs.readFileSync(file, 'utf8');
    const start = text.indexOf('const schema = ');
    const end = text.indexOf('\n};', start);
    if (start >= 0 && end > start) {
      try {
        result = JSON.parse(text.slice(start + 'const schema = '.length, end + 2)) as JsonSchema;
      } catch {
        result = null;
      }
    }
    break;
  }
  kmCache.set(def, result);
  return result;
}

function kmProperty(def: string, prop: string): JsonSchema | undefined {
  const s = kmSchema(def);
  const props = s?.properties as Record<string, JsonSchema> | undefined;
  return props?.[prop];
}

function refTo(def: string): JsonSchema {
  return { $ref: `k8s#/definitions/${def}` };
}

function build(): BuiltinModel {
  const plusDir = packageDir(PLUS);
  const assembly = JSON.parse(fs.readFileSync(path.join(plusDir, '.jsii'), 'utf8')) as { types: Record<string, JsiiType> };
  const types = assembly.types;
  const defOf = (fqn: string): string | undefined => types[fqn]?.docs?.custom?.schema;

  const definitions: Record<string, JsonSchema> = {};

  const typeSchema = (t: JsiiTypeRef, km: JsonSchema | undefined): JsonSchema => {
    if (t.primitive !== undefined) {
      switch (t.primitive) {
        case 'string': {
          const s: JsonSchema = { type: 'string' };
          if (km !== undefined && Array.isArray(km.enum)) s.enum = km.enum;
          return s;
        }
        case 'number':
          return { type: km?.type === 'number' ? 'number' : km?.type === 'integer' || km === undefined ? 'integer' : 'number' };
        case 'boolean':
          return { type: 'boolean' };
        case 'date':
          return { type: 'string' };
        default:
          return {};
      }
    }
    if (t.fqn !== undefined) {
      if (t.fqn === INT_OR_STRING) return { type: ['integer', 'string'] };
      if (t.fqn === QUANTITY) return { type: ['string', 'number'] };
      const target = types[t.fqn];
      if (target?.kind === 'enum') return { type: 'string' };
      const def = defOf(t.fqn);
      return def !== undefined ? refTo(def) : {};
    }
    if (t.collection !== undefined) {
      const kmItems = km?.items as JsonSchema | undefined;
      const kmValues = km?.additionalProperties as JsonSchema | undefined;
      const inner = typeSchema(t.collection.elementtype, t.collection.kind === 'array' ? kmItems : kmValues);
      return t.collection.kind === 'array' ? { type: 'array', items: inner } : { type: 'object', additionalProperties: inner };
    }
    return {};
  };

  const gvk = new Map<string, string>();
  for (const t of Object.values(types)) {
    if (!t.fqn.startsWith(PREFIX) || t.kind !== 'interface') continue;
    const def = t.docs?.custom?.schema;
    if (def === undefined || definitions[def] !== undefined) continue;
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const p of t.properties ?? []) {
      const ref = p.docs?.custom?.schema;
      const jsonName = ref !== undefined && ref.includes('#') ? ref.slice(ref.indexOf('#') + 1) : p.name;
      properties[jsonName] = typeSchema(p.type, kmProperty(def, jsonName));
      if (p.optional !== true) required.push(jsonName);
    }
    const isTopLevel = t.fqn.startsWith(`${PREFIX}Kube`) && t.fqn.endsWith('Props');
    if (isTopLevel) {
      // cdk8s leaves these out of the props; they exist on the wire (also for embedded objects such as
      // StatefulSet volumeClaimTemplates). `status` is written by controllers and ignored on create.
      properties.apiVersion = { type: 'string' };
      properties.kind = { type: 'string' };
      properties.status = { type: 'object' };
    }
    const schema: JsonSchema = { type: 'object', properties, additionalProperties: false };
    if (required.length > 0) schema.required = required;
    definitions[def] = schema;
  }

  // apiVersion/kind of each top-level kind, as recorded by the generated classes (KubeCronJob.GVK = {...}).
  const js = fs.readFileSync(path.join(plusDir, 'lib', 'imports', 'k8s.js'), 'utf8');
  const re = /(Kube\w+)\.GVK = \{\s*apiVersion: '([^']+)',\s*kind: '([^']+)',?\s*\}/g;
  for (let m = re.exec(js); m !== null; m = re.exec(js)) {
    const def = defOf(`${PREFIX}${m[1]}Props`);
    if (def !== undefined && !m[3].endsWith('List')) gvk.set(`${m[2]}|${m[3]}`, def);
  }

  const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, validateFormats: false });
  ajv.addSchema({ $id: 'k8s', definitions });
  return { ajv, gvk, validators: new Map() };
}

function getModel(): BuiltinModel {
  model ??= build();
  return model;
}

/** Compiled validator for a built-in apiVersion/kind, or undefined when Kubernetes 1.28 has no such kind. */
export function builtinValidator(apiVersion: string, kind: string): ValidateFunction | undefined {
  const m = getModel();
  const key = `${apiVersion}|${kind}`;
  const cached = m.validators.get(key);
  if (cached !== undefined) return cached;
  const def = m.gvk.get(key);
  if (def === undefined) return undefined;
  const v = m.ajv.compile(refTo(def));
  m.validators.set(key, v);
  return v;
}

/** Validator for ObjectMeta (used for the metadata of custom resources). */
export function objectMetaValidator(): ValidateFunction {
  const m = getModel();
  let v = m.validators.get(OBJECT_META);
  if (v === undefined) {
    v = m.ajv.compile(refTo(OBJECT_META));
    m.validators.set(OBJECT_META, v);
  }
  return v;
}

/** Whether an apiVersion/kind is a built-in Kubernetes 1.28 kind. */
export function isBuiltinKind(apiVersion: string, kind: string): boolean {
  return getModel().gvk.has(`${apiVersion}|${kind}`);
}

/** Whether the API group of an apiVersion belongs to Kubernetes itself (used to word "no schema" errors). */
export function builtinGroups(): Set<string> {
  const groups = new Set<string>();
  for (const key of getModel().gvk.keys()) {
    const av = key.slice(0, key.indexOf('|'));
    groups.add(av.includes('/') ? av.slice(0, av.lastIndexOf('/')) : '');
  }
  return groups;
}

/** All built-in kinds known, as "apiVersion|kind" (for tests and diagnostics). */
export function builtinKinds(): string[] {
  return [...getModel().gvk.keys()].sort();
}
