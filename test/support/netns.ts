// A network namespace for one test file: a holder process `unshare --net sleep N`, lo up, commands via nsenter.
import { ChildProcess, SpawnOptions } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { run, RunOptions, RunResult, spawnDaemon, stopChild, waitFor, killGroup } from './proc';

export interface NetNs {
  /** PID of the holder process (the namespace lives as long as it does). */
  pid: number;
  /** argv prefix that runs a command inside the namespace: [...nsPrefix, cmd, ...args]. */
  nsPrefix: string[];
  /** Run a command inside the namespace, bounded. */
  exec(cmd: string, args: string[], opts?: RunOptions): Promise<RunResult>;
  /** Spawn a long-running process inside the namespace (own process group; nsenter execs it, so child.pid is the process). */
  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  stop(): Promise<void>;
}

/** Create a network namespace whose holder lives at most maxSeconds (default 600). */
export async function startNetns(maxSeconds = 600): Promise<NetNs> {
  const holder = spawnDaemon('unshare', ['--net', 'sleep', String(maxSeconds)]);
  const pid = holder.pid!;
  const own = readlinkSync('/proc/self/ns/net');
  await waitFor('network namespace', async () => {
    try {
      return readlinkSync(`/proc/${pid}/ns/net`) !== own;
    } catch {
      return false;
    }
  }, 5000, 20);
  const nsenter = ['/usr/bin/nsenter', '/bin/nsenter', '/usr/sbin/nsenter'].find((p) => existsSync(p)) ?? 'nsenter';
  const nsPrefix = [nsenter, '-t', String(pid), '-n', '--'];
  const up = await run('nsenter', ['-t', String(pid), '-n', 'ip', 'link', 'set', 'lo', 'up'], { timeoutMs: 5000 });
  if (up.code !== 0) {
    killGroup(pid, 'SIGKILL');
    throw new Error(`cannot bring lo up in netns: ${up.stderr}`);
  }
  return {
    pid,
    nsPrefix,
    exec: (cmd, args, opts) => run(nsPrefix[0], [...nsPrefix.slice(1), cmd, ...args], opts),
    spawn: (cmd, args, opts) => spawnDaemon(nsPrefix[0], [...nsPrefix.slice(1), cmd, ...args], opts),
    stop: () => stopChild(holder, 1000),
  };
}
