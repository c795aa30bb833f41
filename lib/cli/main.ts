/** The `controlplane-backup` command line; its exit codes and I/O are in ./io. */
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { InvalidInventoryError } from '../inventory/errors';
import { loadInventory } from '../inventory/load';
import { PACKAGE_VERSION } from '../version';
import { UnsafeOutputError } from '../synth/write';
import { defaultIo, EXIT, type Io } from './io';
import { plural } from '../text';

/** One command's help: `controlplane-backup <command> --help` prints it; `--help` alone lists the commands. */
interface CommandHelp {
  readonly usage: string;
  readonly summary: string;
  /** Flag (as parsed) -> its line in the help. */
  readonly options: Readonly<Record<string, string>>;
  readonly exit: string;
}

const INVENTORY = '--inventory FILE       the inventory (- reads standard input)';
const JSON_OUT = '--json                 print the result as JSON on stdout';
const STORAGE_OPTIONS = {
  inventory: INVENTORY,
  cluster: '--cluster NAME         only this cluster',
  storage: '--storage NAME         only this storage (run once per credential set when storages need different ones)',
  now: '--now ISO-8601         measure ages from this time (default: now)',
  bucket: '--bucket STORAGE=NAME  the bucket of an objectBucketClaim storage (repeatable)',
  endpoint: '--endpoint STORAGE=HOST:PORT  the endpoint of an objectBucketClaim storage (repeatable)',
  json: JSON_OUT,
};

export const COMMANDS: Readonly<Record<string, CommandHelp>> = {
  synth: {
    usage: 'synth --inventory FILE --out DIR [--json]',
    summary: 'validate the inventory and write every cluster\'s manifests to DIR (replaced as a whole, or left as it was when anything fails; DIR must be new, empty, or an earlier output, which holds a .controlplane-backup-output marker)',
    options: { inventory: INVENTORY, out: '--out DIR              the output folder (e.g. dist)', json: JSON_OUT },
    exit: '0 written, 2 invalid inventory or command line (every problem is printed), 1 internal error',
  },
  validate: {
    usage: 'validate --inventory FILE [--json]',
    summary: 'validate the inventory only; print every problem with file:line:col',
    options: { inventory: INVENTORY, json: JSON_OUT },
    exit: '0 valid, 2 invalid inventory or command line, 1 internal error',
  },
  'validate-output': {
    usage: 'validate-output DIR [--json]',
    summary: 'check synthesized manifests against the Kubernetes 1.28 schemas and the CRDs the package ships, and build every cluster folder with kubectl kustomize',
    options: { json: JSON_OUT },
    exit: '0 valid, 2 schema problems, failed kustomize builds or bad command line, 1 internal error',
  },
  restore: {
    usage: 'restore --inventory FILE --cluster NAME --snapshot KEY|latest --confirm NAME --out DIR [--id ID] [--storage NAME] [--pki] [--allow-cross-cluster] [--allow-unsigned] [--json]',
    summary: 'write the restore bundle of one cluster (Jobs, RUNBOOK.md) to DIR, for break-glass use without GitOps',
    options: {
      inventory: INVENTORY,
      cluster: '--cluster NAME         the cluster to restore',
      snapshot: '--snapshot KEY|latest  the snapshot object key, or latest',
      confirm: '--confirm NAME         repeats the snapshot\'s name (the cluster\'s name for latest)',
      out: '--out DIR              the folder to write',
      id: '--id ID                the restore\'s id (default: manual-<time>)',
      storage: '--storage NAME         the storage to restore from',
      pki: '--pki                  restore the PKI bundle too',
      'allow-cross-cluster': '--allow-cross-cluster  allow a snapshot of another cluster',
      'allow-unsigned': '--allow-unsigned       allow a named set that is not signed with the cluster\'s signing key',
      json: JSON_OUT,
    },
    exit: '0 written, 2 invalid inventory, request or command line, 1 internal error',
  },
  snapshots: {
    usage: 'snapshots --inventory FILE [--cluster NAME] [--storage NAME] [--verify] [--json] [--now ISO-8601] [--bucket STORAGE=NAME]... [--endpoint STORAGE=HOST:PORT]...',
    summary: 'list the backup sets in S3 storage per cluster and storage: size, time, age, complete, encrypted, PKI bundle, drill result (S3 credentials: the AWS SDK\'s default chain; private CA: NODE_EXTRA_CA_CERTS)',
    options: {
      ...STORAGE_OPTIONS,
      verify: '--verify               download every object of every complete set and check its sha256 against the (signed) sidecar',
    },
    exit: '0 listed, 3 a storage could not be listed, or with --verify an object does not match its sidecar or the newest complete set is not signed with the cluster\'s key (everything else is still printed), 2 invalid inventory or command line, 1 internal error',
  },
  check: {
    usage: 'check --inventory FILE [--cluster NAME] [--storage NAME] [--json] [--now ISO-8601] [--bucket STORAGE=NAME]... [--endpoint STORAGE=HOST:PORT]...',
    summary: 'one line per problem when a cluster\'s newest complete backup is older than worst-case RPO x rpoMargin + activeDeadlineSeconds, its newest drill failed, or a storage cannot be read',
    options: STORAGE_OPTIONS,
    exit: '0 ok, 3 problems found, 2 invalid inventory or command line, 1 internal error',
  },
  policy: {
    usage: 'policy --inventory FILE [--storage NAME] [--prune writer|separate] [--aws-account ID]',
    summary: 'print, per S3 storage, least-privilege policies (AWS IAM, MinIO, Ceph RGW) that limit each cluster\'s credentials to its own prefix; with --prune separate (the default for a storage with pruneCredentials), writers cannot delete and each cluster\'s prune user can',
    options: {
      inventory: INVENTORY,
      storage: '--storage NAME         only this storage',
      prune: '--prune writer|separate  writer: the backup Jobs delete their own old sets; separate: writers cannot delete, each cluster\'s prune user (its prune CronJob) can; default: separate for storages with pruneCredentials, else writer',
      'aws-account': '--aws-account ID       the 12-digit AWS account of the users (for the bucket policy\'s principals)',
    },
    exit: '0 printed, 2 invalid inventory or command line, 1 internal error',
  },
  keygen: {
    usage: 'keygen --cluster NAME [--namespace NS] [--secret NAME] | kubectl create -f -',
    summary: 'a new backup signing key for one cluster: the Secret with the private key on stdout (for kubectl, never a file), the public key for `backup.signing.publicKey` on stderr',
    options: {
      cluster: '--cluster NAME         the cluster whose backups the key signs',
      namespace: '--namespace NS         the namespace its backup pods run in (default: controlplane-backup; hosted: the namespace of its etcd)',
      secret: '--secret NAME          the Secret\'s name (default: <cluster>-backup-signing; set backup.signing.secretName to match)',
    },
    exit: '0 written, 2 bad command line, 1 internal error',
  },
  agent: {
    usage: 'agent <command> --plan FILE',
    summary: 'what the pods run (backup, prune, drill, restore-member, restore-coordinator, restore-replica): see `controlplane-backup agent --help`',
    options: {},
    exit: 'the agent\'s exit codes (README, "The agent")',
  },
  schema: {
    usage: 'schema [--out FILE]',
    summary: 'print the inventory\'s JSON Schema, or write it to FILE (for the yaml-language-server header of your inventory)',
    options: { out: '--out FILE             write the schema to FILE instead of stdout' },
    exit: '0 written, 2 bad command line, 1 internal error',
  },
};

const GLOBAL_OPTIONS = `Options:
  -h, --help       show this help, or a command's help after the command
  -v, --version    show the version`;

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, help]) => `  ${name.padEnd(width)}  ${help.summary}`);
  return `Usage: controlplane-backup <command> [options]\n\nCommands:\n${lines.join('\n')}\n\n${GLOBAL_OPTIONS}\n\nRun \`controlplane-backup <command> --help\` for a command's options and exit codes.`;
}

/** `controlplane-backup <command> --help`. */
function commandUsage(name: string): string {
  const help = COMMANDS[name];
  const options = Object.values(help.options).map((line) => `  ${line}`);
  return `Usage: controlplane-backup ${help.usage}\n\n${help.summary}\n\nOptions:\n${[...options, '  -h, --help             show this help'].join('\n')}\n\nExit codes: ${help.exit}`;
}

class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
  }
}

/** A flag with a wrong value: the message says what to pass instead (exit 2, without the whole usage). */
function refuse(io: Io, message: string): number {
  io.err(`controlplane-backup: ${message}\n`);
  return EXIT.invalid;
}

export async function run(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    if (error instanceof InvalidInventoryError) {
      if (argv.includes('--json')) io.out(`${JSON.stringify({ valid: false, problems: error.problems }, null, 2)}\n`);
      io.err(`${error.message}\n${plural(error.problems.length, 'problem')} found; nothing was written.\n`);
      return EXIT.invalid;
    }
    if (error instanceof UnsafeOutputError) {
      io.err(`controlplane-backup: ${error.message}\n`);
      return EXIT.invalid;
    }
    if (error instanceof UsageError) {
      const help = error.command !== undefined ? `controlplane-backup ${error.command} --help` : 'controlplane-backup --help';
      io.err(`controlplane-backup: ${error.message}\nRun \`${help}\` for usage.\n`);
      return EXIT.invalid;
    }
    io.err(`controlplane-backup: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return EXIT.internal;
  }
}

const OPTIONS = {
  inventory: { type: 'string', short: 'i' },
  out: { type: 'string', short: 'o' },
  cluster: { type: 'string' },
  snapshot: { type: 'string' },
  confirm: { type: 'string' },
  id: { type: 'string' },
  storage: { type: 'string' },
  pki: { type: 'boolean' },
  'allow-cross-cluster': { type: 'boolean' },
  'allow-unsigned': { type: 'boolean' },
  verify: { type: 'boolean' },
  prune: { type: 'string' },
  'aws-account': { type: 'string' },
  namespace: { type: 'string' },
  secret: { type: 'string' },
  json: { type: 'boolean' },
  now: { type: 'string' },
  bucket: { type: 'string', multiple: true },
  endpoint: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

async function dispatch(argv: readonly string[], io: Io): Promise<number> {
  // The pods' commands: the same code as the tools image's bundle (lib/agent/bin.ts), with its own arguments.
  if (argv[0] === 'agent') return (await import('../agent/run')).runAgent(argv.slice(1), io);
  // The command, before parsing: a usage error points at that command's --help.
  const first = argv.find((arg) => !arg.startsWith('-'));
  const known = first !== undefined && Object.hasOwn(COMMANDS, first) ? first : undefined;
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options: OPTIONS });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0], known);
  }
  const { values, positionals } = parsed;
  if (values.version) {
    io.out(`${PACKAGE_VERSION}\n`);
    return EXIT.ok;
  }
  const [command, ...rest] = positionals;
  if (command === undefined || command === 'help') {
    const topic = rest[0];
    io.out(`${topic !== undefined && Object.hasOwn(COMMANDS, topic) ? commandUsage(topic) : usage()}\n`);
    return values.help || command === 'help' ? EXIT.ok : EXIT.invalid;
  }
  if (!Object.hasOwn(COMMANDS, command)) throw new UsageError(`unknown command "${command}"`);
  if (values.help) {
    io.out(`${commandUsage(command)}\n`);
    return EXIT.ok;
  }
  const usageError = (message: string) => new UsageError(message, command);
  for (const flag of Object.keys(values)) {
    if (flag !== 'help' && flag !== 'version' && !Object.hasOwn(COMMANDS[command].options, flag)) throw usageError(`${command} takes no --${flag}`);
  }
  const requireInventory = () => {
    if (!values.inventory) throw usageError(`${command} needs --inventory FILE`);
    return values.inventory;
  };
  const noExtra = (allowed: number) => {
    if (rest.length > allowed) throw usageError(`unexpected argument "${rest[allowed]}"`);
  };
  switch (command) {
    case 'synth': {
      noExtra(0);
      const inventory = requireInventory();
      if (!values.out) throw usageError('synth needs --out DIR');
      const started = Date.now();
      const progress = io.interactive
        ? (done: number, total: number) => {
            if (done === total || done % 25 === 0) io.err(`\rsynth: ${done}/${total} clusters`);
          }
        : undefined;
      // Loaded here: cdk8s and its constructs take most of a start-up that validate, check and policy do not need.
      const { synthesize } = await import('../synth');
      const result = synthesize(inventory, values.out, { onCluster: progress });
      if (io.interactive) io.err('\n');
      const clusters = result.inventory.clusters.length;
      if (values.json) io.out(`${JSON.stringify({ clusters, files: result.files, out: values.out }, null, 2)}\n`);
      io.err(`synth: ${plural(clusters, 'cluster')}, ${plural(result.files, 'file')} written to ${values.out} in ${((Date.now() - started) / 1000).toFixed(2)} s\n`);
      return EXIT.ok;
    }
    case 'validate': {
      noExtra(0);
      const inventory = loadInventory(requireInventory());
      const storages = Object.keys(inventory.storages).length;
      if (values.json) io.out(`${JSON.stringify({ valid: true, file: inventory.file, clusters: inventory.clusters.length, storages }, null, 2)}\n`);
      io.err(`${inventory.file}: valid (${plural(inventory.clusters.length, 'cluster')}, ${plural(storages, 'storage')})\n`);
      return EXIT.ok;
    }
    case 'restore': {
      noExtra(0);
      const inventory = requireInventory();
      for (const flag of ['cluster', 'snapshot', 'confirm', 'out'] as const) {
        if (!values[flag]) throw usageError(`restore needs --${flag}`);
      }
      const { writeRestoreBundle } = await import('./restore');
      const id = values.id ?? `manual-${new Date().toISOString().slice(0, 16).replace(/[-:T]/g, '')}`;
      const files = writeRestoreBundle({
        inventory, id, cluster: values.cluster!, snapshot: values.snapshot!, confirm: values.confirm!, out: values.out!,
        storage: values.storage, pki: values.pki, allowCrossCluster: values['allow-cross-cluster'], allowUnsigned: values['allow-unsigned'],
      });
      if (values.json) io.out(`${JSON.stringify({ id, cluster: values.cluster, files, out: values.out }, null, 2)}\n`);
      io.err(`restore: ${plural(files, 'file')} for restore "${id}" of ${values.cluster} written to ${values.out}; read ${values.out}/RUNBOOK.md, then \`kubectl apply -k ${values.out}\`\n`);
      return EXIT.ok;
    }
    case 'validate-output': {
      noExtra(1);
      const dir = rest[0];
      if (!dir) throw usageError('validate-output needs the output folder, e.g. "validate-output dist"');
      const { validateOutput } = await import('./validate-output');
      return validateOutput(dir, io, { json: values.json });
    }
    case 'snapshots':
    case 'check': {
      noExtra(0);
      const options = {
        inventory: requireInventory(), cluster: values.cluster, storage: values.storage, now: values.now,
        buckets: values.bucket, endpoints: values.endpoint, json: values.json,
      };
      if (command === 'check') return (await import('./check')).check(options, io);
      return (await import('./snapshots')).snapshots({ ...options, verify: values.verify }, io);
    }
    case 'policy': {
      noExtra(0);
      const inventory = loadInventory(requireInventory());
      const prune = values.prune;
      if (prune !== undefined && prune !== 'writer' && prune !== 'separate') {
        return refuse(io, `--prune "${prune}": pass "writer" (the backup Jobs delete their own old sets) or "separate" (writers cannot delete; each cluster's prune credentials can), or leave it out (separate for storages with pruneCredentials)`);
      }
      const account = values['aws-account'];
      if (account !== undefined && !/^[0-9]{12}$/.test(account)) return refuse(io, `--aws-account "${account}": pass the 12-digit AWS account id of the users, e.g. 111122223333`);
      if (values.storage && !Object.hasOwn(inventory.storages, values.storage)) {
        return refuse(io, `--storage "${values.storage}": no such storage; the inventory has ${Object.keys(inventory.storages).map((name) => `"${name}"`).join(', ')}`);
      }
      const { storagePolicies } = await import('../plan/policy');
      io.out(`${JSON.stringify(storagePolicies(inventory, { storage: values.storage, prune, awsAccount: account }), null, 2)}\n`);
      return EXIT.ok;
    }
    case 'keygen': {
      noExtra(0);
      if (!values.cluster) throw usageError('keygen needs --cluster NAME');
      return (await import('./keygen')).keygen({ cluster: values.cluster, namespace: values.namespace, secretName: values.secret }, io);
    }
    case 'schema': {
      noExtra(0);
      const text = `${JSON.stringify((await import('../inventory/json-schema')).inventoryJsonSchema(), null, 2)}\n`;
      if (values.out) {
        writeFileSync(values.out, text);
        io.err(`schema: written to ${values.out}\n`);
      } else io.out(text);
      return EXIT.ok;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}
