// A pending restore request pauses the cluster's scheduled runs in the synthesized output itself (issue 11 item 3):
// Argo CD and Flux then apply and keep the pause, where a `kubectl patch` would be reverted by the next self-heal.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { schedulePause } from '../../lib/plan/pause';
import { synthesize } from '../../lib/synth';
import { exampleDocument, inventoryOf, minimalDocument } from '../support/inventory';

const work = mkdtempSync(join(tmpdir(), 'cpb-pause-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function synth(document: unknown, name: string): string {
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, stringify(document));
  const out = join(work, name);
  synthesize(file, out);
  return out;
}

const suspendOf = (out: string, cluster: string, kind: 'backup' | 'drill') =>
  parse(readFileSync(join(out, cluster, `cronjob-${cluster}-etcd-${kind}.yaml`), 'utf8')).spec.suspend;

describe('a restore request pauses the scheduled backup and drill', () => {
  const withRequest = exampleDocument();
  const withoutRequest = exampleDocument();
  delete withoutRequest.clusters['staging-us-1'].restores;
  delete withoutRequest.clusters['tenant-b'].restores;
  const paused = synth(withRequest, 'with-request');
  const resumed = synth(withoutRequest, 'without-request');

  it('suspends both CronJobs of a cluster with a request, kubeadm and hosted alike', () => {
    for (const cluster of ['staging-us-1', 'tenant-b']) {
      expect(suspendOf(paused, cluster, 'backup')).toBe(true);
      expect(suspendOf(paused, cluster, 'drill')).toBe(true);
    }
  });

  it('leaves the other clusters running', () => {
    for (const cluster of ['prod-eu-1', 'tenant-a']) {
      expect(suspendOf(paused, cluster, 'backup')).toBe(false);
      expect(suspendOf(paused, cluster, 'drill')).toBe(false);
    }
  });

  it('resumes them when the request is removed from the inventory', () => {
    for (const cluster of ['staging-us-1', 'tenant-b']) {
      expect(suspendOf(resumed, cluster, 'backup')).toBe(false);
      expect(suspendOf(resumed, cluster, 'drill')).toBe(false);
    }
  });

  it('shows the cluster as "restore pending" in SUMMARY.md, with an unbounded RPO while it lasts', () => {
    const summary = readFileSync(join(paused, 'SUMMARY.md'), 'utf8');
    expect(summary).toContain('| staging-us-1 | kubeadm, 1 member | `0 2 * * *` America/New_York (**restore pending**: suspended) | unbounded |');
    expect(summary).toContain('- Schedule: At 02:00 (Etc/UTC), `0 2 * * *`; **suspended**: a restore is pending: rollback.');
    expect(summary).toContain('- Worst-case RPO: unbounded: no backup is taken while the schedule is suspended (a restore is pending: rollback).');
    const after = readFileSync(join(resumed, 'SUMMARY.md'), 'utf8');
    expect(after).not.toContain('restore pending');
    expect(after).toContain('| staging-us-1 | kubeadm, 1 member | `0 2 * * *` America/New_York | 47 hours |');
  });

  it('runbooks check the declarative pause instead of patching the CronJob, and resume by removing the request', () => {
    for (const [cluster, id] of [['staging-us-1', 'undo-bad-upgrade'], ['tenant-b', 'rollback']]) {
      const runbook = readFileSync(join(paused, cluster, `restore-${id}`, 'RUNBOOK.md'), 'utf8');
      expect(runbook).not.toContain('patch cronjob');
      expect(runbook).toContain(`kubectl -n ${cluster === 'tenant-b' ? 'tenant-b' : 'controlplane-backup'} get cronjob ${cluster}-etcd-backup ${cluster}-etcd-drill -o custom-columns=NAME:.metadata.name,SUSPEND:.spec.suspend`);
      expect(runbook).toContain(`argocd app sync controlplane-backup-${cluster}`);
      expect(runbook).toContain(`flux reconcile kustomization controlplane-backup-${cluster} --with-source`);
      expect(runbook).toContain('remove this request from the inventory, synthesize and commit');
    }
    // Only hosted restores scale objects that another controller may scale back.
    expect(readFileSync(join(paused, 'tenant-b', 'restore-rollback', 'RUNBOOK.md'), 'utf8')).toContain('flux suspend helmrelease NAME -n NAMESPACE');
    expect(readFileSync(join(paused, 'staging-us-1', 'restore-undo-bad-upgrade', 'RUNBOOK.md'), 'utf8')).not.toContain('flux suspend');
  });
});

describe('schedulePause', () => {
  it('says why: the inventory, a pending restore, or both', () => {
    const document = minimalDocument();
    expect(schedulePause(inventoryOf(document).clusters[0])).toEqual({ suspended: false, reason: null, restoreIds: [] });
    document.clusters.alpha.backup = { suspend: true };
    expect(schedulePause(inventoryOf(document).clusters[0]).reason).toBe('backup.suspend is set in the inventory');
    document.clusters.alpha.restores = [{ id: 'r1', snapshot: 'latest', confirm: 'alpha' }];
    expect(schedulePause(inventoryOf(document).clusters[0])).toEqual({
      suspended: true, reason: 'a restore is pending: r1; backup.suspend is set in the inventory', restoreIds: ['r1'],
    });
  });
});
