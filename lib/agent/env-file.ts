/**
 * An env file the operator places on a node (`NAME=value` lines): how a static pod, which can read no Secret or
 * ConfigMap, gets the storage credentials its plan names. Read only by root-run restore pods; it must not be
 * readable by anyone else on the node.
 */
import { readFileSync, statSync } from 'node:fs';
import { AgentError, EXIT } from './exit-codes';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `NAME=value` per line; blank lines and `#` comments skipped; one pair of surrounding quotes removed. */
export function parseEnvFile(text: string, where: string): Record<string, string> {
  const values: Record<string, string> = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const name = eq > 0 ? line.slice(0, eq).replace(/^export\s+/, '').trim() : '';
    if (!NAME.test(name)) {
      throw new AgentError(EXIT.config, `${where}:${i + 1}: expected NAME=value (got "${line.slice(0, 40)}${line.length > 40 ? '...' : ''}")`, 'config');
    }
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === '\'') && value.endsWith(value[0])) value = value.slice(1, -1);
    values[name] = value;
  });
  return values;
}

/** Reads the env file; it must exist, be readable by its owner only, and set every name in `required`. */
export function readEnvFile(path: string, required: readonly string[]): Record<string, string> {
  let mode: number;
  let text: string;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AgentError(EXIT.config, `cannot read the storage credentials file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; place it on this node as the RUNBOOK says (NAME=value lines, mode 0600)`, 'config');
  }
  if (mode & 0o077) {
    throw new AgentError(EXIT.config, `the storage credentials file ${path} is readable by others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): run chmod 600 on it`, 'config');
  }
  const values = parseEnvFile(text, path);
  const missing = required.filter((name) => !values[name]);
  if (missing.length) throw new AgentError(EXIT.config, `the storage credentials file ${path} does not set ${missing.join(', ')}`, 'config');
  return values;
}
