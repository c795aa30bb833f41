/**
 * The external programs the agent runs (etcdctl/etcdutl/etcd, zstd, age; no shell, no coreutils), found on PATH,
 * run with a bound and stopped by PID, and chained as streaming stages whose exit status is checked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { AgentError, EXIT } from './exit-codes';

/** The first executable `name` on PATH, or undefined. */
export function which(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Every tool of `names` that is missing: a configuration error (exit 3) naming them. */
export function requireTools(names: readonly string[], env: NodeJS.ProcessEnv = process.env): void {
  const missing = names.filter((name) => !which(name, env));
  if (missing.length > 0) throw new AgentError(EXIT.config, `missing required tool(s): ${missing.join(' ')} (not on PATH ${env.PATH ?? ''})`, 'config');
}

export interface ToolResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** Runs a tool to completion with a bound (killed by PID when it expires); never throws for a failure of the tool. */
export function runTool(command: string, args: readonly string[], options: { timeoutMs: number; env?: NodeJS.ProcessEnv; input?: string }): Promise<ToolResult> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(command, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (error) {
      resolve({ code: null, stdout: '', stderr: (error as Error).message, timedOut: false });
      return;
    }
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.input ?? '');
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: stderr || error.message, timedOut });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** The last lines of a tool's stderr, for messages. */
export function summarize(text: string): string {
  const lines = text.split('\n').map((line) => line.trim()).filter(Boolean);
  const tail = lines.slice(-3).join(' | ');
  return tail.length > 400 ? `${tail.slice(0, 400)}...` : tail;
}

/** A stage of a stream failed: its name, exit status and what it said. */
export class StageError extends Error {}

/**
 * Pipes `input` through a program (`zstd -c`, `age -r ...`) and returns its output as a stream that fails unless the
 * program exits 0: a producer that dies mid-stream is an error, never a short object. The child is killed by PID when
 * the output is abandoned.
 */
export function pipeThrough(label: string, command: string, args: readonly string[], input: Readable, env: NodeJS.ProcessEnv = process.env): Readable {
  const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code, signal) => resolve(signal ? -1 : code));
    child.on('error', (error) => {
      stderr += error.message;
      resolve(null);
    });
  });
  // An upstream stage that fails is the cause, whatever this program makes of the short input (it may even exit 0).
  let inputError: Error | undefined;
  input.on('error', (error) => {
    inputError ??= error;
    child.stdin!.destroy();
  });
  child.stdin!.on('error', () => undefined); // EPIPE when the program dies first: its exit status says why
  input.pipe(child.stdin!);
  async function* output(): AsyncGenerator<Buffer> {
    let done = false;
    try {
      for await (const chunk of child.stdout! as AsyncIterable<Buffer>) yield chunk;
      const code = await exited;
      if (inputError) throw inputError;
      if (code !== 0) throw new StageError(`${label} exited ${code === -1 ? 'on a signal' : code ?? 'before it started'}${stderr ? `: ${summarize(stderr)}` : ''}`);
      done = true;
    } finally {
      if (!done) {
        if (child.exitCode === null) child.kill('SIGKILL');
        // The stage before this one would block on a pipe nobody reads (and its child would keep the process alive):
        // destroying its output ends it, and its own stage kills its child.
        input.destroy();
      }
    }
  }
  return Readable.from(output(), { objectMode: false });
}
