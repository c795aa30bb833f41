/**
 * The `controlplane-backup` command line. Exit codes: 0 success, 2 invalid input, 1 internal error, 3 problems found
 * in storage (snapshots: a storage could not be read; check: stale backups, a failed drill, unreadable storage).
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInventoryError } from '../inventory/errors';
import { loadInventory } from '../inventory/load';
import { inventoryJsonSchema } from '../inventory/json-schema';
import { packageRoot } from '../constructs/script-files';
import { synthesize } from '../synth';

export const EXIT = { ok: 0, internal: 1, invalid: 2, problems: 3 } as const;

const USAGE = `Usage: controlplane-backup <command> [options]

Commands:
  synth --inventory FILE --out DIR   validate the inventory and write every cluster's manifests to DIR
                                     (DIR is replaced as a whole, or left as it was when anything fails)
  validate --inventory FILE          validate the inventory only; print every problem with file:line:col
  restore --inventory FILE --cluster NAME --snapshot KEY|latest --confirm NAME [--id ID]
          [--storage NAME] [--pki] [--allow-cross-cluster] --out DIR
                                     write the restore bundle of one cluster (Jobs, RUNBOOK.md) to DIR, for
                                     break-glass use without GitOps; --confirm repeats the snapshot's name
                                     (the cluster's name for latest)
  validate-output DIR                check synthesized manifests against the Kubernetes 1.28 and CRD schemas
                                     and build every cluster folder with kubectl kustomize
  schema                             print the inventory's JSON Schema
  agent <command> --plan FILE        what the pods run (backup, prune, drill): see \`controlplane-backup agent --help\`
  snapshots --inventory FILE [--cluster NAME] [--storage NAME] [--json] [--now ISO-8601]
          [--bucket STORAGE=NAME]... [--endpoint STORAGE=HOST:PORT]...
                                     list the backup sets in S3 storage per cluster and storage: size, time,
                                     age, complete, encrypted, PKI bundle, drill result; other objects apart
  check --inventory FILE [--cluster NAME] [--now ISO-8601] [--bucket ...] [--endpoint ...]
                                     exit 3 and print one line per problem when a cluster's newest complete
                                     backup is older than worst-case RPO x rpoMargin + activeDeadlineSeconds,
                                     its newest drill failed, or a storage cannot be read
                                     (S3 credentials: the AWS SDK's default chain; private CA: NODE_EXTRA_CA_CERTS;
                                     --bucket/--endpoint: an objectBucketClaim storage's bucket and endpoint)

Options:
  -h, --help       show this help
  -v, --version    show the version

Exit codes: 0 success, 2 invalid input (every problem is printed), 1 internal error,
            3 problems found in storage (snapshots, check).`;

export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Progress goes to a terminal only; piped or in CI the command stays quiet. */
  readonly interactive: boolean;
}

const defaultIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  interactive: Boolean(process.stderr.isTTY) && !process.env.CI,
};

class UsageError extends Error {}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

function version(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

export async function run(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    if (error instanceof InvalidInventoryError) {
      io.err(`${error.message}\n${plural(error.problems.length, 'problem')} found; nothing was written.\n`);
      return EXIT.invalid;
    }
    if (error instanceof UsageError) {
      io.err(`controlplane-backup: ${error.message}\n\n${USAGE}\n`);
      return EXIT.invalid;
    }
    io.err(`controlplane-backup: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return EXIT.internal;
  }
}

async function dispatch(argv: readonly string[], io: Io): Promise<number> {
  // The pods' commands: the same code as the tools image's bundle (lib/agent/bin.ts), with its own arguments.
  if (argv[0] === 'agent') return (await import('../agent/run')).runAgent(argv.slice(1), io);
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        inventory: { type: 'string', short: 'i' },
        out: { type: 'string', short: 'o' },
        cluster: { type: 'string' },
        snapshot: { type: 'string' },
        confirm: { type: 'string' },
        id: { type: 'string' },
        storage: { type: 'string' },
        pki: { type: 'boolean' },
        'allow-cross-cluster': { type: 'boolean' },
        json: { type: 'boolean' },
        now: { type: 'string' },
        bucket: { type: 'string', multiple: true },
        endpoint: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.version) {
    io.out(`${version()}\n`);
    return EXIT.ok;
  }
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    io.out(`${USAGE}\n`);
    return EXIT.ok;
  }
  const requireInventory = () => {
    if (!values.inventory) throw new UsageError(`${command} needs --inventory FILE`);
    return values.inventory;
  };
  const noExtra = (allowed: number) => {
    if (rest.length > allowed) throw new UsageError(`unexpected argument "${rest[allowed]}"`);
  };
  switch (command) {
    case 'synth': {
      noExtra(0);
      const inventory = requireInventory();
      if (!values.out) throw new UsageError('synth needs --out DIR');
      const started = Date.now();
      const progress = io.interactive
        ? (done: number, total: number) => {
            if (done === total || done % 25 === 0) io.err(`\rsynth: ${done}/${total} clusters`);
          }
        : undefined;
      const result = synthesize(inventory, values.out, { onCluster: progress });
      if (io.interactive) io.err('\n');
      io.err(`synth: ${result.inventory.clusters.length} clusters, ${result.files} files written to ${values.out} in ${((Date.now() - started) / 1000).toFixed(2)} s\n`);
      return EXIT.ok;
    }
    case 'validate': {
      noExtra(0);
      const inventory = loadInventory(requireInventory());
      io.err(`${inventory.file}: valid (${plural(inventory.clusters.length, 'cluster')}, ${plural(Object.keys(inventory.storages).length, 'storage')})\n`);
      return EXIT.ok;
    }
    case 'restore': {
      noExtra(0);
      const inventory = requireInventory();
      for (const flag of ['cluster', 'snapshot', 'confirm', 'out'] as const) {
        if (!values[flag]) throw new UsageError(`restore needs --${flag}`);
      }
      const { writeRestoreBundle } = await import('./restore');
      const id = values.id ?? `manual-${new Date().toISOString().slice(0, 16).replace(/[-:T]/g, '')}`;
      const files = writeRestoreBundle({
        inventory, id, cluster: values.cluster!, snapshot: values.snapshot!, confirm: values.confirm!, out: values.out!,
        storage: values.storage, pki: values.pki, allowCrossCluster: values['allow-cross-cluster'],
      });
      io.err(`restore: ${files} files for restore "${id}" of ${values.cluster} written to ${values.out}; read ${values.out}/RUNBOOK.md, then \`kubectl apply -k ${values.out}\`\n`);
      return EXIT.ok;
    }
    case 'validate-output': {
      noExtra(1);
      const dir = rest[0];
      if (!dir) throw new UsageError('validate-output needs the output folder, e.g. "validate-output dist"');
      const { validateOutput } = await import('./validate-output');
      return validateOutput(dir, io);
    }
    case 'snapshots':
    case 'check': {
      noExtra(0);
      const options = {
        inventory: requireInventory(), cluster: values.cluster, storage: values.storage, now: values.now,
        buckets: values.bucket, endpoints: values.endpoint,
      };
      if (command === 'check') {
        if (values.storage || values.json) throw new UsageError('check takes no --storage or --json: it checks every storage of a cluster');
        return (await import('./check')).check(options, io);
      }
      return (await import('./snapshots')).snapshots({ ...options, json: values.json }, io);
    }
    case 'schema':
      noExtra(0);
      io.out(`${JSON.stringify(inventoryJsonSchema(), null, 2)}\n`);
      return EXIT.ok;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}
