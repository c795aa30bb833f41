import { describe, expect, it } from 'vitest';
import { failedForMinutes, planAlerts, runbookUrl, staleAfterMinutes } from '../../lib/plan/alerts';
import { planBackup } from '../../lib/plan/backup';
import { planDrill } from '../../lib/plan/drill';
import { inventoryOf } from '../support/inventory';
import { alertsDocument, NAMESPACE } from '../support/alerts';

const HOUR = 60;
const inventory = inventoryOf(alertsDocument());
const clusterOf = (inv: typeof inventory, name: string) => inv.clusters.find((cluster) => cluster.name === name)!;
/** As the cluster chart plans them: drill alerts exist only for a cluster that has a drill. */
const planOf = (name: string) => {
  const cluster = clusterOf(inventory, name);
  return planAlerts(cluster, NAMESPACE, planDrill(cluster, planBackup(inventory, cluster)));
};

describe('stale thresholds: worst-case gap of the schedule x rpoMargin + startingDeadlineSeconds + activeDeadlineSeconds', () => {
  // Defaults: rpoMargin 1.5, startingDeadlineSeconds 600, activeDeadlineSeconds 1800 (40 minutes together).
  it.each([
    ['every20', '*/20 * * * *', 20, 30 + 40],
    ['nightly', '0 2 * * *', 24 * HOUR, 36 * HOUR + 40],
    ['weekdays', '0 */6 * * 1-5', 54 * HOUR, 81 * HOUR + 40],
    ['sixhourly', '0 */6 * * *', 6 * HOUR, 9 * HOUR + 40],
  ])('%s (%s): worst gap %i minutes, late after %i minutes', (cluster, schedule, gap, staleAfter) => {
    const plan = planOf(cluster)!;
    expect(plan.backup).toEqual({
      cronJob: `${cluster}-etcd-backup`, schedule, timeZone: 'Etc/UTC', worstGapMinutes: gap, staleAfterMinutes: staleAfter, failedForMinutes: 6,
    });
  });

  it('takes the cluster rpoMargin: 2 x 6 hours + 40 minutes for tenant', () => {
    expect(planOf('tenant')!.backup.staleAfterMinutes).toBe(12 * HOUR + 40);
  });

  it('follows the schedule in its time zone: 0 2 * * * in America/New_York has a 47-hour gap on the spring-forward day', () => {
    const document = alertsDocument();
    document.clusters.nightly.backup.timeZone = 'America/New_York';
    const custom = inventoryOf(document);
    const nightly = clusterOf(custom, 'nightly');
    const plan = planAlerts(nightly, NAMESPACE, planDrill(nightly, planBackup(custom, nightly)))!;
    expect(plan.backup.worstGapMinutes).toBe(47 * HOUR);
    expect(plan.backup.staleAfterMinutes).toBe(70 * HOUR + 30 + 40);
  });

  it('rounds up to whole minutes, without binary noise', () => {
    expect(staleAfterMinutes(20, 1.1, 40)).toBe(62);
    expect(staleAfterMinutes(20, 1.15, 40)).toBe(63);
  });

  it('has no threshold for a schedule that runs less than twice a year', () => {
    expect(staleAfterMinutes(Number.POSITIVE_INFINITY, 1.5, 40)).toBeUndefined();
  });
});

describe('drill thresholds', () => {
  it('default weekly drill (30 3 * * 0): 7 days x 1.5 + 40 minutes', () => {
    expect(planOf('every20')!.drill).toEqual({
      cronJob: 'every20-etcd-drill', schedule: '30 3 * * 0', timeZone: 'Etc/UTC', worstGapMinutes: 7 * 24 * HOUR,
      // The drill Job has no retry (backoffLimit 0): a failure is final at once, plus observation slack.
      staleAfterMinutes: 10 * 24 * HOUR + 12 * HOUR + 40, failedForMinutes: 5,
    });
  });

  it('daily drill of nightly: 36 hours 40 minutes', () => {
    expect(planOf('nightly')!.drill!.staleAfterMinutes).toBe(36 * HOUR + 40);
  });

  it('none when the drill is disabled', () => {
    expect(planOf('weekdays')!.drill).toBeUndefined();
  });
});

describe('failed-Job for: the longest pause before a retry (10 s doubled per failure, at most 10 minutes) + 5 minutes', () => {
  it.each([[0, 5], [1, 6], [2, 6], [4, 7], [6, 11], [7, 15], [20, 15]])('backoffLimit %i: %i minutes', (backoffLimit, minutes) => {
    expect(failedForMinutes(backoffLimit)).toBe(minutes);
  });
});

describe('plan', () => {
  it('is undefined when alerts are disabled', () => {
    expect(planOf('quiet')).toBeUndefined();
  });

  it('points runbook URLs at the README anchor of the alert', () => {
    expect(runbookUrl('https://x.example/README.md', 'ControlPlaneBackupStale')).toBe('https://x.example/README.md#controlplanebackupstale');
    expect(planOf('every20')!.runbookBaseUrl).toBe('https://runbooks.example.com/backup.md');
  });
});
