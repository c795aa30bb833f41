/**
 * How a restore command ends: the result its state machine reports, which the agent's one result line carries
 * (failures are AgentError with a code of the agent's one exit-code table).
 */
import type { RestoreKube } from '../kube';

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

/** What the hosted restore's pods (coordinator and replicas) are given besides their plan: the API and the clock. */
export interface HostedRestoreDeps {
  readonly kube: RestoreKube;
  readonly log?: Log;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

/** Logs to stderr with the agent's prefix (stdout carries only the result line). */
export type Log = (message: string) => void;
export const stderrLog: Log = (message) => process.stderr.write(`controlplane-backup: ${message}\n`);

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
