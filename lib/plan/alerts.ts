/**
 * Threshold arithmetic of a cluster's alerts, pure: how old the newest successful backup (or drill) may get before
 * it is late, how long a failed Job may wait for its retry, and how long a suspension may last. Every threshold
 * derives from the cluster's own schedule and Job limits, never from a constant: a weekday-only schedule's weekend
 * gap is not an incident, a 20-minute schedule's missed hour is.
 */
import type { Cluster } from '../inventory/model';
import { DRILL_BACKOFF_LIMIT, type DrillPlan } from './drill';
import { PRUNE_BACKOFF_LIMIT, type PrunePlan } from './prune';
import { backupCronJobName, drillCronJobName } from './names';
import { worstCaseRpo } from './schedule';

/** Alert names; each has a heading (and so an anchor) in the README's "Alerts" section, which `runbook_url` points to. */
export const ALERT_NAMES = {
  backupStale: 'ControlPlaneBackupStale',
  backupSuspended: 'ControlPlaneBackupSuspended',
  backupJobFailed: 'ControlPlaneBackupJobFailed',
  drillFailed: 'ControlPlaneBackupDrillFailed',
  drillOverdue: 'ControlPlaneBackupDrillOverdue',
  pruneFailed: 'ControlPlaneBackupPruneFailed',
} as const;

export type AlertName = (typeof ALERT_NAMES)[keyof typeof ALERT_NAMES];

/** GitHub's anchor of a `### <AlertName>` heading: the name in lower case. */
export const runbookAnchor = (alert: AlertName): string => alert.toLowerCase();

export const runbookUrl = (baseUrl: string, alert: AlertName): string => `${baseUrl}#${runbookAnchor(alert)}`;

/** The Job controller's pause before re-creating a failed pod: 10 s doubled per failure, at most 10 minutes. */
const POD_FAILURE_BACKOFF_SECONDS = 10;
const MAX_POD_FAILURE_BACKOFF_SECONDS = 600;

/**
 * Slack for kube-state-metrics, the scrape and the rule evaluation (each up to a minute or so) between a Job's
 * state and the alert seeing it.
 */
const OBSERVATION_SLACK_MINUTES = 5;

/** A suspended backup CronJob alerts after this long: long enough for maintenance, short enough to be remembered. */
const SUSPENDED_FOR_MINUTES = 24 * 60;

/** What decides when one CronJob's newest success is late, and how long its failed Jobs may wait for a retry. */
export interface CronJobThresholds {
  readonly cronJob: string;
  readonly schedule: string;
  readonly timeZone: string;
  /** Longest gap between two runs (minutes), as the CronJob controller runs the schedule in its time zone. */
  readonly worstGapMinutes: number;
  /**
   * The newest success is late when older than this (whole minutes, rounded up): the worst gap times the margin,
   * plus how late a run may start (startingDeadlineSeconds) and how long it may take (activeDeadlineSeconds).
   * Undefined when the schedule runs less than twice a year: no finite age is late then.
   */
  readonly staleAfterMinutes?: number;
  /**
   * `for:` of the failed-Job alert: the longest pause between a failed pod and its retry (the Job controller's
   * backoff after the last retryable failure), plus observation slack. While a retry pod exists, the Job is not
   * counted as failed, so a retry that succeeds never pages.
   */
  readonly failedForMinutes: number;
}

/** Everything the alerts of one cluster need to know, decided. */
export interface AlertPlan {
  readonly cluster: string;
  readonly namespace: string;
  readonly rpoMargin: number;
  readonly runbookBaseUrl: string;
  readonly backup: CronJobThresholds;
  readonly suspendedForMinutes: number;
  /** Present when the cluster's restore drill is enabled. */
  readonly drill?: CronJobThresholds;
  /** Present when a storage of the cluster has pruneCredentials (the prune CronJob applies its retention). */
  readonly prune?: CronJobThresholds;
}

/** Minutes after a run's scheduled time by which it has surely finished: it starts late and then takes its time. */
export function runAllowanceMinutes(cluster: Cluster): number {
  return (cluster.backup.startingDeadlineSeconds + cluster.backup.activeDeadlineSeconds) / 60;
}

/** The age (minutes, rounded up) past which the newest success of a schedule is late; undefined if unbounded. */
export function staleAfterMinutes(worstGapMinutes: number, rpoMargin: number, runAllowanceMinutes: number): number | undefined {
  if (!Number.isFinite(worstGapMinutes)) return undefined;
  // Rounded to 1e-9 first: 20 * 1.1 must not become 23 because it is 22.000000000000004 in binary.
  return Math.ceil(Number((worstGapMinutes * rpoMargin + runAllowanceMinutes).toFixed(9)));
}

/** `for:` (minutes) of a failed-Job alert, from the Job's backoffLimit. */
export function failedForMinutes(backoffLimit: number): number {
  const longestPauseSeconds = backoffLimit > 0
    ? Math.min(POD_FAILURE_BACKOFF_SECONDS * 2 ** (backoffLimit - 1), MAX_POD_FAILURE_BACKOFF_SECONDS)
    : 0;
  return Math.ceil(longestPauseSeconds / 60) + OBSERVATION_SLACK_MINUTES;
}

function thresholds(cluster: Cluster, cronJob: string, schedule: string, backoffLimit: number): CronJobThresholds {
  const { timeZone } = cluster.backup;
  const worstGapMinutes = worstCaseRpo(schedule, timeZone);
  const stale = staleAfterMinutes(worstGapMinutes, cluster.backup.alerts.rpoMargin, runAllowanceMinutes(cluster));
  return {
    cronJob, schedule, timeZone, worstGapMinutes,
    ...(stale === undefined ? {} : { staleAfterMinutes: stale }),
    failedForMinutes: failedForMinutes(backoffLimit),
  };
}

/**
 * The alert thresholds of one cluster, or undefined when its alerts are off. The drill (when the cluster has one:
 * `drill` is its plan) runs in the backup's time zone, with no retry.
 */
export function planAlerts(cluster: Cluster, namespace: string, drillPlan?: DrillPlan, prunePlan?: PrunePlan): AlertPlan | undefined {
  const { alerts, drill, schedule } = cluster.backup;
  if (!alerts.enabled) return undefined;
  return {
    cluster: cluster.name,
    namespace,
    rpoMargin: alerts.rpoMargin,
    runbookBaseUrl: alerts.runbookBaseUrl,
    backup: thresholds(cluster, backupCronJobName(cluster.name), schedule, cluster.backup.backoffLimit),
    suspendedForMinutes: SUSPENDED_FOR_MINUTES,
    ...(drillPlan ? { drill: thresholds(cluster, drillCronJobName(cluster.name), drill.schedule, DRILL_BACKOFF_LIMIT) } : {}),
    ...(prunePlan ? { prune: thresholds(cluster, prunePlan.cronJobName, prunePlan.schedule, PRUNE_BACKOFF_LIMIT) } : {}),
  };
}

/** Minutes as a Prometheus duration: `70m`, `2200m`; whole minutes keep `for:` exact and comparable. */
export const promDuration = (minutes: number): string => `${minutes}m`;
