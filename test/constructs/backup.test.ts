import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderInventory } from '../../lib/synth/render';
import { digestLongText } from '../support/digest';
import { inventoryOf, minimalDocument, RECIPIENT } from '../support/inventory';
import { backupPlanSchema } from '../../lib/agent/plan';
import { PACKAGE_VERSION } from '../../lib/version';

/** Objects of one cluster folder, by file name. */
function objectsOf(document: unknown, cluster: string): Record<string, any> {
  const files = renderInventory(inventoryOf(document));
  return Object.fromEntries([...files].filter(([path]) => path.startsWith(`${cluster}/`) && !path.endsWith('kustomization.yaml'))
    .map(([path, text]) => [path.slice(cluster.length + 1), parse(text)]));
}

const podOf = (cronJob: any) => cronJob.spec.jobTemplate.spec.template.spec;
const envOf = (container: any) => Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

describe('backup CronJob, default configuration', () => {
  const objects = objectsOf(minimalDocument(), 'alpha');
  const cronJob = objects['cronjob-alpha-etcd-backup.yaml'];

  it('pins every CronJob and Job setting that decides whether a backup runs', () => {
    expect(cronJob.spec).toMatchObject({
      schedule: '0 */6 * * *',
      timeZone: 'Etc/UTC',
      suspend: false,
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 5,
    });
    expect(cronJob.spec.jobTemplate.spec).toMatchObject({ backoffLimit: 2, activeDeadlineSeconds: 1800 });
    expect(cronJob.spec.jobTemplate.spec.ttlSecondsAfterFinished).toBeUndefined();
    const pod = podOf(cronJob);
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe('alpha-etcd-backup');
    for (const container of [...pod.initContainers, ...pod.containers]) {
      expect(container.imagePullPolicy).toBe('IfNotPresent');
      expect(container.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '1Gi' } });
      expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    }
  });

  it('takes the snapshot in an exec-form etcdctl container with one endpoint and explicit timeouts', () => {
    const [snapshot] = podOf(cronJob).initContainers;
    expect(snapshot.image).toBe('registry.k8s.io/etcd:3.5.21-0');
    expect(snapshot.command).toEqual(['etcdctl']);
    expect(snapshot.args).toEqual([
      '--endpoints=https://127.0.0.1:2379',
      '--cacert=/etc/kubernetes/pki/etcd/ca.crt',
      '--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt',
      '--key=/etc/kubernetes/pki/etcd/healthcheck-client.key',
      '--dial-timeout=10s',
      '--command-timeout=300s',
      'snapshot', 'save', '/var/lib/controlplane-backup/scratch/snapshot.db',
    ]);
  });

  it('runs a kubeadm backup on a control-plane node with host network and the PKI read-only', () => {
    const pod = podOf(cronJob);
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(pod.nodeSelector).toEqual({ 'node-role.kubernetes.io/control-plane': '' });
    expect(pod.tolerations).toContainEqual({ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' });
    expect(pod.volumes).toContainEqual({ name: 'pki', hostPath: { path: '/etc/kubernetes/pki', type: 'Directory' } });
    for (const container of [...pod.initContainers, ...pod.containers]) {
      expect(container.volumeMounts).toContainEqual({ name: 'pki', mountPath: '/etc/kubernetes/pki', readOnly: true });
    }
    expect(objects['namespace-controlplane-backup.yaml'].metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
    // hostNetwork pods are outside NetworkPolicy in common CNIs: no policy that would only pretend.
    expect(Object.keys(objects).some((file) => file.startsWith('networkpolicy-'))).toBe(false);
  });

  it('runs the agent with the plan of the config ConfigMap, and the env only for what the kubelet knows', () => {
    const upload = podOf(cronJob).containers[0];
    expect(upload.command).toEqual(['controlplane-backup', 'agent', 'backup', '--plan', '/etc/controlplane-backup/backup-plan.json']);
    expect(envOf(upload)).toEqual({
      TMPDIR: '/var/lib/controlplane-backup/scratch',
      NODE_NAME: { fieldRef: { fieldPath: 'spec.nodeName' } },
      CPB_S3MAIN_ACCESS_KEY_ID: { secretKeyRef: { name: 's3-creds', key: 'AWS_ACCESS_KEY_ID' } },
      CPB_S3MAIN_SECRET_ACCESS_KEY: { secretKeyRef: { name: 's3-creds', key: 'AWS_SECRET_ACCESS_KEY' } },
    });
    const config = objects['configmap-alpha-backup-config.yaml'].data;
    expect(config['age-recipients.txt']).toBe(`${RECIPIENT}\n`);
    const plan = JSON.parse(config['backup-plan.json']);
    // The agent validates it on start (exit 3 otherwise).
    expect(backupPlanSchema.parse(plan)).toEqual(plan);
    expect(plan).toEqual({
      apiVersion: 'controlplane-backup.io/v1', kind: 'BackupPlan', packageVersion: PACKAGE_VERSION, cluster: 'alpha',
      scratchDir: '/var/lib/controlplane-backup/scratch', deadlineSeconds: 1800, request: null,
      snapshotFile: '/var/lib/controlplane-backup/scratch/snapshot.db', minSnapshotBytes: 1048576,
      compression: { algorithm: 'zstd', level: null }, recipients: [RECIPIENT], encryptSnapshot: true,
      pki: { paths: ['/etc/kubernetes/pki'], encryptionConfigFile: null },
      signing: null,
      etcd: {
        endpoint: 'https://127.0.0.1:2379', caFile: '/etc/kubernetes/pki/etcd/ca.crt',
        certFile: '/etc/kubernetes/pki/etcd/healthcheck-client.crt', keyFile: '/etc/kubernetes/pki/etcd/healthcheck-client.key',
      },
      destinations: [{
        name: 's3main', kind: 's3', endpoint: 'https://s3.example.com', region: 'us-east-1', pathStyle: false, bucket: 'backups',
        folder: 'etcd/alpha', credentials: { accessKeyIdEnv: 'CPB_S3MAIN_ACCESS_KEY_ID', secretAccessKeyEnv: 'CPB_S3MAIN_SECRET_ACCESS_KEY' },
        caFile: null, sse: null, retention: { keepLast: 8, maxAgeHours: 2160, hourly: 0, daily: 7, weekly: 4, monthly: 3 }, insecure: false,
      }],
    });
    // No script ConfigMap any more: the agent is in the tools image.
    expect(objects['configmap-alpha-backup-scripts.yaml']).toBeUndefined();
  });

  it('matches the reviewed snapshot (long texts as digests: the plan and the alerts are asserted above and in test/plan/alerts.test.ts and test/constructs/alerts.test.ts)', () => {
    expect(digestLongText(objects)).toMatchSnapshot();
  });
});

describe('signing', () => {
  const PUBLIC_KEY = 'MCowBQYDK2VwAyEAfleDl8dzPbPA7zReLgSIaJhEyrTJQKj9QiTEW/OWi98=';
  /** alpha is a kubeadm cluster, beta a hosted one. */
  const signed = (name: 'alpha' | 'beta', signing: Record<string, unknown>) => {
    const document = minimalDocument();
    document.clusters[name].backup = { ...document.clusters[name].backup, signing };
    return objectsOf(document, name);
  };

  for (const name of ['alpha', 'beta'] as const) {
    it(`${name === 'alpha' ? 'kubeadm' : 'hosted'}: mounts the signing Secret read-only in the upload container only, and names the key in the plans`, () => {
      const objects = signed(name, { publicKey: PUBLIC_KEY });
      const pod = podOf(objects[`cronjob-${name}-etcd-backup.yaml`]);
      expect(pod.volumes).toContainEqual({ name: 'signing', secret: { secretName: `${name}-backup-signing`, optional: true, defaultMode: 0o440, items: [{ key: 'signing-key.pem', path: 'signing-key.pem' }] } });
      expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'signing', mountPath: '/var/run/controlplane-backup/signing', readOnly: true });
      for (const init of pod.initContainers) expect((init.volumeMounts ?? []).map((m: any) => m.name)).not.toContain('signing');
      const config = objects[`configmap-${name}-backup-config.yaml`];
      expect(JSON.parse(config.data['backup-plan.json']).signing).toEqual({ keyFile: '/var/run/controlplane-backup/signing/signing-key.pem', publicKey: PUBLIC_KEY });
      expect(JSON.parse(config.data['drill-plan.json']).signingPublicKey).toBe(PUBLIC_KEY);
      // the private key is referenced, never in the output
      expect(JSON.stringify(objects)).not.toMatch(/PRIVATE KEY/);
    });
  }

  it('takes another Secret name', () => {
    const pod = podOf(signed('alpha', { publicKey: PUBLIC_KEY, secretName: 'signing-2027' })['cronjob-alpha-etcd-backup.yaml']);
    expect(pod.volumes.find((v: any) => v.name === 'signing').secret.secretName).toBe('signing-2027');
  });
});

describe('hosted backup', () => {
  const objects = objectsOf(minimalDocument(), 'beta');
  const pod = podOf(objects['cronjob-beta-etcd-backup.yaml']);

  it('meets Pod Security "restricted" with no host access', () => {
    expect(pod.hostNetwork).toBeUndefined();
    expect(pod.nodeSelector).toBeUndefined();
    expect(pod.volumes.some((v: any) => v.hostPath)).toBe(false);
    expect(pod.securityContext).toEqual({ seccompProfile: { type: 'RuntimeDefault' }, runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 });
    for (const container of [...pod.initContainers, ...pod.containers]) {
      expect(container.securityContext).toEqual({
        allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] },
        runAsUser: 65532, runAsGroup: 65532, runAsNonRoot: true,
      });
    }
  });

  it('reaches etcd at the inventory endpoint with the client certificate Secret, and bundles the PKI Secrets', () => {
    expect(pod.initContainers[0].args[0]).toBe('--endpoints=https://beta-etcd-client.tenant-beta.svc:2379');
    expect(pod.volumes).toContainEqual({
      name: 'etcd-client',
      secret: { secretName: 'beta-etcd-certs', defaultMode: 0o440, items: [{ key: 'ca.crt', path: 'ca.crt' }, { key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }] },
    });
    expect(pod.volumes).toContainEqual({ name: 'pki-0', secret: { secretName: 'beta-ca', defaultMode: 0o440 } });
    expect(JSON.parse(objects['configmap-beta-backup-config.yaml'].data['backup-plan.json']).pki.paths).toEqual(['/var/run/controlplane-backup/pki/beta-ca']);
    expect(objects['cronjob-beta-etcd-backup.yaml'].metadata.namespace).toBe('tenant-beta');
  });

  it('allows egress to etcd, DNS and the storage port only, and no ingress', () => {
    const policy = objects['networkpolicy-beta-etcd-backup.yaml'];
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.ingress).toBeUndefined();
    expect(policy.spec.egress).toEqual([
      { to: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: 2379 }] },
      { to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] },
      { ports: [{ protocol: 'TCP', port: 443 }] },
    ]);
    expect(policy.spec.podSelector).toEqual({
      matchLabels: { 'app.kubernetes.io/instance': 'beta' },
      matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'In', values: ['backup', 'drill', 'prune'] }],
    });
    // The policy selects the backup pods and the drill pods.
    const drillPod = objects['cronjob-beta-etcd-drill.yaml'].spec.jobTemplate.spec.template;
    expect(drillPod.metadata.labels['app.kubernetes.io/component']).toBe('drill');
    expect(pod.containers[0].env.length).toBeGreaterThan(0);
  });
});

describe('storage and credentials', () => {
  it('writes an ExternalSecret that maps the remote properties to the keys the pod reads', () => {
    const document = minimalDocument();
    document.storages.s3main.credentials = {
      externalSecret: { secretStoreRef: { name: 'vault' }, remoteKey: 'platform/backup' },
    };
    const secret = objectsOf(document, 'alpha')['externalsecret-controlplane-backup-s3main.yaml'];
    expect(secret.apiVersion).toBe('external-secrets.io/v1');
    expect(secret.spec).toEqual({
      refreshInterval: '1h',
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault' },
      target: { name: 'controlplane-backup-s3main' },
      data: [
        { secretKey: 'AWS_ACCESS_KEY_ID', remoteRef: { key: 'platform/backup', property: 'access_key_id' } },
        { secretKey: 'AWS_SECRET_ACCESS_KEY', remoteRef: { key: 'platform/backup', property: 'secret_access_key' } },
      ],
    });
  });

  it('writes a SealedSecret with the ciphertext only', () => {
    const document = minimalDocument();
    const cipher = (tag: string) => `Ag${tag.repeat(60)}==`;
    document.storages.s3main.credentials = { sealedSecret: { accessKeyId: cipher('AB'), secretAccessKey: cipher('CD') } };
    // A SealedSecret opens in one cluster only: the hosted cluster gets its own storage entry.
    document.storages.other = { s3: { endpoint: 'https://s3.example.com', bucket: 'other' }, credentials: { existingSecret: { name: 'x' } } };
    document.clusters.beta.backup = { storages: ['other'] };
    const sealed = objectsOf(document, 'alpha')['sealedsecret-controlplane-backup-s3main.yaml'];
    expect(sealed.spec.encryptedData).toEqual({ AWS_ACCESS_KEY_ID: cipher('AB'), AWS_SECRET_ACCESS_KEY: cipher('CD') });
    expect(sealed.spec.template.metadata).toEqual({ name: 'controlplane-backup-s3main', namespace: 'controlplane-backup' });
  });

  it('claims a bucket with an ObjectBucketClaim and reads bucket, endpoint and keys from what the provisioner writes', () => {
    const document = minimalDocument();
    document.storages.ceph = { objectBucketClaim: { storageClassName: 'rook-ceph-bucket', generateBucketName: 'etcd', scheme: 'http', port: 8080, insecure: true } };
    document.clusters.beta.backup = { storages: ['ceph'] };
    const objects = objectsOf(document, 'beta');
    expect(objects['objectbucketclaim-controlplane-backup-ceph.yaml'].spec).toEqual({ storageClassName: 'rook-ceph-bucket', generateBucketName: 'etcd' });
    const env = envOf(podOf(objects['cronjob-beta-etcd-backup.yaml']).containers[0]);
    expect(env.S3_CEPH_BUCKET_NAME).toEqual({ configMapKeyRef: { name: 'controlplane-backup-ceph', key: 'BUCKET_NAME' } });
    expect(env.S3_CEPH_BUCKET_HOST).toEqual({ configMapKeyRef: { name: 'controlplane-backup-ceph', key: 'BUCKET_HOST' } });
    expect(env.CPB_CEPH_ACCESS_KEY_ID).toEqual({ secretKeyRef: { name: 'controlplane-backup-ceph', key: 'AWS_ACCESS_KEY_ID' } });
    // The agent expands $(VAR) in the plan's endpoint and bucket from its env.
    const [destination] = JSON.parse(objects['configmap-beta-backup-config.yaml'].data['backup-plan.json']).destinations;
    expect(destination).toMatchObject({ endpoint: 'http://$(S3_CEPH_BUCKET_HOST):$(S3_CEPH_BUCKET_PORT)', bucket: '$(S3_CEPH_BUCKET_NAME)', folder: 'beta', pathStyle: true });
    // The provisioner's port comes from the inventory: egress to storage stays on that port alone.
    expect(objects['networkpolicy-beta-etcd-backup.yaml'].spec.egress[2]).toEqual({ ports: [{ protocol: 'TCP', port: 8080 }] });
  });

  it('mounts a node directory for a local copy of a kubeadm cluster', () => {
    const document = minimalDocument();
    document.storages.disk = { local: { path: '/var/backups/etcd' } };
    document.clusters.alpha.backup = { storages: ['s3main', 'disk'] };
    const objects = objectsOf(document, 'alpha');
    const pod = podOf(objects['cronjob-alpha-etcd-backup.yaml']);
    expect(pod.volumes).toContainEqual({ name: 'local-disk', hostPath: { path: '/var/backups/etcd', type: 'DirectoryOrCreate' } });
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'local-disk', mountPath: '/var/lib/controlplane-backup/local/disk' });
    expect(JSON.parse(objects['configmap-alpha-backup-config.yaml'].data['backup-plan.json']).destinations[1])
      .toEqual({ name: 'disk', kind: 'local', path: '/var/lib/controlplane-backup/local/disk', folder: 'alpha', retention: { keepLast: 8, maxAgeHours: 2160, hourly: 0, daily: 7, weekly: 4, monthly: 3 } });
  });
});

describe('on-demand backups', () => {
  it('become a Job named after the request, never deleted by a TTL (a GitOps re-sync would re-run it)', () => {
    const document = minimalDocument();
    document.clusters.alpha.onDemandBackups = [{ name: 'pre-upgrade' }];
    const job = objectsOf(document, 'alpha')['job-alpha-backup-pre-upgrade.yaml'];
    expect(job.metadata.name).toBe('alpha-backup-pre-upgrade');
    expect(job.spec.ttlSecondsAfterFinished).toBeUndefined();
    expect(job.spec.template.spec.containers[0].command).toEqual(['controlplane-backup', 'agent', 'backup', '--plan', '/etc/controlplane-backup/backup-plan-pre-upgrade.json']);
    expect(JSON.parse(objectsOf(document, 'alpha')['configmap-alpha-backup-config.yaml'].data['backup-plan-pre-upgrade.json']).request).toBe('pre-upgrade');
  });
});

describe('secrets', () => {
  it('never writes a Secret object or a plaintext credential into the output', () => {
    const files = renderInventory(inventoryOf(minimalDocument()));
    for (const [path, text] of files) {
      if (path.endsWith('.yaml')) expect(parse(text).kind, path).not.toBe('Secret'); // SUMMARY.md is Markdown
      expect(text, path).not.toMatch(/AGE-SECRET-KEY-1[0-9A-Z]{58}|aws_secret_access_key\s*[:=]\s*\S/i);
    }
  });
});
