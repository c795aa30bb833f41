import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderInventory } from '../../lib/synth/render';
import { inventoryOf, minimalDocument, TOOLS_IMAGE } from '../helpers/inventory';
import { run } from '../support/proc';
import { SCRIPTS_DIR } from '../scripts/helpers';
import { join } from 'node:path';

/** Objects of one cluster folder, by file name. */
function objectsOf(document: unknown, cluster: string): Record<string, any> {
  const files = renderInventory(inventoryOf(document));
  return Object.fromEntries([...files].filter(([path]) => path.startsWith(`${cluster}/`) && !path.endsWith('kustomization.yaml'))
    .map(([path, text]) => [path.slice(cluster.length + 1), parse(text)]));
}
const podOf = (cronJob: any) => cronJob.spec.jobTemplate.spec.template.spec;
const envOf = (container: any) => Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

/** The checks of Pod Security `restricted` (v1.28) that a pod spec can fail, plus "no host access at all". */
function restrictedViolations(pod: any): string[] {
  const out: string[] = [];
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC']) if (pod[field]) out.push(field);
  for (const volume of pod.volumes ?? []) {
    const allowed = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
    if (!Object.keys(volume).filter((k) => k !== 'name').every((k) => allowed.includes(k))) out.push(`volume ${volume.name}`);
  }
  if (pod.nodeName || pod.nodeSelector) out.push('node pinning');
  const podSc = pod.securityContext ?? {};
  for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
    const sc = container.securityContext ?? {};
    if (sc.privileged) out.push(`${container.name}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${container.name}: allowPrivilegeEscalation`);
    if (JSON.stringify(sc.capabilities?.drop) !== '["ALL"]' || (sc.capabilities?.add ?? []).length) out.push(`${container.name}: capabilities`);
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) out.push(`${container.name}: runAsNonRoot`);
    if ((sc.runAsUser ?? podSc.runAsUser) === 0) out.push(`${container.name}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
    if (!['RuntimeDefault', 'Localhost'].includes(seccomp)) out.push(`${container.name}: seccomp`);
    for (const port of container.ports ?? []) if (port.hostPort) out.push(`${container.name}: hostPort`);
  }
  return out;
}

describe('restore drill CronJob, default configuration', () => {
  const objects = objectsOf(minimalDocument(), 'alpha');
  const cronJob = objects['cronjob-alpha-etcd-drill.yaml'];

  it('pins every CronJob and Job setting', () => {
    expect(cronJob.metadata).toMatchObject({ name: 'alpha-etcd-drill', namespace: 'controlplane-backup' });
    expect(cronJob.metadata.labels['app.kubernetes.io/component']).toBe('drill');
    expect(cronJob.metadata.annotations['argocd.argoproj.io/sync-wave']).toBe('3');
    expect(cronJob.spec).toMatchObject({
      schedule: '30 3 * * 0',
      timeZone: 'Etc/UTC',
      suspend: false,
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 5,
    });
    expect(cronJob.spec.jobTemplate.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 1800 });
    expect(cronJob.spec.jobTemplate.spec.ttlSecondsAfterFinished).toBeUndefined();
    const pod = podOf(cronJob);
    expect(pod).toMatchObject({ restartPolicy: 'Never', automountServiceAccountToken: false, serviceAccountName: 'alpha-etcd-drill', enableServiceLinks: false });
    expect(pod.containers).toHaveLength(1);
    expect(pod.initContainers).toBeUndefined();
    const [container] = pod.containers;
    expect(container).toMatchObject({
      name: 'drill', image: TOOLS_IMAGE, imagePullPolicy: 'IfNotPresent',
      command: ['/bin/sh', '/opt/controlplane-backup/drill.sh'],
      resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '1Gi' } },
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, runAsUser: 65532 },
    });
    expect(pod.volumes).toContainEqual({ name: 'scratch', emptyDir: { sizeLimit: '4Gi' } });
    // The root is read-only: temporary files go to the scratch volume.
    expect(container.env).toContainEqual({ name: 'TMPDIR', value: '/var/lib/controlplane-backup/scratch' });
    expect(pod.volumes).toContainEqual({ name: 'scripts', configMap: { name: 'alpha-drill-scripts', defaultMode: 0o444 } });
  });

  it('has its own ServiceAccount without a token and its scripts ConfigMap', () => {
    expect(objects['serviceaccount-alpha-etcd-drill.yaml']).toMatchObject({ automountServiceAccountToken: false, metadata: { name: 'alpha-etcd-drill' } });
    expect(Object.keys(objects['configmap-alpha-drill-scripts.yaml'].data).sort()).toEqual(['common.sh', 'drill.sh', 'restore-lib.sh']);
  });

  it('meets Pod Security restricted without host access, for kubeadm and hosted clusters alike', () => {
    for (const [cluster, file] of [['alpha', 'cronjob-alpha-etcd-drill.yaml'], ['beta', 'cronjob-beta-etcd-drill.yaml']]) {
      const pod = podOf(objectsOf(minimalDocument(), cluster)[file]);
      expect(restrictedViolations(pod), cluster).toEqual([]);
      expect(pod.tolerations).toBeUndefined();
    }
    // the checker catches what it should: the kubeadm backup pod is privileged-namespace material
    expect(restrictedViolations(podOf(objects['cronjob-alpha-etcd-backup.yaml']))).toEqual(expect.arrayContaining(['hostNetwork', 'volume pki']));
  });

  it('reads the first remote destination through the env contract of lib/scripts/drill.sh, without an identity by default', () => {
    const env = envOf(podOf(cronJob).containers[0]);
    expect(env).toMatchObject({
      CLUSTER_NAME: 'alpha', SNAPSHOT_DIR: 's3_s3main:backups/etcd/alpha', SNAPSHOT_NAME: 'latest',
      SCRATCH_DIR: '/var/lib/controlplane-backup/scratch', RCLONE_CONFIG_S3_S3MAIN_ENDPOINT: 'https://s3.example.com',
      RCLONE_CONFIG_S3_S3MAIN_ACCESS_KEY_ID: { secretKeyRef: { name: 's3-creds', key: 'AWS_ACCESS_KEY_ID' } },
    });
    expect(env.AGE_IDENTITY_FILE).toBeUndefined();
    expect(podOf(cronJob).volumes.map((v: any) => v.name)).toEqual(['scratch', 'scripts']);
    // no ETCD_* variable: etcd reads those as flags
    expect(Object.keys(env).filter((name) => name.startsWith('ETCD'))).toEqual([]);
  });
});

describe('restore drill settings', () => {
  it('mounts the identity Secret (optional) and follows the drill schedule in the backup time zone', () => {
    const document = minimalDocument();
    document.storages.disk = { local: { path: '/var/backups/etcd' } };
    document.storages.other = { s3: { endpoint: 'https://other.example.com:9000', bucket: 'bucket-2' }, credentials: { existingSecret: { name: 'c2' } } };
    document.clusters.alpha.backup = {
      storages: ['disk', 'other', 's3main'], timeZone: 'Europe/Berlin',
      drill: { schedule: '15 4 * * 6', identitySecret: 'alpha-drill-identity' },
    };
    const cronJob = objectsOf(document, 'alpha')['cronjob-alpha-etcd-drill.yaml'];
    expect(cronJob.spec).toMatchObject({ schedule: '15 4 * * 6', timeZone: 'Europe/Berlin' });
    const pod = podOf(cronJob);
    expect(pod.volumes).toContainEqual({
      name: 'identity', secret: { secretName: 'alpha-drill-identity', optional: true, defaultMode: 0o400, items: [{ key: 'identity.txt', path: 'identity.txt' }] },
    });
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'identity', mountPath: '/var/run/controlplane-backup/drill-identity', readOnly: true });
    const env = envOf(pod.containers[0]);
    // the node-local copy comes first, but the drill reads the first remote destination
    expect(env).toMatchObject({
      SNAPSHOT_DIR: 's3_other:bucket-2/alpha',
      AGE_IDENTITY_FILE: '/var/run/controlplane-backup/drill-identity/identity.txt',
      DRILL_IDENTITY_SECRET: 'alpha-drill-identity',
    });
    expect(Object.keys(env).some((name) => name.startsWith('RCLONE_CONFIG_S3_S3MAIN_'))).toBe(false);
    expect(restrictedViolations(pod)).toEqual([]);
  });

  it('is left out when disabled, and when the cluster backs up to node-local storage only', () => {
    const disabled = minimalDocument();
    disabled.clusters.alpha.backup = { drill: { enabled: false } };
    expect(Object.keys(objectsOf(disabled, 'alpha')).filter((file) => file.includes('drill'))).toEqual([]);
    expect(Object.keys(objectsOf(disabled, 'beta')).filter((file) => file.includes('drill')).sort())
      .toEqual(['configmap-beta-drill-scripts.yaml', 'cronjob-beta-etcd-drill.yaml', 'serviceaccount-beta-etcd-drill.yaml']);
    const localOnly = minimalDocument();
    localOnly.storages.disk = { local: { path: '/var/backups/etcd' } };
    localOnly.clusters.alpha.backup = { storages: ['disk'] };
    expect(Object.keys(objectsOf(localOnly, 'alpha')).filter((file) => file.includes('drill'))).toEqual([]);
  });
});

describe('drill.sh', () => {
  it('is clean under shellcheck -s sh -x (following restore-lib.sh)', async () => {
    const r = await run('shellcheck', ['-s', 'sh', '-x', '-S', 'style', join(SCRIPTS_DIR, 'drill.sh')], { cwd: SCRIPTS_DIR });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
  for (const sh of [['dash', '-n'], ['busybox', 'sh', '-n']]) {
    it(`parses under ${sh[0]}`, async () => {
      const r = await run(sh[0], [...sh.slice(1), join(SCRIPTS_DIR, 'drill.sh')]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    });
  }
});
