/**
 * The typed plans of the restore commands, rendered by synthesis (lib/plan/restore.ts) into the restore bundle's plan
 * ConfigMap and validated on start like every agent plan (lib/agent/plan.ts): a wrong field is exit 3 before anything
 * is touched. `--initial-cluster` is derived from `members`, so a member list and a cluster string can never disagree.
 */
import { z } from 'zod';
import { destinationSchema, planHeader } from '../plan';

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
