/**
 * Cross-entry rules: what the shape alone cannot say. Each rule reports at the path where the user
 * can fix it (the cluster's own setting, or `defaults.backup` when the value came from there).
 */
import { INVENTORY_DEFAULTS } from './defaults';
import type { Path } from './errors';
import type { ClusterSpec, ParsedInventory, StorageSpec } from './schema';
import { listOf, nearest, shortList } from '../text';
import { clusterFolder, snapshotReference } from '../storage/layout';
import {
  backupCronJobName, drillCronJobName, MAX_CLUSTER_NAME_LENGTH, MAX_CRONJOB_NAME_LENGTH, MAX_JOB_NAME_LENGTH, memberRestoreJobName,
  onDemandJobName, replicaRestoreJobName,
} from '../plan/names';

export interface RuleIssue {
  readonly path: Path;
  readonly message: string;
  /** Place the message at the key rather than at its value. */
  readonly atKey?: boolean;
}

type BackupKey = keyof NonNullable<ClusterSpec['backup']>;

export interface RuleScope {
  /** Storages whose own shape is invalid (already reported): they count as defined but are not checked. */
  readonly broken?: ReadonlySet<string>;
  /** Fields of `defaults.backup` whose shape is invalid: rules that would read them wait until they are fixed. */
  readonly brokenDefaults?: ReadonlySet<string>;
  /**
   * Fields with an invalid shape, by entry (`storages.<name>` or `clusters.<name>`: `kubeadm`, `backup.storages`, ...):
   * a broken storage field stands in the entry as written, a broken cluster field is left out; rules that would
   * read them wait until they are fixed.
   */
  readonly brokenFields?: ReadonlyMap<string, ReadonlySet<string>>;
}

/** The entry of a record by name: never a built-in property such as `constructor`. */
const own = <T>(record: Record<string, T>, name: string): T | undefined => (Object.hasOwn(record, name) ? record[name] : undefined);

/** Where a cluster's effective backup setting comes from, for messages; undefined when that is a broken default. */
function settingSource(inventory: ParsedInventory, scope: RuleScope, clusterName: string, key: BackupKey): { path: Path; value: unknown } | undefined {
  if (scope.brokenFields?.get(`clusters.${clusterName}`)?.has(`backup.${key}`)) return undefined;
  const set = inventory.clusters[clusterName].backup?.[key];
  if (set !== undefined) return { path: ['clusters', clusterName, 'backup', key], value: set };
  if (scope.brokenDefaults?.has(key)) return undefined;
  const shared = (inventory.defaults.backup as Record<string, unknown> | undefined)?.[key];
  if (shared !== undefined) return { path: ['defaults', 'backup', key], value: shared };
  return { path: ['clusters', clusterName], value: (INVENTORY_DEFAULTS.backup as Record<string, unknown>)[key] };
}

export function checkRules(inventory: ParsedInventory, scope: RuleScope = {}): RuleIssue[] {
  const issues: RuleIssue[] = [];
  for (const [name, storage] of Object.entries(inventory.storages)) {
    issues.push(...storageRules(name, storage, scope.brokenFields?.get(`storages.${name}`) ?? new Set()));
  }
  for (const name of Object.keys(inventory.clusters)) issues.push(...clusterRules(inventory, scope, name));
  issues.push(...toolsImageRules(inventory, scope));
  issues.push(...sealedSecretRules(inventory, scope));
  issues.push(...hostNetworkIdentityRules(inventory, scope));
  for (const name of Object.keys(inventory.clusters)) issues.push(...restoreRules(inventory, scope, name));
  issues.push(...namespaceOwnerRules(inventory));
  issues.push(...bucketClaimPortRules(inventory, scope));
  return issues;
}

/** Folders of dist/ beside the cluster folders: a cluster of that name would be overwritten by them, or overwrite them. */
const RESERVED_CLUSTER_NAMES = ['argocd', 'flux'] as const;

/**
 * A kubeadm cluster's folder owns its backup Namespace in the target cluster. Two clusters that reach the same
 * target (the same Argo CD cluster, or the same Flux kubeconfig Secret) with the same namespace would both own it:
 * two Applications fight over one object, and removing either cluster would remove what the other still uses.
 */
function namespaceOwnerRules(inventory: ParsedInventory): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const seen = { argocd: new Map<string, string>(), flux: new Map<string, string>() };
  for (const [name, cluster] of Object.entries(inventory.clusters)) {
    if (!cluster.kubeadm || cluster.hosted) continue;
    const namespace = cluster.kubeadm.namespace;
    const targets = [
      { tool: 'argocd' as const, target: cluster.gitops?.argocdCluster ?? name, key: 'argocdCluster', what: 'Argo CD cluster' },
      { tool: 'flux' as const, target: cluster.gitops?.fluxKubeConfigSecret ?? `${name}-kubeconfig`, key: 'fluxKubeConfigSecret', what: 'Flux kubeconfig Secret' },
    ];
    for (const { tool, target, key, what } of targets) {
      const id = `${target}\u0000${namespace}`;
      const owner = seen[tool].get(id);
      if (owner === undefined) {
        seen[tool].set(id, name);
        continue;
      }
      const explicit = (cluster.gitops as Record<string, unknown> | undefined)?.[key] !== undefined;
      issues.push({
        path: explicit ? ['clusters', name, 'gitops', key] : ['clusters', name],
        atKey: !explicit,
        message: `"${name}" and "${owner}" both go to the ${what} "${target}" with namespace "${namespace}": two clusters would own one Namespace there; give one of them another \`kubeadm.namespace\`, or point it at its own cluster`,
      });
      break;
    }
  }
  return issues;
}

/**
 * A hosted cluster's NetworkPolicy allows egress to its storages' ports only. An ObjectBucketClaim's endpoint is
 * known to the provisioner alone, so its port must come from the inventory rather than opening every port.
 */
function bucketClaimPortRules(inventory: ParsedInventory, scope: RuleScope): RuleIssue[] {
  const issues: RuleIssue[] = [];
  for (const [storageName, storage] of Object.entries(inventory.storages)) {
    if (!storage.objectBucketClaim || storage.objectBucketClaim.port !== undefined || scope.broken?.has(storageName)) continue;
    const users = Object.keys(inventory.clusters).filter((clusterName) => {
      const cluster = inventory.clusters[clusterName];
      if (!cluster.hosted || cluster.kubeadm) return false;
      const storages = settingSource(inventory, scope, clusterName, 'storages')?.value as string[] | undefined;
      return storages?.includes(storageName) || cluster.onDemandBackups.some((request) => request.storages?.includes(storageName));
    });
    if (users.length === 0) continue;
    issues.push({
      path: ['storages', storageName, 'objectBucketClaim'],
      message: `has no \`port\`, which the NetworkPolicy of the hosted ${users.length === 1 ? 'cluster' : 'clusters'} ${listOf(shortList(users.map((u) => `"${u}"`)), 'and')} needs (it allows egress to the storages' ports only): set \`port\` to the port of the provisioner's endpoint (BUCKET_PORT in the claim's ConfigMap; Rook's RGW: 80 for http, 443 for https)`,
    });
  }
  return issues;
}

function exactlyOne(path: Path, object: object, keys: readonly string[], what: string): RuleIssue[] {
  const present = keys.filter((key) => (object as Record<string, unknown>)[key] !== undefined);
  if (present.length === 1) return [];
  const options = listOf(keys.map((k) => `\`${k}\``));
  if (present.length === 0) return [{ path, message: `${what} needs exactly one of ${options}; none is set` }];
  return [{ path: [...path, present[1]], atKey: true, message: `${what} needs exactly one of ${options}; found both \`${present[0]}\` and \`${present[1]}\`` }];
}

/** The workload identity provider of each storage kind that has one. */
const IDENTITY_PROVIDER_OF_KIND = { s3: 'aws', gcs: 'gcp', azureBlob: 'azure' } as const;
/** The key material a SealedSecret carries, per storage kind. */
const SEALED_FIELDS = { s3: ['accessKeyId', 'secretAccessKey'], gcs: ['serviceAccountKey'], azureBlob: ['connectionString'] } as const;
/** "an s3", "a gcs", "an azureBlob". */
const withArticle = (kind: string) => `${/^`?[aeiosx]/.test(kind) ? 'an' : 'a'} ${kind}`;

function workloadIdentityIssues(path: Path, identity: object, kind: keyof typeof IDENTITY_PROVIDER_OF_KIND): RuleIssue[] {
  const expected = IDENTITY_PROVIDER_OF_KIND[kind];
  const present = Object.keys(identity).filter((key) => (identity as Record<string, unknown>)[key] !== undefined);
  if (present.length === 0) return [{ path, message: `names no provider: set \`${expected}\` for ${withArticle(kind)} storage` }];
  const wrong = present.find((provider) => provider !== expected);
  if (wrong) return [{ path: [...path, wrong], atKey: true, message: `\`${wrong}\` identities do not open ${kind} storage: use \`${expected}\`` }];
  return [];
}

/**
 * AWS workload identity mechanisms that only EKS provides (its pod identity webhook, its Pod Identity agent). A
 * kubeadm cluster's backup pods run on its own control-plane nodes, and EKS has none: only a projected token works.
 */
const EKS_ONLY_MECHANISMS: readonly string[] = ['irsa', 'podIdentity'];

function storageRules(name: string, storage: StorageSpec, broken: ReadonlySet<string>): RuleIssue[] {
  const path: Path = ['storages', name];
  const issues = exactlyOne(path, storage, ['s3', 'gcs', 'azureBlob', 'objectBucketClaim', 'local'], `storage "${name}"`);
  const keyed = storage.s3 ? 's3' : storage.gcs ? 'gcs' : storage.azureBlob ? 'azureBlob' : undefined;
  if (keyed) {
    if (!storage.credentials) {
      issues.push({ path, message: `storage "${name}" has no \`credentials\`; add existingSecret, externalSecret, sealedSecret or workloadIdentity` });
    } else if (!broken.has('credentials')) {
      const credentialIssues = exactlyOne([...path, 'credentials'], storage.credentials, ['existingSecret', 'externalSecret', 'sealedSecret', 'workloadIdentity'], 'credentials');
      issues.push(...credentialIssues);
      const identity = storage.credentials.workloadIdentity;
      if (identity && credentialIssues.length === 0) issues.push(...workloadIdentityIssues([...path, 'credentials', 'workloadIdentity'], identity, keyed));
      issues.push(...keyMaterialRules([...path, 'credentials'], keyed, storage.credentials));
    }
    if (storage.pruneCredentials && !broken.has('pruneCredentials')) {
      if (keyed !== 's3') {
        issues.push({ path: [...path, 'pruneCredentials'], atKey: true, message: `\`pruneCredentials\` goes with \`s3\` only: the backup Jobs of a ${keyed} storage apply retention with its \`credentials\`` });
      } else {
        issues.push(...exactlyOne([...path, 'pruneCredentials'], storage.pruneCredentials, ['existingSecret', 'externalSecret', 'sealedSecret'], 'pruneCredentials'));
      }
    }
    const sse = broken.has('s3') ? undefined : storage.s3?.sse;
    if (sse?.type === 'aws:kms' && !sse.kmsKeyId) issues.push({ path: [...path, 's3', 'sse'], message: 'type "aws:kms" needs `kmsKeyId` (the KMS key ARN or id)' });
    if (sse?.type === 'AES256' && sse.kmsKeyId) issues.push({ path: [...path, 's3', 'sse', 'kmsKeyId'], atKey: true, message: '`kmsKeyId` goes with type "aws:kms" only; remove it or change the type' });
  } else {
    const why = storage.objectBucketClaim ? 'the provisioner writes the credentials into a Secret of the claim\'s name' : 'a local copy needs none';
    for (const key of ['credentials', 'pruneCredentials'] as const) {
      const kinds = key === 'credentials' ? '`s3`, `gcs` and `azureBlob`' : '`s3`';
      if (storage[key]) issues.push({ path: [...path, key], atKey: true, message: `\`${key}\` goes with ${kinds} only: ${why}` });
    }
  }
  const NO_TLS = 'has no TLS: the storage credentials would travel in clear; use https, or set `insecure: true` on this storage if the network path is trusted';
  if (storage.s3 && !broken.has('s3') && storage.s3.endpoint.toLowerCase().startsWith('http://') && !storage.s3.insecure) {
    issues.push({ path: [...path, 's3', 'endpoint'], message: `${JSON.stringify(storage.s3.endpoint)} ${NO_TLS}` });
  }
  for (const kind of ['gcs', 'azureBlob'] as const) {
    const location = broken.has(kind) ? undefined : storage[kind];
    if (location?.endpoint?.toLowerCase().startsWith('http://') && !location.insecure) {
      issues.push({ path: [...path, kind, 'endpoint'], message: `${JSON.stringify(location.endpoint.replace(/\?.*$/, '?***'))} ${NO_TLS}` });
    }
  }
  const claim = broken.has('objectBucketClaim') ? undefined : storage.objectBucketClaim;
  if (claim?.scheme === 'http' && !claim.insecure) issues.push({ path: [...path, 'objectBucketClaim', 'scheme'], message: `"http" ${NO_TLS}` });
  if (claim && !claim.bucketName === !claim.generateBucketName) {
    issues.push({ path: [...path, 'objectBucketClaim'], message: 'set exactly one of `bucketName` (a fixed name) or `generateBucketName` (a prefix the provisioner completes)' });
  }
  return issues;
}

/** The key material a storage kind's Secret carries: sealed fields, Secret keys and remote properties of its own. */
function keyMaterialRules(path: Path, kind: keyof typeof IDENTITY_PROVIDER_OF_KIND, credentials: NonNullable<StorageSpec['credentials']>): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const sealed = credentials.sealedSecret;
  if (sealed) {
    const wanted: readonly string[] = SEALED_FIELDS[kind];
    const other = (['accessKeyId', 'secretAccessKey', 'serviceAccountKey', 'connectionString'] as const).find((field) => sealed[field] !== undefined && !wanted.includes(field));
    const missing = wanted.filter((field) => (sealed as Record<string, unknown>)[field] === undefined);
    if (other) {
      issues.push({ path: [...path, 'sealedSecret', other], atKey: true, message: `\`${other}\` does not go with ${withArticle(`\`${kind}\``)} storage; seal ${listOf(wanted.map((field) => `\`${field}\``), 'and')} instead` });
    } else if (missing.length > 0) {
      issues.push({ path: [...path, 'sealedSecret'], message: `${withArticle(`\`${kind}\``)} storage needs ${listOf(missing.map((field) => `\`${field}\``), 'and')} (encrypted with \`kubeseal --raw\`)` });
    }
  }
  if (kind === 's3' && credentials.existingSecret?.key !== undefined) {
    issues.push({ path: [...path, 'existingSecret', 'key'], atKey: true, message: '`key` goes with `gcs` and `azureBlob` storages; an s3 Secret is read through `accessKeyIdKey` and `secretAccessKeyKey`' });
  }
  if (kind === 's3' && credentials.externalSecret?.property !== undefined) {
    issues.push({ path: [...path, 'externalSecret', 'property'], atKey: true, message: '`property` goes with `gcs` and `azureBlob` storages; an s3 remote key is read through `accessKeyIdProperty` and `secretAccessKeyProperty`' });
  }
  return issues;
}

function clusterRules(inventory: ParsedInventory, scope: RuleScope, name: string): RuleIssue[] {
  const cluster = inventory.clusters[name];
  const path: Path = ['clusters', name];
  const broken = scope.brokenFields?.get(`clusters.${name}`);
  const issues = broken?.has('kubeadm') || broken?.has('hosted') ? [] : exactlyOne(path, cluster, ['kubeadm', 'hosted'], `cluster "${name}"`);
  // The restore pauses each named owner once and resumes it once: a second entry for one object is a typo.
  const owners = cluster.hosted?.owners ?? [];
  owners.forEach((owner, i) => {
    const first = owners.findIndex((o) => o.kind === owner.kind && o.name === owner.name && (o.namespace ?? '') === (owner.namespace ?? ''));
    if (first !== i) issues.push({ path: [...path, 'hosted', 'owners', i], message: `${owner.kind} "${owner.name}" is listed twice (also at owners[${first}])` });
  });
  if ((RESERVED_CLUSTER_NAMES as readonly string[]).includes(name)) {
    issues.push({
      path, atKey: true,
      message: `cluster name "${name}" is taken by the output folder dist/${name}/ (GitOps wiring); ${listOf(RESERVED_CLUSTER_NAMES.map((n) => `"${n}"`), 'and')} cannot name clusters: rename it, e.g. "${name}-1"`,
    });
  }

  if (name.length > MAX_CLUSTER_NAME_LENGTH) {
    // The limit comes from the CronJobs (their Jobs append 11 characters), not from the longest derived name.
    const cronJob = [backupCronJobName(name), drillCronJobName(name)].reduce((a, b) => (b.length > a.length ? b : a));
    issues.push({
      path, atKey: true,
      message: `cluster name "${name}" is ${name.length} characters long; at most ${MAX_CLUSTER_NAME_LENGTH} are allowed: its CronJob "${cronJob}" would have ${cronJob.length} characters, and CronJob names have at most ${MAX_CRONJOB_NAME_LENGTH}`,
    });
  }

  if (cluster.kubeadm) issues.push(...memberListRules(cluster.kubeadm.members, [...path, 'kubeadm', 'members']));

  const source = (key: BackupKey) => settingSource(inventory, scope, name, key);
  const storages = source('storages');
  if (storages) {
    const storageNames = storages.value as string[];
    if (storageNames.length === 0) {
      issues.push({ path, message: 'has no backup storage; set `backup.storages` here or in `defaults.backup.storages`' });
    }
    issues.push(...storageReferenceIssues(inventory, name, storageNames, storages.path));
  }

  const pki = source('pki');
  const encryption = source('encryption');
  if (pki && encryption) {
    // `encryption` merges key by key (resolve.ts): a cluster's `encryption: { snapshot: false }` keeps the shared recipients.
    const shared = scope.brokenDefaults?.has('encryption') ? undefined : inventory.defaults.backup?.encryption;
    const recipients = (encryption.value as { recipients?: string[] }).recipients ?? shared?.recipients ?? [];
    if (pki.value && recipients.length === 0) {
      issues.push({
        path: encryption.path.length > 2 ? encryption.path : pki.path,
        message: 'the PKI bundle holds the CA private keys and is only ever stored encrypted: add an age recipient to `encryption.recipients`, or set `pki: false`',
      });
    }
  }

  const encryptionConfigSource = source('encryptionConfig');
  const encryptionConfig = encryptionConfigSource?.value as NonNullable<ClusterSpec['backup']>['encryptionConfig'];
  if (encryptionConfigSource && encryptionConfig) {
    const configPath = encryptionConfigSource.path;
    // One mistake, one message: the wrong field, when present, says what to set instead.
    const { hostPath, secret } = encryptionConfig;
    if (cluster.kubeadm && secret) issues.push({ path: [...configPath, 'secret'], atKey: true, message: `\`secret\` is for hosted clusters; a kubeadm cluster uses \`hostPath\`${hostPath ? '' : ' (set it instead)'}` });
    else if (cluster.kubeadm && !hostPath) issues.push({ path: configPath, message: 'a kubeadm cluster reads the encryption config from the node: set `hostPath`' });
    if (cluster.hosted && hostPath) issues.push({ path: [...configPath, 'hostPath'], atKey: true, message: `\`hostPath\` is for kubeadm clusters; a hosted cluster has no host access${secret ? '' : ': set `secret` instead'}` });
    else if (cluster.hosted && !secret) issues.push({ path: configPath, message: 'a hosted cluster reads the encryption config from a Secret: set `secret`' });
  }

  const seen = new Set<string>();
  cluster.onDemandBackups.forEach((request, i) => {
    const requestPath: Path = [...path, 'onDemandBackups', i];
    if (seen.has(request.name)) issues.push({ path: [...requestPath, 'name'], message: `"${request.name}" is requested twice; each on-demand backup needs its own name` });
    seen.add(request.name);
    const jobName = onDemandJobName(name, request.name);
    if (jobName.length > MAX_JOB_NAME_LENGTH) {
      issues.push({ path: [...requestPath, 'name'], message: `makes the Job name "${jobName}" ${jobName.length} characters long; Job names have at most ${MAX_JOB_NAME_LENGTH}: shorten the request name` });
    }
    if (request.storages) issues.push(...storageReferenceIssues(inventory, name, request.storages, [...requestPath, 'storages']));
  });
  return issues;
}

/** Where the archive of `npm run image` lands, for the message that says how to publish it. */
const TOOLS_IMAGE_ARCHIVE = '.tmp/image/controlplane-backup-tools.oci.tar';

/** What to do when no tools image is named: there is no public one to fall back on. */
function toolsImageMissingMessage(where: string): string {
  return `${where}: the pods need the tools image, and there is no public default: build it with \`npm run image\`, `
    + `push it with \`skopeo copy oci-archive:${TOOLS_IMAGE_ARCHIVE} docker://REGISTRY/controlplane-backup-tools:TAG\`, `
    + 'and set `images.tools` to it, preferably by digest (REGISTRY/controlplane-backup-tools@sha256:<digest printed by the build>)';
}

/** Every cluster needs `images.tools`: one problem at `defaults.backup` when no cluster names one, else one per cluster. */
function toolsImageRules(inventory: ParsedInventory, scope: RuleScope): RuleIssue[] {
  if (scope.brokenDefaults?.has('images')) return [];
  if (inventory.defaults.backup?.images?.tools !== undefined) return [];
  const without = Object.keys(inventory.clusters).filter((name) => inventory.clusters[name].backup?.images?.tools === undefined);
  if (without.length === 0) return [];
  if (without.length === Object.keys(inventory.clusters).length) {
    return [{ path: ['defaults', 'backup', 'images', 'tools'], message: toolsImageMissingMessage('is not set') }];
  }
  return without.map((name) => ({ path: ['clusters', name, 'backup', 'images', 'tools'], message: toolsImageMissingMessage(`is not set here or in \`defaults.backup.images.tools\``) }));
}

function storageReferenceIssues(inventory: ParsedInventory, clusterName: string, names: readonly string[], path: Path): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const cluster = inventory.clusters[clusterName];
  // Inherited from defaults.backup, the message stands at the default: it has to say which cluster it is about.
  const hostedCluster = path[0] === 'defaults' ? `the hosted cluster "${clusterName}"` : 'a hosted cluster';
  const known = Object.keys(inventory.storages);
  names.forEach((storageName, i) => {
    const storage = own(inventory.storages, storageName);
    if (!storage) {
      const guess = nearest(storageName, known);
      const hint = guess ? `did you mean "${guess}"?` : `defined storages are ${listOf(known.map((k) => `"${k}"`))}`;
      issues.push({ path: [...path, i], message: `"${storageName}" is not a storage; ${hint}` });
    } else if (storage.local && cluster.hosted) {
      issues.push({ path: [...path, i], message: `"${storageName}" is a local (node) storage; ${hostedCluster} has no node access: use an S3 storage` });
    } else if (names.indexOf(storageName) !== i) {
      issues.push({ path: [...path, i], message: `"${storageName}" is listed twice` });
    } else {
      const aws = storage.credentials?.workloadIdentity?.aws;
      if (aws && cluster.kubeadm && EKS_ONLY_MECHANISMS.includes(aws.mechanism)) {
        issues.push({
          path: [...path, i],
          message: `"${storageName}" uses AWS workload identity "${aws.mechanism}", which only EKS provides (its webhook or Pod Identity agent); `
            + `the kubeadm cluster "${clusterName}" runs its backup pods on its own control-plane nodes, which EKS does not have: `
            + 'use `mechanism: projectedToken` with a role that trusts the cluster\'s service-account issuer',
        });
      }
      const other = names.slice(0, i).map((n) => own(inventory.storages, n)?.credentials?.workloadIdentity?.aws).find((o) => o && aws && (o.roleArn !== aws.roleArn || o.mechanism !== aws.mechanism));
      if (aws && other) {
        issues.push({
          path: [...path, i],
          message: `"${storageName}" assumes ${aws.roleArn} (${aws.mechanism}), but another storage of this list assumes ${other.roleArn} (${other.mechanism}); `
            + 'the pods of one cluster assume one AWS role: give both storages the same role (grant it both buckets)',
        });
      }
    }
  });
  return issues;
}

/**
 * A SealedSecret opens only with the key of one cluster's controller, and (unless cluster-wide) in one namespace.
 * One ciphertext therefore serves one kubeadm cluster, or hosted clusters of one management cluster when cluster-wide.
 */
function sealedSecretRules(inventory: ParsedInventory, scope: RuleScope): RuleIssue[] {
  const issues: RuleIssue[] = [];
  for (const [storageName, storage] of Object.entries(inventory.storages)) for (const key of ['credentials', 'pruneCredentials'] as const) {
    const sealed = storage[key]?.sealedSecret;
    if (!sealed) continue;
    const users = Object.keys(inventory.clusters).filter((clusterName) => {
      const cluster = inventory.clusters[clusterName];
      const storages = settingSource(inventory, scope, clusterName, 'storages')?.value as string[] | undefined;
      return storages?.includes(storageName) || cluster.onDemandBackups.some((request) => request.storages?.includes(storageName));
    });
    if (users.length < 2) continue;
    const kubeadmUsers = users.filter((user) => inventory.clusters[user].kubeadm);
    const namespaces = new Set(users.map((user) => inventory.clusters[user].hosted?.namespace ?? user));
    const path: Path = ['storages', storageName, key, 'sealedSecret'];
    if (kubeadmUsers.length > 0) {
      issues.push({ path, message: `is used by clusters ${listOf(users.map((u) => `"${u}"`), 'and')}, but a SealedSecret opens only in the cluster whose controller sealed it: give each kubeadm cluster its own storage entry (or use existingSecret / externalSecret)` });
    } else if (sealed.scope !== 'cluster-wide' && namespaces.size > 1) {
      issues.push({ path: [...path, 'scope'], atKey: true, message: `is "${sealed.scope}", but clusters ${listOf(users.map((u) => `"${u}"`), 'and')} use this storage in different namespaces: seal with \`kubeseal --scope cluster-wide\` and set \`scope: cluster-wide\`` });
    }
  }
  return issues;
}

/** A kubeadm member list (the topology's, or a restore's replaced nodes): 1 to 7 members, each name and IP once. */
function memberListRules(members: readonly { name: string; ip: string }[], path: Path): RuleIssue[] {
  const issues: RuleIssue[] = [];
  if (members.length > 7) issues.push({ path, message: `lists ${members.length} members; etcd clusters have 1 to 7 (usually 1, 3 or 5)` });
  for (const field of ['name', 'ip'] as const) {
    const seen = new Map<string, number>();
    members.forEach((member, i) => {
      const first = seen.get(member[field]);
      if (first !== undefined) {
        issues.push({ path: [...path, i, field], message: `"${member[field]}" is also the ${field} of members[${first}]; every member needs its own` });
      } else seen.set(member[field], i);
    });
  }
  return issues;
}

/**
 * A kubeadm cluster's backup pods run on the host network (etcd listens on the node's loopback). GKE Workload
 * Identity serves tokens from the GKE metadata server, which answers pods on the pod network only (and a kubeadm
 * cluster is no GKE cluster): its pods would get no credentials. Azure Workload Identity (a projected token that the
 * SDK exchanges with Entra ID over the network) works on the host network and on any cluster whose issuer is
 * federated.
 */
function hostNetworkIdentityRules(inventory: ParsedInventory, scope: RuleScope): RuleIssue[] {
  const issues: RuleIssue[] = [];
  for (const [storageName, storage] of Object.entries(inventory.storages)) {
    if (!storage.gcs || !storage.credentials?.workloadIdentity?.gcp || scope.broken?.has(storageName)) continue;
    const users = Object.keys(inventory.clusters).filter((clusterName) => {
      const cluster = inventory.clusters[clusterName];
      if (!cluster.kubeadm) return false;
      const storages = settingSource(inventory, scope, clusterName, 'storages')?.value as string[] | undefined;
      return storages?.includes(storageName)
        || cluster.onDemandBackups.some((request) => request.storages?.includes(storageName))
        || cluster.restores.some((request) => request.storage === storageName);
    });
    if (users.length === 0) continue;
    issues.push({
      path: ['storages', storageName, 'credentials', 'workloadIdentity', 'gcp'],
      atKey: true,
      message: `is used by the kubeadm ${users.length === 1 ? 'cluster' : 'clusters'} ${listOf(shortList(users.map((u) => `"${u}"`)), 'and')}, whose backup pods run on the host network, where GKE Workload Identity gives no credentials (it serves pods on GKE's pod network only): give those clusters a storage with a key Secret (existingSecret, externalSecret or sealedSecret with the service-account JSON)`,
    });
  }
  return issues;
}

/**
 * Restore requests: the guards that make a GitOps restore safe to commit. The snapshot must be this cluster's
 * (unless the request says otherwise), the typed confirmation must repeat its name, and kubeadm members must all
 * restore from one shared copy.
 */
function restoreRules(inventory: ParsedInventory, scope: RuleScope, clusterName: string): RuleIssue[] {
  const cluster = inventory.clusters[clusterName];
  const issues: RuleIssue[] = [];
  const ids = new Set<string>();
  const storages = settingSource(inventory, scope, clusterName, 'storages')?.value as string[] | undefined;
  cluster.restores.forEach((request, i) => {
    const path: Path = ['clusters', clusterName, 'restores', i];
    if (ids.has(request.id)) issues.push({ path: [...path, 'id'], message: `"${request.id}" is used by another restore of this cluster; each restore needs its own id` });
    ids.add(request.id);

    if (request.members && !cluster.kubeadm) {
      issues.push({ path: [...path, 'members'], message: 'names the nodes to restore onto, which only a kubeadm cluster has; a hosted restore rebuilds the StatefulSet\'s replicas: remove `members`' });
    }
    if (request.members && cluster.kubeadm) issues.push(...memberListRules(request.members, [...path, 'members']));
    const restoredMembers = cluster.kubeadm ? request.members ?? cluster.kubeadm.members : [];
    const jobNames = cluster.kubeadm
      ? restoredMembers.map((member) => memberRestoreJobName(clusterName, request.id, member.name))
      : cluster.hosted ? Array.from({ length: cluster.hosted.replicas }, (_, ordinal) => replicaRestoreJobName(clusterName, request.id, ordinal)) : [];
    const longest = jobNames.reduce((a, b) => (b.length > a.length ? b : a), '');
    if (longest.length > MAX_JOB_NAME_LENGTH) {
      issues.push({ path: [...path, 'id'], message: `makes the Job name "${longest}" ${longest.length} characters long; Job names have at most ${MAX_JOB_NAME_LENGTH}: shorten the id` });
    }

    const storageName = request.storage ?? storages?.[0];
    if (storageName === undefined) return;
    const spec = own(inventory.storages, storageName);
    if (!spec || scope.broken?.has(storageName)) {
      if (!spec && request.storage) {
        const guess = nearest(storageName, Object.keys(inventory.storages));
        issues.push({ path: [...path, 'storage'], message: `"${storageName}" is not a storage${guess ? `; did you mean "${guess}"?` : ''}` });
      }
      return;
    }
    const storage = spec;
    if (spec.local && cluster.hosted) {
      issues.push({ path: [...path, request.storage ? 'storage' : 'id'], message: `restores from "${storageName}", a local (node) storage; a hosted cluster has no node access: restore from an S3 storage` });
      return;
    }
    if (spec.local && cluster.kubeadm && restoredMembers.length > 1) {
      issues.push({
        path: [...path, request.storage ? 'storage' : 'id'],
        message: `restores ${restoredMembers.length} members from "${storageName}", a local (node) storage, but every member must restore the same snapshot: restore from an S3 storage`,
      });
      return;
    }

    const reference = snapshotReference(storage, clusterName, request.snapshot);
    const expectedFolder = clusterFolder(storage, clusterName);
    if (!reference) {
      issues.push({ path: [...path, 'snapshot'], message: `${JSON.stringify(request.snapshot)} is not a snapshot key; write "latest" or the object's key, e.g. "${[expectedFolder, `${clusterName}-20260101T020000Z.db.zst.age`].filter(Boolean).join('/')}"` });
      return;
    }
    const foreign = reference.folder !== expectedFolder || reference.cluster !== clusterName;
    if (foreign && !request.allowCrossCluster) {
      issues.push({
        path: [...path, 'snapshot'],
        message: `${JSON.stringify(request.snapshot)} is outside this cluster's backups ("${expectedFolder}/"); restoring another cluster's backup into "${clusterName}" needs \`allowCrossCluster: true\``,
      });
    }
    const expected = reference.name === 'latest' ? clusterName : reference.name;
    if (request.confirm !== expected) {
      const what = reference.name === 'latest' ? 'the cluster\'s name' : 'the snapshot\'s name';
      issues.push({ path: [...path, 'confirm'], message: `${JSON.stringify(request.confirm)} does not confirm this restore; type ${what}, "${expected}"` });
    }
  });
  return issues;
}
