// A fake Kubernetes API server for the hosted restore scripts: HTTPS with the sim's certificate, bearer token checked,
// serving exactly what the scripts use in ONE namespace:
//   GET/PATCH  /api/v1/namespaces/<ns>/configmaps/<name>                  (merge patch)
//   GET        /apis/apps/v1/namespaces/<ns>/statefulsets/<sts>           (spec.replicas, selector, status.readyReplicas)
//   GET/PATCH  /apis/apps/v1/namespaces/<ns>/statefulsets/<sts>/scale
//   GET        /apis/apps/v1/namespaces/<ns>/deployments/<name>              (metadata: who manages it)
//   GET/PATCH  /apis/apps/v1/namespaces/<ns>/deployments/<name>/scale
//   GET        /api/v1/namespaces/<ns>/pods?labelSelector=k%3Dv,...       (the sim's live members when the selector matches)
//   GET/PATCH  /apis/<group>/<version>/namespaces/<any ns>/<plural>/<name>  (customObjects by that path: merge patch)
// Errors are Status objects (404, 401, 403, 422); responses are pretty-printed for curl user agents like kube-apiserver.
// The server itself listens on a unix socket (the test process is outside the netns); a TCP forwarder (node -e) inside
// the netns listens on 127.0.0.1:<port> (or `listen`, e.g. 443 on the address that kubernetes.default.svc resolves to
// in the pods' /etc/hosts) and relays to it, so `url` works for processes inside the netns only. The certificate is the
// sim's: its SANs must include the name the clients use (makeSimPki's dnsNames, e.g. kubernetes.default.svc).
import { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, Server } from 'node:https';
import { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { NetNs } from './netns';
import { stopChild } from './proc';
import { SimPki, StatefulSetSim } from './statefulset-sim';

export interface ApiRequestRecord { time: number; method: string; path: string; body?: any }

export interface FakeKubeApiOptions {
  netns: NetNs;
  dir: string;
  pki: SimPki;
  sim: StatefulSetSim;
  token: string;
  /** configMaps by name: data */
  configMaps?: Record<string, Record<string, string>>;
  /** deployments by name: replicas */
  deployments?: Record<string, number>;
  /** extra labels, annotations and ownerReferences of the StatefulSet or a Deployment (by name) */
  metadata?: Record<string, { labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: object[] }>;
  /** hook: return an HTTP status to fail the request with (after the token check) */
  fault?: (method: string, path: string) => number | undefined;
  /** custom objects (Flux, Argo CD, Kamaji owners) by their API path */
  customObjects?: Record<string, any>;
  /** more of the StatefulSet's spec (template, volumeClaimTemplates) */
  statefulSetSpec?: Record<string, unknown>;
  /** where the forwarder listens inside the netns; default 127.0.0.1 and a free port */
  listen?: { host?: string; port?: number };
}

const FORWARDER = `
const net = require('net');
const sock = process.argv[1];
const srv = net.createServer((c) => { const u = net.connect(sock); c.pipe(u); u.pipe(c); c.on('error', () => u.destroy()); u.on('error', () => c.destroy()); });
srv.listen(Number(process.argv[3] || 0), process.argv[2] || '127.0.0.1', () => console.log('port ' + srv.address().port));
`;

export class FakeKubeApi {
  url = '';
  readonly requests: ApiRequestRecord[] = [];
  readonly configMaps: Record<string, Record<string, string>>;
  readonly deployments: Record<string, number>;
  readonly customObjects: Record<string, any>;
  private server?: Server;
  private forwarder?: ChildProcess;
  private readonly sock: string;
  private readyCache?: { at: number; value: number };

  constructor(private readonly o: FakeKubeApiOptions) {
    this.configMaps = o.configMaps ?? {};
    this.deployments = o.deployments ?? {};
    this.customObjects = o.customObjects ?? {};
    this.sock = join(o.dir, 'kube-api.sock');
  }

  /** PATCHes of one ConfigMap's data, in order */
  patchesOf(configMap: string): Record<string, string | null>[] {
    return this.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(`/configmaps/${configMap}`)).map((r) => r.body?.data ?? {});
  }

  /** phases written to a ConfigMap, in order */
  phasesOf(configMap: string): string[] {
    return this.patchesOf(configMap).map((d) => d.phase).filter((p): p is string => typeof p === 'string');
  }

  async start(): Promise<void> {
    rmSync(this.sock, { force: true });
    this.server = createServer({ cert: readFileSync(this.o.pki.cert), key: readFileSync(this.o.pki.key) }, (req, res) => {
      this.handle(req, res).catch((e) => this.send(req, res, 500, status(500, 'InternalError', String(e))));
    });
    await new Promise<void>((r) => this.server!.listen(this.sock, r));
    const host = this.o.listen?.host ?? '127.0.0.1';
    this.forwarder = this.o.netns.spawn(process.execPath, ['-e', FORWARDER, this.sock, host, String(this.o.listen?.port ?? 0)]);
    const port = await new Promise<number>((res, rej) => {
      let out = '';
      const t = setTimeout(() => rej(new Error(`forwarder did not start: ${out}`)), 10_000);
      this.forwarder!.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /port (\d+)/.exec(out);
        if (m) { clearTimeout(t); res(Number(m[1])); }
      });
      this.forwarder!.on('exit', (c) => { clearTimeout(t); rej(new Error(`forwarder exited ${c}: ${out}`)); });
    });
    this.forwarder.stderr!.resume();
    this.url = `https://${host}:${port}`;
  }

  async stop(): Promise<void> {
    if (this.forwarder) await stopChild(this.forwarder, 2000);
    if (this.server) {
      this.server.closeAllConnections();
      await new Promise<void>((r) => this.server!.close(() => r()));
    }
    rmSync(this.sock, { force: true });
  }

  private send(req: IncomingMessage, res: ServerResponse, code: number, body: unknown): void {
    const pretty = /^(curl|Wget)/.test(req.headers['user-agent'] ?? '');
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(pretty ? JSON.stringify(body, null, 2) + '\n' : JSON.stringify(body));
  }

  private async ready(): Promise<number> {
    if (this.readyCache && Date.now() - this.readyCache.at < 300) return this.readyCache.value;
    const value = await this.o.sim.readyReplicas();
    this.readyCache = { at: Date.now(), value };
    return value;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const method = req.method ?? 'GET';
    const u = new URL(req.url ?? '/', 'https://x');
    let body: any;
    if (raw) {
      try { body = JSON.parse(raw); } catch { return this.send(req, res, 400, status(400, 'BadRequest', 'request body is not JSON')); }
    }
    this.requests.push({ time: Date.now(), method, path: u.pathname + u.search, body });
    if (req.headers.authorization !== `Bearer ${this.o.token}`) return this.send(req, res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    const fault = this.o.fault?.(method, u.pathname);
    if (fault) return this.send(req, res, fault, status(fault, 'InternalError', `injected fault ${fault}`));
    if (method === 'PATCH' && req.headers['content-type'] !== 'application/merge-patch+json') {
      return this.send(req, res, 415, status(415, 'UnsupportedMediaType', `unsupported content type ${req.headers['content-type']}`));
    }
    const sim = this.o.sim;
    const ns = sim.namespace;
    let m: RegExpExecArray | null;
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps\/([^/]+)$/.exec(u.pathname))) {
      if (m[1] !== ns) return this.send(req, res, 403, status(403, 'Forbidden', `configmaps "${m[2]}" is forbidden in namespace "${m[1]}"`));
      const cm = this.configMaps[m[2]];
      if (!cm) return this.send(req, res, 404, status(404, 'NotFound', `configmaps "${m[2]}" not found`));
      if (method === 'PATCH') {
        for (const [k, v] of Object.entries(body?.data ?? {})) {
          if (v === null) delete cm[k];
          else if (typeof v !== 'string') return this.send(req, res, 422, status(422, 'Invalid', `data.${k}: must be a string`));
          else cm[k] = v;
        }
      } else if (method !== 'GET') return this.send(req, res, 405, status(405, 'MethodNotAllowed', method));
      return this.send(req, res, 200, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: m[2], namespace: ns }, data: cm });
    }
    if ((m = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/(statefulsets|deployments)\/([^/]+)(\/scale)?$/.exec(u.pathname))) {
      const [, nsx, kind, name, isScale] = m;
      if (nsx !== ns) return this.send(req, res, 403, status(403, 'Forbidden', `${kind} "${name}" is forbidden in namespace "${nsx}"`));
      const isSts = kind === 'statefulsets';
      if ((isSts && name !== sim.name) || (!isSts && !(name in this.deployments))) {
        return this.send(req, res, 404, status(404, 'NotFound', `${kind}.apps "${name}" not found`));
      }
      if (method === 'PATCH') {
        if (!isScale) return this.send(req, res, 403, status(403, 'Forbidden', 'only the scale subresource may be patched'));
        const n = body?.spec?.replicas;
        if (!Number.isInteger(n) || n < 0) return this.send(req, res, 422, status(422, 'Invalid', 'spec.replicas: must be a non-negative integer'));
        if (isSts) sim.scale(n);
        else this.deployments[name] = n;
      } else if (method !== 'GET') return this.send(req, res, 405, status(405, 'MethodNotAllowed', method));
      const replicas = isSts ? sim.replicas : this.deployments[name];
      const extra = this.o.metadata?.[name] ?? {};
      if (isScale) {
        return this.send(req, res, 200, { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name, namespace: ns }, spec: { replicas },
          status: { replicas: isSts ? sim.pods().length : replicas } });
      }
      if (!isSts) {
        return this.send(req, res, 200, {
          apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns, labels: extra.labels ?? {}, annotations: extra.annotations ?? {}, ownerReferences: extra.ownerReferences },
          spec: { replicas, selector: { matchLabels: { app: name } } }, status: { replicas, readyReplicas: replicas },
        });
      }
      return this.send(req, res, 200, {
        apiVersion: 'apps/v1', kind: 'StatefulSet',
        metadata: { name, namespace: ns, labels: { ...sim.labels, ...extra.labels }, annotations: { note: 'a "quoted" value, with {braces} and [brackets]', ...extra.annotations }, ownerReferences: extra.ownerReferences },
        spec: { replicas, serviceName: sim.service, podManagementPolicy: 'Parallel', selector: { matchLabels: sim.labels }, ...this.o.statefulSetSpec },
        status: { replicas: sim.pods().length, readyReplicas: await this.ready(), currentReplicas: sim.pods().length },
      });
    }
    if (/^\/apis\/[^/]+\.[^/]+\/[^/]+\/namespaces\/[^/]+\/[^/]+\/[^/]+$/.test(u.pathname)) {
      const object = this.customObjects[u.pathname];
      if (!object) return this.send(req, res, 404, status(404, 'NotFound', `${u.pathname.split('/')[5]} "${u.pathname.split('/')[6]}" not found`));
      if (method === 'PATCH') this.customObjects[u.pathname] = mergePatch(object, body);
      else if (method !== 'GET') return this.send(req, res, 405, status(405, 'MethodNotAllowed', method));
      return this.send(req, res, 200, this.customObjects[u.pathname]);
    }
    if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(u.pathname)) && method === 'GET') {
      if (m[1] !== ns) return this.send(req, res, 403, status(403, 'Forbidden', `pods is forbidden in namespace "${m[1]}"`));
      const want = Object.fromEntries((u.searchParams.get('labelSelector') ?? '').split(',').filter(Boolean).map((kv) => kv.split('=')));
      const matches = Object.entries(want).length > 0 && Object.entries(want).every(([k, v]) => sim.labels[k] === v);
      const items = matches ? sim.pods().map((i) => ({ metadata: { name: sim.memberName(i), namespace: ns, labels: sim.labels }, status: { phase: 'Running' } })) : [];
      return this.send(req, res, 200, { apiVersion: 'v1', kind: 'PodList', metadata: {}, items });
    }
    return this.send(req, res, 404, status(404, 'NotFound', `the server could not find the requested resource (${method} ${u.pathname})`));
  }
}

/** RFC 7386 JSON merge patch, as the API server applies `application/merge-patch+json`. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function status(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}
