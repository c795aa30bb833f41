/**
 * Object names are an external contract: GitOps tools treat a rename as delete-and-create. Every name
 * derives from inventory keys (cluster, storage, request), never from positions or hashes.
 */

/** The CronJob controller appends 11 characters to a CronJob's name for its Jobs; Job names are labels (63). */
export const MAX_CRONJOB_NAME_LENGTH = 52;
export const MAX_JOB_NAME_LENGTH = 63;

/** Suffixes of CronJobs per cluster; the longest one bounds the cluster name. */
const CRONJOB_SUFFIXES = { backup: '-etcd-backup', drill: '-etcd-drill', prune: '-etcd-prune' } as const;

export const MAX_CLUSTER_NAME_LENGTH =
  MAX_CRONJOB_NAME_LENGTH - Math.max(...Object.values(CRONJOB_SUFFIXES).map((suffix) => suffix.length));

export const backupCronJobName = (cluster: string) => `${cluster}${CRONJOB_SUFFIXES.backup}`;
export const drillCronJobName = (cluster: string) => `${cluster}${CRONJOB_SUFFIXES.drill}`;
/** ServiceAccount and NetworkPolicy share the CronJob's name: they exist for it alone. */
export const backupServiceAccountName = backupCronJobName;
export const backupNetworkPolicyName = backupCronJobName;
export const backupConfigMapName = (cluster: string) => `${cluster}-backup-config`;
/** The restore drill's own ServiceAccount (no token). */
export const drillServiceAccountName = drillCronJobName;
/** Retention with a storage's prune credentials (`pruneCredentials`), and its own ServiceAccount (no token). */
export const pruneCronJobName = (cluster: string) => `${cluster}${CRONJOB_SUFFIXES.prune}`;
export const pruneServiceAccountName = pruneCronJobName;
export const onDemandJobName = (cluster: string, request: string) => `${cluster}-backup-${request}`;
/** PrometheusRule with the cluster's backup and drill alerts, beside the CronJobs it watches. */
export const alertsRuleName = (cluster: string) => `${cluster}-controlplane-backup`;
/** Secret (and ExternalSecret / SealedSecret) that holds a storage's S3 credentials in the backup namespace. */
export const storageCredentialsSecretName = (storage: string) => `controlplane-backup-${storage}`;
/** The same for the storage's prune credentials (only the prune CronJob reads it). */
export const storagePruneCredentialsSecretName = (storage: string) => `controlplane-backup-${storage}-prune`;
/**
 * Keys of that Secret (and of an existingSecret unless it names others), the same for every source (ExternalSecret,
 * SealedSecret) so that the pod spec never depends on the source.
 */
export const STORAGE_CREDENTIAL_KEYS = { accessKeyId: 'AWS_ACCESS_KEY_ID', secretAccessKey: 'AWS_SECRET_ACCESS_KEY' } as const;
/** ObjectBucketClaim; the provisioner names its Secret and ConfigMap after it. */
export const objectBucketClaimName = (storage: string) => `controlplane-backup-${storage}`;

/** Argo CD Application and Flux Kustomization of one cluster (in the GitOps tool's namespace, beside other apps). */
export const gitopsObjectName = (cluster: string, part: 'core' | 'alerts' = 'core') =>
  // A dot cannot occur in a cluster name (a DNS label): "x.alerts" never meets a cluster named "x-alerts".
  part === 'core' ? `controlplane-backup-${cluster}` : `controlplane-backup-${cluster}.${part}`;
/** Fleet-level GitOps objects: the Flux GitRepository and the Argo CD ApplicationSet. */
export const GITOPS_FLEET_NAME = 'controlplane-backup';

/** Folder of a restore request inside the cluster's folder; it is outside the cluster's kustomization. */
export const restoreFolderName = (id: string) => `restore-${id}`;
/** kubeadm: one Job per member, named after the member (the node). */
export const memberRestoreJobName = (cluster: string, id: string, member: string) => `${cluster}-restore-${id}-${member}`;
/** hosted: the coordinator Job, and one Job per StatefulSet ordinal. */
export const restoreCoordinatorName = (cluster: string, id: string) => `${cluster}-restore-${id}`;
/** kubeadm without an API server: each member's static pod (the kubelet appends `-<node>` to its name). */
export const staticRestorePodName = (cluster: string, id: string) => `${cluster}-restore-${id}`;
/** Static pods live in kube-system, which every cluster has (the restore's namespace may not exist in the snapshot). */
export const STATIC_POD_NAMESPACE = 'kube-system';
export const replicaRestoreJobName = (cluster: string, id: string, ordinal: number) => `${cluster}-restore-${id}-${ordinal}`;
export const restoreStatusConfigMapName = (cluster: string, id: string) => `${cluster}-restore-${id}-status`;
/** The Role (and its binding) that lets the coordinator pause the owners in another namespace: one file per namespace. */
export const restoreOwnerRoleName = (cluster: string, id: string, namespace: string) => `${cluster}-restore-${id}-owners-${namespace}`;
/** The typed plans of the restore's pods, one key per pod. */
export const restorePlanConfigMapName = (cluster: string, id: string) => `${cluster}-restore-${id}-plan`;
/** Created once by the user in the backup's namespace (`controlplane-backup keygen`): the backup signing key. */
export const signingSecretName = (cluster: string) => `${cluster}-backup-signing`;
/** Created by the operator for this restore only: the age identity that opens the backup. */
export const restoreIdentitySecretName = (cluster: string, id: string) => `${cluster}-restore-${id}-identity`;
