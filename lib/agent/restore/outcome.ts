/**
 * How a restore command ends: a failure carries the exit code of the agent's table and the stage it happened in;
 * the result is what the one JSON result line reports.
 */

/** Exit codes of the restore commands (documented in the README's Restore section). */
export const RESTORE_EXIT = {
  ok: 0,
  other: 1,
  snapshotInvalid: 2,
  config: 3,
  storage: 4,
  barrier: 6,
  etcdDidNotStop: 7,
  etcdUnhealthy: 8,
  kubeApi: 9,
  phaseFailed: 10,
} as const;

export class RestoreFailure extends Error {
  constructor(readonly exitCode: number, message: string, readonly stage?: string) {
    super(message);
    this.name = 'RestoreFailure';
  }
}

export interface RestoreResult {
  readonly status: 'ok' | 'skipped' | 'failed';
  readonly exitCode: number;
  readonly stage: string;
  readonly message: string;
  readonly cluster: string;
  readonly restoreId: string;
  /** the resolved backup name; null while "latest" is unresolved */
  readonly snapshot: string | null;
  readonly revisionBumped: boolean;
  readonly durationsMs: Readonly<Record<string, number>>;
  readonly [field: string]: unknown;
}

/** Logs to stderr with the agent's prefix (stdout carries only the result line). */
export type Log = (message: string) => void;
export const stderrLog: Log = (message) => process.stderr.write(`controlplane-backup: ${message}\n`);

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
