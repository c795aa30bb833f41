/** Labels every object carries, and the metadata helper that applies them. */
import { ApiObject } from 'cdk8s';
import type { k8s } from 'cdk8s-plus-28';
import type { IConstruct } from 'constructs';
import { GITOPS_ANNOTATIONS_BY_KIND } from '../plan/gitops';
import { PACKAGE_VERSION } from '../version';

const PART_OF = 'controlplane-backup';

export type Component = 'backup' | 'storage' | 'credentials' | 'namespace' | 'network-policy' | 'scripts' | 'restore' | 'drill' | 'prune' | 'alerts' | 'gitops';

function standardLabels(cluster: string, component: Component): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'controlplane-backup',
    'app.kubernetes.io/instance': cluster,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': 'controlplane-backup',
    // Which release wrote the object: a fleet upgrade shows as this label changing everywhere, nothing else.
    'app.kubernetes.io/version': PACKAGE_VERSION,
  };
}

export function objectMeta(cluster: string, component: Component, name: string, namespace?: string, extra: { annotations?: Record<string, string>; labels?: Record<string, string> } = {}): k8s.ObjectMeta {
  return {
    name,
    ...(namespace ? { namespace } : {}),
    labels: { ...extra.labels, ...standardLabels(cluster, component) },
    ...(extra.annotations && Object.keys(extra.annotations).length ? { annotations: extra.annotations } : {}),
  };
}

/** Argo CD applies a wave only when the one before it is healthy; Flux ignores the annotation (it has its own order). */
export const SYNC_WAVE_ANNOTATION = 'argocd.argoproj.io/sync-wave';

/**
 * Sync wave of each kind, the one place that orders a cluster folder: the Namespace, then what the pod needs from
 * elsewhere (credentials, bucket claims: a claim must be bound before its ConfigMap and Secret exist), then its own
 * configuration and identity, then what runs. By kind, not component: the `backup` component spans a
 * ServiceAccount, a ConfigMap and the CronJob. Always written: harmless without Argo CD, and a cluster's files do
 * not change when the fleet switches GitOps tools.
 */
const SYNC_WAVES: Readonly<Record<string, number>> = {
  Namespace: 0,
  ExternalSecret: 1,
  SealedSecret: 1,
  Secret: 1,
  ObjectBucketClaim: 1,
  ConfigMap: 2,
  ServiceAccount: 2,
  Role: 2,
  RoleBinding: 2,
  NetworkPolicy: 2,
  CronJob: 3,
  Job: 3,
  // Last, and never in the way: a cluster without the Prometheus Operator's CRD still gets its backups.
  PrometheusRule: 4,
};

/** Kinds not in the table go with the configuration (wave 2): after what they could need, before what runs. */
const syncWave = (kind: string): number => SYNC_WAVES[kind] ?? 2;

/** Annotates every API object under `scope` with its sync wave and its kind's GitOps annotations. */
export function applySyncWaves(scope: IConstruct): void {
  for (const child of scope.node.findAll()) {
    if (!(child instanceof ApiObject)) continue;
    child.metadata.addAnnotation(SYNC_WAVE_ANNOTATION, String(syncWave(child.kind)));
    for (const [key, value] of Object.entries(GITOPS_ANNOTATIONS_BY_KIND[child.kind] ?? {})) child.metadata.addAnnotation(key, value);
  }
}
