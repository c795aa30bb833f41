/**
 * The Kubernetes API as the restore pods use it: in-cluster configuration (the service-account token and CA at the
 * kubelet's path, KUBERNETES_SERVICE_HOST/PORT) through @kubernetes/client-node, and only the requests the
 * synthesized restore Role allows: get/patch of one ConfigMap, of the StatefulSet and its scale, of the control
 * plane's Deployments' scale, a pod list by label selector, and get/patch of the owners the inventory names (Flux,
 * Argo CD, Kamaji objects, each through the owner Role of its namespace). Errors are sentences naming the object, the HTTP
 * status and the API server's message; connection failures, 429 and 5xx are retried, other 4xx never.
 */
import { AppsV1Api, ApiException, CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions, type V1ObjectMeta } from '@kubernetes/client-node';
import { OWNER_KINDS, type OwnerRef } from './restore/plans';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A failed request: `message` is what the status ConfigMap and the result line show. */
export class KubeError extends Error {
  constructor(message: string, readonly httpStatus: number | undefined) {
    super(message);
    this.name = 'KubeError';
  }
}

/** labels, annotations and owner references: who manages an object */
export interface MetadataView {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly ownerReferences: readonly { readonly apiVersion: string; readonly kind: string; readonly name: string; readonly controller?: boolean }[];
}

export interface StatefulSetView {
  readonly metadata: MetadataView;
  readonly replicas: number | undefined;
  readonly readyReplicas: number;
  readonly matchLabels: Readonly<Record<string, string>>;
  /** the image of the container named etcd (else the first container's) */
  readonly etcdImage?: string;
  /** volumeClaimTemplates by name: their storage request ("8Gi") */
  readonly claimStorage?: Readonly<Record<string, string>>;
}

/** An owner object (Flux, Argo CD, Kamaji) as the API returns it. */
export interface OwnerObject {
  readonly metadata?: { readonly annotations?: Record<string, string> };
  readonly spec?: Record<string, any>;
}

/** What the hosted restore needs from the API, in one namespace. */
export interface RestoreKube {
  readonly namespace: string;
  configMapData(name: string): Promise<Record<string, string>>;
  /** merge patch of data (null removes a key) */
  patchConfigMapData(name: string, data: Record<string, string | null>): Promise<void>;
  statefulSet(name: string): Promise<StatefulSetView>;
  deploymentMetadata(name: string): Promise<MetadataView>;
  scaleOf(kind: 'statefulset' | 'deployment', name: string): Promise<number>;
  setScale(kind: 'statefulset' | 'deployment', name: string, replicas: number): Promise<void>;
  /** number of pods matching every label */
  podCount(matchLabels: Readonly<Record<string, string>>): Promise<number>;
  /** an owner the inventory names (any namespace: the restore's owner Roles allow get/patch of that object) */
  ownerObject(ref: OwnerRef): Promise<OwnerObject>;
  /** merge patch of an owner object */
  patchOwner(ref: OwnerRef, patch: object): Promise<void>;
}

export interface InClusterOptions {
  readonly namespace: string;
  /** extra attempts after a connection failure, 429 or 5xx */
  readonly retries?: number;
  /** bound of one request */
  readonly requestTimeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Checks what the in-cluster configuration needs, so that a missing token is a configuration error (exit 3). */
export function inClusterProblem(env: NodeJS.ProcessEnv, exists: (path: string) => boolean): string | undefined {
  if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT) {
    return 'KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: the restore pods talk to the API server of the cluster they run in';
  }
  if (!exists(`${SERVICE_ACCOUNT_DIR}/token`)) return `service-account token not readable: ${SERVICE_ACCOUNT_DIR}/token (automountServiceAccountToken must not be false)`;
  if (!exists(`${SERVICE_ACCOUNT_DIR}/ca.crt`)) return `API server CA bundle not readable: ${SERVICE_ACCOUNT_DIR}/ca.crt`;
  return undefined;
}

export function inClusterKube(options: InClusterOptions): RestoreKube {
  const config = new KubeConfig();
  config.loadFromCluster();
  const core = config.makeApiClient(CoreV1Api);
  const apps = config.makeApiClient(AppsV1Api);
  const custom = config.makeApiClient(CustomObjectsApi);
  const ownerApi = (ref: OwnerRef) => ({ ...OWNER_KINDS[ref.kind], namespace: ref.namespace, name: ref.name });
  const ownerWhat = (ref: OwnerRef) => `${OWNER_KINDS[ref.kind].plural}.${OWNER_KINDS[ref.kind].group} ${ref.namespace}/${ref.name}`;
  const namespace = options.namespace;
  const retries = options.retries ?? 3;
  const timeoutMs = options.requestTimeoutMs ?? 20_000;
  const sleep = options.sleep ?? sleepMs;
  const server = config.getCurrentCluster()?.server ?? '?';
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

  async function call<T>(what: string, request: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          request(),
          new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000}s`)), timeoutMs); }),
        ]);
      } catch (error) {
        const failure = describe(what, server, error);
        const retryable = failure.httpStatus === undefined ? !/certificate|self.signed|TLS|SSL/i.test(failure.message) : failure.httpStatus === 429 || failure.httpStatus >= 500;
        if (!retryable || attempt >= retries) throw failure;
        await sleep(1000 * (attempt + 1));
      } finally {
        clearTimeout(timer);
      }
    }
  }

  const scaleApi = {
    statefulset: {
      read: (name: string) => apps.readNamespacedStatefulSetScale({ name, namespace }),
      patch: (name: string, replicas: number) => apps.patchNamespacedStatefulSetScale({ name, namespace, body: { spec: { replicas } } }, merge),
    },
    deployment: {
      read: (name: string) => apps.readNamespacedDeploymentScale({ name, namespace }),
      patch: (name: string, replicas: number) => apps.patchNamespacedDeploymentScale({ name, namespace, body: { spec: { replicas } } }, merge),
    },
  } as const;

  return {
    namespace,
    async configMapData(name) {
      const cm = await call(`GET configmap ${namespace}/${name}`, () => core.readNamespacedConfigMap({ name, namespace }));
      return { ...(cm.data ?? {}) };
    },
    async patchConfigMapData(name, data) {
      await call(`PATCH configmap ${namespace}/${name}`, () => core.patchNamespacedConfigMap({ name, namespace, body: { data } }, merge));
    },
    async statefulSet(name) {
      const sts = await call(`GET statefulset ${namespace}/${name}`, () => apps.readNamespacedStatefulSet({ name, namespace }));
      const containers = sts.spec?.template?.spec?.containers ?? [];
      const etcdImage = (containers.find((c) => c.name === 'etcd') ?? containers[0])?.image;
      const claimStorage = Object.fromEntries((sts.spec?.volumeClaimTemplates ?? []).flatMap((t) => {
        const storage = t.spec?.resources?.requests?.storage;
        return t.metadata?.name && storage !== undefined ? [[t.metadata.name, String(storage)]] : [];
      }));
      return {
        metadata: metadataOf(sts.metadata), replicas: sts.spec?.replicas, readyReplicas: sts.status?.readyReplicas ?? 0, matchLabels: { ...(sts.spec?.selector?.matchLabels ?? {}) },
        ...(etcdImage ? { etcdImage } : {}), claimStorage,
      };
    },
    async deploymentMetadata(name) {
      const deployment = await call(`GET deployment ${namespace}/${name}`, () => apps.readNamespacedDeployment({ name, namespace }));
      return metadataOf(deployment.metadata);
    },
    async scaleOf(kind, name) {
      const scale = await call(`GET ${kind} ${namespace}/${name} scale`, () => scaleApi[kind].read(name));
      return scale.spec?.replicas ?? 0;
    },
    async setScale(kind, name, replicas) {
      await call(`PATCH ${kind} ${namespace}/${name} scale`, () => scaleApi[kind].patch(name, replicas));
    },
    async podCount(matchLabels) {
      const labelSelector = Object.entries(matchLabels).map(([key, value]) => `${key}=${value}`).join(',');
      const list = await call(`GET pods of ${namespace} (${labelSelector})`, () => core.listNamespacedPod({ namespace, labelSelector }));
      return list.items.length;
    },
    async ownerObject(ref) {
      return await call(`GET ${ownerWhat(ref)}`, () => custom.getNamespacedCustomObject(ownerApi(ref))) as OwnerObject;
    },
    async patchOwner(ref, patch) {
      await call(`PATCH ${ownerWhat(ref)}`, () => custom.patchNamespacedCustomObject({ ...ownerApi(ref), body: patch }, merge));
    },
  };
}

function metadataOf(meta: V1ObjectMeta | undefined): MetadataView {
  return {
    labels: { ...(meta?.labels ?? {}) },
    annotations: { ...(meta?.annotations ?? {}) },
    ownerReferences: (meta?.ownerReferences ?? []).map((r) => ({ apiVersion: r.apiVersion, kind: r.kind, name: r.name, ...(r.controller ? { controller: true } : {}) })),
  };
}

function describe(what: string, server: string, error: unknown): KubeError {
  if (error instanceof KubeError) return error;
  if (error instanceof ApiException) {
    const code = error.code;
    let message = '';
    try {
      const body = typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
      message = typeof body?.message === 'string' ? body.message : '';
    } catch {
      message = String(error.body ?? '').replace(/\s+/g, ' ').slice(0, 300);
    }
    const hint = code === 401 ? ' (the service-account token was rejected)' : code === 403 ? ' (the restore Role does not allow this)' : '';
    return new KubeError(`${what}: HTTP ${code}${message ? `: ${message}` : ''}${hint}`, code);
  }
  const cause = error instanceof Error ? `${error.message}${(error as { cause?: Error }).cause?.message ? ` (${(error as { cause?: Error }).cause!.message})` : ''}` : String(error);
  const tls = /certificate|self.signed|TLS|SSL/i.test(cause) ? ' (TLS: check the service account\'s ca.crt)' : '';
  return new KubeError(`${what}: no response from ${server}: ${cause}${tls}`, undefined);
}
