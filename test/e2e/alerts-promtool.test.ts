/**
 * The rules run by `promtool test rules` against kube-state-metrics-shaped series (one sample a minute, minute 0 is
 * 1970-01-01 00:00 UTC, a Thursday): each alert fires when it should, at the minute it should, with its labels and
 * annotations, and stays silent when it should not.
 */
import { describe, expect, it } from 'vitest';
import { ALERT_NAMES } from '../../lib/plan/alerts';
import {
  annotationsOf, cronJobLabels, jobLabels, prometheusRules, promtoolTest, ruleOf, series, timeline,
  type AlertCheck, type ExpectedAlert, type InputSeries, type Sample,
} from '../support/alerts';

const rules = prometheusRules();
const HOUR = 60;
const DAY = 24 * HOUR;

/** The firing alert a rule produces for a CronJob (stale, suspended): the series' labels plus the rule's. */
function cronJobAlert(cluster: string, alert: string, cronjob: string): ExpectedAlert {
  const rule = ruleOf(rules[cluster], alert);
  const labels = { ...cronJobLabels(cronjob), ...rule.labels };
  return { labels, annotations: annotationsOf(rule, labels) };
}

function jobAlert(cluster: string, alert: string, cronjob: string, jobName: string): ExpectedAlert {
  const rule = ruleOf(rules[cluster], alert);
  const labels = { ...jobLabels(jobName), owner_name: cronjob, ...rule.labels };
  return { labels, annotations: annotationsOf(rule, labels) };
}

function expectPromtool(cluster: string, input: readonly InputSeries[], checks: readonly AlertCheck[]): void {
  const result = promtoolTest(rules[cluster], input, checks);
  expect(result.ok, result.output).toBe(true);
}

/** Series of a CronJob: created at `createdMinute`, suspended from `suspendedFrom`, newest success per minute. */
function cronJobSeries(cronjob: string, minutes: number, lastSuccess: (minute: number) => Sample, options: { createdMinute?: number; suspendedFrom?: number } = {}): InputSeries[] {
  const labels = cronJobLabels(cronjob);
  const suspendedFrom = options.suspendedFrom ?? Number.POSITIVE_INFINITY;
  const successes = timeline(minutes, lastSuccess);
  return [
    series('kube_cronjob_created', labels, timeline(minutes, () => (options.createdMinute ?? 0) * 60)),
    series('kube_cronjob_spec_suspend', labels, timeline(minutes, (m) => (m >= suspendedFrom ? 1 : 0))),
    // kube-state-metrics has no such series until the first success.
    ...(successes.some((s) => s !== undefined) ? [series('kube_cronjob_status_last_successful_time', labels, successes)] : []),
  ];
}

/** Newest success of a schedule whose runs (at `runs` minutes) succeed `took` minutes later, before `until` only. */
const successesOf = (runs: (minute: number) => boolean, took: number, until: number) => (minute: number): Sample => {
  for (let m = Math.min(minute - took, until - 1); m >= 0; m--) if (runs(m)) return (m + took) * 60;
  return undefined;
};

describe('ControlPlaneBackupStale', () => {
  const cronjob = 'every20-etcd-backup';
  // */20: runs at 0, 20, ..., 80 succeed a minute later; from 100 on they fail. Newest success 81 minutes (4860 s).
  const lastSuccess = successesOf((m) => m % 20 === 0, 1, 100);
  const stale = cronJobAlert('every20', ALERT_NAMES.backupStale, cronjob);

  it('fires once the newest success is older than 1 hour 10 minutes, not a minute before', () => {
    expectPromtool('every20', cronJobSeries(cronjob, 240, lastSuccess), [
      { at: 100, alert: ALERT_NAMES.backupStale, firing: [] },
      { at: 151, alert: ALERT_NAMES.backupStale, firing: [] }, // exactly 70 minutes: just inside
      { at: 152, alert: ALERT_NAMES.backupStale, firing: [stale] },
      { at: 239, alert: ALERT_NAMES.backupStale, firing: [stale] },
    ]);
  });

  it('stays silent while the CronJob is suspended; ControlPlaneBackupSuspended fires after 24 hours of it', () => {
    const minutes = 100 + DAY + 10;
    expectPromtool('every20', cronJobSeries(cronjob, minutes, lastSuccess, { suspendedFrom: 100 }), [
      { at: 152, alert: ALERT_NAMES.backupStale, firing: [] },
      { at: 100 + DAY - 1, alert: ALERT_NAMES.backupStale, firing: [] },
      { at: 100 + DAY - 1, alert: ALERT_NAMES.backupSuspended, firing: [] },
      { at: 100 + DAY, alert: ALERT_NAMES.backupSuspended, firing: [cronJobAlert('every20', ALERT_NAMES.backupSuspended, cronjob)] },
    ]);
  });

  it('fires when the CronJob has never succeeded for 1 hour 10 minutes after its creation', () => {
    expectPromtool('every20', cronJobSeries(cronjob, 120, () => undefined, { createdMinute: 10 }), [
      { at: 80, alert: ALERT_NAMES.backupStale, firing: [] },
      { at: 81, alert: ALERT_NAMES.backupStale, firing: [stale] },
    ]);
  });

  it('stays silent for a new CronJob whose first run succeeds', () => {
    const firstRunOnly = successesOf((m) => m === 20, 1, 30);
    expectPromtool('every20', cronJobSeries(cronjob, 90, firstRunOnly, { createdMinute: 10 }), [
      { at: 81, alert: ALERT_NAMES.backupStale, firing: [] },
      { at: 89, alert: ALERT_NAMES.backupStale, firing: [] }, // newest success at 21: 68 minutes old
    ]);
  });

  it('takes the weekend gap of 0 */6 * * 1-5: a 48-hour-old backup on Sunday is fine, Tuesday 03:42 is late', () => {
    const weekday = (m: number) => { const day = (4 + Math.floor(m / DAY)) % 7; return day >= 1 && day <= 5; }; // 1970-01-01 is a Thursday
    const runs = (m: number) => m % (6 * HOUR) === 0 && weekday(m);
    // Every run succeeds two minutes later until Friday 18:00; Monday's runs all fail.
    const friday1802 = DAY + 18 * HOUR + 2;
    const lastSuccess = successesOf(runs, 2, friday1802);
    const cron = 'weekdays-etcd-backup';
    const sunday1800 = 3 * DAY + 18 * HOUR;
    const late = friday1802 + 81 * HOUR + 40; // Tuesday 03:42
    expectPromtool('weekdays', cronJobSeries(cron, late + 5, lastSuccess), [
      { at: sunday1800, alert: ALERT_NAMES.backupStale, firing: [] },
      { at: 4 * DAY + 6 * HOUR, alert: ALERT_NAMES.backupStale, firing: [] },
      { at: late, alert: ALERT_NAMES.backupStale, firing: [] },
      { at: late + 1, alert: ALERT_NAMES.backupStale, firing: [cronJobAlert('weekdays', ALERT_NAMES.backupStale, cron)] },
    ]);
  });

  it('while a 24-hour-old backup of 0 */6 * * * fires on that Sunday: 9 hours 40 minutes is its threshold', () => {
    const runs = (m: number) => m % (6 * HOUR) === 0;
    const saturday1802 = 2 * DAY + 18 * HOUR + 2;
    const lastSuccess = successesOf(runs, 2, saturday1802);
    const cron = 'sixhourly-etcd-backup';
    const sunday1802 = 3 * DAY + 18 * HOUR + 2;
    expectPromtool('sixhourly', cronJobSeries(cron, sunday1802 + 5, lastSuccess), [
      { at: saturday1802 + 9 * HOUR + 40, alert: ALERT_NAMES.backupStale, firing: [] },
      { at: saturday1802 + 9 * HOUR + 41, alert: ALERT_NAMES.backupStale, firing: [cronJobAlert('sixhourly', ALERT_NAMES.backupStale, cron)] },
      { at: sunday1802, alert: ALERT_NAMES.backupStale, firing: [cronJobAlert('sixhourly', ALERT_NAMES.backupStale, cron)] },
    ]);
  });
});

/**
 * One Job's kube-state-metrics series over `minutes`: created at `created`; `pods` says per minute whether a pod is
 * active; `failedPods` counts failed pods; `failedFor` (the Job's Failed condition reason) from that minute on
 * replaces the reason-less series with one per known reason, as kube-state-metrics does; `succeededAt` ends it well.
 */
function jobSeries(jobName: string, owner: { kind: string; name: string }, minutes: number, job: {
  created: number; active: (m: number) => boolean; failedPods: (m: number) => number; failed?: { at: number; reason: string }; succeededAt?: number;
}): InputSeries[] {
  const labels = jobLabels(jobName);
  const exists = (m: number) => m >= job.created;
  const sample = (m: number, value: () => number): Sample => (exists(m) ? value() : undefined);
  const failedAt = job.failed?.at ?? Number.POSITIVE_INFINITY;
  const reasons = ['BackoffLimitExceeded', 'DeadlineExceeded', 'Evicted'];
  return [
    series('kube_job_owner', { ...labels, owner_kind: owner.kind, owner_name: owner.name, owner_is_controller: owner.kind ? 'true' : 'false' },
      timeline(minutes, (m) => sample(m, () => 1))),
    series('kube_job_created', labels, timeline(minutes, (m) => sample(m, () => job.created * 60))),
    series('kube_job_status_active', labels, timeline(minutes, (m) => sample(m, () => (job.active(m) ? 1 : 0)))),
    series('kube_job_status_succeeded', labels, timeline(minutes, (m) => sample(m, () => (m >= (job.succeededAt ?? Number.POSITIVE_INFINITY) ? 1 : 0)))),
    series('kube_job_status_failed', labels, timeline(minutes, (m) => (m === failedAt ? 'stale' : m > failedAt ? undefined : sample(m, () => job.failedPods(m))))),
    ...(job.failed ? reasons.map((reason) => series('kube_job_status_failed', { ...labels, reason },
      timeline(minutes, (m) => (m >= failedAt ? (reason === job.failed!.reason ? 1 : 0) : undefined)))) : []),
  ];
}

describe('ControlPlaneBackupJobFailed', () => {
  const cronjob = 'every20-etcd-backup';
  const owner = { kind: 'CronJob', name: cronjob };
  const jobName = `${cronjob}-100`;
  // The run at 100: its pod fails at 104, the first retry runs 105-108 and fails, the second 110-113 and fails:
  // backoffLimit 2 used up, the Job's Failed condition (BackoffLimitExceeded) from 114.
  const failing = {
    created: 100,
    active: (m: number) => (m >= 100 && m < 104) || (m >= 105 && m < 108) || (m >= 110 && m < 114),
    failedPods: (m: number) => (m < 104 ? 0 : m < 108 ? 1 : m < 114 ? 2 : 3),
    failed: { at: 114, reason: 'BackoffLimitExceeded' },
  };
  const olderSuccess = (until: number) => cronJobSeries(cronjob, until, (m) => (m >= 81 ? 81 * 60 : undefined));

  it('fires 6 minutes after the last retry failed, for that Job, and not for an on-demand Job', () => {
    const onDemand = jobSeries('every20-backup-before-upgrade', { kind: '', name: '' }, 140, { ...failing, created: 90 });
    expectPromtool('every20', [...olderSuccess(140), ...jobSeries(jobName, owner, 140, failing), ...onDemand], [
      { at: 106, alert: ALERT_NAMES.backupJobFailed, firing: [] },
      { at: 119, alert: ALERT_NAMES.backupJobFailed, firing: [] },
      { at: 120, alert: ALERT_NAMES.backupJobFailed, firing: [jobAlert('every20', ALERT_NAMES.backupJobFailed, cronjob, jobName)] },
      { at: 139, alert: ALERT_NAMES.backupJobFailed, firing: [jobAlert('every20', ALERT_NAMES.backupJobFailed, cronjob, jobName)] },
      { at: 139, alert: ALERT_NAMES.drillFailed, firing: [] },
    ]);
  });

  it('stays silent when a retry succeeds within for, though the failed pod stays counted', () => {
    // The pod fails at 104; its retry is created only at 108 (4 minutes, inside the 6-minute for) and succeeds at 112.
    const retried = {
      created: 100,
      active: (m: number) => (m >= 100 && m < 104) || (m >= 108 && m < 112),
      failedPods: (m: number) => (m < 104 ? 0 : 1),
      succeededAt: 112,
    };
    const lastSuccess = cronJobSeries(cronjob, 160, (m) => (m >= 112 ? 112 * 60 : m >= 81 ? 81 * 60 : undefined));
    expectPromtool('every20', [...lastSuccess, ...jobSeries(jobName, owner, 160, retried)], [
      { at: 107, alert: ALERT_NAMES.backupJobFailed, firing: [] },
      { at: 112, alert: ALERT_NAMES.backupJobFailed, firing: [] },
      { at: 159, alert: ALERT_NAMES.backupJobFailed, firing: [] },
    ]);
  });

  it('clears when the next run succeeds, though the failed Job stays in the history', () => {
    const nextRun = { created: 120, active: (m: number) => m >= 120 && m < 123, failedPods: () => 0, succeededAt: 123 };
    const lastSuccess = cronJobSeries(cronjob, 140, (m) => (m >= 123 ? 123 * 60 : m >= 81 ? 81 * 60 : undefined));
    expectPromtool('every20', [...lastSuccess, ...jobSeries(jobName, owner, 140, failing), ...jobSeries(`${cronjob}-120`, owner, 140, nextRun)], [
      { at: 122, alert: ALERT_NAMES.backupJobFailed, firing: [jobAlert('every20', ALERT_NAMES.backupJobFailed, cronjob, jobName)] },
      { at: 123, alert: ALERT_NAMES.backupJobFailed, firing: [] },
      { at: 139, alert: ALERT_NAMES.backupJobFailed, firing: [] },
    ]);
  });

  it('fires for a Job stopped by activeDeadlineSeconds (reason DeadlineExceeded)', () => {
    const slow = { created: 100, active: (m: number) => m >= 100 && m < 130, failedPods: (m: number) => (m < 130 ? 0 : 1), failed: { at: 130, reason: 'DeadlineExceeded' } };
    expectPromtool('every20', [...olderSuccess(150), ...jobSeries(jobName, owner, 150, slow)], [
      { at: 135, alert: ALERT_NAMES.backupJobFailed, firing: [] },
      { at: 136, alert: ALERT_NAMES.backupJobFailed, firing: [jobAlert('every20', ALERT_NAMES.backupJobFailed, cronjob, jobName)] },
    ]);
  });
});

describe('restore drill alerts', () => {
  const cronjob = 'nightly-etcd-drill';

  it('ControlPlaneBackupDrillOverdue fires when no drill has succeeded in 36 hours 40 minutes (daily drill)', () => {
    // Drills at 04:00 succeed after 10 minutes on the first day only; the newest success is at 04:10 (250 minutes).
    const lastSuccess = successesOf((m) => m % DAY === 4 * HOUR, 10, DAY);
    const overdueAt = 4 * HOUR + 10 + 36 * HOUR + 40;
    expectPromtool('nightly', cronJobSeries(cronjob, overdueAt + 5, lastSuccess), [
      { at: overdueAt, alert: ALERT_NAMES.drillOverdue, firing: [] },
      { at: overdueAt + 1, alert: ALERT_NAMES.drillOverdue, firing: [cronJobAlert('nightly', ALERT_NAMES.drillOverdue, cronjob)] },
      { at: overdueAt + 1, alert: ALERT_NAMES.backupStale, firing: [] },
    ]);
  });

  it('ControlPlaneBackupDrillFailed fires for a failed drill Job, and the backup alert does not', () => {
    const jobName = `${cronjob}-240`;
    const failing = { created: 240, active: (m: number) => m >= 240 && m < 250, failedPods: (m: number) => (m < 250 ? 0 : 3), failed: { at: 250, reason: 'BackoffLimitExceeded' } };
    expectPromtool('nightly', [...cronJobSeries(cronjob, 270, () => undefined), ...jobSeries(jobName, { kind: 'CronJob', name: cronjob }, 270, failing)], [
      // The drill has no retry: for: is the observation slack alone (5 minutes).
      { at: 254, alert: ALERT_NAMES.drillFailed, firing: [] },
      { at: 255, alert: ALERT_NAMES.drillFailed, firing: [jobAlert('nightly', ALERT_NAMES.drillFailed, cronjob, jobName)] },
      { at: 255, alert: ALERT_NAMES.backupJobFailed, firing: [] },
    ]);
  });

});
