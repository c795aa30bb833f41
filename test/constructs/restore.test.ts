import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { run } from '../../lib/cli/main';
import { renderInventory } from '../../lib/synth/render';
import { kustomizeBuild } from '../../lib/validate';
import { inventoryOf, minimalDocument, withToolsImageDocument } from '../helpers/inventory';

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
const envOf = (container: any) => Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

describe('kubeadm restore bundle', () => {
  const objects = objectsIn('alpha/restore-r1');

  it('writes its own folder with a kustomization and a runbook, outside the cluster kustomization', () => {
    expect(Object.keys(objects).sort()).toEqual([
      'configmap-alpha-restore-r1-scripts.yaml', 'job-alpha-restore-r1-cp-1.yaml', 'job-alpha-restore-r1-cp-2.yaml', 'job-alpha-restore-r1-cp-3.yaml',
    ]);
    expect(parse(files.get('alpha/restore-r1/kustomization.yaml')!).resources).toEqual(Object.keys(objects).sort());
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
      { name: 'identity', secret: { secretName: 'alpha-restore-r1-identity', optional: true, defaultMode: 0o400 } },
    ]));
    const pkiMount = pod.containers[0].volumeMounts.find((m: any) => m.name === 'pki');
    expect(pkiMount).toEqual({ name: 'pki', mountPath: '/etc/kubernetes/pki', readOnly: false });
  });

  it('gives each member its name, peer URL, the shared initial cluster and a new token', () => {
    const env = envOf(objects['job-alpha-restore-r1-cp-2.yaml'].spec.template.spec.containers[0]);
    expect(env).toMatchObject({
      MEMBER_NAME: 'cp-2',
      MEMBER_PEER_URL: 'https://10.0.0.2:2380',
      MEMBERS: 'cp-1 cp-2 cp-3',
      INITIAL_CLUSTER: 'cp-1=https://10.0.0.1:2380,cp-2=https://10.0.0.2:2380,cp-3=https://10.0.0.3:2380',
      INITIAL_CLUSTER_TOKEN: 'alpha-restore-r1',
      SNAPSHOT_DIR: 's3_s3main:backups/etcd/alpha',
      SNAPSHOT_NAME: 'alpha-20261120T020000Z',
      BARRIER_DIR: 's3_s3main:backups/etcd/alpha/restores/r1',
      ETCD_ENDPOINT: 'https://10.0.0.2:2379',
      DATA_DIR: '/var/lib/etcd',
      ETCD_MANIFEST: '/etc/kubernetes/manifests/etcd.yaml',
      PKI_RESTORE: 'true',
    });
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
      const pod = objects[`job-beta-restore-r2-${ordinal}.yaml`].spec.template.spec;
      expect(pod.volumes).toContainEqual({ name: 'etcd-data', persistentVolumeClaim: { claimName: `etcd-data-beta-etcd-${ordinal}` } });
      expect(envOf(pod.containers[0])).toMatchObject({
        ORDINAL: String(ordinal),
        MEMBER_NAME: `beta-etcd-${ordinal}`,
        MEMBER_PEER_URL: `https://beta-etcd-${ordinal}.beta-etcd.tenant-beta.svc:2380`,
        DATA_DIR: '/var/lib/controlplane-backup/volume/default.etcd',
        SNAPSHOT_NAME: 'latest',
      });
    }
    const coordinator = objects['job-beta-restore-r2.yaml'].spec.template.spec;
    expect(envOf(coordinator.containers[0])).toMatchObject({ STATEFULSET: 'beta-etcd', REPLICAS: '3', CONTROL_PLANE_DEPLOYMENTS: 'beta-apiserver', STATUS_CONFIGMAP: 'beta-restore-r2-status' });
    expect(coordinator.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
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
    expect(err.join('')).toContain('restore: 4 files for restore "r1" of alpha written to');
    expect(code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['.controlplane-backup-output', 'RUNBOOK.md', 'configmap-alpha-restore-r1-scripts.yaml', 'job-alpha-restore-r1-cp-1.yaml', 'kustomization.yaml']);
    const committed = minimalDocument();
    committed.clusters.alpha.restores = [{ id: 'r1', snapshot: 'etcd/alpha/alpha-20261120T020000Z.db.zst.age', confirm: 'alpha-20261120T020000Z' }];
    const expected = renderInventory(inventoryOf(committed));
    for (const name of readdirSync(out).filter((file) => file !== '.controlplane-backup-output')) expect(readFileSync(join(out, name), 'utf8'), name).toBe(expected.get(`alpha/restore-r1/${name}`));
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
