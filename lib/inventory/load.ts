/** inventory.yaml -> validated, frozen Inventory, or every problem at once with its position. */
import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { formatPath, formatProblem, InvalidInventoryError, issueWording, locate, problemsFromIssues, sortProblems, type Problem } from './errors';
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
    const key = text.slice(error.pos[0]).split(/:|\n/)[0].trim().replace(/^(["'])(.*)\1$/, '$2');
    const message = error.code === 'DUPLICATE_KEY'
      ? `duplicate key ${JSON.stringify(key)}: a key (a cluster or storage name too) may appear only once in a mapping`
      : error.message.split('\n')[0];
    return { file, line, column, path: '', message };
  });
  // Duplicate keys leave a usable document: go on and report the rest too. Syntax errors do not.
  if (doc.errors.some((error) => error.code !== 'DUPLICATE_KEY')) return { ok: false, problems };

  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  if (data === null || data === undefined || typeof data !== 'object' || Array.isArray(data)) {
    return { ok: false, problems: [...problems, { file, line: 1, column: 1, path: '', message: 'the inventory must be a mapping with apiVersion, kind, storages, defaults and clusters' }] };
  }
  const checked = check(data as Record<string, unknown>, doc, lines, file);
  // toJS keeps the last of duplicate keys: check the earlier ones too, so that nothing in the file goes unread.
  const shadowed = problems.length > 0 ? withoutLaterDuplicates(doc) : undefined;
  const more = shadowed ? check(shadowed.toJS({ maxAliasCount: 100 }) as Record<string, unknown>, shadowed, lines, file).problems : [];
  // A rule about an inherited default (or a shadowed copy) can come out once per cluster: report it once.
  const seen = new Set<string>();
  const unique = [...problems, ...checked.problems, ...more].filter((problem) => {
    const text = formatProblem(problem);
    return !seen.has(text) && Boolean(seen.add(text));
  });
  if (!checked.parsed && unique.length === 0) throw new Error('the inventory failed validation without a message');
  if (unique.length > 0) return { ok: false, problems: sortProblems(unique) };
  return { ok: true, inventory: resolveInventory(file, checked.parsed!) };
}

/** Shape and cross-entry rules; `parsed` when the shape is valid. */
function check(data: Record<string, unknown>, doc: Document, lines: LineCounter, file: string): { parsed?: ParsedInventory; problems: Problem[] } {
  const problems: Problem[] = [];
  const parsed = inventorySchema.safeParse(data, { error: issueWording, reportInput: true });
  if (!parsed.success) problems.push(...problemsFromIssues(parsed.error.issues, file, doc, lines));
  // Cross-entry rules run on every entry whose own shape is valid, so one run reports everything it can.
  const checkable: { inventory: ParsedInventory } & RuleScope = parsed.success ? { inventory: parsed.data } : validEntries(data);
  for (const issue of checkRules(checkable.inventory, checkable)) {
    problems.push({ file, ...locate(doc, lines, issue.path, issue.atKey), path: formatPath(issue.path), message: issue.message });
  }
  return { parsed: parsed.success ? parsed.data : undefined, problems };
}

/** A copy of the document in which the first of duplicate keys wins (node positions stay those of the text). */
function withoutLaterDuplicates(doc: Document): Document | undefined {
  const copy = doc.clone();
  let found = false;
  visit(copy, {
    Map(_, map) {
      const keys = new Set<string>();
      map.items = map.items.filter((pair) => {
        if (!isPair(pair) || !isScalar(pair.key)) return true;
        const key = String(pair.key.value);
        if (!keys.has(key)) return keys.add(key), true;
        found = true;
        return false;
      });
    },
  });
  return found && isMap(copy.contents) ? copy : undefined;
}

/** The text of an inventory and the name its messages use; `-` is standard input. Throws InvalidInventoryError. */
export function readInventoryText(file: string): { text: string; name: string } {
  const name = file === '-' ? '<stdin>' : file;
  try {
    return { text: readFileSync(file === '-' ? 0 : file, 'utf8'), name };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new InvalidInventoryError([{ file: name, line: 1, column: 1, path: '', message: `cannot read the inventory: ${reason}` }]);
  }
}

/** Reads and validates an inventory file (`-`: standard input); throws InvalidInventoryError (with every problem) when it is invalid. */
export function loadInventory(file: string): Inventory {
  const { text, name } = readInventoryText(file);
  const result = parseInventory(text, name);
  if (!result.ok) throw new InvalidInventoryError(result.problems);
  return result.inventory;
}
