/**
 * Static pods (a manifest in the kubelet's folder, run with no API server): the kubelet runs them from the file alone,
 * so they may use hostPath, emptyDir and the like, but nothing the API server holds. The API server also refuses a
 * node's mirror pod that refers to a Secret, ConfigMap, PersistentVolumeClaim or ServiceAccount (NodeRestriction).
 * Files in a `static-pods/` folder of the output are such pods; Pod Security admission does not stop them (the kubelet
 * runs them whatever the mirror pod's fate), so they are checked here instead.
 */
import type { ValidationIssue } from './issues';

/** The output folder that holds static pod manifests (copied onto nodes by hand, never applied). */
export const STATIC_POD_FOLDER = 'static-pods';

/** Is this output file (a path relative to the output, or absolute) a static pod manifest? */
export function isStaticPodFile(file: string): boolean {
  return file.split(/[\\/]/).slice(0, -1).includes(STATIC_POD_FOLDER);
}

const API_VOLUMES = ['configMap', 'secret', 'projected', 'persistentVolumeClaim', 'ephemeral', 'csi'] as const;

/** The kubelet's and the API server's limits of a static pod; [] when it can run as one. */
export function staticPodIssues(object: any): ValidationIssue[] {
  const kind = typeof object?.kind === 'string' ? object.kind : '';
  const name = [object?.metadata?.namespace, object?.metadata?.name].filter(Boolean).join('/');
  const issues: ValidationIssue[] = [];
  const add = (path: string, message: string) => issues.push({ kind, name, path, message });
  if (kind !== 'Pod' || object?.apiVersion !== 'v1') {
    add('kind', `a static pod manifest must be a v1 Pod (found ${object?.apiVersion ?? '?'} ${kind || '?'})`);
    return issues;
  }
  const spec = object.spec ?? {};
  const why = 'a static pod runs without the API server';
  (spec.volumes ?? []).forEach((volume: any, i: number) => {
    const type = API_VOLUMES.find((t) => volume?.[t] !== undefined);
    if (type) add(`spec.volumes[${i}].${type}`, `volume "${volume.name}" is a ${type} volume; ${why}: use a hostPath (or emptyDir)`);
  });
  if (spec.serviceAccountName && spec.serviceAccountName !== 'default') add('spec.serviceAccountName', `refers to ServiceAccount "${spec.serviceAccountName}"; ${why}: leave it out`);
  if (spec.automountServiceAccountToken !== false) add('spec.automountServiceAccountToken', `must be false: ${why} and has no token to mount`);
  if (spec.ephemeralContainers?.length) add('spec.ephemeralContainers', 'static pods cannot have ephemeral containers');
  for (const group of ['initContainers', 'containers'] as const) {
    (spec[group] ?? []).forEach((container: any, c: number) => {
      (container.envFrom ?? []).forEach((_: unknown, e: number) => add(`spec.${group}[${c}].envFrom[${e}]`, `container "${container.name}" reads env from an API object; ${why}`));
      (container.env ?? []).forEach((variable: any, e: number) => {
        const ref = variable.valueFrom?.secretKeyRef ? 'Secret' : variable.valueFrom?.configMapKeyRef ? 'ConfigMap' : undefined;
        if (ref) add(`spec.${group}[${c}].env[${e}].valueFrom`, `env ${variable.name} of container "${container.name}" comes from a ${ref}; ${why}: pass it in a file on the node`);
      });
    });
  }
  return issues;
}
