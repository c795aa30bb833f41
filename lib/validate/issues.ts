// Issue type and the translation of Ajv errors into messages for people (paths: formatPath in lib/text.ts).
import { formatPath, nearest } from '../text';
import type { ErrorObject } from 'ajv';

export interface ValidationIssue {
  /** File the object came from (validateDocuments / validateDirectory only). */
  file?: string;
  /** Document index inside the file (0-based), when known. */
  index?: number;
  /** Object kind, or "" when the object has none. */
  kind: string;
  /** "namespace/name", "name", or "" when unknown. */
  name: string;
  /** Field path such as `spec.template.spec.containers[0].image`, or "" for the whole object. */
  path: string;
  message: string;
}

/** `dist/x/cronjob.yaml: CronJob prod/backup: spec.foo: unknown field "foo"` */
export function formatIssue(issue: ValidationIssue): string {
  const parts: string[] = [];
  if (issue.file !== undefined) parts.push(issue.file);
  const subject = [issue.kind, issue.name].filter((s) => s !== '').join(' ');
  if (subject !== '') parts.push(subject);
  else if (issue.index !== undefined) parts.push(`document ${issue.index + 1}`);
  if (issue.path !== '') parts.push(issue.path);
  parts.push(issue.message);
  return parts.join(': ');
}

/** Splits an Ajv JSON-pointer instancePath, turning array indices into numbers. */
function pointerSegments(pointer: string, root: unknown): (string | number)[] {
  if (pointer === '') return [];
  const raw = pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const out: (string | number)[] = [];
  let cur: unknown = root;
  for (const seg of raw) {
    if (Array.isArray(cur) && /^\d+$/.test(seg)) {
      out.push(Number(seg));
      cur = cur[Number(seg)];
    } else {
      out.push(seg);
      cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'string':
      return `string ${JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v)}`;
    case 'number':
      return `number ${v}`;
    case 'boolean':
      return `boolean ${v}`;
    case 'object':
      return 'object';
    default:
      return typeof v;
  }
}

function typeNames(t: unknown): string {
  const list = (Array.isArray(t) ? t : [t]).map(String).filter((x) => x !== 'null');
  return list.join(' or ');
}

export interface IssueSubject {
  kind: string;
  name: string;
}

/** Converts Ajv errors (allErrors + verbose) into issues, dropping noise Ajv adds for the same spot. */
export function ajvErrorsToIssues(
  errors: readonly ErrorObject[] | null | undefined,
  root: unknown,
  subject: IssueSubject,
  basePath: readonly (string | number)[] = [],
): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    const segs = [...basePath, ...pointerSegments(e.instancePath, root)];
    let path = formatPath(segs);
    let message: string;
    switch (e.keyword) {
      case 'additionalProperties': {
        const prop = String((e.params as { additionalProperty: string }).additionalProperty);
        path = formatPath([...segs, prop]);
        const known = Object.keys(((e.parentSchema as { properties?: object } | undefined)?.properties ?? {}) as object);
        const hint = nearest(prop, known);
        message = `unknown field "${prop}"${hint !== undefined ? ` (did you mean "${hint}"?)` : ''}`;
        break;
      }
      case 'required': {
        const prop = String((e.params as { missingProperty: string }).missingProperty);
        path = formatPath([...segs, prop]);
        message = 'required field is missing';
        break;
      }
      case 'type':
        message = `must be ${typeNames((e.params as { type: unknown }).type)} (found ${describeValue(e.data)})`;
        break;
      case 'enum': {
        const allowed = ((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map((v) =>
          typeof v === 'string' ? v : JSON.stringify(v),
        );
        message = `must be one of ${allowed.join(', ')} (found ${JSON.stringify(e.data)})`;
        break;
      }
      case 'const':
        message = `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)} (found ${JSON.stringify(e.data)})`;
        break;
      case 'pattern':
        message = `must match pattern ${(e.params as { pattern: string }).pattern} (found ${JSON.stringify(e.data)})`;
        break;
      default:
        message = `${e.message ?? e.keyword}${e.data !== undefined && typeof e.data !== 'object' ? ` (found ${JSON.stringify(e.data)})` : ''}`;
    }
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ kind: subject.kind, name: subject.name, path, message });
  }
  return out;
}
