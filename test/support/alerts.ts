/**
 * Test harness of the alerts: a test inventory whose clusters cover the schedule shapes that matter, its
 * synthesized PrometheusRules, kube-state-metrics-shaped input series, and `promtool test rules` to run them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { renderInventory } from '../../lib/synth/render';
import { inventoryOf, minimalDocument } from './inventory';

export const NAMESPACE = 'controlplane-backup';
export const RUNBOOK = 'https://runbooks.example.com/backup.md';

const kubeadm = (ip: string) => ({ kubeadm: { members: [{ name: 'cp-1', ip }] } });

/** every20: `*\/20 * * * *`; nightly: `0 2 * * *` with a daily drill; weekdays: `0 *\/6 * * 1-5`; sixhourly: the default `0 *\/6 * * *`. */
export function alertsDocument(): Record<string, any> {
  const document = minimalDocument();
  // every20 prunes with separate credentials: it has every alert, the prune CronJob's too.
  const [storage] = Object.keys(document.storages);
  document.storages.pruned = { ...document.storages[storage], pruneCredentials: { existingSecret: { name: 'pruner' } } };
  document.clusters = {
    every20: { ...kubeadm('10.0.0.1'), backup: { schedule: '*/20 * * * *', storages: ['pruned'], alerts: { runbookBaseUrl: RUNBOOK } } },
    nightly: { ...kubeadm('10.0.0.2'), backup: { schedule: '0 2 * * *', drill: { schedule: '0 4 * * *' } } },
    weekdays: { ...kubeadm('10.0.0.3'), backup: { schedule: '0 */6 * * 1-5', drill: { enabled: false } } },
    sixhourly: { ...kubeadm('10.0.0.4') },
    quiet: { ...kubeadm('10.0.0.5'), backup: { alerts: { enabled: false } } },
    tenant: { ...minimalDocument().clusters.beta, backup: { alerts: { rpoMargin: 2 } } },
  };
  return document;
}

/** The PrometheusRule of each cluster that has one, by cluster. */
export function prometheusRules(document: unknown = alertsDocument()): Record<string, any> {
  const files = renderInventory(inventoryOf(document));
  const rules: Record<string, any> = {};
  for (const [path, text] of files) {
    const match = /^([^/]+)\/alerts\/prometheusrule-[^/]+\.yaml$/.exec(path);
    if (match) rules[match[1]] = parse(text);
  }
  return rules;
}

/** The alerting rule of one alert in a PrometheusRule. */
export function ruleOf(prometheusRule: any, alert: string): any {
  const found = prometheusRule.spec.groups.flatMap((group: any) => group.rules).find((r: any) => r.alert === alert);
  if (!found) throw new Error(`no rule ${alert} in ${prometheusRule.metadata.name}`);
  return found;
}

// ---- series -----------------------------------------------------------------------------------------------------

/** A sample per minute from minute 0; undefined: no sample; 'stale': the series ends (a staleness marker). */
export type Sample = number | undefined | 'stale';

/** promtool's expanding notation of samples: runs of one value become `v` or `vxN` (N + 1 samples; `_xN` is N). */
export function values(samples: readonly Sample[]): string {
  const out: string[] = [];
  for (let i = 0; i < samples.length;) {
    let j = i;
    while (j + 1 < samples.length && samples[j + 1] === samples[i]) j++;
    const token = samples[i] === undefined ? '_' : String(samples[i]);
    const count = j - i + 1;
    out.push(count === 1 ? token : token === '_' ? `_x${count}` : `${token}x${count - 1}`);
    i = j + 1;
  }
  return out.join(' ');
}

/** Samples for minutes [0, minutes): `at(minute)` for each. */
export const timeline = (minutes: number, at: (minute: number) => Sample): Sample[] => Array.from({ length: minutes }, (_, m) => at(m));

/** Labels kube-state-metrics adds through its scrape job, to show that the rules do not depend on them. */
const TARGET = { job: 'kube-state-metrics', instance: '10.1.0.7:8080' };

export interface InputSeries {
  readonly series: string;
  readonly values: string;
}

export function series(metric: string, labels: Record<string, string>, samples: readonly Sample[]): InputSeries {
  const all = { ...labels, ...TARGET };
  return { series: `${metric}{${Object.entries(all).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`, values: values(samples) };
}

export const cronJobLabels = (cronjob: string) => ({ namespace: NAMESPACE, cronjob });
export const jobLabels = (jobName: string) => ({ namespace: NAMESPACE, job_name: jobName });

// ---- promtool ---------------------------------------------------------------------------------------------------

export interface ExpectedAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

export interface AlertCheck {
  /** Minutes after the start of the series. */
  readonly at: number;
  readonly alert: string;
  /** Firing alerts expected then; [] for silence. */
  readonly firing: readonly ExpectedAlert[];
}

export interface PromtoolResult {
  readonly ok: boolean;
  readonly output: string;
}

/** Runs `promtool test rules` on the spec.groups of a PrometheusRule with the input series and the checks. */
export function promtoolTest(prometheusRule: any, input: readonly InputSeries[], checks: readonly AlertCheck[]): PromtoolResult {
  const dir = mkdtempSync(join(tmpdir(), 'alerts-'));
  writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: prometheusRule.spec.groups }, { lineWidth: 0 }));
  const test = {
    rule_files: ['rules.yaml'],
    evaluation_interval: '1m',
    tests: [{
      interval: '1m',
      input_series: input,
      alert_rule_test: checks.map((check) => ({
        eval_time: `${check.at}m`,
        alertname: check.alert,
        exp_alerts: check.firing.map((alert) => ({ exp_labels: alert.labels, exp_annotations: alert.annotations })),
      })),
    }],
  };
  writeFileSync(join(dir, 'test.yaml'), stringify(test, { lineWidth: 0 }));
  const run = spawnSync('promtool', ['test', 'rules', 'test.yaml'], { cwd: dir, encoding: 'utf8' });
  if (run.error) throw new Error(`promtool did not run (scripts/setup-test-env.sh installs Debian's prometheus package): ${run.error.message}`);
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

/** `promtool check rules` on the spec.groups of a PrometheusRule. */
export function promtoolCheck(prometheusRule: any): PromtoolResult {
  const dir = mkdtempSync(join(tmpdir(), 'alerts-'));
  writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: prometheusRule.spec.groups }, { lineWidth: 0 }));
  const run = spawnSync('promtool', ['check', 'rules', 'rules.yaml'], { cwd: dir, encoding: 'utf8' });
  if (run.error) throw new Error(`promtool did not run: ${run.error.message}`);
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

/** The annotations promtool should see on a firing alert: the rule's, with `$labels` templates filled in. */
export function annotationsOf(rule: any, labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(rule.annotations as Record<string, string>).map(([key, text]) =>
    [key, text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, name: string) => labels[name] ?? '')]));
}
