/**
 * Retention, pure: which sets of one destination's folder to delete, from the assessed sets, the policy and a clock.
 *
 * - `keepLast` keeps the N newest complete sets; `hourly`/`daily`/`weekly`/`monthly` keep the newest complete set of
 *   each of the N most recent hours/days/ISO weeks/months (UTC) that have one; `maxAge` is a ceiling over them, but
 *   never takes the number of complete sets below `keepLast` (and never below 1). With no rule set, nothing goes.
 * - Sets dated in the future (beyond the skew) are never counted, never deleted, and are reported.
 * - When this run wrote a set (`current`), retention runs only when that set is the newest complete one: a run whose
 *   clock is behind (or whose set is not complete here) deletes nothing.
 * - The newest complete set is never deleted. An incomplete set goes only when it is older than the newest complete
 *   set and than the grace (the Job's deadline: a set younger than that may still be uploading), and never when its
 *   sidecar could not be read.
 * - Only objects of sets of the cluster's exact pattern are ever deleted (grouping leaves every other key out).
 * - "Complete" above means trusted (sets.ts): when the cluster has a signing key, an unsigned or forged set is never
 *   counted (it can push no genuine set out of keepLast) and is never the newest. Such a set goes only by maxAge and
 *   only when older than the newest trusted set (sets from before the key was set keep their age limit); one whose
 *   signature could not be read stays.
 * - With S3 Object Lock, a set that retention would delete waits until its lock has surely ended, and is reported
 *   with that date. The date comes from the set's stamp, not from the store: each object was locked for `days` from
 *   the start of its upload, which the Job's deadline bounds, so stamp + days + deadline + clock skew is past every
 *   object's retain-until date. That costs no request (the listing carries no lock; HeadObject or
 *   GetObjectRetention would be one call per object) and errs only towards keeping a set a little longer.
 */
import type { Retention } from '../inventory/model';
import type { AssessedSet } from './sets';
import { DEFAULT_CLOCK_SKEW_SECONDS, isFuture } from './sets';

/** The retention rules of one destination (the inventory's, as rendered into the agent's plan); 0: rule not set. */
export type RetentionPolicy = Retention;

export interface RetentionInput {
  readonly sets: readonly AssessedSet[];
  readonly policy: RetentionPolicy;
  /** The run's clock. */
  readonly now: Date;
  /** Name of the set this run wrote (backup); undefined for a prune run. */
  readonly current?: string;
  /** Incomplete sets younger than this are never deleted (the Job's activeDeadlineSeconds). */
  readonly incompleteGraceSeconds: number;
  /** @default DEFAULT_CLOCK_SKEW_SECONDS */
  readonly skewSeconds?: number;
  /** S3 Object Lock of the destination: days each object is locked from its upload. */
  readonly objectLockDays?: number;
}

/** A set retention would delete, kept because its Object Lock may not have ended. */
export interface LockedSet {
  readonly name: string;
  /** When the lock of every object of the set has surely ended (ISO 8601). */
  readonly deletableAfter: string;
}

export interface RetentionDecision {
  /** Why retention did not run (nothing is deleted then); null when it ran. */
  readonly skipped: string | null;
  /** Names of the sets to delete, oldest first. */
  readonly deleteSets: readonly string[];
  /** Every key to delete (the objects of deleteSets), sorted. */
  readonly deleteKeys: readonly string[];
  /** Names of the complete sets kept. */
  readonly keptComplete: readonly string[];
  /** Names of the sets dated in the future (never counted nor deleted), newest first. */
  readonly future: readonly string[];
  /** Sets retention would delete, still under Object Lock, oldest first: never deleted before `deletableAfter`. */
  readonly locked: readonly LockedSet[];
}

/** When every object of a set stamped `createdAt` is surely out of its Object Lock (see the module comment). */
export function objectLockEnds(createdAt: Date, days: number, uploadWindowSeconds: number, skewSeconds = DEFAULT_CLOCK_SKEW_SECONDS): Date {
  return new Date(createdAt.getTime() + days * 24 * HOUR + (uploadWindowSeconds + skewSeconds) * 1000);
}

const HOUR = 3_600_000;

/** The bucket of a tier a time falls in (UTC); ISO weeks start on Monday (1970-01-01 was a Thursday). */
function tierBucket(tier: 'hourly' | 'daily' | 'weekly' | 'monthly', date: Date): number {
  const ms = date.getTime();
  switch (tier) {
    case 'hourly': return Math.floor(ms / HOUR);
    case 'daily': return Math.floor(ms / (24 * HOUR));
    case 'weekly': return Math.floor((Math.floor(ms / (24 * HOUR)) + 3) / 7);
    case 'monthly': return date.getUTCFullYear() * 12 + date.getUTCMonth();
  }
}

export function decideRetention(input: RetentionInput): RetentionDecision {
  const { policy, now } = input;
  const skew = input.skewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  const future = input.sets.filter((set) => isFuture(set, now, skew)).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const present = input.sets.filter((set) => !isFuture(set, now, skew));
  // Newest first.
  const complete = present.filter((set) => set.trusted).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const newest = complete[0];
  const lockEnd = (set: AssessedSet) => (input.objectLockDays ? objectLockEnds(set.createdAt, input.objectLockDays, input.incompleteGraceSeconds, skew) : undefined);
  const result = (skipped: string | null, doomed: readonly AssessedSet[]): RetentionDecision => {
    const sorted = [...doomed].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    const locked = sorted.filter((set) => (lockEnd(set)?.getTime() ?? 0) > now.getTime());
    const deletable = sorted.filter((set) => !locked.includes(set));
    const gone = new Set(deletable.map((set) => set.name));
    return {
      skipped,
      deleteSets: deletable.map((set) => set.name),
      deleteKeys: deletable.flatMap((set) => set.objects.map((object) => object.key)).sort(),
      keptComplete: complete.filter((set) => !gone.has(set.name)).map((set) => set.name),
      future: future.map((set) => set.name),
      locked: locked.map((set) => ({ name: set.name, deletableAfter: lockEnd(set)!.toISOString() })),
    };
  };

  if (input.current !== undefined) {
    const own = input.sets.find((set) => set.name === input.current);
    if (!own || !own.complete) return result(`this run's set ${input.current} is not complete in the listing`, []);
    if (!own.trusted) return result(`this run's set ${input.current} is not signed with the cluster's signing key in the listing: ${own.signatureProblem}`, []);
    if (isFuture(own, now, skew)) return result(`this run's set ${input.current} is dated after the run's clock`, []);
    if (newest && newest.name !== own.name) {
      return result(`this run's set ${input.current} is not the newest complete set (${newest.name} is): the clock may be behind`, []);
    }
  }
  const anyRule = policy.keepLast + policy.hourly + policy.daily + policy.weekly + policy.monthly > 0;
  if (!anyRule && policy.maxAgeHours <= 0) return result(null, []);

  const keep = new Set<string>();
  complete.slice(0, policy.keepLast).forEach((set) => keep.add(set.name));
  for (const tier of ['hourly', 'daily', 'weekly', 'monthly'] as const) {
    let count = 0;
    let last: number | undefined;
    for (const set of complete) {
      if (count >= policy[tier]) break;
      const bucket = tierBucket(tier, set.createdAt);
      if (bucket !== last) {
        keep.add(set.name);
        count++;
        last = bucket;
      }
    }
  }
  const maxAgeMs = policy.maxAgeHours * HOUR;
  const doomed = new Set<string>();
  for (const set of complete) {
    const tooOld = maxAgeMs > 0 && now.getTime() - set.createdAt.getTime() > maxAgeMs;
    if ((anyRule && !keep.has(set.name)) || tooOld) doomed.add(set.name);
  }
  if (newest) doomed.delete(newest.name);
  if (input.current !== undefined) doomed.delete(input.current);
  // maxAge never takes the count of complete sets below keepLast, nor below one: spare the newest of the doomed.
  const floor = Math.max(policy.keepLast, 1);
  for (const set of complete) {
    if (complete.length - doomed.size >= floor) break;
    doomed.delete(set.name);
  }

  const graceMs = input.incompleteGraceSeconds * 1000;
  const untrusted = present.filter((set) => set.complete && !set.trusted && set.signature !== 'unreadable'
    && newest !== undefined && set.createdAt.getTime() < newest.createdAt.getTime()
    && maxAgeMs > 0 && now.getTime() - set.createdAt.getTime() > maxAgeMs);
  const incomplete = present.filter((set) => !set.complete && !set.undetermined
    && newest !== undefined && set.createdAt.getTime() < newest.createdAt.getTime()
    && now.getTime() - set.createdAt.getTime() > graceMs
    && set.name !== input.current);
  return result(null, [...complete.filter((set) => doomed.has(set.name)), ...untrusted, ...incomplete]);
}
