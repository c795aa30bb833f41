/**
 * Fields the Kubernetes API server refuses to change on an existing object, for the kinds synthesis emits and the
 * kinds its objects sit beside. Sources:
 * - the Kubernetes API reference, v1.33 (https://kubernetes.io/docs/reference/kubernetes-api/): ConfigMap and Secret
 *   `immutable` ("If set to true, ensures that data stored in the ConfigMap cannot be updated"), Secret `type`,
 *   JobSpec `completionMode`, `backoffLimitPerIndex`, `managedBy`, `successPolicy`, `podFailurePolicy` ("The field is
 *   immutable" / "This field is immutable"), RoleBinding `roleRef` ("If the RoleRef cannot be resolved ... This field
 *   is immutable"), PersistentVolumeClaim spec, StatefulSet `volumeClaimTemplates`, `serviceName`, `podManagementPolicy`;
 * - where the reference's field text is silent, the API server's update validation (pkg/apis/batch/validation
 *   ValidateJobSpecUpdate: `selector`, `template`, `completions`, `manualSelector`; apps validation: `selector` of
 *   Deployments, ReplicaSets, DaemonSets and StatefulSets), as measured on a real kube-apiserver 1.33
 *   (shared FIELD-NOTES: "a Job's spec.template is immutable ... field is immutable").
 * `metadata.name` and `metadata.namespace` are identity: a change there is another object (delete and create), not an
 * update, and is handled as such by the callers.
 */
export const IMMUTABLE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  'batch/Job': [
    'spec.selector', 'spec.template', 'spec.completions', 'spec.completionMode', 'spec.manualSelector',
    'spec.podFailurePolicy', 'spec.successPolicy', 'spec.backoffLimitPerIndex', 'spec.managedBy',
  ],
  'apps/Deployment': ['spec.selector'],
  'apps/ReplicaSet': ['spec.selector'],
  'apps/DaemonSet': ['spec.selector'],
  'apps/StatefulSet': ['spec.selector', 'spec.volumeClaimTemplates', 'spec.serviceName', 'spec.podManagementPolicy'],
  'core/PersistentVolumeClaim': ['spec.accessModes', 'spec.selector', 'spec.storageClassName', 'spec.volumeMode', 'spec.volumeName', 'spec.dataSource', 'spec.dataSourceRef'],
  'core/Secret': ['type'],
  'rbac.authorization.k8s.io/RoleBinding': ['roleRef'],
  'rbac.authorization.k8s.io/ClusterRoleBinding': ['roleRef'],
  'core/Service': ['spec.clusterIP', 'spec.clusterIPs', 'spec.ipFamilies'],
};

/** `batch/Job`, `core/ConfigMap`: the group (core for the legacy group) and kind of an object. */
export function groupKind(object: { apiVersion: string; kind: string }): string {
  const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : 'core';
  return `${group}/${object.kind}`;
}

/** Data of a ConfigMap or Secret with `immutable: true` is frozen, and `immutable` itself cannot go back to false. */
function frozenData(object: any): string[] {
  if ((object.kind === 'ConfigMap' || object.kind === 'Secret') && object.immutable === true) return ['immutable', 'data', 'binaryData', 'stringData'];
  return [];
}

const at = (object: any, path: string): unknown => path.split('.').reduce((value, key) => (value == null ? undefined : value[key]), object);

/** The immutable fields whose value differs between the live object and the desired one (dotted paths). */
export function immutableChanges(live: any, desired: any): string[] {
  const fields = [...(IMMUTABLE_FIELDS[groupKind(live)] ?? []), ...frozenData(live)];
  return fields.filter((field) => JSON.stringify(at(live, field)) !== JSON.stringify(at(desired, field)));
}

/** Is this dotted path (a changed leaf) inside one of the object's immutable fields? */
export function immutableFieldOf(object: any, changedPath: string): string | undefined {
  const fields = [...(IMMUTABLE_FIELDS[groupKind(object)] ?? []), ...frozenData(object)];
  return fields.find((field) => changedPath === field || changedPath.startsWith(`${field}.`) || changedPath.startsWith(`${field}[`));
}
