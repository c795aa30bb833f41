/**
 * The typed plans of the restore commands, rendered by synthesis (lib/plan/restore.ts) into the restore bundle's plan
 * ConfigMap and validated on start like every agent plan (lib/agent/plan.ts): a wrong field is exit 3 before anything
 * is touched. `--initial-cluster` is derived from `members`, so a member list and a cluster string can never disagree.
 */
import { z } from 'zod';
import { destinationSchema, planHeader, signingPublicKey } from '../plan';

const seconds = z.number().int().min(0);
const k8sName = z.string().min(1).max(253).regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a Kubernetes object name');
const memberName = z.string().min(1).regex(/^[A-Za-z0-9._-]+$/, 'must be letters, digits, ".", "_" or "-"');
const member = z.object({ name: memberName, peerUrl: z.string().regex(/^https?:\/\/[^/\s]+:[0-9]+$/, 'must be https://<host>:<port>') }).strict();
const absolute = z.string().regex(/^\/\S*$/, 'must be an absolute path without whitespace');

const restoreCommon = {
  ...planHeader,
  /** names the marker, the saved data, the barrier and the status; a new id is a new restore */
  restoreId: z.string().min(1).max(63).regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and "-"'),
  /** `<cluster>-<yyyymmddThhmmssZ>` or `latest` */
  snapshot: z.string().min(1),
  source: destinationSchema,
  /** the age identity file (a Secret volume); needed when an object is encrypted */
  identityFile: absolute.nullable(),
  /** The cluster's signing public key: "latest" is the newest set signed with it; null: signatures are not checked. */
  signingPublicKey: signingPublicKey.nullable().default(null),
  /** The request's `allowUnsigned`: a named set that is unsigned or not signed with the key is restored anyway. */
  allowUnsigned: z.boolean().default(false),
};

const restoreTarget = {
  /** every member the restored cluster has, this one included: --initial-cluster */
  members: z.array(member).min(1),
  /** a new token for the restored cluster */
  initialClusterToken: z.string().min(1),
  /** etcdutl --bump-revision/--mark-compacted when the tool has them */
  bumpRevision: z.boolean(),
};

function checkMembers(plan: { members: { name: string; peerUrl: string }[]; member: { name: string; peerUrl: string } }, ctx: z.RefinementCtx): void {
  const names = plan.members.map((m) => m.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate) ctx.addIssue({ code: 'custom', path: ['members'], message: `member ${duplicate} is listed twice` });
  const self = plan.members.find((m) => m.name === plan.member.name);
  if (!self) ctx.addIssue({ code: 'custom', path: ['member', 'name'], message: `${plan.member.name} is not in members (${names.join(', ')})` });
  else if (self.peerUrl !== plan.member.peerUrl) ctx.addIssue({ code: 'custom', path: ['member', 'peerUrl'], message: `members says ${self.peerUrl} for ${self.name}` });
}

export const restoreMemberPlanSchema = z.object({
  ...restoreCommon,
  ...restoreTarget,
  kind: z.literal('RestoreMemberPlan'),
  member,
  /** etcd's --data-dir on the node (a hostPath at the same path) */
  dataDir: absolute,
  /** the etcd static pod manifest */
  etcdManifest: absolute,
  /** this member's client URL and the healthcheck client's certificate */
  etcd: z.object({ endpoint: z.string().url(), caFile: absolute, certFile: absolute, keyFile: absolute }).strict(),
  /** restore the PKI bundle's files under `archivePrefix` onto `dir`; null: leave the PKI alone */
  pki: z.object({ dir: absolute, archivePrefix: z.string().regex(/^[^/\s][^\s]*[^/\s]$/).refine((p) => !p.split('/').includes('..'), 'must stay inside the archive') }).strict().nullable(),
  timeouts: z.object({ barrierSeconds: seconds, stopSeconds: seconds, healthSeconds: seconds }).strict(),
  /** a backup of another cluster (meta.json) is restored only when the request says so */
  allowCrossCluster: z.boolean().default(false),
  /**
   * Run as a static pod (no API server): the pod's own manifest, removed once the result is recorded, and the env
   * file on the node that holds the variables a Job would take from Secrets and ConfigMaps. null: run as a Job.
   */
  staticPod: z.object({
    manifest: absolute,
    envFile: z.object({ path: absolute, names: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/)).min(1) }).strict().nullable(),
  }).strict().nullable().default(null),
}).strict().superRefine(checkMembers);
export type RestoreMemberPlan = z.infer<typeof restoreMemberPlanSchema>;

/**
 * The controllers a hosted restore knows how to pause while it holds the control plane at 0, by the inventory's kind:
 * where each lives in the API (the restore Role grants get/patch on the named objects) and how it is paused.
 * - Flux HelmRelease / Kustomization: `spec.suspend: true`, resumed by putting back what was there;
 * - Argo CD Application: `spec.syncPolicy.automated` removed, resumed by putting back exactly what was there;
 * - Kamaji TenantControlPlane: the `kamaji.clastix.io/paused` annotation (its presence stops every Kamaji controller).
 */
export const OWNER_KINDS = {
  HelmRelease: { group: 'helm.toolkit.fluxcd.io', version: 'v2', plural: 'helmreleases' },
  Kustomization: { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', plural: 'kustomizations' },
  Application: { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications' },
  TenantControlPlane: { group: 'kamaji.clastix.io', version: 'v1alpha1', plural: 'tenantcontrolplanes' },
} as const;
export type OwnerKind = keyof typeof OWNER_KINDS;
export const OWNER_KIND_NAMES = Object.keys(OWNER_KINDS) as [OwnerKind, ...OwnerKind[]];

/** An owner of the control plane the inventory names: the coordinator may pause it. */
export const ownerRefSchema = z.object({ kind: z.enum(OWNER_KIND_NAMES), namespace: k8sName, name: k8sName }).strict();
export type OwnerRef = z.infer<typeof ownerRefSchema>;

export const restoreCoordinatorPlanSchema = z.object({
  ...restoreCommon,
  kind: z.literal('RestoreCoordinatorPlan'),
  namespace: k8sName,
  statefulSet: k8sName,
  /** replicas the inventory expects */
  replicas: z.number().int().min(1),
  controlPlaneDeployments: z.array(k8sName),
  statusConfigMap: k8sName,
  timeouts: z.object({ stopSeconds: seconds, restoreSeconds: seconds, startSeconds: seconds, pollSeconds: z.number().int().min(1) }).strict(),
  /** the owners the inventory names (hosted.owners): paused during the restore; any other owner found stops it */
  owners: z.array(ownerRefSchema).default([]),
  /** where Argo CD's Applications live: an `argocd.argoproj.io/instance` label without a namespace means this one */
  argocdNamespace: k8sName.default('argocd'),
  /** the StatefulSet's volumeClaimTemplate of etcd's data: its size is checked against the snapshot */
  dataVolumeClaimTemplate: k8sName.optional(),
  /** a backup of another cluster (meta.json) is restored only when the request says so */
  allowCrossCluster: z.boolean().default(false),
}).strict();
export type RestoreCoordinatorPlan = z.infer<typeof restoreCoordinatorPlanSchema>;

export const restoreReplicaPlanSchema = z.object({
  ...restoreCommon,
  ...restoreTarget,
  kind: z.literal('RestoreReplicaPlan'),
  namespace: k8sName,
  statusConfigMap: k8sName,
  ordinal: z.number().int().min(0),
  member,
  /** the etcd container's --data-dir inside the mounted volume */
  dataDir: absolute.refine((p) => p.split('/').filter(Boolean).length >= 2, 'must not be a top-level directory: the staging dir goes beside it, in the volume'),
  timeouts: z.object({ restoreSeconds: seconds, pollSeconds: z.number().int().min(1) }).strict(),
}).strict().superRefine(checkMembers);
export type RestoreReplicaPlan = z.infer<typeof restoreReplicaPlanSchema>;

/** `name=peer-url,...` */
export function initialCluster(members: readonly { name: string; peerUrl: string }[]): string {
  return members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
}
