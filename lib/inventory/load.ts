/** inventory.yaml -> validated, frozen Inventory, or every problem at once with its position. */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { isCollection, isMap, isPair, isScalar, LineCounter, parseDocument, Parser, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { formatPath } from '../text';
import { INVENTORY_DEFAULTS } from './defaults';
import { formatProblem, InvalidInventoryError, issueWording, locate, problemsFromIssues, sortProblems, type Problem } from './errors';
import type { Inventory } from './model';
import { resolveInventory } from './resolve';
import { checkRules, type RuleScope } from './rules';
import { backupSettingsSchema, clusterBackupSettingsSchema, clusterSchema, inventorySchema, RESERVED_KEY_MESSAGE, storageSchema, type ParsedInventory } from './schema';

/** Far above any real inventory; what stops `--inventory /dev/zero` before it fills the memory. */
const MAX_INVENTORY_BYTES = 16 * 2 ** 20;
/** Deeper documents overflowed the YAML composer's stack; an inventory needs fewer than 10 levels. */
const MAX_NESTING_DEPTH = 64;
/** Alias expansions (yaml's maxAliasCount): a few anchors are fine, an exponential "billion laughs" is not. */
const MAX_ALIAS_COUNT = 100;

/**
 * The entries of an inventory that failed the shape check whose own shape is valid. Storages that failed keep
 * their names (so references to them are not reported as missing).
 */
function validEntries(data: Record<string, unknown>): { inventory: ParsedInventory } & Required<RuleScope> {
  const section = (value: unknown) => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {});
  const broken = new Set<string>();
  const brokenFields = new Map<string, Set<string>>();
  /** The fields of `raw` that are valid on their own; the names of the others go into `fields`. */
  const validFields = (shape: Record<string, { safeParse(value: unknown): { success: boolean; data?: unknown } }>, raw: unknown, fields: Set<string>) =>
    Object.fromEntries<unknown>(Object.entries(shape).flatMap(([key, schema]) => {
      const field = schema.safeParse(section(raw)[key]);
      if (!field.success) fields.add(key);
      return field.success && field.data !== undefined ? [[key, field.data] as const] : [];
    }));
  /**
   * Every entry of a section through its schema: one that passes as parsed, a broken one as `repair` makes it from
   * the fields that are valid on their own (`valid`) and the names of the others (`fields`).
   */
  const parseEntries = <S extends z.ZodObject, T>(schema: S, raw: unknown, repair: (name: string, valid: Record<string, unknown>, fields: Set<string>, raw: unknown) => T) => {
    const entries: Record<string, z.output<S> | T> = {};
    for (const [name, entry] of Object.entries(section(raw))) {
      const parsed = schema.safeParse(entry);
      if (parsed.success) {
        entries[name] = parsed.data;
        continue;
      }
      const fields = new Set<string>();
      entries[name] = repair(name, validFields(schema.shape, entry, fields), fields, entry);
    }
    return entries;
  };
  const storages = parseEntries(storageSchema, data.storages, (name, valid, fields, raw) => {
    // A storage with shape errors still exists for references, and its rules run on what is present (a broken
    // field counts as present: its own problem is already reported).
    for (const key of fields) if (section(raw)[key] !== undefined) valid[key] = section(raw)[key];
    broken.add(name);
    brokenFields.set(`storages.${name}`, fields);
    return valid as ParsedInventory['storages'][string];
  }) as Record<string, ParsedInventory['storages'][string]>;
  const clusters = parseEntries(clusterSchema, data.clusters, (name, valid, fields, raw) => {
    // The valid fields of a broken cluster still go through the rules (its storage references, its restores).
    const backupFields = new Set<string>();
    if (fields.has('backup')) valid.backup = validFields(clusterBackupSettingsSchema.shape, section(raw).backup, backupFields);
    valid.onDemandBackups ??= [...INVENTORY_DEFAULTS.cluster.onDemandBackups];
    valid.restores ??= [...INVENTORY_DEFAULTS.cluster.restores];
    valid.labels ??= { ...INVENTORY_DEFAULTS.cluster.labels };
    brokenFields.set(`clusters.${name}`, new Set([...fields, ...[...backupFields].map((key) => `backup.${key}`)]));
    return valid as ParsedInventory['clusters'][string];
  }) as Record<string, ParsedInventory['clusters'][string]>;
  // Defaults with a bad field still lend their valid fields to the cluster rules.
  const brokenDefaults = new Set<string>();
  const backup = validFields(backupSettingsSchema.shape, section(data.defaults).backup, brokenDefaults);
  return { inventory: { apiVersion: 'controlplane-backup.io/v1', kind: 'Inventory', storages, defaults: { backup }, clusters }, broken, brokenDefaults, brokenFields };
}

export type LoadResult = { ok: true; inventory: Inventory } | { ok: false; problems: Problem[] };

/** Parses and validates inventory text. `file` is used in messages only. Never throws on bad input. */
export function parseInventory(text: string, file: string): LoadResult {
  const at = (lines: LineCounter, offset: number, message: string, path = ''): Problem => {
    const { line, col: column } = lines.linePos(offset);
    return { file, line, column, path, message };
  };
  // The composer recurses once per level, and so does the parser when a deep block closes (a stack overflow at a few
  // thousand): measure the depth of blocks on the lines, then of flow collections on the parser's tokens.
  const tooDeep = deepestBlockLine(text) ?? deepestToken(text);
  if (tooDeep !== undefined) {
    const pre = new LineCounter();
    pre.addNewLine(0);
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) pre.addNewLine(i + 1);
    return { ok: false, problems: [at(pre, tooDeep, `the document nests lists and mappings more than ${MAX_NESTING_DEPTH} levels deep, the limit; an inventory needs fewer than 10`)] };
  }
  const lines = new LineCounter();
  // uniqueKeys in yaml compares every key with every other (120,000 keys: minutes): keyProblems() uses a Set.
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false, version: '1.2' });
  const problems: Problem[] = doc.errors.map((error) => at(lines, error.pos[0], error.message.split('\n')[0]));
  if (problems.length > 0) return { ok: false, problems };
  problems.push(...keyProblems(doc).map(({ offset, path, message }) => at(lines, offset, message, path)));

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (!/alias/i.test((error as Error).message)) throw error;
    let first = 0;
    visit(doc, { Alias(_, alias) { first = alias.range?.[0] ?? 0; return visit.BREAK; } });
    return { ok: false, problems: [...problems, at(lines, first, `the aliases (*name) expand to more than ${MAX_ALIAS_COUNT} copies, the limit; write the repeated values out instead`)] };
  }
  if (data === null || data === undefined || typeof data !== 'object' || Array.isArray(data)) {
    return { ok: false, problems: [...problems, { file, line: 1, column: 1, path: '', message: 'the inventory must be a mapping with apiVersion, kind, storages, defaults and clusters' }] };
  }
  const checked = check(data as Record<string, unknown>, doc, lines, file);
  // toJS keeps the last of duplicate keys: check the earlier ones too, so that nothing in the file goes unread.
  const shadowed = problems.length > 0 ? withoutLaterDuplicates(doc) : undefined;
  const more = shadowed ? check(shadowed.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as Record<string, unknown>, shadowed, lines, file).problems : [];
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

/** Offset of the first line indented deeper than MAX_NESTING_DEPTH block levels (each deeper indentation opens one). */
function deepestBlockLine(text: string): number | undefined {
  const indents: number[] = [];
  let offset = 0;
  for (const line of text.split('\n')) {
    const content = line.trimStart();
    if (content !== '' && !content.startsWith('#')) {
      const indent = line.length - content.length;
      while (indents.length > 0 && indents[indents.length - 1] >= indent) indents.pop();
      indents.push(indent);
      if (indents.length > MAX_NESTING_DEPTH) return offset + indent;
    }
    offset += line.length + 1;
  }
  return undefined;
}

/** Offset of the first collection nested deeper than MAX_NESTING_DEPTH, from the parser's tokens (no recursion). */
function deepestToken(text: string): number | undefined {
  type Token = { type: string; offset: number; value?: Token; items?: { key?: Token | null; value?: Token | null }[] };
  const stack: [Token, number][] = [];
  for (const token of new Parser().parse(text) as Iterable<Token>) stack.push([token, 0]);
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    if (token.type === 'document' && token.value) stack.push([token.value, depth]);
    if (!token.items) continue;
    if (depth + 1 > MAX_NESTING_DEPTH) return token.offset;
    for (const item of token.items) {
      if (item.key) stack.push([item.key, depth + 1]);
      if (item.value) stack.push([item.value, depth + 1]);
    }
  }
  return undefined;
}

/** Duplicate keys (one Set per mapping: linear) and `__proto__`, which JavaScript objects cannot hold as data. */
function keyProblems(doc: Document): { offset: number; path: string; message: string }[] {
  const found: { offset: number; path: string; message: string }[] = [];
  const stack: [unknown, (string | number)[]][] = [[doc.contents, []]];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (isMap(node)) {
      const keys = new Set<string>();
      for (const pair of node.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        const offset = pair.key.range?.[0] ?? 0;
        if (keys.has(key)) {
          found.push({ offset, path: '', message: `duplicate key ${JSON.stringify(key)}: a key (a cluster or storage name too) may appear only once in a mapping` });
        } else if (key === '__proto__') {
          found.push({ offset, path: formatPath([...path, key]), message: RESERVED_KEY_MESSAGE(key) });
        }
        keys.add(key);
        if (isCollection(pair.value)) stack.push([pair.value, [...path, key]]);
      }
    } else if (isCollection(node)) {
      node.items.forEach((item, i) => {
        if (isCollection(item)) stack.push([item, [...path, i]]);
      });
    }
  }
  return found;
}

/**
 * The inventory's text, read with a limit: a device (/dev/zero), a pipe or a huge file is refused once it passes
 * MAX_INVENTORY_BYTES instead of filling the memory. Throws InvalidInventoryError.
 */
export function readInventoryText(file: string): { text: string; name: string } {
  // `-` is standard input, read with the same limit.
  const name = file === '-' ? '<stdin>' : file;
  const refuse = (reason: string) => new InvalidInventoryError([{ file: name, line: 1, column: 1, path: '', message: `cannot read the inventory: ${reason}` }]);
  const tooLarge = `it is larger than ${MAX_INVENTORY_BYTES / 2 ** 20} MiB, the limit; pass the inventory file (inventory.yaml)`;
  let fd: number;
  try {
    fd = file === '-' ? 0 : openSync(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw refuse(code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw refuse(`it is a folder; pass the inventory file in it, e.g. ${file.replace(/\/+$/, '')}/inventory.yaml`);
    if (stat.isFile() && stat.size > MAX_INVENTORY_BYTES) throw refuse(tooLarge);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(2 ** 20, MAX_INVENTORY_BYTES + 1 - total));
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      chunks.push(chunk.subarray(0, read));
      total += read;
      if (total > MAX_INVENTORY_BYTES) throw refuse(tooLarge);
    }
    return { text: Buffer.concat(chunks).toString('utf8'), name };
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

/** Reads and validates an inventory file (`-`: standard input); throws InvalidInventoryError (with every problem) when it is invalid. */
export function loadInventory(file: string): Inventory {
  const { text, name } = readInventoryText(file);
  const result = parseInventory(text, name);
  if (!result.ok) throw new InvalidInventoryError(result.problems);
  return result.inventory;
}
