/**
 * What every command of the CLI shares: where its text goes, and its exit codes (the one table; `--help` prints them
 * per command). 0 success, 1 internal error, 2 invalid input (inventory, request or command line), 3 problems found
 * in storage (snapshots: a storage could not be read; check: stale backups, a failed drill, unreadable storage).
 */
export const EXIT = { ok: 0, internal: 1, invalid: 2, problems: 3 } as const;

export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Progress goes to a terminal only; piped or in CI the command stays quiet. */
  readonly interactive: boolean;
}

export const defaultIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  interactive: Boolean(process.stderr.isTTY) && !process.env.CI,
};
