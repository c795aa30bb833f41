// Built-in Kubernetes 1.28 kinds, checked offline by two npm packages, each for what it does:
//
// * The field set (which fields exist, their types, which are required) comes from `cdk8s-plus-28`, the library
//   that synthesizes our manifests: its `k8s` namespace is generated from the Kubernetes **v1.28.0** OpenAPI
//   document, and its jsii assembly (`.jsii`, the documented jsii type-system file) records every struct's
//   properties, their optionality and (in `docs.custom.schema`) the OpenAPI definition and JSON field name. It gives
//   exactly the 1.28 field set, so unknown fields are rejected as `kubectl --validate=strict` does.
// * Enums and integer-vs-number come from `kubernetes-models`' own validators (`new CronJob(obj).validate()`,
//   schemas generated from Kubernetes v1.27.1 with the enums restored). They accept unknown fields, which is why the
//   field set stays with cdk8s-plus-28; a field new in 1.28 is checked for type only.
import * as fs from 'fs';
import * as path from 'path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';

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

const PLUS = 'cdk8s-plus-28';
const PREFIX = `${PLUS}.k8s.`;
const INT_OR_STRING = `${PREFIX}IntOrString`;
const QUANTITY = `${PREFIX}Quantity`;
const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

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

function refTo(def: string): JsonSchema {
  return { $ref: `k8s#/definitions/${def}` };
}

function build(): BuiltinModel {
  const plusDir = packageDir(PLUS);
  const assembly = JSON.parse(fs.readFileSync(path.join(plusDir, '.jsii'), 'utf8')) as { types: Record<string, JsiiType> };
  const types = assembly.types;
  const defOf = (fqn: string): string | undefined => types[fqn]?.docs?.custom?.schema;

  const definitions: Record<string, JsonSchema> = {};

  const typeSchema = (t: JsiiTypeRef): JsonSchema => {
    if (t.primitive !== undefined) {
      switch (t.primitive) {
        case 'string':
        case 'date':
          return { type: 'string' };
        case 'number':
          return { type: 'number' };
        case 'boolean':
          return { type: 'boolean' };
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
      const inner = typeSchema(t.collection.elementtype);
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
      properties[jsonName] = typeSchema(p.type);
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

type ModelClass = new (data: Record<string, unknown>) => { validate(): void };
const models = new Map<string, ModelClass | null>();

/** kubernetes-models' class of a built-in kind: its folders are named after the apiVersion (`batch/v1`, `v1`). */
function modelClass(apiVersion: string, kind: string): ModelClass | null {
  const key = `${apiVersion}|${kind}`;
  let found = models.get(key);
  if (found === undefined) {
    found = null;
    if (/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion) && /^[A-Z][A-Za-z0-9]*$/.test(kind)) {
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const group = require(`kubernetes-models/${apiVersion}`) as Record<string, ModelClass & { apiVersion?: string; kind?: string }>;
        const model = group[kind];
        if (model?.apiVersion === apiVersion && model.kind === kind) found = model;
      } catch {
        found = null; // a kind that Kubernetes 1.27 does not have
      }
    }
    models.set(key, found);
  }
  return found;
}

/**
 * The enum and integer problems that kubernetes-models' own validator finds in a built-in object (its other
 * findings, types and required fields, are the field-set check's and would be reported twice).
 */
export function modelErrors(apiVersion: string, kind: string, obj: Record<string, unknown>): ErrorObject[] {
  const model = modelClass(apiVersion, kind);
  if (model === null) return [];
  try {
    new model(obj).validate();
    return [];
  } catch (error) {
    const errors = (error as { errors?: ErrorObject[] }).errors;
    if (!Array.isArray(errors)) throw error;
    return errors.filter((e) => e.keyword === 'enum' || (e.keyword === 'type' && (e.params as { type?: unknown }).type === 'integer'));
  }
}
