/** inventory.yaml -> validated, frozen Inventory, or every problem at once with its position. */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { formatPath, InvalidInventoryError, issueWording, locate, problemsFromIssues, sortProblems, type Problem } from './errors';
import type { Inventory } from './model';
import { resolveInventory } from './resolve';
import { checkRules, type RuleScope } from './rules';
import { backupSettingsSchema, clusterSchema, inventorySchema, storageSchema, type ParsedInventory } from './schema';

/**
 * The entries of an inventory that failed the shape check whose own shape is valid. Storages that failed keep
 * their names (so references to them are not reported as missing).
 */
function validEntries(data: Record<string, unknown>): { inventory: ParsedInventory; broken: Set<string>; brokenDefaults: Set<string> } {
  const section = (value: unknown) => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {});
  const storages: Record<string, ParsedInventory['storages'][string]> = {};
  const broken = new Set<string>();
  for (const [name, raw] of Object.entries(section(data.storages))) {
    const storage = storageSchema.safeParse(raw);
    // A storage with shape errors still exists for references; its own rules wait for its shape to be fixed.
    storages[name] = storage.success ? storage.data : {};
    if (!storage.success) broken.add(name);
  }
  const clusters: Record<string, ParsedInventory['clusters'][string]> = {};
  for (const [name, raw] of Object.entries(section(data.clusters))) {
    const cluster = clusterSchema.safeParse(raw);
    if (cluster.success) clusters[name] = cluster.data;
  }
  // Defaults with a bad field still lend their valid fields to the cluster rules.
  const rawBackup = section(section(data.defaults).backup);
  const brokenDefaults = new Set<string>();
  const backup = Object.fromEntries(Object.entries(backupSettingsSchema.shape).flatMap(([key, schema]) => {
    const field = schema.safeParse(rawBackup[key]);
    if (!field.success) brokenDefaults.add(key);
    return field.success && field.data !== undefined ? [[key, field.data]] : [];
  }));
  return { inventory: { apiVersion: 'controlplane-backup.io/v1', kind: 'Inventory', storages, defaults: { backup }, clusters }, broken, brokenDefaults };
}

export type LoadResult = { ok: true; inventory: Inventory } | { ok: false; problems: Problem[] };

/** Parses and validates inventory text. `file` is used in messages only. Never throws on bad input. */
export function parseInventory(text: string, file: string): LoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, version: '1.2' });
  const problems: Problem[] = doc.errors.map((error) => {
    const { line, col: column } = lines.linePos(error.pos[0]);
    const message = error.code === 'DUPLICATE_KEY'
      ? `duplicate key ${JSON.stringify(text.slice(error.pos[0]).split(/:|\n/)[0].trim())}: a key (a cluster or storage name too) may appear only once in a mapping`
      : error.message.split('\n')[0];
    return { file, line, column, path: '', message };
  });
  // Duplicate keys leave a usable document: go on and report the rest too. Syntax errors do not.
  if (doc.errors.some((error) => error.code !== 'DUPLICATE_KEY')) return { ok: false, problems };

  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  if (data === null || data === undefined || typeof data !== 'object' || Array.isArray(data)) {
    return { ok: false, problems: [...problems, { file, line: 1, column: 1, path: '', message: 'the inventory must be a mapping with apiVersion, kind, storages, defaults and clusters' }] };
  }
  const parsed = inventorySchema.safeParse(data, { error: issueWording, reportInput: true });
  if (!parsed.success) problems.push(...problemsFromIssues(parsed.error.issues, file, doc, lines));
  // Cross-entry rules run on every entry whose own shape is valid, so one run reports everything it can.
  const checkable: { inventory: ParsedInventory } & RuleScope = parsed.success ? { inventory: parsed.data } : validEntries(data as Record<string, unknown>);
  for (const issue of checkRules(checkable.inventory, checkable)) {
    problems.push({ file, ...locate(doc, lines, issue.path, issue.atKey), path: formatPath(issue.path), message: issue.message });
  }
  if (!parsed.success && problems.length === 0) throw new Error('the inventory failed validation without a message');
  if (problems.length > 0) return { ok: false, problems: sortProblems(problems) };
  return { ok: true, inventory: resolveInventory(file, parsed.data!) };
}

/** Reads and validates an inventory file; throws InvalidInventoryError (with every problem) when it is invalid. */
export function loadInventory(file: string): Inventory {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new InvalidInventoryError([{ file, line: 1, column: 1, path: '', message: `cannot read the inventory: ${reason}` }]);
  }
  const result = parseInventory(text, file);
  if (!result.ok) throw new InvalidInventoryError(result.problems);
  return result.inventory;
}
