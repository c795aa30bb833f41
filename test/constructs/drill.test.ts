import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderInventory } from '../../lib/synth/render';
import { inventoryOf, minimalDocument, TOOLS_IMAGE } from '../support/inventory';
import { drillPlanSchema } from '../../lib/agent/plan';

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
      command: ['controlplane-backup', 'agent', 'drill', '--plan', '/etc/controlplane-backup/drill-plan.json'],
      resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '1Gi' } },
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, runAsUser: 65532 },
    });
    expect(pod.volumes).toContainEqual({ name: 'scratch', emptyDir: { sizeLimit: '4Gi' } });
    // The root is read-only: temporary files go to the scratch volume.
    expect(container.env).toContainEqual({ name: 'TMPDIR', value: '/var/lib/controlplane-backup/scratch' });
    expect(pod.volumes).toContainEqual({ name: 'config', configMap: { name: 'alpha-backup-config', defaultMode: 0o444 } });
  });

  it('has its own ServiceAccount without a token, and its plan in the backup config ConfigMap', () => {
    expect(objects['serviceaccount-alpha-etcd-drill.yaml']).toMatchObject({ automountServiceAccountToken: false, metadata: { name: 'alpha-etcd-drill' } });
    const plan = JSON.parse(objects['configmap-alpha-backup-config.yaml'].data['drill-plan.json']);
    expect(drillPlanSchema.parse(plan)).toEqual(plan);
    expect(plan).toMatchObject({ kind: 'DrillPlan', cluster: 'alpha', identityFile: null, identitySecret: null, etcdStartSeconds: 120, deadlineSeconds: 1800 });
    expect(objects['configmap-alpha-drill-scripts.yaml']).toBeUndefined();
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

  it('reads the first remote destination of its plan, without an identity by default', () => {
    const env = envOf(podOf(cronJob).containers[0]);
    expect(env).toEqual({
      TMPDIR: '/var/lib/controlplane-backup/scratch',
      CPB_S3MAIN_ACCESS_KEY_ID: { secretKeyRef: { name: 's3-creds', key: 'AWS_ACCESS_KEY_ID' } },
      CPB_S3MAIN_SECRET_ACCESS_KEY: { secretKeyRef: { name: 's3-creds', key: 'AWS_SECRET_ACCESS_KEY' } },
    });
    expect(JSON.parse(objects['configmap-alpha-backup-config.yaml'].data['drill-plan.json']).source).toMatchObject({ name: 's3main', endpoint: 'https://s3.example.com', bucket: 'backups', folder: 'etcd/alpha' });
    expect(podOf(cronJob).volumes.map((v: any) => v.name)).toEqual(['scratch', 'config']);
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
    const objects = objectsOf(document, 'alpha');
    const cronJob = objects['cronjob-alpha-etcd-drill.yaml'];
    expect(cronJob.spec).toMatchObject({ schedule: '15 4 * * 6', timeZone: 'Europe/Berlin' });
    const pod = podOf(cronJob);
    expect(pod.volumes).toContainEqual({
      name: 'identity', secret: { secretName: 'alpha-drill-identity', optional: true, defaultMode: 0o400, items: [{ key: 'identity.txt', path: 'identity.txt' }] },
    });
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'identity', mountPath: '/var/run/controlplane-backup/drill-identity', readOnly: true });
    const env = envOf(pod.containers[0]);
    // the node-local copy comes first, but the drill reads the first remote destination
    expect(JSON.parse(objects['configmap-alpha-backup-config.yaml'].data['drill-plan.json'])).toMatchObject({
      source: { name: 'other', endpoint: 'https://other.example.com:9000', bucket: 'bucket-2', folder: 'alpha' },
      identityFile: '/var/run/controlplane-backup/drill-identity/identity.txt',
      identitySecret: 'alpha-drill-identity',
    });
    expect(Object.keys(env).some((name) => name.startsWith('CPB_S3MAIN_'))).toBe(false);
    expect(restrictedViolations(pod)).toEqual([]);
  });

  it('is left out when disabled, and when the cluster backs up to node-local storage only', () => {
    const disabled = minimalDocument();
    disabled.clusters.alpha.backup = { drill: { enabled: false } };
    expect(Object.keys(objectsOf(disabled, 'alpha')).filter((file) => file.includes('drill'))).toEqual([]);
    expect(Object.keys(objectsOf(disabled, 'beta')).filter((file) => file.includes('drill')).sort())
      .toEqual(['cronjob-beta-etcd-drill.yaml', 'serviceaccount-beta-etcd-drill.yaml']);
    expect(objectsOf(disabled, 'alpha')['configmap-alpha-backup-config.yaml'].data['drill-plan.json']).toBeUndefined();
    const localOnly = minimalDocument();
    localOnly.storages.disk = { local: { path: '/var/backups/etcd' } };
    localOnly.clusters.alpha.backup = { storages: ['disk'] };
    expect(Object.keys(objectsOf(localOnly, 'alpha')).filter((file) => file.includes('drill'))).toEqual([]);
  });
});
