/**
 * `agent prune`: retention alone, per destination of a backup plan (a separate prune credential, or a manual run).
 * Without a run's own set, "now" is the pod's clock: sets dated after it (beyond the skew) are reported, never
 * deleted, and maxAge never takes a destination below keepLast (or one) complete sets.
 */
import type { Context } from './context';
import { EXIT } from './exit-codes';
import { backupPlanSchema, loadPlan, type PlanSource } from './plan';
import { applyRetention } from './retention';

export async function prune(source: PlanSource, ctx: Context): Promise<{ code: number; message: string }> {
  const plan = loadPlan(backupPlanSchema, source, ctx.env);
  const now = ctx.clock();
  Object.assign(ctx.result, { cluster: plan.cluster, now: now.toISOString(), destinations: [], deleted: 0, future: [] });
  ctx.stage = 'retention';
  const results = await Promise.all(plan.destinations.map(async (destination) => {
    // No expectPki: sets taken before the PKI bundle was switched on are complete without one (never "incomplete").
    const { locked, ...outcome } = await applyRetention(ctx, ctx.store(destination), destination, plan, { now });
    return { name: destination.name, kind: destination.kind, status: outcome.error ? 'failed' : outcome.skipped ? 'skipped' : 'ok', ...outcome, ...(locked.length ? { locked } : {}) };
  }));
  Object.assign(ctx.result, {
    destinations: results,
    deleted: results.reduce((sum, result) => sum + result.deleted, 0),
    future: [...new Set(results.flatMap((result) => result.future))],
  });
  const failed = results.filter((result) => result.error);
  if (failed.length > 0) return { code: EXIT.storage, message: `retention failed for ${failed.map((result) => result.name).join(', ')}` };
  ctx.stage = 'done';
  return { code: EXIT.ok, message: `retention removed ${ctx.result.deleted as number} object(s)` };
}
