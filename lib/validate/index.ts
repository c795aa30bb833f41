// Output validation: every synthesized object is checked offline against the Kubernetes 1.28 schema of its
// kind (./kubernetes.ts) or against its CRD's openAPIV3Schema (./crds.ts), plus ObjectMeta rules.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments, parseDocument } from 'yaml';
import { crdCatalog } from './crds';
import { ajvErrorsToIssues, type ValidationIssue } from './issues';
import { checkMetadata } from './metadata';
import { isStaticPodFile, staticPodIssues } from './static-pod';
import { builtinGroups, builtinValidator, modelErrors, objectMetaValidator } from './kubernetes';

export { formatIssue, type ValidationIssue } from './issues';
export { resolveCrdsDir } from './crds';
export { builtinKinds } from './kubernetes';

export interface ValidateOptions {
  /** CRD folder; default $CONTROLPLANE_BACKUP_CRDS_DIR, else the package's own `crds/`. */
  crdsDir?: string;
}

export interface SourceDocument {
  file: string;
  index: number;
  object: unknown;
}

function subjectOf(obj: Record<string, unknown>): { kind: string; name: string } {
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  const meta = obj.metadata;
  let name = '';
  if (meta !== null && typeof meta === 'object' && !Array.isArray(meta)) {
    const m = meta as Record<string, unknown>;
    const n = typeof m.name === 'string' ? m.name : '';
    name = typeof m.namespace === 'string' && m.namespace !== '' && n !== '' ? `${m.namespace}/${n}` : n;
  }
  return { kind, name };
}

/** Validates one Kubernetes object; returns [] when it is valid. */
export function validateObject(obj: unknown, options: ValidateOptions = {}): ValidationIssue[] {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
    return [{ kind: '', name: '', path: '', message: `not a Kubernetes object (found ${Array.isArray(obj) ? 'array' : obj === null ? 'null' : typeof obj})` }];
  const o = obj as Record<string, unknown>;
  const subject = subjectOf(o);
  const issues: ValidationIssue[] = [];
  const add = (p: string, message: string) => issues.push({ ...subject, path: p, message });

  const { apiVersion, kind } = o;
  if (typeof apiVersion !== 'string' || apiVersion === '')
    add('apiVersion', apiVersion === undefined ? 'required field is missing' : `must be a non-empty string (found ${JSON.stringify(apiVersion)})`);
  if (typeof kind !== 'string' || kind === '')
    add('kind', kind === undefined ? 'required field is missing' : `must be a non-empty string (found ${JSON.stringify(kind)})`);
  issues.push(...checkMetadata(o, subject.kind, subject.name));
  if (typeof apiVersion !== 'string' || apiVersion === '' || typeof kind !== 'string' || kind === '') return issues;

  const builtin = builtinValidator(apiVersion, kind);
  if (builtin !== undefined) {
    const model = modelErrors(apiVersion, kind, o);
    // cdk8s-plus-28's data knows one number type: where kubernetes-models says integer, its word wins.
    const integers = new Set(model.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
    const own = (builtin(o) ? [] : builtin.errors ?? []).filter((e) => !(e.keyword === 'type' && integers.has(e.instancePath)));
    const errors = [...own, ...model];
    // In document order, so that problems read top to bottom whichever validator found them.
    errors.sort((a, b) => (a.instancePath < b.instancePath ? -1 : a.instancePath > b.instancePath ? 1 : 0));
    issues.push(...ajvErrorsToIssues(errors, o, subject));
    return issues;
  }

  const found = crdCatalog(options.crdsDir).lookup(apiVersion, kind);
  switch (found.status) {
    case 'ok': {
      issues.push(...found.validate(o, subject));
      const meta = o.metadata;
      if (meta !== undefined) {
        const mv = objectMetaValidator();
        if (!mv(meta)) issues.push(...ajvErrorsToIssues(mv.errors, meta, subject, ['metadata']));
      }
      return issues;
    }
    case 'unserved':
      add(
        'apiVersion',
        `${apiVersion} is not served by CRD ${found.info.crdName}${found.served.length > 0 ? ` (served: ${found.served.map((v) => `${found.info.group}/${v}`).join(', ')})` : ''}`,
      );
      return issues;
    case 'no-version':
      add('apiVersion', `no schema for ${kind} ${apiVersion}: its CRD has ${found.versions.map((v) => `${found.group}/${v}`).join(', ') || 'no served version'}`);
      return issues;
    default: {
      const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '';
      if (builtinGroups().has(group)) {
        add('', `no schema for ${kind} ${apiVersion} (not a known kind in Kubernetes 1.28)`);
        return issues;
      }
      const catalog = crdCatalog(options.crdsDir);
      const where = catalog.exists()
        ? `looked in Kubernetes 1.28 and in the CRD folder ${catalog.dir}`
        : `looked in Kubernetes 1.28; the CRD folder ${catalog.dir} does not exist (set CONTROLPLANE_BACKUP_CRDS_DIR to a folder of CRD YAML files)`;
      add('', `no schema for ${kind} ${apiVersion} (${where})`);
      return issues;
    }
  }
}

/** Validates documents already parsed; issues carry `file` and `index`. Empty documents are skipped. */
export function validateDocuments(docs: readonly SourceDocument[], options: ValidateOptions = {}): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const d of docs) {
    if (d.object === null || d.object === undefined) continue;
    for (const issue of validateObject(d.object, options)) out.push({ ...issue, file: d.file, index: d.index });
  }
  return out;
}

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && /\.ya?ml$/.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

const KUSTOMIZATION_NAMES = new Set(['kustomization.yaml', 'kustomization.yml', 'Kustomization']);

/** Checks a kustomization.yaml: it parses, and each local entry of `resources` exists. */
function checkKustomization(file: string, shown: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const add = (p: string, message: string) => issues.push({ file: shown, kind: 'Kustomization', name: '', path: p, message });
  const doc = parseDocument(fs.readFileSync(file, 'utf8'), { uniqueKeys: true });
  if (doc.errors.length > 0) {
    add('', `YAML error: ${doc.errors[0].message.split('\n')[0]}`);
    return issues;
  }
  const k = doc.toJS() as unknown;
  if (k === null || typeof k !== 'object' || Array.isArray(k)) {
    add('', 'must be a mapping');
    return issues;
  }
  const resources = (k as Record<string, unknown>).resources;
  if (resources === undefined) return issues;
  if (!Array.isArray(resources)) {
    add('resources', `must be a list (found ${typeof resources})`);
    return issues;
  }
  resources.forEach((r, i) => {
    if (typeof r !== 'string') add(`resources[${i}]`, `must be a string (found ${JSON.stringify(r)})`);
    else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(r) && !r.startsWith('git@') && !fs.existsSync(path.resolve(path.dirname(file), r)))
      add(`resources[${i}]`, `${JSON.stringify(r)} does not exist`);
  });
  return issues;
}

/**
 * Validates every `*.yaml` / `*.yml` below `dir`, recursively. `kustomization.yaml` is a kustomize config,
 * not an object: it is only checked to parse and to name existing resources. File names in issues are
 * shown relative to the current directory when `dir` is inside it.
 */
export function validateDirectory(dir: string, options: ValidateOptions = {}): ValidationIssue[] {
  const root = path.resolve(dir);
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory())
    return [{ file: dir, kind: '', name: '', path: '', message: 'not a directory' }];
  const rel = (f: string) => {
    const r = path.relative(process.cwd(), f);
    return r.startsWith('..') || path.isAbsolute(r) ? f : r;
  };
  const out: ValidationIssue[] = [];
  for (const file of yamlFiles(root)) {
    const docs: SourceDocument[] = [];
    const shown = rel(file);
    if (KUSTOMIZATION_NAMES.has(path.basename(file))) {
      out.push(...checkKustomization(file, shown));
      continue;
    }
    parseAllDocuments(fs.readFileSync(file, 'utf8'), { uniqueKeys: true }).forEach((doc, index) => {
      if (!('toJS' in doc)) return;
      if (doc.errors.length > 0) {
        out.push({ file: shown, index, kind: '', name: '', path: '', message: `YAML error: ${doc.errors[0].message.split('\n')[0]}` });
        return;
      }
      docs.push({ file: shown, index, object: doc.toJS() });
    });
    out.push(...validateDocuments(docs, options));
    if (isStaticPodFile(file)) for (const d of docs) out.push(...staticPodIssues(d.object).map((issue) => ({ ...issue, file: shown, index: d.index })));
  }
  return out;
}

export interface KustomizeResult {
  ok: boolean;
  output: string;
  error: string;
}

/** Runs `kubectl kustomize DIR` (kubectl from $KUBECTL or PATH) with a timeout. */
export function kustomizeBuild(dir: string, options: { timeoutMs?: number; kubectl?: string } = {}): KustomizeResult {
  const kubectl = options.kubectl ?? process.env.KUBECTL ?? 'kubectl';
  const r = spawnSync(kubectl, ['kustomize', dir], {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error !== undefined) {
    const e = r.error as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? `${kubectl} not found` : e.code === 'ETIMEDOUT' ? `timed out after ${options.timeoutMs ?? 60_000} ms` : e.message;
    return { ok: false, output: r.stdout ?? '', error: `kubectl kustomize ${dir}: ${why}` };
  }
  return { ok: r.status === 0, output: r.stdout, error: (r.stderr ?? '').trim() };
}
