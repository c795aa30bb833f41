// The world of the kubeadm restore tests: TLS etcd members on 127.0.0.x run by fake kubelets (etcd-cluster.ts),
// s3rver and an age key pair in a private netns; the inventory that names them, the objects synthesis writes for it,
// and a backup made by the synthesized backup CronJob's pod.
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { renderInventory } from '../../lib/synth/render';
import { inventoryOf } from './inventory';
import { ageKeypair } from './agent';
import { startEtcdCluster, type EtcdCluster } from './etcd-cluster';
import { startNetns, type NetNs } from './netns';
import { runPod } from './pod-runner';
import { mkTemp, rmTemp } from './proc';
import { startS3, type S3Server } from './s3';

/* eslint-disable @typescript-eslint/no-explicit-any */

/** s3rver's fixed credentials, as the Secret `s3-creds` of the inventory holds them */
export const S3_SECRET = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

export interface KubeadmWorld {
  readonly tmp: string;
  readonly netns: NetNs;
  readonly s3: S3Server;
  readonly cluster: EtcdCluster;
  readonly keys: { identity: string; recipients: string };
  stop(): Promise<void>;
}

export async function startKubeadmWorld(name: string, size: 1 | 3): Promise<KubeadmWorld> {
  const tmp = mkTemp(name);
  const netns = await startNetns(600);
  const keys = await ageKeypair(tmp);
  const [s3, cluster] = await Promise.all([
    startS3({ netns, dir: tmp, buckets: ['backups'] }),
    startEtcdCluster({ netns, root: join(tmp, 'nodes'), size }),
  ]);
  return {
    tmp, netns, s3, cluster, keys,
    async stop() {
      await cluster.stop();
      await s3.stop();
      await netns.stop();
      rmTemp(tmp);
    },
  };
}

/** The inventory of the world's cluster `name`, with restore requests. */
export function kubeadmInventory(world: KubeadmWorld, name: string, restores: object[] = []): Record<string, any> {
  const recipient = readFileSync(world.keys.recipients, 'utf8').split('\n').find((line) => line.startsWith('age1'))!;
  return {
    apiVersion: 'controlplane-backup.io/v1',
    kind: 'Inventory',
    storages: { s3main: { s3: { endpoint: world.s3.endpoint, bucket: 'backups', prefix: 'etcd', pathStyle: true, insecure: true }, credentials: { existingSecret: { name: 's3-creds' } } } },
    defaults: { backup: { storages: ['s3main'], encryption: { recipients: [recipient] }, minSnapshotSize: '64Ki', snapshotTimeoutSeconds: 20 } },
    clusters: { [name]: { kubeadm: { members: world.cluster.nodes.map((node) => ({ name: node.name, ip: node.ip })) }, restores } },
  };
}

/** The files synthesis writes for the inventory, under `folder/` (path relative to it -> text). */
export function filesIn(document: Record<string, any>, folder: string): Map<string, string> {
  return new Map([...renderInventory(inventoryOf(document))].filter(([path]) => path.startsWith(`${folder}/`)).map(([path, text]) => [path.slice(folder.length + 1), text]));
}

/** The objects kustomize applies from `folder` (its own YAML files, static pods and kustomization.yaml aside). */
export function objectsOf(document: Record<string, any>, folder: string): any[] {
  return [...filesIn(document, folder)].filter(([path]) => path.endsWith('.yaml') && !path.includes('/') && path !== 'kustomization.yaml').map(([, text]) => parse(text));
}

export const configMapsOf = (objects: any[]) => Object.fromEntries(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o.data ?? {}]));

/** The synthesized backup CronJob's pod on the first member's node; the backup's name. */
export async function backUpWithCronJob(world: KubeadmWorld, name: string): Promise<string> {
  const objects = objectsOf(kubeadmInventory(world, name), name);
  const cronJob = objects.find((o) => o.kind === 'CronJob');
  const pod = await runPod({
    podSpec: cronJob.spec.jobTemplate.spec.template.spec, netns: world.netns, configMaps: configMapsOf(objects), nodeName: world.cluster.nodes[0].name,
    secrets: { 's3-creds': S3_SECRET }, volumes: { pki: world.cluster.nodes[0].pkiDir }, timeoutMs: 120_000,
  });
  if (!pod.ok) throw new Error(`backup pod failed: ${pod.results.map((r) => `${r.name}: ${r.exitCode} ${r.stderr.slice(-1500)}`).join('\n')}`);
  return JSON.parse(pod.results.find((r) => r.name === 'upload')!.stdout.trim().split('\n').pop()!).base;
}

/**
 * RUNBOOK step "place the files" of the static-pod restore `id`: the age identity and the storage credentials (s3rver's,
 * as storage.env), mode 0600, in each node's restore folder (`/etc/kubernetes/restore-<id>` under the node's root).
 */
export function placeStaticPodFiles(nodes: readonly { readonly root: string }[], identity: string, id: string): void {
  for (const node of nodes) {
    const dir = join(node.root, `etc/kubernetes/restore-${id}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    copyFileSync(identity, join(dir, 'identity.txt'));
    chmodSync(join(dir, 'identity.txt'), 0o600);
    writeFileSync(join(dir, 'storage.env'), `CPB_S3MAIN_ACCESS_KEY_ID=${S3_SECRET.AWS_ACCESS_KEY_ID}\nCPB_S3MAIN_SECRET_ACCESS_KEY=${S3_SECRET.AWS_SECRET_ACCESS_KEY}\n`, { mode: 0o600 });
  }
}
