/**
 * The one exit-code table of every `controlplane-backup agent` command (backup, prune, drill and the restores).
 * The README lists it; the alerts and runbooks refer to it. A code keeps its meaning in every command.
 */
export const EXIT = {
  /** Done (a restore that had already run counts as done). */
  ok: 0,
  /** Anything not below (a bug, a signal, the Job's deadline). */
  failed: 1,
  /** The snapshot or backup set is invalid: too small, truncated, trailer or checksum mismatch, missing object, no complete backup. */
  invalidBackup: 2,
  /** Configuration: the plan is missing, malformed or from another package version, a tool is missing, a key is wrong. */
  config: 3,
  /** Storage: unreachable, access denied, missing bucket, an upload or download failed. */
  storage: 4,
  /** The backup is complete everywhere, but retention failed somewhere. */
  retention: 5,
  /** Restore: a member did not stage in time, or members resolved different snapshots. */
  barrier: 6,
  /** Restore: etcd did not stop. */
  etcdStop: 7,
  /** etcd did not start or become healthy (after a restore, or the drill's throwaway etcd). */
  etcdHealth: 8,
  /** Restore: a Kubernetes API call failed. */
  kubernetesApi: 9,
  /** Restore (hosted coordinator): a phase failed. */
  phaseFailed: 10,
  /** Drill: restored, but revision or key count differ from the backup's metadata. */
  drillMismatch: 11,
  /** Drill: every object verified, but nothing was restored (encrypted and no identity): never a success. */
  verifiedNotRestored: 12,
  /**
   * The backup set is not signed with the cluster's signing key (unsigned, or forged by someone holding only the
   * storage credential): a drill or restore refuses it, unless the restore request says `allowUnsigned: true`.
   */
  untrusted: 13,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure with the exit code it ends the command with. */
export class AgentError extends Error {
  constructor(readonly code: ExitCode, message: string, readonly stage?: string) {
    super(message);
  }
}
