// The CLI run in-process through its own dispatch, its output captured: what a user sees, without a child process.
import type { Io } from '../../lib/cli/io';
import { run } from '../../lib/cli/main';

/** An Io that keeps what the CLI writes; `interactive` as a terminal would say. */
export function captureIo(interactive = false) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (text) => out.push(text), err: (text) => err.push(text), interactive };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

/** `controlplane-backup <args>`: its exit code, standard output and standard error. */
export async function runCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { io, out, err } = captureIo();
  const code = await run(args, io);
  return { code, stdout: out(), stderr: err() };
}
