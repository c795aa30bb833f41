// A kubelet's static pods for tests, with no API server anywhere: it watches a node's manifests folder (the node's
// root stands for "/", as in etcd-cluster.ts) and runs every Pod manifest in it through the pod runner, once
// (restartPolicy Never), with hostPath volumes mapped into the node's root (DirectoryOrCreate creates the folder,
// Directory must exist). A manifest that disappears stops its pod (SIGTERM, SIGKILL after the grace period);
// a manifest copied in again runs again. etcd.yaml (run by etcd-cluster.ts's kubelet) and dot files are ignored.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { NetNs } from './netns';
import { runPod, type PodRunResult } from './pod-runner';
import { sleep } from './proc';

export interface StaticPodRun {
  readonly file: string;
  /** `<metadata.name>-<node>`, as the kubelet names a static pod */
  readonly podName: string;
  readonly started: number;
  /** set when the pod has ended */
  result?: PodRunResult;
  /** the manifest was removed while the pod ran (the kubelet stopped it) */
  stoppedByRemoval?: boolean;
  /** the kubelet could not start it (a hostPath of type Directory missing, a bad manifest) */
  error?: string;
  readonly done: Promise<void>;
}

export interface StaticKubelet {
  /** every pod this kubelet started, in order */
  readonly runs: StaticPodRun[];
  /** waits until a pod of this manifest file name has ended */
  ended(file: string, timeoutMs: number): Promise<StaticPodRun>;
  stop(): Promise<void>;
}

export interface StaticKubeletOptions {
  readonly nodeName: string;
  /** the node's "/" */
  readonly root: string;
  readonly manifestsDir: string;
  readonly netns: NetNs;
  readonly pollMs?: number;
}

export function startStaticKubelet(o: StaticKubeletOptions): StaticKubelet {
  const runs: StaticPodRun[] = [];
  const active = new Map<string, { run: StaticPodRun; stop: AbortController }>();
  let stopped = false;

  const start = (file: string) => {
    const path = join(o.manifestsDir, file);
    const stop = new AbortController();
    const record: StaticPodRun = { file, podName: '', started: Date.now(), done: Promise.resolve() };
    const done = (async () => {
      try {
        const pod = parse(readFileSync(path, 'utf8'));
        (record as { podName: string }).podName = `${pod.metadata.name}-${o.nodeName}`;
        const volumes: Record<string, string> = {};
        for (const volume of pod.spec.volumes ?? []) {
          if (!volume.hostPath) continue;
          const dir = join(o.root, volume.hostPath.path);
          if (volume.hostPath.type === 'DirectoryOrCreate') mkdirSync(dir, { recursive: true, mode: 0o755 });
          else if (volume.hostPath.type === 'Directory' && !(existsSync(dir) && statSync(dir).isDirectory())) throw new Error(`hostPath type check failed: ${volume.hostPath.path} is not a directory`);
          volumes[volume.name] = dir;
        }
        record.result = await runPod({
          podSpec: pod.spec, netns: o.netns, nodeName: o.nodeName, podName: record.podName, namespace: pod.metadata.namespace, volumes, stop: stop.signal,
          timeoutMs: (pod.spec.activeDeadlineSeconds ?? 120) * 1000,
        });
      } catch (error) {
        record.error = (error as Error).message;
      }
      record.stoppedByRemoval = stop.signal.aborted;
    })();
    (record as { done: Promise<void> }).done = done;
    runs.push(record);
    active.set(file, { run: record, stop });
  };

  const tick = () => {
    if (stopped) return;
    const present = new Set(existsSync(o.manifestsDir) ? readdirSync(o.manifestsDir).filter((f) => !f.startsWith('.') && f !== 'etcd.yaml' && /\.(ya?ml|json)$/.test(f)) : []);
    for (const file of present) if (!active.has(file)) start(file);
    for (const [file, { run, stop }] of active) {
      if (present.has(file)) continue;
      // gone: stop the pod if it still runs, and forget it (a copy made later is a new pod)
      if (!run.result && !run.error) stop.abort();
      active.delete(file);
    }
  };
  const timer = setInterval(tick, o.pollMs ?? 200);
  tick();

  return {
    runs,
    async ended(file, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const run = runs.find((r) => r.file === file);
        if (run) {
          const left = deadline - Date.now();
          await Promise.race([run.done, sleep(Math.max(0, left))]);
          if (run.result || run.error) return run;
        }
        if (Date.now() >= deadline) throw new Error(`static pod ${file} on ${o.nodeName} did not end within ${timeoutMs} ms`);
        await sleep(100);
      }
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      for (const { stop } of active.values()) stop.abort();
      await Promise.all(runs.map((r) => r.done));
    },
  };
}
