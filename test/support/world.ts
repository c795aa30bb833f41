// The common world of the backup tests: a private netns with a kubeadm-like PKI, a TLS etcd loaded with keys,
// s3rver with a `backups` bucket and an age key pair; stopped by PID in one call.
import { join } from 'node:path';
import { ageKeypair } from './agent';
import { loadKeys, startEtcd, type EtcdServer } from './etcd';
import { startNetns, type NetNs } from './netns';
import { makePki, type Pki } from './pki';
import { mkTemp, rmTemp } from './proc';
import { startS3, type S3Server } from './s3';

export interface EtcdWorld {
  readonly tmp: string;
  readonly netns: NetNs;
  readonly pki: Pki;
  readonly keys: { identity: string; recipients: string };
  readonly etcd: EtcdServer;
  readonly s3: S3Server;
  stop(): Promise<void>;
}

export async function startEtcdWorld(name: string, o: { keys: number; valueBytes?: number; netnsSeconds?: number }): Promise<EtcdWorld> {
  const tmp = mkTemp(name);
  const netns = await startNetns(o.netnsSeconds ?? 300);
  const [pki, keys] = await Promise.all([makePki(tmp), ageKeypair(tmp)]);
  const [etcd, s3] = await Promise.all([
    startEtcd({ netns, pki, dir: join(tmp, 'etcd') }),
    startS3({ netns, dir: tmp, buckets: ['backups'] }),
  ]);
  await loadKeys(etcd, { count: o.keys, valueBytes: o.valueBytes ?? 300 });
  return {
    tmp, netns, pki, keys, etcd, s3,
    async stop() {
      await etcd.stop();
      await s3.stop();
      await netns.stop();
      rmTemp(tmp);
    },
  };
}
