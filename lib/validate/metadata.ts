// Checks the API server applies to ObjectMeta whatever the kind (apimachinery/pkg/api/validation),
// reduced to what can go wrong in generated manifests: name, namespace, label and annotation keys.
import { DNS_LABEL, DNS_LABEL_MAX_LENGTH, DNS_SUBDOMAIN, DNS_SUBDOMAIN_MAX_LENGTH } from '../dns-names';
import { formatPath } from '../text';
import type { ValidationIssue } from './issues';

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Kinds whose names must be DNS-1123 labels (ValidateNamespaceName, ValidateServiceName, ...). */
const LABEL_NAMED = new Set(['Namespace', 'Service']);
/** RBAC kinds accept any "path segment" name (e.g. `system:controller:foo`). */
const PATH_SEGMENT_NAMED = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);

function dnsLabelError(v: string): string | undefined {
  if (v.length > DNS_LABEL_MAX_LENGTH) return `must be no more than ${DNS_LABEL_MAX_LENGTH} characters (found ${v.length})`;
  if (!DNS_LABEL.test(v))
    return `must be a DNS-1123 label: lower case letters, digits and '-', starting and ending with a letter or digit (found ${JSON.stringify(v)})`;
  return undefined;
}

function dnsSubdomainError(v: string): string | undefined {
  if (v.length > DNS_SUBDOMAIN_MAX_LENGTH) return `must be no more than ${DNS_SUBDOMAIN_MAX_LENGTH} characters (found ${v.length})`;
  if (!DNS_SUBDOMAIN.test(v))
    return `must be a DNS-1123 subdomain: lower case letters, digits, '-' and '.', starting and ending with a letter or digit (found ${JSON.stringify(v)})`;
  return undefined;
}

function nameError(kind: string, v: string): string | undefined {
  if (LABEL_NAMED.has(kind)) return dnsLabelError(v);
  if (PATH_SEGMENT_NAMED.has(kind)) {
    if (v === '.' || v === '..' || v.includes('/') || v.includes('%'))
      return `may not be "." or ".." and may not contain "/" or "%" (found ${JSON.stringify(v)})`;
    return undefined;
  }
  return dnsSubdomainError(v);
}

function qualifiedKeyError(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    const e = dnsSubdomainError(prefix);
    if (e !== undefined || prefix === '') return `key prefix ${e ?? 'must not be empty'}`;
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name))
    return `key ${JSON.stringify(key)} is not a qualified name: at most 63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit, with an optional DNS subdomain prefix and '/'`;
  return undefined;
}

/**
 * Validates `metadata` as ObjectMeta beyond its schema: name present and well formed, namespace a DNS
 * label, label keys/values and annotation keys well formed. Schema checks (types, unknown fields) are done
 * separately against the Kubernetes ObjectMeta schema.
 */
export function checkMetadata(obj: Record<string, unknown>, kind: string, name: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const add = (segs: (string | number)[], message: string) => issues.push({ kind, name, path: formatPath(segs), message });
  const meta = obj.metadata;
  if (meta === undefined || meta === null) {
    add(['metadata'], 'required field is missing');
    return issues;
  }
  if (typeof meta !== 'object' || Array.isArray(meta)) return issues; // the schema reports the type
  const m = meta as Record<string, unknown>;
  if (m.name === undefined || m.name === '') add(['metadata', 'name'], 'required field is missing');
  else if (typeof m.name === 'string') {
    const e = nameError(kind, m.name);
    if (e !== undefined) add(['metadata', 'name'], e);
  }
  if (typeof m.namespace === 'string') {
    const e = dnsLabelError(m.namespace);
    if (e !== undefined) add(['metadata', 'namespace'], e);
  }
  for (const field of ['labels', 'annotations'] as const) {
    const map = m[field];
    if (map === null || typeof map !== 'object' || Array.isArray(map)) continue;
    for (const [k, v] of Object.entries(map as Record<string, unknown>)) {
      const e = qualifiedKeyError(k);
      if (e !== undefined) add(['metadata', field, k], e);
      if (field === 'labels' && typeof v === 'string' && (v.length > 63 || !LABEL_VALUE.test(v)))
        add(
          ['metadata', field, k],
          `label value must be at most 63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit (found ${JSON.stringify(v)})`,
        );
    }
  }
  return issues;
}
