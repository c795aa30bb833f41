import * as fs from 'fs';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import {
  builtinKinds,
  formatIssue,
  kustomizeBuild,
  resolveCrdsDir,
  validateDirectory,
  validateDocuments,
  validateObject,
  type ValidationIssue,
} from '../../lib/validate';

const FIXTURES = path.join(__dirname, 'fixtures');
const CRDS = resolveCrdsDir();
const haveKubectl = fs.existsSync('/usr/bin/kubectl') || (process.env.PATH ?? '').split(':').some((d) => fs.existsSync(path.join(d, 'kubectl')));

const lines = (issues: ValidationIssue[]) => issues.map(formatIssue);
const meta = (name: string, namespace = 'prod') => ({ name, namespace, labels: { 'app.kubernetes.io/name': 'controlplane-backup' } });

function cronJob(container: Record<string, unknown> = {}, jobSpec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: meta('backup'),
    spec: {
      schedule: '0 * * * *',
      concurrencyPolicy: 'Forbid',
      jobTemplate: {
        spec: {
          backoffLimit: 2,
          ...jobSpec,
          template: {
            spec: {
              restartPolicy: 'Never',
              serviceAccountName: 'backup',
              containers: [
                {
                  name: 'backup',
                  image: 'registry.example/backup:1.0',
                  imagePullPolicy: 'IfNotPresent',
                  args: ['snapshot'],
                  env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
                  resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: 1073741824 } },
                  volumeMounts: [{ name: 'data', mountPath: '/data' }],
                  ...container,
                },
              ],
              volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'backup' } }],
            },
          },
        },
      },
    },
  };
}

const VALID_BUILTINS: Record<string, unknown>[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod' } },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('cfg'), data: { 'a.yaml': 'x: 1' }, immutable: true },
  { apiVersion: 'v1', kind: 'Secret', metadata: meta('s'), type: 'Opaque', stringData: { k: 'v' } },
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('backup'), automountServiceAccountToken: false },
  {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: meta('backup'),
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } }, storageClassName: 'fast' },
  },
  cronJob(),
  // Kubernetes 1.28 additions: sidecar restartPolicy on an init container, Job podReplacementPolicy.
  {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: meta('restore'),
    spec: {
      podReplacementPolicy: 'Failed',
      backoffLimitPerIndex: 1,
      completionMode: 'Indexed',
      completions: 1,
      template: {
        spec: {
          restartPolicy: 'Never',
          initContainers: [{ name: 'proxy', image: 'p:1', restartPolicy: 'Always' }],
          containers: [{ name: 'restore', image: 'r:1', ports: [{ containerPort: 8080, protocol: 'TCP' }] }],
        },
      },
    },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: meta('backup'),
    spec: {
      podSelector: { matchLabels: { app: 'backup' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 443, protocol: 'TCP' }, { port: 'https' }] }],
    },
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: meta('backup'),
    rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: meta('backup'),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'backup' },
    subjects: [{ kind: 'ServiceAccount', name: 'backup', namespace: 'prod' }],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'system:controlplane-backup:reader' },
    rules: [{ nonResourceURLs: ['/healthz'], verbs: ['get'] }],
  },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: meta('b'), spec: { maxUnavailable: 1, selector: {} } },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta('d'),
    spec: {
      selector: { matchLabels: { app: 'd' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
      template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'd', image: 'd:1' }] } },
    },
  },
];

describe('built-in kinds (Kubernetes 1.28)', () => {
  it('knows the core/apps/batch/networking/rbac/policy kinds', () => {
    const kinds = builtinKinds();
    for (const k of [
      'v1|ConfigMap',
      'v1|Secret',
      'v1|ServiceAccount',
      'v1|Namespace',
      'v1|PersistentVolumeClaim',
      'batch/v1|CronJob',
      'batch/v1|Job',
      'apps/v1|Deployment',
      'networking.k8s.io/v1|NetworkPolicy',
      'rbac.authorization.k8s.io/v1|Role',
      'rbac.authorization.k8s.io/v1|RoleBinding',
      'policy/v1|PodDisruptionBudget',
    ])
      expect(kinds).toContain(k);
    expect(kinds).not.toContain('batch/v1beta1|CronJob'); // removed in 1.25
  });

  it.each(VALID_BUILTINS.map((o) => [`${o.kind} ${(o.metadata as { name: string }).name}`, o]))('accepts a valid %s', (_, obj) => {
    expect(lines(validateObject(obj))).toEqual([]);
  });

  it('rejects an unknown field in a CronJob container, with a suggestion', () => {
    expect(lines(validateObject(cronJob({ imagePullPolcy: 'Always' })))).toEqual([
      'CronJob prod/backup: spec.jobTemplate.spec.template.spec.containers[0].imagePullPolcy: unknown field "imagePullPolcy" (did you mean "imagePullPolicy"?)',
    ]);
  });

  it('rejects a bad enum value', () => {
    expect(lines(validateObject(cronJob({ imagePullPolicy: 'Sometimes' })))).toEqual([
      'CronJob prod/backup: spec.jobTemplate.spec.template.spec.containers[0].imagePullPolicy: must be one of Always, IfNotPresent, Never (found "Sometimes")',
    ]);
  });

  it('rejects a wrong type', () => {
    expect(lines(validateObject(cronJob({}, { backoffLimit: '3' })))).toEqual([
      'CronJob prod/backup: spec.jobTemplate.spec.backoffLimit: must be integer (found string "3")',
    ]);
    expect(lines(validateObject(cronJob({ args: 'snapshot' })))).toEqual([
      'CronJob prod/backup: spec.jobTemplate.spec.template.spec.containers[0].args: must be array (found string "snapshot")',
    ]);
  });

  it('rejects a missing required field', () => {
    const { image: _image, ...noImage } = cronJob().spec.jobTemplate.spec.template.spec.containers[0];
    const obj = cronJob();
    obj.spec.jobTemplate.spec.template.spec.containers[0] = noImage as typeof obj.spec.jobTemplate.spec.template.spec.containers[0];
    // image is optional in the API (for higher-level controllers); name is required
    expect(lines(validateObject(obj))).toEqual([]);
    const { name: _name, ...noName } = noImage;
    obj.spec.jobTemplate.spec.template.spec.containers[0] = noName as typeof obj.spec.jobTemplate.spec.template.spec.containers[0];
    expect(lines(validateObject(obj))).toEqual(['CronJob prod/backup: spec.jobTemplate.spec.template.spec.containers[0].name: required field is missing']);
    expect(lines(validateObject({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta('rb') }))).toEqual([
      'RoleBinding prod/rb: roleRef: required field is missing',
    ]);
  });

  it('checks metadata: name required, DNS names, label keys', () => {
    expect(lines(validateObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'prod' } }))).toEqual([
      'ConfigMap: metadata.name: required field is missing',
    ]);
    expect(lines(validateObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Backup_Config', namespace: 'prod', labels: { 'bad key!': 'x' } } }))).toEqual([
      "ConfigMap prod/Backup_Config: metadata.name: must be a DNS-1123 subdomain: lower case letters, digits, '-' and '.', starting and ending with a letter or digit (found \"Backup_Config\")",
      'ConfigMap prod/Backup_Config: metadata.labels["bad key!"]: key "bad key!" is not a qualified name: at most 63 characters of letters, digits, \'-\', \'_\' or \'.\', starting and ending with a letter or digit, with an optional DNS subdomain prefix and \'/\'',
    ]);
    expect(lines(validateObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a.b' } }))).toEqual([
      "Namespace a.b: metadata.name: must be a DNS-1123 label: lower case letters, digits and '-', starting and ending with a letter or digit (found \"a.b\")",
    ]);
    expect(lines(validateObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'prod', uid: 5 } }))).toEqual([
      'ConfigMap prod/c: metadata.uid: must be string (found number 5)',
    ]);
  });

  it('rejects missing apiVersion/kind and unknown kinds', () => {
    expect(lines(validateObject({ metadata: { name: 'x' } }))).toEqual(['x: apiVersion: required field is missing', 'x: kind: required field is missing']);
    expect(lines(validateObject({ apiVersion: 'batch/v1beta1', kind: 'CronJob', metadata: { name: 'x' } }))).toEqual([
      'CronJob x: no schema for CronJob batch/v1beta1 (not a known kind in Kubernetes 1.28)',
    ]);
    expect(lines(validateObject({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }))).toEqual([
      `Widget w: no schema for Widget example.com/v1 (looked in Kubernetes 1.28 and in the CRD folder ${path.resolve('crds')})`,
    ]);
    expect(lines(validateObject('hello'))).toEqual(['not a Kubernetes object (found string)']);
  });
});

describe(`custom resources (the CRDs the package ships, in ${CRDS})`, () => {
  const obc = (spec: Record<string, unknown>) => ({ apiVersion: 'objectbucket.io/v1alpha1', kind: 'ObjectBucketClaim', metadata: meta('etcd-backups'), spec });
  const application = (spec: Record<string, unknown>) => ({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: meta('backup', 'argocd'), spec });
  const validApp = { project: 'default', destination: { server: 'https://kubernetes.default.svc', namespace: 'prod' }, source: { repoURL: 'https://git.example/r.git', path: 'dist/prod', targetRevision: 'main' }, syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true'] } };

  it('accepts valid custom resources of every shipped CRD family', () => {
    const objs: unknown[] = [
      obc({ storageClassName: 'ceph-bucket', generateBucketName: 'etcd', additionalConfig: { maxObjects: '1000', anything: { goes: true } } }),
      application(validApp),
      {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ExternalSecret',
        metadata: meta('s3-creds'),
        spec: { refreshInterval: '1h', secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault' }, target: { name: 's3-creds' }, data: [{ secretKey: 'key', remoteRef: { key: 'backup/s3', property: 'key' } }] },
      },
      { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: meta('s'), spec: { encryptedData: { k: 'AgB...' }, template: { metadata: { name: 's' } } } },
      { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: meta('backup', 'flux-system'), spec: { interval: '10m', path: './dist/prod', prune: true, sourceRef: { kind: 'GitRepository', name: 'fleet' } } },
      { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: meta('fleet', 'flux-system'), spec: { interval: '1m', url: 'https://git.example/r.git', ref: { branch: 'main' } } },
      { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: meta('backup'), spec: { groups: [{ name: 'backup', rules: [{ alert: 'BackupStale', expr: 'time() - backup_last_success > 7200', for: '10m', labels: { severity: 'warning' } }] }] } },
    ];
    expect(lines(validateDocuments(objs.map((object, index) => ({ file: 'mem.yaml', index, object }))))).toEqual([]);
  });

  it('rejects an unknown field in an ObjectBucketClaim spec', () => {
    expect(lines(validateObject(obc({ storageClassName: 'ceph-bucket', bucketname: 'x' })))).toEqual([
      'ObjectBucketClaim prod/etcd-backups: spec.bucketname: unknown field "bucketname" (did you mean "bucketName"?)',
    ]);
  });

  it('rejects an unserved ExternalSecret version (v1beta1)', () => {
    expect(lines(validateObject({ apiVersion: 'external-secrets.io/v1beta1', kind: 'ExternalSecret', metadata: meta('s'), spec: {} }))).toEqual([
      'ExternalSecret prod/s: apiVersion: external-secrets.io/v1beta1 is not served by CRD externalsecrets.external-secrets.io (served: external-secrets.io/v1)',
    ]);
  });

  it('rejects an Argo CD Application without spec.destination, and wrong types in it', () => {
    const { destination: _d, ...noDest } = validApp;
    expect(lines(validateObject(application(noDest)))).toEqual(['Application argocd/backup: spec.destination: required field is missing']);
    expect(lines(validateObject(application({ ...validApp, syncPolicy: { automated: { prune: 'yes' } } })))).toEqual([
      'Application argocd/backup: spec.syncPolicy.automated.prune: must be boolean (found string "yes")',
    ]);
  });

  it('checks custom resource metadata as ObjectMeta, not by the CRD schema', () => {
    expect(lines(validateObject({ ...obc({}), metadata: { name: 'Bad_Name', namespace: 'prod', labelz: {} } }))).toEqual([
      "ObjectBucketClaim prod/Bad_Name: metadata.name: must be a DNS-1123 subdomain: lower case letters, digits, '-' and '.', starting and ending with a letter or digit (found \"Bad_Name\")",
      'ObjectBucketClaim prod/Bad_Name: metadata.labelz: unknown field "labelz" (did you mean "labels"?)',
    ]);
  });

  it('honours the crdsDir parameter (an empty folder knows no CRDs)', () => {
    const empty = path.join(FIXTURES, 'kustomize-missing');
    expect(lines(validateObject(obc({}), { crdsDir: empty }))).toEqual([
      `ObjectBucketClaim prod/etcd-backups: no schema for ObjectBucketClaim objectbucket.io/v1alpha1 (looked in Kubernetes 1.28 and in the CRD folder ${empty})`,
    ]);
  });

  it('fails if the CRD folder is missing, and says where it looked', () => {
    const missing = path.join(FIXTURES, 'no-such-folder');
    expect(lines(validateObject(obc({}), { crdsDir: missing }))).toEqual([
      `ObjectBucketClaim prod/etcd-backups: no schema for ObjectBucketClaim objectbucket.io/v1alpha1 (looked in Kubernetes 1.28; the CRD folder ${missing} does not exist (set CONTROLPLANE_BACKUP_CRDS_DIR to a folder of CRD YAML files))`,
    ]);
  });

  it('ships a CRD, with its provenance in crds/README.md, for every custom resource kind the tool emits', () => {
    const readme = fs.readFileSync(path.join(CRDS, 'README.md'), 'utf8');
    for (const file of fs.readdirSync(CRDS).filter((f) => f.endsWith('.yaml'))) expect(readme, file).toContain(`| \`${file}\` |`);
    for (const [group, kind] of [['objectbucket.io', 'ObjectBucketClaim'], ['argoproj.io', 'Application'], ['argoproj.io', 'ApplicationSet'], ['external-secrets.io', 'ExternalSecret'], ['bitnami.com', 'SealedSecret'], ['kustomize.toolkit.fluxcd.io', 'Kustomization'], ['source.toolkit.fluxcd.io', 'GitRepository'], ['monitoring.coreos.com', 'PrometheusRule']])
      expect(readme).toContain(`${group} / ${kind} |`);
  });

  it('validates 500 objects quickly', () => {
    const docs = Array.from({ length: 500 }, (_, i) => {
      const o = [cronJob(), obc({ storageClassName: 's' }), application(validApp), VALID_BUILTINS[i % VALID_BUILTINS.length]][i % 4];
      return { file: `f${i}.yaml`, index: 0, object: o };
    });
    validateDocuments(docs.slice(0, 4)); // warm caches (CRD parse, compile)
    const t = performance.now();
    expect(validateDocuments(docs)).toEqual([]);
    expect(performance.now() - t).toBeLessThan(1000);
  });
});

describe('validateDirectory', () => {
  it('reports issues with file names and skips kustomization.yaml as an object', () => {
    const issues = validateDirectory(path.join(FIXTURES, 'invalid-output'), { crdsDir: CRDS });
    const rel = (f: string | undefined) => path.relative(FIXTURES, path.resolve(f ?? ''));
    expect(issues.map((i) => `${rel(i.file)}: ${formatIssue({ ...i, file: undefined })}`)).toEqual([
      `invalid-output/other.yaml: Widget w: no schema for Widget example.com/v1 (looked in Kubernetes 1.28 and in the CRD folder ${CRDS})`,
      'invalid-output/x/cronjob.yaml: CronJob prod/backup: spec.jobTemplate.spec.template.spec.containers[0].imagePullPolicy: must be one of Always, IfNotPresent, Never (found "Sometimes")',
      'invalid-output/x/kustomization.yaml: Kustomization: resources[1]: "gone.yaml" does not exist',
    ]);
    expect(formatIssue(issues.find((i) => i.kind === 'CronJob')!)).toMatch(/cronjob\.yaml: CronJob prod\/backup: spec\.jobTemplate/);
  });

  it('accepts a valid folder', () => {
    expect(lines(validateDirectory(path.join(FIXTURES, 'kustomize-ok')))).toEqual([]);
  });
});

describe.skipIf(!haveKubectl)('kustomizeBuild', () => {
  it('builds a small folder', () => {
    const r = kustomizeBuild(path.join(FIXTURES, 'kustomize-ok'));
    expect(r.error).toBe('');
    expect(r.ok).toBe(true);
    expect(r.output).toContain('kind: CronJob');
    expect(r.output).toContain('kind: Namespace');
  });

  it('fails on a missing resource', () => {
    const r = kustomizeBuild(path.join(FIXTURES, 'kustomize-missing'));
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/missing\.yaml/);
  });

  it('reports a missing kubectl instead of throwing', () => {
    const r = kustomizeBuild(path.join(FIXTURES, 'kustomize-ok'), { kubectl: '/nonexistent/kubectl' });
    expect(r).toMatchObject({ ok: false, error: expect.stringContaining('not found') });
  });
});
