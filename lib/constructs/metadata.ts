/** Labels every object carries, and the metadata helper that applies them. */
import type { k8s } from 'cdk8s-plus-28';

export const PART_OF = 'controlplane-backup';

export type Component = 'backup' | 'storage' | 'credentials' | 'namespace' | 'network-policy' | 'scripts' | 'restore' | 'drill' | 'alerts';

export function standardLabels(cluster: string, component: Component): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'controlplane-backup',
    'app.kubernetes.io/instance': cluster,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': 'controlplane-backup',
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
