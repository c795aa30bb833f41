// Issue 11 item 1: the kubeadm restore when the API server is down, the main reason to restore a kubeadm cluster.
// There is no API server anywhere in this test: quorum is lost (two of three members' data broken), and an operator
// does what RUNBOOK.md says on each node: the age identity and the storage's credentials into
// /etc/kubernetes/restore-<id>/ (mode 0600), then the member's static pod from `static-pods/` into the kubelet's
// folder. A fake kubelet per node (test/support/static-kubelet.ts) runs those pods through the pod runner, inside
// the tools image as root with a read-only root, against TLS etcd members run by the etcd kubelets and s3rver in a
// private netns.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Digest } from '../support/etcd-cluster';
import { backUpWithCronJob, filesIn, kubeadmInventory, placeStaticPodFiles, startKubeadmWorld, type KubeadmWorld } from '../support/kubeadm-world';
import { mkTemp, waitFor } from '../support/proc';
import { startStaticKubelet, type StaticKubelet, type StaticPodRun } from '../support/static-kubelet';

const NAME = 'prod-static';
const OWN_MANIFEST = 'controlplane-backup-restore-r1.yaml';

let world: KubeadmWorld;
let kubelets: StaticKubelet[];
let atBackup: Digest;
let base: string;
let bundle: string;

const resultLine = (run: StaticPodRun) => JSON.parse(run.result!.results[0].stdout.trim().split('\n').pop()!);
const logOf = (run: StaticPodRun) => `${run.error ?? ''}${run.result?.results.map((r) => r.stderr.slice(-3000)).join('\n') ?? ''}`;

/** The restore folder as synthesized, written where the operator has it (their checkout of dist/). */
function writeBundle(request: object, id: string): string {
  const dir = mkTemp(`bundle-${id}`);
  for (const [path, text] of filesIn(kubeadmInventory(world, NAME, [request]), `${NAME}/restore-${id}`)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** RUNBOOK step "place the files" on every node. */
const placeFiles = (id: string) => placeStaticPodFiles(world.cluster.nodes, world.keys.identity, id);

/** RUNBOOK step "start": the member's manifest into the kubelet's folder (written aside and renamed, as `install` does). */
function startOn(node: KubeadmWorld['cluster']['nodes'][number], dir: string, file = OWN_MANIFEST): void {
  copyFileSync(join(dir, 'static-pods', `${node.name}.yaml`), join(node.manifestsDir, `.${file}.tmp`));
  renameSync(join(node.manifestsDir, `.${file}.tmp`), join(node.manifestsDir, file));
}

describe('kubeadm restore of 3 members through static pods, with no API server', () => {
  beforeAll(async () => {
    world = await startKubeadmWorld('e2e-static', 3);
    await world.cluster.loadKeys({ count: 2000, valueBytes: 300 });
    atBackup = await world.cluster.digest(world.cluster.nodes[0]);
    base = await backUpWithCronJob(world, NAME);
    await world.cluster.put('/after-the-backup', 'must be gone after the restore');
    kubelets = world.cluster.nodes.map((node) => startStaticKubelet({ nodeName: node.name, root: node.root, manifestsDir: node.manifestsDir, netns: world.netns }));
    bundle = writeBundle({ id: 'r1', snapshot: `etcd/${NAME}/${base}.db.zst.age`, confirm: base }, 'r1');
  }, 180_000);

  afterAll(async () => {
    await Promise.all((kubelets ?? []).map((k) => k.stop()));
    await world?.stop();
  });

  it('stops a pod whose manifest is removed while it waits for the other members, and leaves the node as it was', async () => {
    const other = writeBundle({ id: 'r0', snapshot: `etcd/${NAME}/${base}.db.zst.age`, confirm: base }, 'r0');
    placeFiles('r0');
    const node = world.cluster.nodes[0];
    const before = await world.cluster.digest(node);
    startOn(node, other, 'controlplane-backup-restore-r0.yaml');
    // it staged the backup and waits at the barrier for node-2 and node-3, which never come
    await waitFor('node-1 at the barrier', async () => existsSync(join(world.s3.dir, 'backups', `etcd/${NAME}/restores/r0/node-1.staged._S3rver_object`)), 90_000, 200);
    renameSync(join(node.manifestsDir, 'controlplane-backup-restore-r0.yaml'), join(node.root, 'removed.yaml'));
    const run = await kubelets[0].ended('controlplane-backup-restore-r0.yaml', 30_000);
    expect(run.stoppedByRemoval).toBe(true);
    expect(resultLine(run)).toMatchObject({ status: 'failed', stage: 'barrier', message: 'terminated by SIGTERM' });
    expect(JSON.parse(readFileSync(join(node.dataDir, '.controlplane-backup-restore-r0.result.json'), 'utf8'))).toMatchObject({ status: 'failed', stage: 'barrier' });
    expect(readdirSync(node.dataDir).sort()).toEqual(['.controlplane-backup-restore-r0.result.json', 'member']);
    expect(readdirSync(node.manifestsDir)).toEqual(['etcd.yaml']);
    await world.cluster.waitHealthy(30_000);
    expect(await world.cluster.digest(node)).toEqual(before);
  }, 180_000);

  it('restores every member after quorum is lost: same data everywhere, later writes gone, one leader, each manifest removed', async () => {
    // the disaster: two members' data broken; their etcd crash-loops and the third has no quorum
    for (const node of world.cluster.nodes.slice(1)) {
      writeFileSync(join(node.dataDir, 'member/snap/db.broken'), 'not a bbolt database');
      renameSync(join(node.dataDir, 'member/snap/db.broken'), join(node.dataDir, 'member/snap/db'));
      process.kill(node.pid()!, 'SIGKILL');
    }
    await waitFor('quorum lost', async () => !(await world.cluster.health())[0], 30_000, 500);

    placeFiles('r1');
    const started = Date.now();
    for (const node of world.cluster.nodes) startOn(node, bundle);
    const runs = await Promise.all(kubelets.map((k) => k.ended(OWN_MANIFEST, 300_000)));
    console.log(`kubeadm restore of 3 members through static pods: ${Date.now() - started} ms`);
    for (const run of runs) expect(run.error, logOf(run)).toBeUndefined();
    for (const run of runs) expect(resultLine(run), logOf(run)).toMatchObject({ status: 'ok', snapshot: base, revisionBumped: true });
    // each pod removed its own manifest once its result was recorded, so the kubelet will not run it again
    for (const [i, node] of world.cluster.nodes.entries()) {
      expect(readdirSync(node.manifestsDir)).toEqual(['etcd.yaml']);
      expect(logOf(runs[i])).toContain(`removed this pod's manifest /etc/kubernetes/manifests/${OWN_MANIFEST}`);
      expect(resultLine(runs[i])).toMatchObject(JSON.parse(readFileSync(join(node.dataDir, '.controlplane-backup-restore-r1.result.json'), 'utf8')));
      expect(JSON.parse(readFileSync(join(world.s3.dir, 'backups', `etcd/${NAME}/restores/r1/${node.name}.result.json._S3rver_object`), 'utf8')).status).toBe('ok');
    }
    await world.cluster.waitHealthy(60_000);
    expect(await world.cluster.leaderCount()).toBe(1);
    for (const digest of await world.cluster.digests()) expect(digest).toEqual(atBackup);
    expect((await world.cluster.nodes[0].ctl(['get', '/after-the-backup', '--print-value-only'])).stdout.trim()).toBe('');
    const revisions = (await world.cluster.statuses()).map((s) => s.revision);
    expect(Math.min(...revisions)).toBeGreaterThan(1_000_000_000);
  }, 420_000);

  it('is a no-op when the manifests are copied again (the marker on each node), and removes them again', async () => {
    const before = await world.cluster.digests();
    for (const node of world.cluster.nodes) startOn(node, bundle);
    const runs = await Promise.all(kubelets.map(async (k) => {
      const second = await waitFor('the second run of the manifest', async () => k.runs.filter((r) => r.file === OWN_MANIFEST)[1], 30_000, 100);
      await second.done;
      return second;
    }));
    for (const run of runs) expect(resultLine(run), logOf(run)).toMatchObject({ status: 'skipped' });
    for (const node of world.cluster.nodes) expect(readdirSync(node.manifestsDir)).toEqual(['etcd.yaml']);
    expect(await world.cluster.digests()).toEqual(before);
  }, 180_000);
});
