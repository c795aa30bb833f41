/**
 * `controlplane-backup agent <command> --plan PATH | --plan-env NAME`: the commands the pods run. Each prints one JSON
 * result line on stdout (`command`, `status`, `exitCode`, `stage`, `message`, then the command's own fields) and
 * exits with a code of the one table in exit-codes.ts.
 */
import { parseArgs } from 'node:util';
import { backup } from './backup';
import { Context, type AgentIo } from './context';
import { drill } from './drill';
import { AgentError, EXIT } from './exit-codes';
import type { PlanSource } from './plan';
import { prune } from './prune';
import { restoreCoordinator, restoreMember, restoreReplica } from './restore/commands';

type Command = (source: PlanSource, ctx: Context) => Promise<{ code: number; message: string }>;

const AGENT_COMMANDS: Readonly<Record<string, Command>> = {
  backup, prune, drill, 'restore-member': restoreMember, 'restore-coordinator': restoreCoordinator, 'restore-replica': restoreReplica,
};

export const AGENT_USAGE = `Usage: controlplane-backup agent <command> (--plan PATH | --plan-env NAME)

Commands (run by the pods that synthesis writes):
  backup    verify the snapshot, stream it compressed and encrypted to every destination, PKI bundle, metadata,
            sidecar last, then retention per destination
  prune     retention alone, per destination of the backup plan
  drill     restore the newest complete backup into a throwaway etcd and record <base>.drill.json
  restore-member       kubeadm: restore this node's etcd member (staging, barrier, swap, health); a second run is a no-op
  restore-coordinator  hosted: walk the restore's phases through the API, recorded in the status ConfigMap
  restore-replica      hosted: rebuild one StatefulSet replica's volume when the coordinator says so

Exit codes: 0 ok, 1 other failure, 2 invalid snapshot or backup set, 3 configuration (plan, version, tool, key),
  4 storage, 5 retention failed (backup complete), 6 restore barrier, 7 etcd did not stop, 8 etcd not healthy,
  9 Kubernetes API, 10 restore phase failed, 11 drill: restored but different, 12 drill: verified, not restored.`;

const defaultIo: AgentIo = { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) };

export async function runAgent(argv: readonly string[], io: AgentIo = defaultIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    // Asked for: the usage is the output (stdout, exit 0); missing: a usage error (stderr, exit 3).
    (name ? io.out : io.err)(`${AGENT_USAGE}\n`);
    return name ? EXIT.ok : EXIT.config;
  }
  const ctx = new Context(name, io, env);
  let printed = false;
  const print = (code: number, message: string) => {
    if (printed) return;
    printed = true;
    io.out(`${JSON.stringify({ command: name, status: code === EXIT.ok ? 'ok' : 'failed', exitCode: code, stage: ctx.stage, message, ...ctx.result })}\n`);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (ctx.finished) {
      // the outcome is recorded and the last step (removing the pod's own manifest) made the kubelet stop the pod
      const { code, message } = ctx.finished;
      print(code, message);
      ctx.close();
      process.exit(code);
    }
    ctx.log(`ERROR: terminated by ${signal}`);
    const finish = () => {
      print(EXIT.failed, `terminated by ${signal}`);
      ctx.close();
      process.exit(EXIT.failed);
    };
    // a command may record where it stopped first (the restores write their status), bounded: the kubelet's grace period
    const handler = ctx.signalHandler;
    if (!handler) return finish();
    const bound = setTimeout(finish, 5_000);
    handler().catch(() => undefined).finally(() => { clearTimeout(bound); finish(); });
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    const command = Object.hasOwn(AGENT_COMMANDS, name) ? AGENT_COMMANDS[name] : undefined;
    if (!command) throw new AgentError(EXIT.config, `unknown agent command "${name}" (commands: ${Object.keys(AGENT_COMMANDS).join(', ')})`);
    let values;
    try {
      ({ values } = parseArgs({ args: [...rest], options: { plan: { type: 'string' }, 'plan-env': { type: 'string' } }, strict: true, allowPositionals: false }));
    } catch (error) {
      throw new AgentError(EXIT.config, `${(error as Error).message}\n${AGENT_USAGE}`);
    }
    const { code, message } = await command({ path: values.plan, env: values['plan-env'] }, ctx);
    if (code !== EXIT.ok) ctx.log(`ERROR: ${message}`);
    print(code, message);
    return code;
  } catch (error) {
    const known = error instanceof AgentError;
    const code = known ? error.code : EXIT.failed;
    if (known && error.stage) ctx.stage = error.stage;
    const message = known ? error.message : `internal error: ${(error as Error).stack ?? String(error)}`;
    ctx.log(`ERROR: ${message}`);
    print(code, message.split('\n')[0]);
    return code;
  } finally {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
    ctx.close();
  }
}
