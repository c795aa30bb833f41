/** File helpers shared by the cluster output (render.ts) and the restore bundles (restore-files.ts). */
import { toYaml } from './yaml';

export interface ApiObjectJson {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
}

/** `cronjob-prod-eu-1-etcd-backup.yaml`: kind and name, unique within a cluster folder (the namespace is one per folder). */
export function objectFileName(object: ApiObjectJson): string {
  return `${object.kind.toLowerCase()}-${object.metadata.name}.yaml`;
}

export function kustomization(resources: readonly string[]): string {
  return toYaml({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [...resources].sort() });
}
