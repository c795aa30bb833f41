/** Retention of one destination, as the backup (after its set is complete) and prune commands apply it. */
import { readFolder } from '../storage/folder';
import { decideRetention, type LockedSet } from '../storage/retention';
import { StorageError, type ObjectStore } from '../storage/store';
import type { Context } from './context';
import type { Destination } from './plan';

export interface RetentionOutcome {
  readonly deleted: number;
  /** Why retention did not run (nothing was deleted); null when it ran. */
  readonly skipped: string | null;
  /** Sets dated in the future: never counted nor deleted, reported. */
  readonly future: string[];
  /** What failed (listing, reading sidecars, deleting); null when nothing did. */
  readonly error: string | null;
  /** Sets retention would delete, kept while their S3 Object Lock lasts, with when each becomes deletable. */
  readonly locked: readonly LockedSet[];
}

export async function applyRetention(
  ctx: Context, store: ObjectStore, destination: Destination,
  plan: { readonly cluster: string; readonly deadlineSeconds: number; readonly signing: { readonly publicKey: string } | null },
  run: { readonly current?: string; readonly now: Date },
): Promise<RetentionOutcome> {
  try {
    // With a signing key, only signed sets count: a forged set can neither push a genuine one out nor stop retention.
    const folder = await readFolder(store, plan.cluster, destination.folder, plan.signing ? { publicKey: plan.signing.publicKey } : {});
    const decision = decideRetention({
      sets: folder.sets, policy: destination.retention, now: run.now, current: run.current, incompleteGraceSeconds: plan.deadlineSeconds,
      ...(destination.kind === 's3' && destination.objectLock ? { objectLockDays: destination.objectLock.days } : {}),
    });
    const locked = [...decision.locked];
    for (const set of locked) {
      ctx.log(`destination ${destination.name}: ${set.name} is due for deletion but under S3 Object Lock: kept, deletable after ${set.deletableAfter}`);
    }
    for (const name of decision.future) {
      ctx.log(`WARNING: destination ${destination.name}: ${name} is dated in the future (now ${run.now.toISOString()}): never used as latest, never removed; check the clock of the node that wrote it`);
    }
    if (decision.skipped) {
      ctx.log(`WARNING: destination ${destination.name}: retention did not run: ${decision.skipped}`);
      return { deleted: 0, skipped: decision.skipped, future: [...decision.future], error: null, locked: [] };
    }
    if (decision.deleteKeys.length > 0) await store.delete(decision.deleteKeys);
    ctx.log(`destination ${destination.name}: retention removed ${decision.deleteKeys.length} object(s) of ${decision.deleteSets.length} set(s)`);
    return { deleted: decision.deleteKeys.length, skipped: null, future: [...decision.future], error: null, locked };
  } catch (error) {
    if (!(error instanceof StorageError)) throw error;
    ctx.log(`ERROR: destination ${destination.name} (${store.description}): retention: ${error.message}`);
    return { deleted: 0, skipped: null, future: [], error: `retention: ${error.message}`, locked: [] };
  }
}
