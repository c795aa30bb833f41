import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { run } from '../../lib/cli/main';
import { renderInventory } from '../../lib/synth/render';
import { kustomizeBuild, validateObject } from '../../lib/validate';
import { isStaticPodFile, staticPodIssues } from '../../lib/validate/static-pod';
import { parseInventory } from '../../lib/inventory/load';
import { restoreCoordinatorPlanSchema, restoreMemberPlanSchema, restoreReplicaPlanSchema } from '../../lib/agent/restore/plans';
import { inventoryOf, minimalDocument, withToolsImageDocument } from '../support/inventory';

const work = mkdtempSync(join(tmpdir(), 'cpb-restore-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function withRestores(): Record<string, any> {
  const document = minimalDocument();
  document.clusters.alpha.kubeadm.members = [
    { name: 'cp-1', ip: '10.0.0.1' }, { name: 'cp-2', ip: '10.0.0.2' }, { name: 'cp-3', ip: '10.0.0.3' },
  ];
  document.clusters.alpha.restores = [{ id: 'r1', snapshot: 'etcd/alpha/alpha-20261120T020000Z.db.zst.age', confirm: 'alpha-20261120T020000Z', pki: true }];
  document.clusters.beta.hosted.controlPlaneDeployments = ['beta-apiserver'];
  document.clusters.beta.hosted.dataVolumeClaimTemplate = 'etcd-data';
  document.clusters.beta.hosted.dataDirInVolume = 'default.etcd';
  document.clusters.beta.restores = [{ id: 'r2', snapshot: 'latest', confirm: 'beta' }];
  return document;
}

const files = renderInventory(inventoryOf(withRestores()));
const objectsIn = (folder: string) => Object.fromEntries([...files].filter(([path]) => path.startsWith(`${folder}/`) && path.endsWith('.yaml') && !path.endsWith('kustomization.yaml'))
  .map(([path, text]) => [path.slice(folder.length + 1), parse(text)]));
/** The plan a pod reads: the key of the plan ConfigMap its plan volume mounts. */
function planOf(objects: Record<string, any>, job: string): any {
  const pod = objects[job].spec.template.spec;
  const volume = pod.volumes.find((v: any) => v.name === 'plan').configMap;
  expect(volume.items).toHaveLength(1);
  expect(volume.items[0].path).toBe('plan.json');
  expect(pod.containers[0].command.slice(-2)).toEqual(['--plan', '/etc/controlplane-backup/restore/plan.json']);
  return JSON.parse(objects[`configmap-${volume.name}.yaml`].data[volume.items[0].key]);
}

describe('kubeadm restore bundle', () => {
  const objects = objectsIn('alpha/restore-r1');

  it('writes its own folder with a kustomization and a runbook, outside the cluster kustomization', () => {
    expect(Object.keys(objects).sort()).toEqual([
      'configmap-alpha-restore-r1-plan.yaml', 'job-alpha-restore-r1-cp-1.yaml', 'job-alpha-restore-r1-cp-2.yaml', 'job-alpha-restore-r1-cp-3.yaml',
      'static-pods/cp-1.yaml', 'static-pods/cp-2.yaml', 'static-pods/cp-3.yaml',
    ]);
    // the static pods are copied onto the nodes by hand: kustomize never applies them
    expect(parse(files.get('alpha/restore-r1/kustomization.yaml')!).resources).toEqual(Object.keys(objects).filter((name) => !name.startsWith('static-pods/')).sort());
    expect(parse(files.get('alpha/kustomization.yaml')!).resources.some((r: string) => r.includes('restore'))).toBe(false);
    expect(files.get('alpha/restore-r1/RUNBOOK.md')).toContain('# Restore `r1` of cluster `alpha`');
  });

  it('pins one Job per member to its node with host access, no retry and no TTL', () => {
    const job = objects['job-alpha-restore-r1-cp-2.yaml'];
    expect(job.spec.backoffLimit).toBe(0);
    expect(job.spec.ttlSecondsAfterFinished).toBeUndefined();
    const pod = job.spec.template.spec;
    expect(pod.nodeName).toBe('cp-2');
    expect(pod.hostNetwork).toBe(true);
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(pod.volumes).toEqual(expect.arrayContaining([
      { name: 'etcd-data', hostPath: { path: '/var/lib/etcd', type: 'Directory' } },
      { name: 'manifests', hostPath: { path: '/etc/kubernetes/manifests', type: 'Directory' } },
      { name: 'identity', secret: { secretName: 'alpha-restore-r1-identity', optional: true, defaultMode: 0o440 } },
    ]));
    const pkiMount = pod.containers[0].volumeMounts.find((m: any) => m.name === 'pki');
    expect(pkiMount).toEqual({ name: 'pki', mountPath: '/etc/kubernetes/pki', readOnly: false });
  });

  it('gives each member its name, peer URL, the shared members and a new token, in its typed plan', () => {
    const job = objects['job-alpha-restore-r1-cp-2.yaml'];
    expect(job.spec.template.spec.containers[0].command).toEqual(['controlplane-backup', 'agent', 'restore-member', '--plan', '/etc/controlplane-backup/restore/plan.json']);
    expect(job.spec.template.spec.containers[0].env).toEqual(expect.arrayContaining([{ name: 'TMPDIR', value: '/var/lib/controlplane-backup/scratch' }]));
    const plan = planOf(objects, 'job-alpha-restore-r1-cp-2.yaml');
    expect(restoreMemberPlanSchema.safeParse(plan).success).toBe(true);
    expect(plan).toMatchObject({
      kind: 'RestoreMemberPlan',
      cluster: 'alpha',
      restoreId: 'r1',
      snapshot: 'alpha-20261120T020000Z',
      member: { name: 'cp-2', peerUrl: 'https://10.0.0.2:2380' },
      members: [{ name: 'cp-1', peerUrl: 'https://10.0.0.1:2380' }, { name: 'cp-2', peerUrl: 'https://10.0.0.2:2380' }, { name: 'cp-3', peerUrl: 'https://10.0.0.3:2380' }],
      initialClusterToken: 'alpha-restore-r1',
      source: { kind: 's3', bucket: 'backups', folder: 'etcd/alpha' },
      etcd: { endpoint: 'https://10.0.0.2:2379' },
      dataDir: '/var/lib/etcd',
      etcdManifest: '/etc/kubernetes/manifests/etcd.yaml',
      pki: { dir: '/etc/kubernetes/pki', archivePrefix: 'etc/kubernetes/pki' },
      bumpRevision: true,
      identityFile: '/var/run/controlplane-backup/restore-identity/identity.txt',
    });
  });
});

describe('kubeadm restore through static pods (no API server)', () => {
  const objects = objectsIn('alpha/restore-r1');
  const podOf = (member: string) => objects[`static-pods/${member}.yaml`];
  const planIn = (pod: any) => JSON.parse(pod.spec.containers[0].env.find((e: any) => e.name === 'CONTROLPLANE_BACKUP_PLAN').value);

  it('writes one Pod per member that refers to no API object: plan in env, identity and credentials from the node\'s restore folder', () => {
    const pod = podOf('cp-2');
    expect(pod).toMatchObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'alpha-restore-r1', namespace: 'kube-system' } });
    expect(staticPodIssues(pod)).toEqual([]);
    expect(pod.spec).toMatchObject({ hostNetwork: true, dnsPolicy: 'Default', restartPolicy: 'Never', automountServiceAccountToken: false, activeDeadlineSeconds: 3600 });
    expect(pod.spec.serviceAccountName).toBeUndefined();
    expect(pod.spec.nodeName).toBeUndefined();
    const container = pod.spec.containers[0];
    expect(container.command).toEqual(['controlplane-backup', 'agent', 'restore-member', '--plan-env', 'CONTROLPLANE_BACKUP_PLAN']);
    expect(container.env.map((e: any) => e.name)).toEqual(['TMPDIR', 'CONTROLPLANE_BACKUP_PLAN']);
    expect(container.securityContext).toEqual({ runAsUser: 0, runAsNonRoot: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.spec.volumes).toEqual([
      { name: 'scratch', emptyDir: { sizeLimit: '4Gi' } },
      { name: 'restore-files', hostPath: { path: '/etc/kubernetes/restore-r1', type: 'DirectoryOrCreate' } },
      { name: 'etcd-data', hostPath: { path: '/var/lib/etcd', type: 'Directory' } },
      { name: 'manifests', hostPath: { path: '/etc/kubernetes/manifests', type: 'Directory' } },
      { name: 'pki', hostPath: { path: '/etc/kubernetes/pki', type: 'Directory' } },
    ]);
    expect(container.volumeMounts).toContainEqual({ name: 'restore-files', mountPath: '/var/run/controlplane-backup/restore-identity', readOnly: true });
    expect(JSON.stringify(pod)).not.toMatch(/secretKeyRef|configMapKeyRef|S3RVER|AGE-SECRET-KEY/);
  });

  it('gives each static pod the plan its Job has, plus its own manifest to remove and the env file that replaces the Secret', () => {
    for (const member of ['cp-1', 'cp-2', 'cp-3']) {
      const plan = planIn(podOf(member));
      expect(restoreMemberPlanSchema.safeParse(plan).success).toBe(true);
      const { staticPod, ...rest } = plan;
      const { staticPod: none, ...jobPlan } = planOf(objects, `job-alpha-restore-r1-${member}.yaml`);
      expect(none).toBeNull();
      expect(rest).toEqual(jobPlan);
      expect(staticPod).toEqual({
        manifest: '/etc/kubernetes/manifests/controlplane-backup-restore-r1.yaml',
        envFile: { path: '/var/run/controlplane-backup/restore-identity/storage.env', names: ['CPB_S3MAIN_ACCESS_KEY_ID', 'CPB_S3MAIN_SECRET_ACCESS_KEY'] },
      });
    }
  });

  it('is recognised as a static pod by validate-output (its own limits instead of Pod Security)', () => {
    expect([...files.keys()].filter((path) => isStaticPodFile(path)).sort()).toEqual(['alpha/restore-r1/static-pods/cp-1.yaml', 'alpha/restore-r1/static-pods/cp-2.yaml', 'alpha/restore-r1/static-pods/cp-3.yaml']);
  });

  it('reads a local storage through its host folder, and needs no credentials file', () => {
    const document = withRestores();
    document.storages.disk = { local: { path: '/var/lib/controlplane-backup' } };
    document.clusters.alpha.kubeadm.members = [{ name: 'cp-1', ip: '10.0.0.1' }];
    document.clusters.alpha.restores = [{ id: 'r1', snapshot: 'alpha/alpha-20261120T020000Z.db.zst.age', confirm: 'alpha-20261120T020000Z', storage: 'disk' }];
    const rendered = renderInventory(inventoryOf(document));
    const pod = parse(rendered.get('alpha/restore-r1/static-pods/cp-1.yaml')!);
    expect(staticPodIssues(pod)).toEqual([]);
    expect(pod.spec.volumes).toContainEqual({ name: 'local-source', hostPath: { path: '/var/lib/controlplane-backup', type: 'Directory' } });
    expect(pod.spec.containers[0].volumeMounts).toContainEqual({ name: 'local-source', mountPath: '/var/lib/controlplane-backup/local/disk', readOnly: true });
    const plan = planIn(pod);
    expect(plan.source).toMatchObject({ kind: 'local', path: '/var/lib/controlplane-backup/local/disk' });
    expect(plan.staticPod.envFile).toBeNull();
    expect(rendered.get('alpha/restore-r1/RUNBOOK.md')).toContain("scp backup.key static-pods/cp-1.yaml 10.0.0.1:/tmp/\n");
  });

  it('restores onto replaced nodes: the request\'s members name the Jobs, static pods, peer URLs and --initial-cluster', () => {
    const document = withRestores();
    document.clusters.alpha.restores[0].members = [{ name: 'cp-4', ip: '10.0.1.4' }, { name: 'cp-2', ip: '10.0.0.2' }, { name: 'cp-5', ip: '10.0.1.5' }];
    const rendered = renderInventory(inventoryOf(document));
    const names = [...rendered.keys()].filter((path) => path.startsWith('alpha/restore-r1/')).sort();
    expect(names).toEqual([
      'alpha/restore-r1/RUNBOOK.md', 'alpha/restore-r1/configmap-alpha-restore-r1-plan.yaml',
      'alpha/restore-r1/job-alpha-restore-r1-cp-2.yaml', 'alpha/restore-r1/job-alpha-restore-r1-cp-4.yaml', 'alpha/restore-r1/job-alpha-restore-r1-cp-5.yaml',
      'alpha/restore-r1/kustomization.yaml', 'alpha/restore-r1/static-pods/cp-2.yaml', 'alpha/restore-r1/static-pods/cp-4.yaml', 'alpha/restore-r1/static-pods/cp-5.yaml',
    ]);
    expect(parse(rendered.get('alpha/restore-r1/job-alpha-restore-r1-cp-4.yaml')!).spec.template.spec.nodeName).toBe('cp-4');
    const plan = planIn(parse(rendered.get('alpha/restore-r1/static-pods/cp-5.yaml')!));
    expect(plan.member).toEqual({ name: 'cp-5', peerUrl: 'https://10.0.1.5:2380' });
    expect(plan.etcd.endpoint).toBe('https://10.0.1.5:2379');
    expect(plan.members).toEqual([{ name: 'cp-4', peerUrl: 'https://10.0.1.4:2380' }, { name: 'cp-2', peerUrl: 'https://10.0.0.2:2380' }, { name: 'cp-5', peerUrl: 'https://10.0.1.5:2380' }]);
    expect(rendered.get('alpha/restore-r1/RUNBOOK.md')).toContain('--initial-cluster cp-4=https://10.0.1.4:2380,cp-2=https://10.0.0.2:2380,cp-5=https://10.0.1.5:2380');
  });

  it('fails if the replaced nodes repeat a name or an IP, or if a hosted cluster names members', () => {
    const document = withRestores();
    document.clusters.alpha.restores[0].members = [{ name: 'cp-4', ip: '10.0.1.4' }, { name: 'cp-4', ip: '10.0.1.4' }];
    document.clusters.beta.restores[0].members = [{ name: 'x', ip: '10.0.0.9' }];
    const result = parseInventory(stringify(document), 'inventory.yaml');
    expect(result.ok).toBe(false);
    const messages = result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
    expect(messages).toEqual(expect.arrayContaining([
      'clusters.alpha.restores[0].members[1].name: "cp-4" is also the name of members[0]; every member needs its own',
      'clusters.alpha.restores[0].members[1].ip: "10.0.1.4" is also the ip of members[0]; every member needs its own',
      'clusters.beta.restores[0].members: names the nodes to restore onto, which only a kubeadm cluster has; a hosted restore rebuilds the StatefulSet\'s replicas: remove `members`',
    ]));
  });
});

describe('hosted restore bundle', () => {
  const objects = objectsIn('beta/restore-r2');

  it('limits the coordinator\'s RBAC to its namespace and the named objects', () => {
    const role = objects['role-beta-restore-r2.yaml'];
    expect(role.metadata.namespace).toBe('tenant-beta');
    expect(role.rules).toEqual([
      { apiGroups: ['apps'], resources: ['statefulsets', 'statefulsets/scale'], resourceNames: ['beta-etcd'], verbs: ['get', 'patch'] },
      { apiGroups: ['apps'], resources: ['deployments', 'deployments/scale'], resourceNames: ['beta-apiserver'], verbs: ['get', 'patch'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['beta-restore-r2-status'], verbs: ['get', 'patch'] },
    ]);
    expect(objects['rolebinding-beta-restore-r2.yaml'].subjects).toEqual([{ kind: 'ServiceAccount', name: 'beta-restore-r2', namespace: 'tenant-beta' }]);
  });

  it('creates the status ConfigMap without data, so that re-applying the folder never resets the phase', () => {
    expect(objects['configmap-beta-restore-r2-status.yaml'].data).toBeUndefined();
  });

  it('rebuilds every replica\'s volume in its own Job, with member names and peer URLs from the headless Service', () => {
    for (const ordinal of [0, 1, 2]) {
      const job = `job-beta-restore-r2-${ordinal}.yaml`;
      const pod = objects[job].spec.template.spec;
      expect(pod.volumes).toContainEqual({ name: 'etcd-data', persistentVolumeClaim: { claimName: `etcd-data-beta-etcd-${ordinal}` } });
      const plan = planOf(objects, job);
      expect(restoreReplicaPlanSchema.safeParse(plan).success).toBe(true);
      expect(plan).toMatchObject({
        kind: 'RestoreReplicaPlan',
        ordinal,
        member: { name: `beta-etcd-${ordinal}`, peerUrl: `https://beta-etcd-${ordinal}.beta-etcd.tenant-beta.svc:2380` },
        dataDir: '/var/lib/controlplane-backup/volume/default.etcd',
        snapshot: 'latest',
        statusConfigMap: 'beta-restore-r2-status',
      });
    }
    const plan = planOf(objects, 'job-beta-restore-r2.yaml');
    expect(restoreCoordinatorPlanSchema.safeParse(plan).success).toBe(true);
    expect(plan).toMatchObject({ kind: 'RestoreCoordinatorPlan', statefulSet: 'beta-etcd', replicas: 3, controlPlaneDeployments: ['beta-apiserver'], statusConfigMap: 'beta-restore-r2-status' });
  });

  it('meets Pod Security restricted in every pod: non-root with fsGroup, RuntimeDefault seccomp, no capabilities', () => {
    for (const name of ['job-beta-restore-r2.yaml', 'job-beta-restore-r2-0.yaml', 'job-beta-restore-r2-1.yaml', 'job-beta-restore-r2-2.yaml']) {
      const pod = objects[name].spec.template.spec;
      expect(pod.securityContext).toEqual({ seccompProfile: { type: 'RuntimeDefault' }, runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 });
      expect(pod.containers[0].securityContext).toEqual({
        runAsUser: 65532, runAsGroup: 65532, runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] },
      });
      expect(pod.containers[0].env).toContainEqual({ name: 'TMPDIR', value: '/var/lib/controlplane-backup/scratch' });
    }
  });

  it('builds with kubectl kustomize', () => {
    const dir = join(work, 'hosted');
    mkdirSync(dir, { recursive: true });
    for (const [path, text] of files) {
      if (path.startsWith('beta/restore-r2/')) {
        const target = join(dir, path.slice('beta/restore-r2/'.length));
        writeFileSync(target, text, { flag: 'w' });
      }
    }
    expect(kustomizeBuild(dir).ok).toBe(true);
  });
});

describe('hosted restore bundle of a control plane with owners (hosted.owners)', () => {
  const document = withRestores();
  document.clusters.beta.hosted.owners = [
    { kind: 'HelmRelease', name: 'beta' },
    { kind: 'Kustomization', name: 'tenants', namespace: 'flux-system' },
    { kind: 'Application', name: 'beta-cp' },
    { kind: 'TenantControlPlane', name: 'beta' },
  ];
  const rendered = renderInventory(inventoryOf(document));
  const objects = Object.fromEntries([...rendered].filter(([path]) => path.startsWith('beta/restore-r2/') && path.endsWith('.yaml') && !path.endsWith('kustomization.yaml'))
    .map(([path, text]) => [path.slice('beta/restore-r2/'.length), parse(text)]));

  it('lets the coordinator get and patch exactly the named owners, each in its own namespace', () => {
    expect(objects['role-beta-restore-r2.yaml'].rules.slice(4)).toEqual([
      { apiGroups: ['kamaji.clastix.io'], resources: ['tenantcontrolplanes'], resourceNames: ['beta'], verbs: ['get', 'patch'] },
    ]);
    expect(objects['role-beta-restore-r2-owners-flux-system.yaml']).toMatchObject({
      metadata: { name: 'beta-restore-r2-owners-flux-system', namespace: 'flux-system' },
      rules: [
        { apiGroups: ['helm.toolkit.fluxcd.io'], resources: ['helmreleases'], resourceNames: ['beta'], verbs: ['get', 'patch'] },
        { apiGroups: ['kustomize.toolkit.fluxcd.io'], resources: ['kustomizations'], resourceNames: ['tenants'], verbs: ['get', 'patch'] },
      ],
    });
    expect(objects['role-beta-restore-r2-owners-argocd.yaml'].rules).toEqual([
      { apiGroups: ['argoproj.io'], resources: ['applications'], resourceNames: ['beta-cp'], verbs: ['get', 'patch'] },
    ]);
    for (const ns of ['argocd', 'flux-system']) {
      expect(objects[`rolebinding-beta-restore-r2-owners-${ns}.yaml`]).toMatchObject({
        metadata: { namespace: ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `beta-restore-r2-owners-${ns}` },
        subjects: [{ kind: 'ServiceAccount', name: 'beta-restore-r2', namespace: 'tenant-beta' }],
      });
    }
    for (const [name, object] of Object.entries(objects)) expect(validateObject(object), name).toEqual([]);
  });

  it('gives the coordinator the owners with their namespaces resolved, and what the checks need', () => {
    const plan = planOf(objects, 'job-beta-restore-r2.yaml');
    expect(restoreCoordinatorPlanSchema.safeParse(plan).success).toBe(true);
    expect(plan).toMatchObject({
      owners: [
        { kind: 'HelmRelease', namespace: 'flux-system', name: 'beta' },
        { kind: 'Kustomization', namespace: 'flux-system', name: 'tenants' },
        { kind: 'Application', namespace: 'argocd', name: 'beta-cp' },
        { kind: 'TenantControlPlane', namespace: 'tenant-beta', name: 'beta' },
      ],
      argocdNamespace: 'argocd', dataVolumeClaimTemplate: 'etcd-data', allowCrossCluster: false,
    });
  });
});

describe('controlplane-backup restore (break-glass CLI)', () => {
  const inventoryFile = join(work, 'inventory.yaml');
  writeFileSync(inventoryFile, stringify(withToolsImageDocument(minimalDocument())));
  const io = () => {
    const err: string[] = [];
    return { io: { out: () => {}, err: (t: string) => err.push(t), interactive: false }, err };
  };

  it('writes the same bundle and runbook a committed request gets', async () => {
    const out = join(work, 'cli-bundle');
    const { io: cli, err } = io();
    const code = await run(['restore', '--inventory', inventoryFile, '--cluster', 'alpha', '--snapshot', 'etcd/alpha/alpha-20261120T020000Z.db.zst.age',
      '--confirm', 'alpha-20261120T020000Z', '--id', 'r1', '--out', out], cli);
    expect(err.join('')).toContain('restore: 5 files for restore "r1" of alpha written to');
    expect(code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['.controlplane-backup-output', 'RUNBOOK.md', 'configmap-alpha-restore-r1-plan.yaml', 'job-alpha-restore-r1-cp-1.yaml', 'kustomization.yaml', 'static-pods']);
    expect(readdirSync(join(out, 'static-pods'))).toEqual(['cp-1.yaml']);
    const committed = minimalDocument();
    committed.clusters.alpha.restores = [{ id: 'r1', snapshot: 'etcd/alpha/alpha-20261120T020000Z.db.zst.age', confirm: 'alpha-20261120T020000Z' }];
    const expected = renderInventory(inventoryOf(committed));
    for (const name of [...readdirSync(out).filter((file) => !['.controlplane-backup-output', 'static-pods'].includes(file)), 'static-pods/cp-1.yaml']) {
      expect(readFileSync(join(out, name), 'utf8'), name).toBe(expected.get(`alpha/restore-r1/${name}`));
    }
  });

  it('fails with the guard\'s message, worded as flags, when the confirmation does not match', async () => {
    const out = join(work, 'cli-refused');
    const { io: cli, err } = io();
    const code = await run(['restore', '--inventory', inventoryFile, '--cluster', 'alpha', '--snapshot', 'latest', '--confirm', 'yes', '--id', 'r1', '--out', out], cli);
    expect(code).toBe(2);
    expect(err.join('')).toBe(`${inventoryFile}: --confirm: "yes" does not confirm this restore; type the cluster's name, "alpha"\n1 problem found; nothing was written.\n`);
    expect(() => readdirSync(out)).toThrow();
  });

  it('refuses a snapshot of another cluster unless asked', async () => {
    const { io: cli, err } = io();
    const code = await run(['restore', '--inventory', inventoryFile, '--cluster', 'alpha', '--snapshot', 'etcd/beta/beta-20261120T020000Z.db.zst.age',
      '--confirm', 'beta-20261120T020000Z', '--id', 'r1', '--out', join(work, 'cli-foreign')], cli);
    expect(code).toBe(2);
    expect(err.join('')).toContain('--snapshot: "etcd/beta/beta-20261120T020000Z.db.zst.age" is outside this cluster\'s backups ("etcd/alpha/")');
  });
});

describe('node names that are JavaScript object keys', () => {
  // Found by the fuzz test: a member named "constructor" crashed synth (exit 1, a stack trace): the static pod's
  // construct id collided with Object.prototype.constructor in the constructs library's child map.
  it.each(['constructor', 'tostring', 'hasownproperty'])('a member named %s gets its Job and its static pod', (node) => {
    const document = withRestores();
    document.clusters.alpha.kubeadm.members[1].name = node;
    const rendered = renderInventory(inventoryOf(document));
    expect([...rendered.keys()]).toContain(`alpha/restore-r1/static-pods/${node}.yaml`);
    expect(parse(rendered.get(`alpha/restore-r1/static-pods/${node}.yaml`)!).metadata.annotations['controlplane-backup.io/member']).toBe(node);
    expect([...rendered.keys()].filter((path) => path.startsWith('alpha/restore-r1/job-') && path.includes(node))).toHaveLength(1);
  });
});
