// The synthesized hosted restore Jobs, run for real (issue 4): from a backup made by the synthesized hosted backup
// CronJob's pod against a simulated 3-replica etcd StatefulSet, the coordinator Job's pod and the 3 replica Jobs' pods
// run concurrently with the commands, env and plan ConfigMap of their manifests (`controlplane-backup agent
// restore-coordinator|restore-replica --plan ...`). Like in a cluster: each replica pod's PVC
// (`<claimTemplate>-<sts>-<i>`) is the simulator's volume of that ordinal, the service-account token and CA are
// automounted at the default path, and KUBERNETES_SERVICE_HOST/PORT (set as the kubelet does) point at the fake API
// server listening on 443 inside the netns. Nothing in the env is overridden: the manifests' plans are what runs.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderInventory } from '../../lib/synth/render';
import { inventoryOf } from '../support/inventory';
import { valueFor } from '../support/etcd';
import { FakeKubeApi } from '../support/fake-kube-api';
import { startNetns, type NetNs } from '../support/netns';
import { runPod, type PodRunResult } from '../support/pod-runner';
import { mkTemp, rmTemp, waitFor } from '../support/proc';
import { startS3, type S3Server } from '../support/s3';
import { makeSimPki, StatefulSetSim, type SimPki } from '../support/statefulset-sim';
import { ageKeypair } from '../support/agent';

const CLUSTER = 'tenant-x';
const NAMESPACE = 'tenant-a';
const STS = `${CLUSTER}-etcd`;
const ID = 'r1';
const KEYS = 2000;
const S3_SECRET = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
/** the "ClusterIP" of kubernetes.default.svc inside the netns */
const API_IP = '127.0.2.1';
const DEPLOYMENTS = { [`${CLUSTER}-apiserver`]: 2, [`${CLUSTER}-controller-manager`]: 1 };
const PHASES = ['Validating', 'DrainingControlPlane', 'StoppingEtcd', 'RestoringSnapshot', 'StartingEtcd', 'StartingControlPlane', 'Succeeded'];

let tmp: string;
let netns: NetNs;
let s3: S3Server;
let pki: SimPki;
let sim: StatefulSetSim;
let api: FakeKubeApi;
let keys: { identity: string; recipients: string };
let token: string;
let base: string;
let atBackup: { count: number; sha256: string };
/** labels, annotations and ownerReferences the fake API gives the StatefulSet or a Deployment */
const owners: Record<string, { ownerReferences?: object[]; labels?: Record<string, string> }> = {};
/** hosted.owners of the inventory */
let hostedOwners: object[] = [];
/** a fault the fake API injects (method, path) */
let injectFault: ((method: string, path: string) => number | undefined) | undefined;
/** what the fake API adds to the StatefulSet's spec: the sim runs Debian's etcd 3.5, each PVC claims 1Gi */
const stsSpec = {
  template: { spec: { containers: [{ name: 'etcd', image: 'registry.k8s.io/etcd:3.5.16-0' }] } },
  volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
};
/** The Flux HelmRelease that (in the owner tests) deploys the tenant's control plane, at its API path. */
const RELEASE_PATH = `/apis/helm.toolkit.fluxcd.io/v2/namespaces/flux-system/helmreleases/${CLUSTER}`;
const FLUX_LABELS = { 'helm.toolkit.fluxcd.io/name': CLUSTER, 'helm.toolkit.fluxcd.io/namespace': 'flux-system' };

function inventoryDocument(restores: object[] = [], replicas = 3): Record<string, any> {
  const recipient = readFileSync(keys.recipients, 'utf8').split('\n').find((line) => line.startsWith('age1'))!;
  return {
    apiVersion: 'controlplane-backup.io/v1',
    kind: 'Inventory',
    storages: { s3main: { s3: { endpoint: s3.endpoint, bucket: 'backups', prefix: 'etcd', pathStyle: true, insecure: true }, credentials: { existingSecret: { name: 's3-creds' } } } },
    defaults: { backup: { storages: ['s3main'], encryption: { recipients: [recipient] }, minSnapshotSize: '64Ki', snapshotTimeoutSeconds: 20 } },
    clusters: {
      [CLUSTER]: {
        hosted: {
          namespace: NAMESPACE,
          statefulSet: STS,
          replicas,
          headlessService: sim.service,
          // one member by its peer name (the sim's certificate covers *.<svc>.<ns>.svc); resolved by the pod's /etc/hosts
          clientEndpoint: `https://${sim.host(0)}:2379`,
          clientCertSecret: { name: `${STS}-client` },
          pkiSecrets: [`${CLUSTER}-ca`],
          controlPlaneDeployments: Object.keys(DEPLOYMENTS),
          dataVolumeClaimTemplate: 'data',
          dataDirInVolume: 'default.etcd',
          owners: hostedOwners,
        },
        restores,
      },
    },
  };
}

/** the objects of one folder of the synthesized output */
function objectsOf(document: Record<string, any>, folder: string): any[] {
  const files = renderInventory(inventoryOf(document));
  return [...files].filter(([path]) => path.startsWith(`${folder}/`) && path.endsWith('.yaml') && !path.slice(folder.length + 1).includes('/') && !path.endsWith('kustomization.yaml')).map(([, text]) => parse(text));
}

const configMapsOf = (objects: any[]) => Object.fromEntries(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data ?? {}]));
const lastLine = (pod: PodRunResult) => JSON.parse(pod.results[0].stdout.trim().split('\n').pop()!);
const stderrOf = (pods: PodRunResult[]) => pods.map((p) => p.results.map((r) => `--- ${r.name} (exit ${r.exitCode}${r.timedOut ? ', timed out' : ''})\n${r.stderr}`).join('\n')).join('\n');

async function digest(): Promise<{ count: number; sha256: string }> {
  const r = await sim.ctl(['get', '', '--prefix', '-w', 'json'], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`etcdctl get: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { kvs?: { key: string; value?: string }[] };
  const kvs = (j.kvs ?? []).map((kv) => [Buffer.from(kv.key, 'base64'), Buffer.from(kv.value ?? '', 'base64')] as const);
  kvs.sort((a, b) => Buffer.compare(a[0], b[0]));
  const h = createHash('sha256');
  for (const [k, v] of kvs) h.update(`${k.length}:`).update(k).update(`${v.length}:`).update(v);
  return { count: kvs.length, sha256: h.digest('hex') };
}

const waitHealthy = (n = 3) => waitFor(`${n} healthy etcd member(s)`, async () => (await sim.readyReplicas()) === n, 60_000, 300);

/** The synthesized backup CronJob's pod (snapshot init container + upload), against the sim's etcd. */
async function backUp(replicas = 3): Promise<string> {
  const objects = objectsOf(inventoryDocument([], replicas), CLUSTER);
  const cronJob = objects.find((o) => o.kind === 'CronJob');
  const file = (path: string) => readFileSync(path);
  const pod = await runPod({
    podSpec: cronJob.spec.jobTemplate.spec.template.spec, netns, configMaps: configMapsOf(objects), nodeName: 'mgmt-node-1', timeoutMs: 60_000,
    hosts: { [sim.host(0)]: '127.0.1.1' },
    secrets: {
      's3-creds': S3_SECRET,
      [`${STS}-client`]: { 'ca.crt': file(pki.ca), 'tls.crt': file(pki.cert), 'tls.key': file(pki.key) },
      [`${CLUSTER}-ca`]: { 'ca.crt': file(pki.ca) },
    },
  });
  expect(pod.ok, stderrOf([pod])).toBe(true);
  return JSON.parse(pod.results.find((r) => r.name === 'upload')!.stdout.trim()).base;
}

interface RestoreRun { coordinator: PodRunResult; replicas: PodRunResult[]; objects: any[]; durationMs: number }

interface RestoreOptions {
  /** hosted.replicas of the inventory: one replica Job per ordinal */
  replicas?: number;
  /** the backup restored (default: the one made in beforeAll) */
  snapshot?: string;
  /** false: the identity Secret is not there (its volume is optional) */
  identity?: boolean;
  /** another identity in one replica pod's Secret */
  replicaIdentity?: (ordinal: number) => Buffer | undefined;
}

/** The coordinator Job's pod and every replica Job's pod, concurrently, as the Job controller would start them. */
async function restore(ID = 'r1', o: RestoreOptions = {}): Promise<RestoreRun> {
  const { replicas: count = 3, snapshot = base, identity = true } = o;
  const folder = `${CLUSTER}/restore-${ID}`;
  const objects = objectsOf(inventoryDocument([{ id: ID, snapshot: `etcd/${CLUSTER}/${snapshot}.db.zst.age`, confirm: snapshot }], count), folder);
  const jobs = objects.filter((o) => o.kind === 'Job');
  const coordinatorJob = jobs.find((j) => j.metadata.name === `${CLUSTER}-restore-${ID}`);
  const replicaJobs = Array.from({ length: count }, (_, i) => jobs.find((j) => j.metadata.name === `${CLUSTER}-restore-${ID}-${i}`));
  expect(jobs).toHaveLength(1 + count);
  expect(coordinatorJob).toBeDefined();
  const common = {
    netns, configMaps: configMapsOf(objects), namespace: NAMESPACE, timeoutMs: 60_000,
    secrets: { 's3-creds': S3_SECRET, ...(identity ? { [`${CLUSTER}-restore-${ID}-identity`]: { 'identity.txt': readFileSync(keys.identity) } } : {}) },
    serviceAccount: { token, caCert: readFileSync(pki.ca), namespace: NAMESPACE },
    kubernetesService: { host: API_IP, port: 443 },
  };
  const started = Date.now();
  const [coordinator, ...replicas] = await Promise.all([
    runPod({ ...common, podSpec: coordinatorJob.spec.template.spec, podName: `${coordinatorJob.metadata.name}-abcde` }),
    ...replicaJobs.map((job, i) => {
      const spec = job.spec.template.spec;
      // the PVC the manifest claims is the simulator's volume of this ordinal
      const claim = spec.volumes.find((v: any) => v.persistentVolumeClaim)?.persistentVolumeClaim.claimName;
      expect(claim).toBe(`data-${STS}-${i}`);
      const volumeName = spec.volumes.find((v: any) => v.persistentVolumeClaim).name;
      const own = o.replicaIdentity?.(i);
      const secrets = own ? { ...common.secrets, [`${CLUSTER}-restore-${ID}-identity`]: { 'identity.txt': own } } : common.secrets;
      return runPod({ ...common, secrets, podSpec: spec, podName: `${job.metadata.name}-abcde`, volumes: { [volumeName]: sim.pvcDir(i) } });
    }),
  ]);
  return { coordinator, replicas, objects, durationMs: Date.now() - started };
}

/** Every API request since `from` is allowed by a synthesized Role of its namespace (group, resource, name, verb). */
function expectWithinRole(objects: any[], from: number, ID = 'r1'): void {
  const roles = objects.filter((o) => o.kind === 'Role');
  for (const role of roles) {
    const binding = objects.find((o) => o.kind === 'RoleBinding' && o.metadata.name === role.metadata.name && o.metadata.namespace === role.metadata.namespace);
    expect(binding.roleRef.name).toBe(role.metadata.name);
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: `${CLUSTER}-restore-${ID}`, namespace: NAMESPACE }]);
  }
  for (const r of api.requests.slice(from)) {
    const path = r.path.split('?')[0];
    const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(path);
    expect(m, r.path).not.toBeNull();
    const [, group = '', ns, kind, name, sub] = m!;
    const resource = sub ? `${kind}/${sub}` : kind;
    const verb = r.method === 'PATCH' ? 'patch' : name ? 'get' : 'list';
    const allowed = roles.some((role) => role.metadata.namespace === ns && role.rules.some((rule: any) => rule.apiGroups.includes(group) && rule.resources.includes(resource) && rule.verbs.includes(verb)
      && (!rule.resourceNames || rule.resourceNames.includes(name))));
    expect(allowed, `${r.method} ${r.path} (${verb} ${group}/${resource} ${name ?? ''})`).toBe(true);
  }
}

/** A restore that stopped at Validating: the replicas saw Failed and left their volumes alone, nothing was scaled, the
 * only writes were the status ConfigMap's, and etcd still serves what it served before. */
async function expectStoppedAtValidating(run: RestoreRun, id: string, reason: string, from: number, scaleLog: number[], before: { count: number; sha256: string }): Promise<void> {
  const status = `${CLUSTER}-restore-${id}-status`;
  expect(api.phasesOf(status)).toEqual(['Validating', 'Failed']);
  for (const r of run.replicas) {
    expect(r.results[0].exitCode).toBe(10);
    expect(lastLine(r)).toMatchObject({ status: 'failed', exitCode: 10, message: `restore ${id} Failed (${reason}) before this replica acted: data untouched` });
  }
  for (let i = 0; i < 3; i++) expect(readdirSync(sim.dataDir(i))).not.toContain(`.controlplane-backup-restore-${id}.done`);
  expect(sim.scaleLog).toEqual(scaleLog);
  expect(api.deployments).toEqual(DEPLOYMENTS);
  expect(api.requests.slice(from).every((r) => r.method === 'GET' || r.path.endsWith(`/configmaps/${status}`))).toBe(true);
  expectWithinRole(run.objects, from, id);
  await waitHealthy();
  expect(await digest()).toEqual(before);
}

/** The coordinator's exit code, its result line, and the status ConfigMap of a Failed restore (the same message in both). */
function expectFailed(run: RestoreRun, id: string, exitCode: number, reason: string, message: string | RegExp): void {
  const status = api.configMaps[`${CLUSTER}-restore-${id}-status`];
  expect(run.coordinator.results[0].exitCode, stderrOf([run.coordinator])).toBe(exitCode);
  expect(status).toMatchObject({ phase: 'Failed', reason });
  if (typeof message === 'string') expect(status.message).toBe(message);
  else expect(status.message).toMatch(message);
  expect(lastLine(run.coordinator)).toEqual(expect.objectContaining({ status: 'failed', exitCode, role: 'coordinator', phase: 'Failed', reason, stage: reason, message: status.message }));
}

beforeAll(async () => {
  tmp = mkTemp('e2e-restore-hosted');
  netns = await startNetns(300);
  [s3, keys, pki] = await Promise.all([
    startS3({ netns, dir: tmp, buckets: ['backups'] }),
    ageKeypair(tmp),
    // the API server's certificate names the kubernetes Service's ClusterIP, as kube-apiserver's does
    makeSimPki(join(tmp, 'pki'), [`*.${STS}-hl.${NAMESPACE}.svc`, 'kubernetes.default.svc', 'kubernetes.default', 'kubernetes'], [API_IP]),
  ]);
  sim = new StatefulSetSim({ netns, dir: join(tmp, 'sts'), pki, name: STS, namespace: NAMESPACE, replicas: 3 });
  token = createHash('sha256').update(tmp).digest('hex');
  api = new FakeKubeApi({
    netns, dir: tmp, pki, sim, token, deployments: { ...DEPLOYMENTS }, listen: { host: API_IP, port: 443 }, metadata: owners,
    fault: (method, path) => injectFault?.(method, path),
    statefulSetSpec: stsSpec,
  });
  await api.start();
  sim.scale(3);
  await waitHealthy();
  for (let start = 0; start < KEYS; start += 500) {
    const puts: string[] = [];
    for (let i = start; i < Math.min(KEYS, start + 500); i++) puts.push(`put /registry/test/key-${String(i).padStart(6, '0')} ${valueFor(i, 300)}`);
    const r = await sim.ctl(['txn'], { input: `\n${puts.join('\n')}\n\n\n` });
    if (r.code !== 0 || !r.stdout.includes('SUCCESS')) throw new Error(`txn: ${r.stderr}`);
  }
  atBackup = await digest();
  base = await backUp();
  const later = await sim.ctl(['put', '/registry/test/written-after-backup', 'must be gone after the restore']);
  if (later.code !== 0) throw new Error(`put: ${later.stderr}`);
}, 90_000);

afterAll(async () => {
  await api?.stop();
  await sim?.stop();
  await s3?.stop();
  await netns?.stop();
  rmTemp(tmp);
  // The service-account mount point the runner created on the host stays: removing it while another test file's pod
  // has it mounted detaches it there (the kernel allows rmdir of a mount point in another namespace).
});

/**
 * The restore of `n` replicas end to end and its no-op re-run (two tests), from the backup `backup()` whose keyspace
 * digest is `expected()`, with "/registry/test/written-after-backup" written after it.
 */
function restoresEndToEnd(n: number, id: string, backup: () => string, expected: () => { count: number; sha256: string }): void {
  const status = `${CLUSTER}-restore-${id}-status`;
  const ordinals = Array.from({ length: n }, (_, i) => i);

  it(`walks every phase through kubernetes.default.svc, rebuilds ${n === 1 ? 'the' : 'each'} PVC, and leaves one healthy cluster of ${n} at the backup's data`, async () => {
    expect(await sim.ctl(['get', '/registry/test/written-after-backup', '--print-value-only']).then((r) => r.stdout.trim())).not.toBe('');
    const bundle = objectsOf(inventoryDocument([{ id, snapshot: `etcd/${CLUSTER}/${backup()}.db.zst.age`, confirm: backup() }], n), `${CLUSTER}/restore-${id}`);
    // the bundle's status ConfigMap as applied (no data), in the fake API
    api.configMaps[status] = { ...configMapsOf(bundle)[status] };
    expect(api.configMaps[status]).toEqual({});
    const from = api.requests.length;
    const scaledBefore = sim.scaleLog.length;

    const { coordinator, replicas, durationMs, objects } = await restore(id, { replicas: n, snapshot: backup() });
    const pods = [coordinator, ...replicas];
    for (const pod of pods) expect(pod.ok, stderrOf(pods)).toBe(true);
    // what ran is the manifest's: the agent on the pod's plan, the in-cluster API (no URL, token or CA in the env)
    expect(coordinator.results[0].argv).toEqual(['controlplane-backup', 'agent', 'restore-coordinator', '--plan', '/etc/controlplane-backup/restore/plan.json']);
    for (const r of replicas) expect(r.results[0].argv).toEqual(['controlplane-backup', 'agent', 'restore-replica', '--plan', '/etc/controlplane-backup/restore/plan.json']);
    for (const pod of pods) expect(Object.keys(pod.results[0].env).filter((k) => k.startsWith('KUBE')).sort()).toEqual(['KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT']);
    const plans = configMapsOf(objects)[`${CLUSTER}-restore-${id}-plan`];
    expect(ordinals.map((i) => JSON.parse(plans[`replica-${i}.json`]).dataDir)).toEqual(ordinals.map(() => '/var/lib/controlplane-backup/volume/default.etcd'));
    // every replica restores the same n members, its own by its peer name
    const members = ordinals.map((i) => ({ name: sim.memberName(i), peerUrl: sim.peerUrl(i) }));
    for (const i of ordinals) expect(JSON.parse(plans[`replica-${i}.json`])).toMatchObject({ member: members[i], members });
    // Pod Security restricted, every pod (issue 11 item 4)
    for (const job of objects.filter((o) => o.kind === 'Job')) {
      const spec = job.spec.template.spec;
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of spec.containers) expect(c.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    }

    expect(lastLine(coordinator)).toMatchObject({ status: 'ok', exitCode: 0, phase: 'Succeeded', role: 'coordinator', snapshot: backup(), replicas: n });
    for (const [i, r] of replicas.entries()) expect(lastLine(r)).toMatchObject({ status: 'ok', role: 'replica', ordinal: i, member: sim.memberName(i), snapshot: backup() });
    expect(api.phasesOf(status)).toEqual(PHASES);
    expect(api.configMaps[status]).toEqual({
      phase: 'Succeeded', reason: '', snapshot: backup(), 'original-statefulset-replicas': String(n),
      [`original-deployment-${CLUSTER}-apiserver`]: '2', [`original-deployment-${CLUSTER}-controller-manager`]: '1',
      ...Object.fromEntries(ordinals.map((i) => [`replica-${i}`, 'restored'])),
      message: `restored ${backup()} into ${n} etcd replica(s) of ${STS}; control plane scaled back (${CLUSTER}-apiserver (was 2), ${CLUSTER}-controller-manager (was 1)). Restart kubelets and clients that cache etcd revisions if the revision was not bumped.`,
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    // the replicas acted only after RestoringSnapshot was written
    const patches = api.patchesOf(status);
    const restoringAt = patches.findIndex((p) => p.phase === 'RestoringSnapshot');
    patches.forEach((p, k) => { if (Object.keys(p).some((key) => key.startsWith('replica-'))) expect(k).toBeGreaterThan(restoringAt); });
    // scaled down and back; every request with the pods' token, within the synthesized Role
    expect(sim.scaleLog.slice(scaledBefore)).toEqual([0, n]);
    expect(api.deployments).toEqual(DEPLOYMENTS);
    expect(api.requests.slice(from).every((r) => r.method === 'GET' || r.method === 'PATCH')).toBe(true);
    expectWithinRole(objects, from, id);

    // etcd: n healthy members, one leader, one cluster, the backup's keyspace, the later key gone
    await waitHealthy(n);
    const st = await sim.ctl(['endpoint', 'status', '-w', 'json']);
    expect(st.code, st.stderr).toBe(0);
    const statuses = JSON.parse(st.stdout) as { Status: { header: { member_id: string; cluster_id: string }; leader: string } }[];
    expect(statuses).toHaveLength(n);
    expect(new Set(statuses.map((s) => String(s.Status.leader))).size).toBe(1);
    expect(new Set(statuses.map((s) => String(s.Status.header.cluster_id))).size).toBe(1);
    expect(statuses.map((s) => String(s.Status.header.member_id))).toContain(String(statuses[0].Status.leader));
    const ml = await sim.ctl(['member', 'list', '-w', 'simple']);
    expect(ml.stdout.trim().split('\n').map((l) => l.split(', ')[2]).sort()).toEqual(ordinals.map((i) => sim.memberName(i)));
    expect(await digest()).toEqual(expected());
    expect((await sim.ctl(['get', '/registry/test/written-after-backup'])).stdout.trim()).toBe('');
    // each PVC: restored member/, previous data kept, marker; no staging left in the volume
    for (const i of ordinals) {
      expect(readdirSync(sim.dataDir(i)).sort()).toEqual([`.controlplane-backup-restore-${id}.done`, 'member', `member.before-restore-${id}`]);
      expect(readdirSync(sim.pvcDir(i)).filter((e) => e.includes('staging'))).toEqual([]);
    }
    console.log(`hosted restore of ${n} replica(s) from the synthesized Jobs: ${durationMs} ms`);
  }, 120_000);

  it(`is a no-op when all ${n + 1} pods run again (phase Succeeded, the marker in each PVC)`, async () => {
    const scaleLog = [...sim.scaleLog];
    const before = await digest();
    const patchesBefore = api.patchesOf(status).length;
    const { coordinator, replicas } = await restore(id, { replicas: n, snapshot: backup() });
    const pods = [coordinator, ...replicas];
    for (const pod of pods) expect(pod.ok, stderrOf(pods)).toBe(true);
    expect(lastLine(coordinator)).toMatchObject({ status: 'skipped', phase: 'Succeeded', snapshot: backup() });
    for (const r of replicas) expect(lastLine(r).status).toBe('skipped');
    expect(sim.scaleLog).toEqual(scaleLog);
    expect(api.deployments).toEqual(DEPLOYMENTS);
    expect(api.configMaps[status].phase).toBe('Succeeded');
    // only the replicas' idempotent "restored" reports
    for (const p of api.patchesOf(status).slice(patchesBefore)) {
      expect(Object.entries(p).filter(([k]) => k !== 'updatedAt').every(([k, v]) => k.startsWith('replica-') && v === 'restored')).toBe(true);
    }
    await waitHealthy(n);
    expect(await digest()).toEqual(before);
    for (const i of ordinals) expect(readdirSync(sim.dataDir(i))).not.toContain(`member.before-restore-${id}.1`);
  }, 120_000);
}

describe('hosted restore of 3 replicas from the synthesized Jobs', () => {
  restoresEndToEnd(3, ID, () => base, () => atBackup);

  it('stops at Validating with OwnerWouldRevert when a controller owns the StatefulSet: nothing scaled, no data touched', async () => {
    const id = 'r2';
    const status2 = `${CLUSTER}-restore-${id}-status`;
    api.configMaps[status2] = {};
    owners[STS] = { ownerReferences: [{ apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'TenantControlPlane', name: CLUSTER, uid: 'u-1', controller: true }] };
    owners[`${CLUSTER}-apiserver`] = { labels: { 'kustomize.toolkit.fluxcd.io/name': 'tenants', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' } };
    const scaleLog = [...sim.scaleLog];
    const before = await digest();
    const from = api.requests.length;
    try {
      const run = await restore(id);
      expectFailed(run, id, 10, 'OwnerWouldRevert', / It would scale back what the restore holds at 0 \(and could start etcd on half-restored data\)\. Nothing was changed: pause it, then start a new restore with a new id\. /);
      // the exact inventory entries that let the next restore pause and resume them
      expect(api.configMaps[status2].message).toMatch(new RegExp(`Or let the restore pause and resume them: add \\{kind: TenantControlPlane, name: ${CLUSTER}, namespace: ${NAMESPACE}\\} `
        + `and \\{kind: Kustomization, name: tenants, namespace: flux-system\\} to clusters\\.${CLUSTER}\\.hosted\\.owners in the inventory, synthesize, and apply the restore folder with a new id\\.$`));
      expect(api.configMaps[status2].message).toContain(`statefulset ${NAMESPACE}/${STS} is managed by Kamaji TenantControlPlane ${CLUSTER}`);
      expect(api.configMaps[status2].message).toContain(`deployment ${NAMESPACE}/${CLUSTER}-apiserver is managed by Flux Kustomization flux-system/tenants: flux suspend kustomization tenants -n flux-system`);
      await expectStoppedAtValidating(run, id, 'OwnerWouldRevert', from, scaleLog, before);
    } finally {
      delete owners[STS];
      delete owners[`${CLUSTER}-apiserver`];
    }
  }, 120_000);

  describe('a control plane deployed by a Flux HelmRelease that scales back what is not at its replicas while it is not suspended', () => {
    let operator: NodeJS.Timeout | undefined;
    /** what the HelmRelease's controller scaled back */
    const reverted: string[] = [];
    const helmRelease = () => api.customObjects[RELEASE_PATH];
    beforeAll(() => {
      api.customObjects[RELEASE_PATH] = { apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: CLUSTER, namespace: 'flux-system' }, spec: { interval: '1m', suspend: false } };
      owners[STS] = { labels: FLUX_LABELS };
      owners[`${CLUSTER}-apiserver`] = { labels: FLUX_LABELS };
      hostedOwners = [{ kind: 'HelmRelease', name: CLUSTER }];
      operator = setInterval(() => {
        if (helmRelease().spec.suspend === true) return;
        if (sim.replicas !== 3) { reverted.push(`${STS}=3`); sim.scale(3); }
        for (const [name, n] of Object.entries(DEPLOYMENTS)) if (api.deployments[name] !== n) { reverted.push(`${name}=${n}`); api.deployments[name] = n; }
      }, 100);
    });
    afterAll(() => {
      clearInterval(operator);
      delete owners[STS];
      delete owners[`${CLUSTER}-apiserver`];
      hostedOwners = [];
      injectFault = undefined;
    });

    it('suspends the HelmRelease named in hosted.owners before the scale-down and puts back spec.suspend: false after: nothing reverted', async () => {
      const id = 'o1';
      const status = `${CLUSTER}-restore-${id}-status`;
      api.configMaps[status] = {};
      const from = api.requests.length;
      const scaledBefore = sim.scaleLog.length;
      const run = await restore(id);
      const pods = [run.coordinator, ...run.replicas];
      for (const pod of pods) expect(pod.ok, stderrOf(pods)).toBe(true);
      expect(lastLine(run.coordinator)).toMatchObject({ status: 'ok', phase: 'Succeeded' });
      expect(reverted).toEqual([]);
      expect(sim.scaleLog.slice(scaledBefore)).toEqual([0, 3]);
      expect(helmRelease().spec).toEqual({ interval: '1m', suspend: false });
      const releasePatches = api.requests.slice(from).filter((r) => r.method === 'PATCH' && r.path === RELEASE_PATH).map((r) => r.body);
      expect(releasePatches).toEqual([{ spec: { suspend: true } }, { spec: { suspend: false } }]);
      // recorded before the pause, then resumed
      const key = `owner-helmrelease.flux-system.${CLUSTER}`;
      const recordedAt = api.requests.findIndex((r, k) => k >= from && r.method === 'PATCH' && r.body?.data?.[key]?.includes('"paused"'));
      const pausedAt = api.requests.findIndex((r, k) => k >= from && r.method === 'PATCH' && r.path === RELEASE_PATH);
      expect(recordedAt).toBeGreaterThan(-1);
      expect(pausedAt).toBeGreaterThan(recordedAt);
      expect(JSON.parse(api.configMaps[status][key])).toEqual({ ref: { kind: 'HelmRelease', namespace: 'flux-system', name: CLUSTER }, original: false, state: 'resumed' });
      expect(api.configMaps[status].message).toContain(`Resumed: Flux HelmRelease flux-system/${CLUSTER}.`);
      expectWithinRole(run.objects, from, id);
      await waitHealthy();
      expect(await digest()).toEqual(atBackup);
    }, 120_000);

    it('resumes the HelmRelease when the restore fails after the pause (the API refuses to scale a Deployment): scaled back, data untouched', async () => {
      const id = 'o2';
      const status = `${CLUSTER}-restore-${id}-status`;
      api.configMaps[status] = {};
      const before = await digest();
      const scaledBefore = sim.scaleLog.length;
      injectFault = (method, path) => (method === 'PATCH' && path.endsWith(`/deployments/${CLUSTER}-controller-manager/scale`) ? 403 : undefined);
      try {
        const run = await restore(id);
        expectFailed(run, id, 9, 'ApiError', new RegExp(`^PATCH deployment ${NAMESPACE}/${CLUSTER}-controller-manager scale: HTTP 403: injected fault 403 \\(the restore Role does not allow this\\); Deployments scaled back: .*; etcd untouched\\. Resumed: Flux HelmRelease flux-system/${CLUSTER}\\.$`));
      } finally {
        injectFault = undefined;
      }
      expect(helmRelease().spec).toEqual({ interval: '1m', suspend: false });
      expect(sim.scaleLog.slice(scaledBefore)).toEqual([]);
      expect(api.deployments).toEqual(DEPLOYMENTS);
      await waitHealthy();
      expect(await digest()).toEqual(before);
    }, 120_000);
  });

  it('stops at Validating with PreRestoreCheckFailed when the StatefulSet runs an older etcd minor and its PVCs are too small: nothing scaled, no data touched', async () => {
    const id = 'c1';
    const status = `${CLUSTER}-restore-${id}-status`;
    api.configMaps[status] = {};
    const scaleLog = [...sim.scaleLog];
    const before = await digest();
    const from = api.requests.length;
    stsSpec.template.spec.containers[0].image = 'registry.k8s.io/etcd:3.4.13-0';
    stsSpec.volumeClaimTemplates[0].spec.resources.requests.storage = '64Ki';
    try {
      const run = await restore(id);
      expectFailed(run, id, 10, 'PreRestoreCheckFailed', new RegExp(`^etcd-version: the snapshot was taken by etcd 3\\.5\\.\\d+, StatefulSet ${NAMESPACE}/${STS} runs etcd 3\\.4\\.13 \\(image registry\\.k8s\\.io/etcd:3\\.4\\.13-0\\): `
        + `upgrade the StatefulSet's etcd to 3\\.5 or newer first, or restore a backup taken by etcd 3\\.4\\.13; `
        + `free-space: each PVC of volumeClaimTemplate data of StatefulSet ${NAMESPACE}/${STS} \\(storage request 64Ki\\) holds 0\\.1 MiB, the restore needs at least twice the snapshot \\(2 x [0-9.]+ MiB = [0-9.]+ MiB\\) `
        + `for the restored copy beside the data: grow the PVCs \\(a storage class with allowVolumeExpansion\\) before restoring\\. Nothing was changed\\.$`));
      await expectStoppedAtValidating(run, id, 'PreRestoreCheckFailed', from, scaleLog, before);
    } finally {
      stsSpec.template.spec.containers[0].image = 'registry.k8s.io/etcd:3.5.16-0';
      stsSpec.volumeClaimTemplates[0].spec.resources.requests.storage = '1Gi';
    }
  }, 120_000);

  it('stops at Validating with SnapshotInvalid when the backup object is corrupt (exit 2): nothing scaled, no data touched', async () => {
    const id = 'r3';
    api.configMaps[`${CLUSTER}-restore-${id}-status`] = {};
    const key = `etcd/${CLUSTER}/${base}.db.zst.age`;
    const original = await s3.get('backups', key);
    const corrupt = Buffer.from(original);
    corrupt[corrupt.length - 100] ^= 0xff;
    const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const scaleLog = [...sim.scaleLog];
    const before = await digest();
    const from = api.requests.length;
    await s3.put('backups', key, corrupt);
    try {
      const run = await restore(id);
      expectFailed(run, id, 2, 'SnapshotInvalid',
        `backup not usable, nothing was changed: checksum mismatch: ${base}.db.zst.age (sidecar ${sha256(original)}, downloaded ${sha256(corrupt)}): the object is corrupt`);
      await expectStoppedAtValidating(run, id, 'SnapshotInvalid', from, scaleLog, before);
    } finally {
      await s3.put('backups', key, original);
    }
  }, 120_000);

  it('stops at Validating with DecryptionKeyError when the identity Secret is missing (exit 3): nothing scaled, no data touched', async () => {
    const id = 'r4';
    api.configMaps[`${CLUSTER}-restore-${id}-status`] = {};
    const scaleLog = [...sim.scaleLog];
    const before = await digest();
    const from = api.requests.length;
    // the Secret's volume is optional: the pods start without it
    const run = await restore(id, { identity: false });
    expectFailed(run, id, 3, 'DecryptionKeyError',
      'backup not usable, nothing was changed: decryption key missing: create the Secret mounted at /var/run/controlplane-backup/restore-identity/identity.txt with the age identity (AGE-SECRET-KEY-...) whose recipient the backups are encrypted to');
    await expectStoppedAtValidating(run, id, 'DecryptionKeyError', from, scaleLog, before);
  }, 120_000);

  it('stops at Validating with ReplicaCountMismatch when the StatefulSet has another replica count; a Failed restore is never resumed', async () => {
    const id = 'r5';
    const status5 = `${CLUSTER}-restore-${id}-status`;
    api.configMaps[status5] = {};
    const scaleLog = [...sim.scaleLog];
    const before = await digest();
    const from = api.requests.length;
    // the inventory says 2, the StatefulSet has 3: 2 replica Jobs
    const run = await restore(id, { replicas: 2 });
    const message = `StatefulSet ${NAMESPACE}/${STS} has 3 replicas, the inventory expects 2: the backup is restored into exactly the inventory's members; fix the inventory (hosted.replicas) or the StatefulSet, then start a new restore. Nothing was changed.`;
    expectFailed(run, id, 10, 'ReplicaCountMismatch', message);
    await expectStoppedAtValidating(run, id, 'ReplicaCountMismatch', from, scaleLog, before);

    const again = api.requests.length;
    const rerun = await restore(id, { replicas: 2 });
    expect(rerun.coordinator.results[0].exitCode).toBe(10);
    expect(lastLine(rerun.coordinator)).toMatchObject({
      status: 'failed', exitCode: 10, phase: 'Failed', reason: 'ReplicaCountMismatch', stage: 'status',
      message: `restore ${id} already Failed (ReplicaCountMismatch): ${message} -- a Failed restore is never resumed; start a new restore with a new id`,
    });
    for (const r of rerun.replicas) expect(lastLine(r)).toMatchObject({ status: 'failed', exitCode: 10 });
    expect(api.requests.slice(again).every((r) => r.method === 'GET')).toBe(true);
    expect(api.configMaps[status5]).toMatchObject({ phase: 'Failed', reason: 'ReplicaCountMismatch', message });
    expect(sim.scaleLog).toEqual(scaleLog);
  }, 120_000);

  // last of this block: etcd stays at 0
  it('fails with RestoreJobFailed when a replica fails, and leaves etcd at 0 replicas: never started on half-restored data', async () => {
    const id = 'r6';
    const status6 = `${CLUSTER}-restore-${id}-status`;
    api.configMaps[status6] = {};
    // replica 1's pod mounts another age identity (as if the Secret was replaced while the Jobs started): it fails
    // after RestoringSnapshot, while replicas 0 and 2 restore
    mkdirSync(join(tmp, 'other-key'), { recursive: true });
    const other = await ageKeypair(join(tmp, 'other-key'));
    const scaledBefore = sim.scaleLog.length;
    const from = api.requests.length;
    const run = await restore(id, { replicaIdentity: (i) => (i === 1 ? readFileSync(other.identity) : undefined) });
    const { coordinator, replicas } = run;
    const st = api.configMaps[status6];

    expect(api.phasesOf(status6)).toEqual(['Validating', 'DrainingControlPlane', 'StoppingEtcd', 'RestoringSnapshot', 'Failed']);
    expect(st['replica-1']).toMatch(new RegExp(`^failed: ${base}\\.db\\.zst\\.age could not be decrypted with the given identity \\(age.+\\): is its recipient in encryption\\.recipients\\?$`, 's'));
    expect(replicas[1].results[0].exitCode).toBe(3);
    expect(lastLine(replicas[1])).toMatchObject({ status: 'failed', exitCode: 3, stage: 'fetch', ordinal: 1, message: st['replica-1'].slice('failed: '.length) });
    for (const i of [0, 2]) {
      expect(replicas[i].ok, stderrOf(replicas)).toBe(true);
      expect(lastLine(replicas[i])).toMatchObject({ status: 'ok', ordinal: i, snapshot: base });
      expect(st[`replica-${i}`]).toBe('restored');
      expect(readdirSync(sim.dataDir(i))).toContain(`.controlplane-backup-restore-${id}.done`);
    }
    // replica 1's data untouched
    expect(readdirSync(sim.dataDir(1)).filter((e) => e.includes(id))).toEqual([]);
    expect(readdirSync(sim.pvcDir(1)).filter((e) => e.includes('staging'))).toEqual([]);

    // the coordinator fails as soon as it sees the failure; 0 and 2 may not have reported yet
    const m = /^replica-1: (failed: .*); restored:((?: [02])+| none); not finished:((?: [02])+| none)\. (.*)$/s.exec(st.message);
    expect(m, st.message).not.toBeNull();
    expect(m![1]).toBe(st['replica-1']);
    expect([...m![2].trim().split(' '), ...m![3].trim().split(' ')].filter((x) => x !== 'none').sort()).toEqual(['0', '2']);
    expect(m![4]).toBe(`etcd StatefulSet ${STS} left at 0 replicas (was 3) and control-plane Deployments left at 0 (${CLUSTER}-apiserver (was 2), ${CLUSTER}-controller-manager (was 1)) so that etcd never starts on half-restored data. Replicas that restored keep their previous data as member.before-restore-${id} in the data dir. Fix the cause (replica Job logs) and start a new restore, or roll back by hand: move member.before-restore-${id} back to member in every volume, then scale the StatefulSet and the Deployments back.`);
    expectFailed(run, id, 10, 'RestoreJobFailed', st.message);
    expect(lastLine(coordinator).snapshot).toBe(base);
    expect(st['original-statefulset-replicas']).toBe('3');

    // etcd never started again: scaled to 0 once, no scale-up, no pod; the control plane left at 0
    expect(sim.scaleLog.slice(scaledBefore)).toEqual([0]);
    expect(sim.replicas).toBe(0);
    expect(sim.pods()).toEqual([]);
    expect(api.deployments).toEqual({ [`${CLUSTER}-apiserver`]: 0, [`${CLUSTER}-controller-manager`]: 0 });
    expect(api.requests.slice(from).filter((r) => r.method === 'PATCH' && r.path.endsWith('/scale')).map((r) => r.body?.spec?.replicas)).toEqual([0, 0, 0]);
    expectWithinRole(run.objects, from, id);
  }, 120_000);
});

describe('hosted restore of 1 replica from the synthesized Jobs', () => {
  let base1: string;
  let atBackup1: { count: number; sha256: string };

  // a fresh single-member cluster on ordinal 0's volume (the 3-member one stopped, its volumes gone), backed up by the
  // synthesized CronJob of an inventory with replicas: 1
  beforeAll(async () => {
    sim.scale(0);
    await waitFor('no etcd pod', async () => sim.pods().length === 0, 30_000, 200);
    for (let i = 0; i < 3; i++) rmSync(sim.pvcDir(i), { recursive: true, force: true });
    Object.assign(api.deployments, DEPLOYMENTS);
    sim.scale(1);
    await waitHealthy(1);
    const puts = Array.from({ length: 300 }, (_, i) => `put /registry/test/one-${String(i).padStart(4, '0')} ${valueFor(i, 300)}`);
    const r = await sim.ctl(['txn'], { input: `\n${puts.join('\n')}\n\n\n` });
    if (r.code !== 0 || !r.stdout.includes('SUCCESS')) throw new Error(`txn: ${r.stderr}`);
    atBackup1 = await digest();
    base1 = await backUp(1);
    const later = await sim.ctl(['put', '/registry/test/written-after-backup', 'must be gone after the restore']);
    if (later.code !== 0) throw new Error(`put: ${later.stderr}`);
  }, 90_000);

  restoresEndToEnd(1, 'r7', () => base1, () => atBackup1);
});
