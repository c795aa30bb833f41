// Process helpers for the test harness: bounded runs, kill by PID, temp dirs.
import { spawn, ChildProcess, SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunResult {
  code: number | null; // null when killed by a signal
  signal: NodeJS.Signals | null;
  stdout: string;
  /** raw stdout bytes (binary-safe) */
  stdoutBuf: Buffer;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string | Buffer;
  timeoutMs?: number; // default 30 s; the process (group) is killed by PID on expiry
  /** stops the process group: SIGTERM, then SIGKILL after `graceMs` (default 5 s), as a kubelet stops a container */
  signal?: AbortSignal;
  graceMs?: number;
}

/** Run a command (no shell), bounded in time; never rejects on a non-zero exit. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true, // own process group: a timeout kills the whole group (by its PID)
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGKILL');
    }, timeoutMs);
    let killTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), opts.graceMs ?? 5000);
    };
    if (opts.signal?.aborted) stop();
    else opts.signal?.addEventListener('abort', stop, { once: true });
    child.on('error', (e) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', stop);
      const stdoutBuf = Buffer.concat(out);
      resolve({
        code,
        signal,
        stdout: stdoutBuf.toString('utf8'),
        stdoutBuf,
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: Date.now() - started,
        timedOut,
      });
    });
    child.stdin!.on('error', () => undefined);
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

/** Like run, but throws with stderr when the exit code is not 0. */
export async function runOk(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (code ${r.code}, signal ${r.signal}${r.timedOut ? ', timed out' : ''}): ${r.stderr.slice(-2000)}`);
  }
  return r;
}

export function killGroup(pid: number | undefined, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stop a spawned child by PID: SIGTERM, then SIGKILL after graceMs; resolves when it has exited. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  killGroup(child.pid, 'SIGTERM');
  const t = setTimeout(() => killGroup(child.pid, 'SIGKILL'), graceMs);
  await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs + 2000))]);
  clearTimeout(t);
}

/**
 * The port a server announces on stdout or stderr (`announces` captures it), bounded by `timeoutMs`. Afterwards its
 * output is read and dropped, so the pipe never fills. On a timeout or an early exit the server is stopped by PID and
 * the error carries what it printed.
 */
export async function announcedPort(child: ChildProcess, name: string, announces: RegExp, timeoutMs: number): Promise<number> {
  let log = '';
  const onData = (chunk: Buffer) => { log += chunk.toString(); };
  try {
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs} ms: ${log}`)), timeoutMs);
      const check = (chunk: Buffer) => {
        onData(chunk);
        const match = announces.exec(log);
        if (!match) return;
        clearTimeout(timer);
        for (const stream of [child.stdout!, child.stderr!]) {
          stream.off('data', check);
          stream.resume();
        }
        resolve(Number(match[1]));
      };
      child.stdout!.on('data', check);
      child.stderr!.on('data', check);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code ?? signal}): ${log}`));
      });
    });
  } catch (error) {
    await stopChild(child, 1000);
    throw error;
  }
}

/** Spawn a long-running process in its own process group (so stopChild can kill its group by PID). */
export function spawnDaemon(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  return spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...opts });
}

export function mkTemp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `cpb-${prefix}-`));
}

export function rmTemp(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll fn until it returns a truthy value or the deadline passes (then throws with the label). */
export async function waitFor<T>(label: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}${lastErr ? `: ${String(lastErr)}` : ''}`);
}
