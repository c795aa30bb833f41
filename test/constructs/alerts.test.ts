import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALERT_NAMES, runbookAnchor } from '../../lib/plan/alerts';
import { formatIssue, validateObject } from '../../lib/validate';
import { exampleDocument } from '../support/inventory';
import { alertsDocument, prometheusRules, promtoolCheck, ruleOf, RUNBOOK } from '../support/alerts';

const rules = prometheusRules();
const alertsOf = (rule: any): string[] => rule.spec.groups.flatMap((group: any) => group.rules.map((r: any) => r.alert));

describe('PrometheusRule per cluster', () => {
  it('exists for every cluster with alerts enabled, in its folder and namespace', () => {
    expect(Object.keys(rules).sort()).toEqual(['every20', 'nightly', 'sixhourly', 'tenant', 'weekdays']);
    expect(rules.every20.metadata).toMatchObject({ name: 'every20-controlplane-backup', namespace: 'controlplane-backup' });
    expect(rules.tenant.metadata).toMatchObject({ name: 'tenant-controlplane-backup', namespace: 'tenant-beta' });
  });

  it('carries the standard labels and the last sync wave, and does not hold back a sync without the CRD', () => {
    expect(rules.every20.metadata.labels).toMatchObject({ 'app.kubernetes.io/instance': 'every20', 'app.kubernetes.io/component': 'alerts' });
    expect(rules.every20.metadata.annotations).toEqual({
      'argocd.argoproj.io/sync-wave': '4',
      'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true',
    });
  });

  it('validates against the PrometheusRule CRD, and promtool accepts the rules', () => {
    for (const [cluster, rule] of Object.entries(rules)) {
      expect(validateObject(rule).map(formatIssue), cluster).toEqual([]);
      const check = promtoolCheck(rule);
      expect(check.ok, check.output).toBe(true);
    }
  });

  it('has the backup alerts, the drill alerts only when the drill is enabled, the prune alert only with pruneCredentials', () => {
    expect(alertsOf(rules.every20)).toEqual(Object.values(ALERT_NAMES));
    expect(alertsOf(rules.weekdays)).toEqual(['ControlPlaneBackupStale', 'ControlPlaneBackupSuspended', 'ControlPlaneBackupJobFailed']);
  });

  it('labels each alert with severity and cluster, and links its runbook anchor', () => {
    const severities = Object.fromEntries(rules.every20.spec.groups[0].rules.map((r: any) => [r.alert, r.labels]));
    expect(severities).toEqual({
      ControlPlaneBackupStale: { severity: 'critical', cluster: 'every20' },
      ControlPlaneBackupSuspended: { severity: 'warning', cluster: 'every20' },
      ControlPlaneBackupJobFailed: { severity: 'warning', cluster: 'every20' },
      ControlPlaneBackupDrillFailed: { severity: 'warning', cluster: 'every20' },
      ControlPlaneBackupDrillOverdue: { severity: 'warning', cluster: 'every20' },
      ControlPlaneBackupPruneFailed: { severity: 'warning', cluster: 'every20' },
    });
    for (const alert of Object.values(ALERT_NAMES)) {
      expect(ruleOf(rules.every20, alert).annotations.runbook_url).toBe(`${RUNBOOK}#${runbookAnchor(alert)}`);
    }
    expect(ruleOf(rules.nightly, ALERT_NAMES.backupStale).annotations.runbook_url)
      .toBe('https://github.com/controlplane-backup/controlplane-backup/blob/main/README.md#controlplanebackupstale');
  });

  it('has a README heading for every alert, so each runbook_url anchor resolves', () => {
    const headings = readFileSync('README.md', 'utf8').split('\n').filter((line) => line.startsWith('#')).map((line) => line.replace(/^#+\s*/, '').trim());
    for (const alert of Object.values(ALERT_NAMES)) expect(headings).toContain(alert);
  });

  it('says the cluster, the namespace and the threshold in words', () => {
    const stale = ruleOf(rules.every20, ALERT_NAMES.backupStale);
    expect(stale.annotations.summary).toBe('No successful etcd backup of cluster every20 in 1 hour 10 minutes');
    expect(stale.annotations.description).toBe(
      'The newest successful etcd backup of cluster every20 (CronJob controlplane-backup/every20-etcd-backup) is older than ' +
      '1 hour 10 minutes, or the CronJob has not succeeded once in that long since it was created. The threshold is the ' +
      'longest gap between two runs of its schedule (20 minutes: Every 20 minutes (Etc/UTC)) times 1.5, plus the time a run ' +
      'may take to start and finish. A suspended CronJob does not raise this alert; ControlPlaneBackupSuspended reports one ' +
      'that lasts more than 24 hours.');
    expect(ruleOf(rules.weekdays, ALERT_NAMES.backupStale).annotations.summary).toBe('No successful etcd backup of cluster weekdays in 3 days 9 hours 40 minutes');
    expect(ruleOf(rules.tenant, ALERT_NAMES.backupStale).annotations.description).toContain('(CronJob tenant-beta/tenant-etcd-backup) is older than 12 hours 40 minutes');
    expect(ruleOf(rules.every20, ALERT_NAMES.backupJobFailed).annotations).toMatchObject({
      summary: 'An etcd backup Job of cluster every20 failed',
      description: expect.stringContaining('Job {{ $labels.job_name }} of the etcd backup CronJob controlplane-backup/every20-etcd-backup (cluster every20) has failed and has had no retry running for 6 minutes'),
    });
  });

  it('puts the threshold into the expression in seconds, and for: into failed-Job and suspension alerts only', () => {
    const stale = ruleOf(rules.weekdays, ALERT_NAMES.backupStale);
    expect(stale.expr).toContain('> 294000');
    expect(stale.for).toBeUndefined();
    expect(ruleOf(rules.weekdays, ALERT_NAMES.backupJobFailed).for).toBe('6m');
    expect(ruleOf(rules.weekdays, ALERT_NAMES.backupSuspended).for).toBe('1440m');
  });

  it('is absent when alerts are disabled', () => {
    const document = alertsDocument();
    document.defaults.backup.alerts = { enabled: false };
    expect(prometheusRules(document)).toEqual({});
  });
});

describe('the example inventory', () => {
  const example = prometheusRules(exampleDocument());

  it('gets one valid PrometheusRule per cluster with the thresholds of its schedule', () => {
    const thresholds = Object.fromEntries(Object.entries(example).map(([cluster, rule]) =>
      [cluster, ruleOf(rule, ALERT_NAMES.backupStale).annotations.summary.replace(/.* in /, '')]));
    expect(thresholds).toEqual({
      'prod-eu-1': '1 hour 25 minutes', // */30: 30 x 1.5 + 40 minutes
      'staging-us-1': '71 hours 10 minutes', // 0 2 * * * in America/New_York: 47 hours x 1.5 + 40 minutes
      'tenant-a': '1 hour 10 minutes', // */20
      'tenant-b': '36 hours 40 minutes', // 0 2 * * * UTC
    });
    for (const rule of Object.values(example)) expect(validateObject(rule).map(formatIssue)).toEqual([]);
  });

  it('is in the committed dist/', () => {
    const committed = parse(readFileSync('dist/prod-eu-1/alerts/prometheusrule-prod-eu-1-controlplane-backup.yaml', 'utf8'));
    expect(committed).toEqual(example['prod-eu-1']);
  });
});
