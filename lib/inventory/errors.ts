/** Problems in an inventory, positioned in its file and worded for the person who has to fix them. */
import type { z } from 'zod';
import { isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml';
import { formatPath, listOf } from '../text';

export type Path = readonly (string | number)[];

export interface Problem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Dotted path such as `clusters.prod-eu-1.backup.schedule`; empty for problems of the YAML text itself. */
  readonly path: string;
  readonly message: string;
}

export class InvalidInventoryError extends Error {
  constructor(readonly problems: readonly Problem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'InvalidInventoryError';
  }
}

export function formatProblem(problem: Problem): string {
  // line 0: a problem of a command-line flag, which has no place in the file.
  if (problem.line === 0) return `${problem.file}: ${problem.message}`;
  const where = `${problem.file}:${problem.line}:${problem.column}`;
  return problem.path ? `${where}: ${problem.path}: ${problem.message}` : `${where}: ${problem.message}`;
}

/** Position of the node at `path` (or of its key, for unknown keys), else of the nearest existing ancestor. */
export function locate(doc: Document, lines: LineCounter, path: Path, atKey = false): { line: number; column: number } {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    const step = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      // The last pair: with duplicate keys it is the one whose value the document holds.
      const pair = [...node.items].reverse().find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(step));
      if (!pair) break;
      const keyRange = (pair.key as Node).range;
      const valueRange = (pair.value as Node | null)?.range;
      offset = (last && atKey) || !valueRange ? keyRange?.[0] ?? offset : valueRange[0];
      node = pair.value;
    } else if (isSeq(node) && typeof step === 'number' && node.items[step]) {
      node = node.items[step];
      offset = (node as Node).range?.[0] ?? offset;
    } else {
      break;
    }
  }
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping', array: 'a list', string: 'a string', number: 'a number', boolean: 'true or false',
  int: 'a whole number', record: 'a mapping',
};

/**
 * Wording of zod's built-in issues. Passed per parse, so every message written in schema.ts (which takes
 * precedence) stays as it is. A message starts with what was found and then says what would be valid.
 */
export const issueWording: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `is missing; expected ${TYPE_WORDS[issue.expected] ?? issue.expected}`;
      return `found ${describe(issue.input)}; expected ${TYPE_WORDS[issue.expected] ?? issue.expected}`;
    case 'invalid_value':
      return `${JSON.stringify(issue.input)} is not allowed; use ${listOf(issue.values.map((v) => JSON.stringify(v)))}`;
    case 'too_small':
      if (issue.origin === 'number') return `${issue.input} is too small; the minimum is ${issue.minimum}`;
      if (issue.origin === 'string') return `is empty; expected at least ${issue.minimum} character${issue.minimum === 1 ? '' : 's'}`;
      return `has too few entries; expected at least ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'number') return `${issue.input} is too large; the maximum is ${issue.maximum}`;
      return `is too long; the maximum is ${issue.maximum}`;
    case 'not_multiple_of':
      return `${issue.input} is not a multiple of ${issue.divisor}`;
    case 'invalid_format':
      return `${JSON.stringify(issue.input)} has the wrong format`;
    case 'invalid_key':
      return `key ${JSON.stringify(issue.input)} is not valid`;
    default:
      return undefined;
  }
};

/** zod issues to positioned problems; unknown keys become one problem per key, placed at the key. */
export function problemsFromIssues(issues: readonly z.core.$ZodIssue[], file: string, doc: Document, lines: LineCounter): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const messages = parseKeyMessages(issue.message, issue.keys);
      issue.keys.forEach((key, i) => {
        const path = [...issue.path, key] as Path;
        problems.push({ file, ...locate(doc, lines, path, true), path: formatPath(path), message: messages[i] });
      });
      continue;
    }
    const path = issue.path as Path;
    let message = issue.message;
    // A format check with our own words ("must be a region name ...") still says what it found.
    if (issue.code === 'invalid_format' && !message.startsWith('"')) message = `${JSON.stringify(issue.input)} ${message}`;
    if (issue.code === 'invalid_key' && issue.issues[0]) message = issue.issues[0].message;
    problems.push({ file, ...locate(doc, lines, path, issue.code === 'invalid_key'), path: formatPath(path), message });
  }
  return problems;
}

function parseKeyMessages(message: string, keys: readonly string[]): string[] {
  try {
    const parsed: unknown = JSON.parse(message);
    if (Array.isArray(parsed) && parsed.length === keys.length) return parsed.map(String);
  } catch {
    // not one of ours: fall back to a plain message per key
  }
  return keys.map((key) => `unknown key "${key}"`);
}

/** Sorted by position, so the messages read top to bottom like the file. */
export function sortProblems(problems: Problem[]): Problem[] {
  return problems.sort((a, b) => a.line - b.line || a.column - b.column || a.path.localeCompare(b.path));
}
