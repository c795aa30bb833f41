/**
 * One PrometheusRule per cluster: its backups are late, suspended or failing, its restore drill fails or is
 * overdue. Only kube-state-metrics series (v2 names and labels): the pods need no metrics endpoint, and the rule
 * lives beside the CronJobs it watches, where Prometheus already scrapes kube-state-metrics.
 */
import { Construct } from 'constructs';
import { PrometheusRule, PrometheusRuleSpecGroupsRulesExpr, type PrometheusRuleSpecGroupsRules } from '../../imports/prometheusrules-monitoring.coreos.com';
import { ALERT_NAMES, promDuration, runbookUrl, type AlertName, type AlertPlan, type CronJobThresholds } from '../plan/alerts';
import { alertsRuleName } from '../plan/names';
import { describeSchedule, durationInWords } from '../plan/schedule';
import { objectMeta } from './metadata';

export interface AlertsProps {
  /** Thresholds of the cluster's alerts (`planAlerts`). */
  readonly plan: AlertPlan;
}

/** Severity of each alert: a late backup is an incident; the rest is a warning to act on in working hours. */
const ALERT_SEVERITIES: Readonly<Record<AlertName, 'critical' | 'warning'>> = {
  [ALERT_NAMES.backupStale]: 'critical',
  [ALERT_NAMES.backupSuspended]: 'warning',
  [ALERT_NAMES.backupJobFailed]: 'warning',
  [ALERT_NAMES.drillFailed]: 'warning',
  [ALERT_NAMES.drillOverdue]: 'warning',
  [ALERT_NAMES.pruneFailed]: 'warning',
};

export class Alerts extends Construct {
  constructor(scope: Construct, id: string, props: AlertsProps) {
    super(scope, id);
    const { plan } = props;
    const rules = [
      ...(plan.backup.staleAfterMinutes === undefined ? [] : [staleRule(plan, plan.backup, ALERT_NAMES.backupStale)]),
      suspendedRule(plan),
      failedJobRule(plan, plan.backup, ALERT_NAMES.backupJobFailed),
      ...(plan.drill ? [failedJobRule(plan, plan.drill, ALERT_NAMES.drillFailed)] : []),
      ...(plan.drill?.staleAfterMinutes === undefined ? [] : [staleRule(plan, plan.drill, ALERT_NAMES.drillOverdue)]),
      ...(plan.prune ? [failedJobRule(plan, plan.prune, ALERT_NAMES.pruneFailed)] : []),
    ];
    new PrometheusRule(this, 'Resource', {
      // SkipDryRunOnMissingResource comes with the kind (GITOPS_ANNOTATIONS_BY_KIND), and the rule has a folder of its own.
      metadata: objectMeta(plan.cluster, 'alerts', alertsRuleName(plan.cluster), plan.namespace),
      spec: { groups: [{ name: `controlplane-backup.${plan.cluster}`, rules }] },
    });
  }
}

// ---- PromQL ------------------------------------------------------------------------------------------------------

const selector = (metric: string, labels: Record<string, string>): string =>
  `${metric}{${Object.entries(labels).map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(', ')}}`;

/** One series per CronJob even when kube-state-metrics runs as several replicas (their `instance` labels differ). */
const cronJobSeries = (metric: string, namespace: string, cronJob: string): string =>
  `max by (namespace, cronjob) (${selector(metric, { namespace, cronjob: cronJob })})`;

/**
 * Late: the newest success (`kube_cronjob_status_last_successful_time`, the completion time of the newest
 * successful Job) is older than the threshold, or there has never been one and the CronJob is older than the
 * threshold (`kube_cronjob_created`; the success series is absent until a Job succeeds). Not while suspended.
 */
function staleExpr(namespace: string, cronJob: string, thresholdSeconds: number): string {
  const lastSuccess = cronJobSeries('kube_cronjob_status_last_successful_time', namespace, cronJob);
  const created = cronJobSeries('kube_cronjob_created', namespace, cronJob);
  const suspended = cronJobSeries('kube_cronjob_spec_suspend', namespace, cronJob);
  return [
    '(',
    `  (time() - ${lastSuccess}) > ${thresholdSeconds}`,
    'or',
    `  ((time() - ${created}) > ${thresholdSeconds} unless on (namespace, cronjob) ${lastSuccess})`,
    ')',
    `unless on (namespace, cronjob) (${suspended} == 1)`,
  ].join('\n');
}

/**
 * Failed: a Job of the CronJob (`kube_job_owner`) has failed pods (`kube_job_status_failed`, summed over its
 * `reason` label so the series keeps its identity when the Job's Failed condition appears), has not succeeded,
 * and has no pod running or waiting (a retry in progress is not a failure yet). A Job that a later success of the
 * CronJob supersedes stops alerting, though it stays in the failed-Jobs history for inspection.
 */
function failedJobExpr(namespace: string, cronJob: string): string {
  const ns = { namespace };
  const lastSuccess = cronJobSeries('kube_cronjob_status_last_successful_time', namespace, cronJob);
  return [
    '(',
    `  max by (namespace, job_name) (${selector('kube_job_status_failed', ns)}) > 0`,
    `  unless on (namespace, job_name) (${selector('kube_job_status_succeeded', ns)} > 0)`,
    `  unless on (namespace, job_name) (${selector('kube_job_status_active', ns)} > 0)`,
    `  unless on (namespace, job_name) (${selector('kube_job_created', ns)} < on (namespace) group_left () ${lastSuccess})`,
    ')',
    `* on (namespace, job_name) group_left (owner_name)`,
    `  max by (namespace, job_name, owner_name) (${selector('kube_job_owner', { ...ns, owner_kind: 'CronJob', owner_name: cronJob })})`,
  ].join('\n');
}

// ---- rules -------------------------------------------------------------------------------------------------------

function rule(plan: AlertPlan, alert: AlertName, expr: string, forMinutes: number | undefined, summary: string, description: string): PrometheusRuleSpecGroupsRules {
  return {
    alert,
    expr: PrometheusRuleSpecGroupsRulesExpr.fromString(expr),
    ...(forMinutes === undefined ? {} : { for: promDuration(forMinutes) }),
    labels: { severity: ALERT_SEVERITIES[alert], cluster: plan.cluster },
    annotations: { summary, description, runbook_url: runbookUrl(plan.runbookBaseUrl, alert) },
  };
}

function staleRule(plan: AlertPlan, watched: CronJobThresholds, alert: AlertName): PrometheusRuleSpecGroupsRules {
  const threshold = watched.staleAfterMinutes!;
  const what = alert === ALERT_NAMES.drillOverdue ? 'restore drill' : 'etcd backup';
  const where = `CronJob ${plan.namespace}/${watched.cronJob}`;
  const description =
    `The newest successful ${what} of cluster ${plan.cluster} (${where}) is older than ${durationInWords(threshold)}, ` +
    `or the CronJob has not succeeded once in that long since it was created. The threshold is the longest gap ` +
    `between two runs of its schedule (${durationInWords(watched.worstGapMinutes)}: ${describeSchedule(watched.schedule, watched.timeZone)}) ` +
    `times ${plan.rpoMargin}, plus the time a run may take to start and finish. A suspended CronJob does not raise ` +
    `this alert${alert === ALERT_NAMES.backupStale ? `; ${ALERT_NAMES.backupSuspended} reports one that lasts more than ${durationInWords(plan.suspendedForMinutes)}` : ''}.`;
  return rule(plan, alert, staleExpr(plan.namespace, watched.cronJob, threshold * 60), undefined,
    `No successful ${what} of cluster ${plan.cluster} in ${durationInWords(threshold)}`, description);
}

function suspendedRule(plan: AlertPlan): PrometheusRuleSpecGroupsRules {
  const { cronJob } = plan.backup;
  const expr = `${cronJobSeries('kube_cronjob_spec_suspend', plan.namespace, cronJob)} == 1`;
  const description =
    `The backup CronJob ${plan.namespace}/${cronJob} of cluster ${plan.cluster} has been suspended for more than ` +
    `${durationInWords(plan.suspendedForMinutes)}: no etcd backup is taken, and ${ALERT_NAMES.backupStale} stays ` +
    `silent while it is. Resume it, or set backup.suspend in the inventory if the pause is meant to last.`;
  return rule(plan, ALERT_NAMES.backupSuspended, expr, plan.suspendedForMinutes,
    `etcd backups of cluster ${plan.cluster} are suspended`, description);
}

/** What each failed-Job alert watches, in words. */
const FAILED_JOB_SUBJECTS: Partial<Record<AlertName, string>> = {
  [ALERT_NAMES.backupJobFailed]: 'etcd backup',
  [ALERT_NAMES.drillFailed]: 'restore drill',
  [ALERT_NAMES.pruneFailed]: 'retention (prune)',
};

function failedJobRule(plan: AlertPlan, watched: CronJobThresholds, alert: AlertName): PrometheusRuleSpecGroupsRules {
  const what = FAILED_JOB_SUBJECTS[alert]!;
  const description =
    `Job {{ $labels.job_name }} of the ${what} CronJob ${plan.namespace}/${watched.cronJob} (cluster ${plan.cluster}) ` +
    `has failed and has had no retry running for ${durationInWords(watched.failedForMinutes)}: its retries ` +
    `(backoffLimit) or its time (activeDeadlineSeconds) are used up. The alert clears when a later run succeeds.`;
  return rule(plan, alert, failedJobExpr(plan.namespace, watched.cronJob), watched.failedForMinutes,
    `${what === 'etcd backup' ? 'An' : 'A'} ${what} Job of cluster ${plan.cluster} failed`, description);
}
