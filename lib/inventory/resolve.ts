/** From the parsed (shape-checked, rule-checked) inventory to the frozen model: defaults applied, references resolved. */
import { INVENTORY_DEFAULTS } from './defaults';
import { durationHours, quantityValue } from './formats';
import { signingSecretName } from '../plan/names';
import type { BackupSettings, Cluster, Inventory, Retention, Storage, Topology } from './model';
import type { BackupSettingsInput, ClusterBackupSettingsInput, ClusterSpec, ParsedInventory, RetentionInput, StorageSpec } from './schema';

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Objects merge key by key (nested ones too); lists and scalars replace. Undefined never overrides. */
function merge<T extends object>(...layers: (Partial<T> | undefined)[]): T {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      const current = out[key];
      const bothObjects = value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object' && !Array.isArray(current);
      out[key] = bothObjects ? merge(current as object, value as object) : value;
    }
  }
  return out as T;
}

/** 0 means "rule not set". */
function resolveRetention(layer: RetentionInput): Retention {
  return {
    keepLast: layer.keepLast ?? 0,
    maxAgeHours: layer.maxAge ? durationHours(layer.maxAge) ?? 0 : 0,
    hourly: layer.hourly ?? 0,
    daily: layer.daily ?? 0,
    weekly: layer.weekly ?? 0,
    monthly: layer.monthly ?? 0,
  };
}

function resolveBackup(cluster: string, shared: BackupSettingsInput | undefined, own: ClusterBackupSettingsInput | undefined): BackupSettings {
  const defaults = INVENTORY_DEFAULTS.backup;
  // Retention and resources are policies: a cluster that sets them states the whole policy, not a patch of it.
  const retentionLayer = own?.retention ?? shared?.retention ?? defaults.retention;
  const resourcesLayer = own?.resources ?? shared?.resources ?? defaults.resources;
  const merged = merge<{ [K in keyof BackupSettingsInput]-?: NonNullable<BackupSettingsInput[K]> }>(defaults as BackupSettingsInput, shared, own);
  const retention = resolveRetention(retentionLayer);
  return {
    schedule: merged.schedule,
    timeZone: merged.timeZone,
    suspend: merged.suspend,
    retention,
    compression: merged.compression,
    encryption: { recipients: [...(merged.encryption.recipients ?? [])], snapshot: merged.encryption.snapshot ?? defaults.encryption.snapshot },
    storages: [...merged.storages],
    pki: merged.pki,
    encryptionConfig: merged.encryptionConfig,
    images: merged.images as BackupSettings["images"],
    resources: { requests: { ...(resourcesLayer.requests ?? {}) }, limits: { ...(resourcesLayer.limits ?? {}) } },
    minSnapshotBytes: Math.round(quantityValue(merged.minSnapshotSize)),
    snapshotTimeoutSeconds: merged.snapshotTimeoutSeconds,
    activeDeadlineSeconds: merged.activeDeadlineSeconds,
    startingDeadlineSeconds: merged.startingDeadlineSeconds,
    backoffLimit: merged.backoffLimit,
    successfulJobsHistoryLimit: merged.successfulJobsHistoryLimit,
    failedJobsHistoryLimit: merged.failedJobsHistoryLimit,
    scratchSize: merged.scratchSize,
    priorityClassName: merged.priorityClassName || undefined,
    tolerations: [...(merged.tolerations ?? [])],
    drill: {
      enabled: merged.drill.enabled ?? defaults.drill.enabled,
      schedule: merged.drill.schedule ?? defaults.drill.schedule,
      identitySecret: merged.drill.identitySecret || undefined,
    },
    // Only the cluster's own: a signing key in defaults.backup is refused (rules.ts), the private key is per cluster.
    ...(own?.signing ? { signing: { publicKey: own.signing.publicKey, secretName: own.signing.secretName ?? signingSecretName(cluster) } } : {}),
    alerts: {
      enabled: merged.alerts.enabled ?? defaults.alerts.enabled,
      rpoMargin: merged.alerts.rpoMargin ?? defaults.alerts.rpoMargin,
      runbookBaseUrl: merged.alerts.runbookBaseUrl ?? defaults.alerts.runbookBaseUrl,
    },
  };
}

function resolveTopology(spec: ClusterSpec): Topology {
  if (spec.kubeadm) return { kind: 'kubeadm', ...spec.kubeadm };
  const hosted = spec.hosted!;
  return { kind: 'hosted', ...hosted, headlessService: hosted.headlessService ?? hosted.statefulSet };
}

function resolveStorage(name: string, spec: StorageSpec): Storage {
  const common = { name, ...(spec.retention ? { retention: resolveRetention(spec.retention) } : {}) };
  if (spec.s3) return { ...common, kind: 's3', s3: spec.s3, credentials: spec.credentials!, ...(spec.pruneCredentials ? { pruneCredentials: spec.pruneCredentials } : {}) };
  if (spec.gcs) return { ...common, kind: 'gcs', gcs: spec.gcs, credentials: spec.credentials! };
  if (spec.azureBlob) return { ...common, kind: 'azureBlob', azureBlob: spec.azureBlob, credentials: spec.credentials! };
  if (spec.objectBucketClaim) return { ...common, kind: 'objectBucketClaim', objectBucketClaim: spec.objectBucketClaim };
  return { ...common, kind: 'local', local: spec.local! };
}

export function resolveInventory(file: string, parsed: ParsedInventory): Inventory {
  const storages = Object.fromEntries(
    Object.keys(parsed.storages).sort().map((name) => [name, resolveStorage(name, parsed.storages[name])]),
  );
  const clusters: Cluster[] = Object.keys(parsed.clusters).sort().map((name) => {
    const spec = parsed.clusters[name];
    const backup = resolveBackup(name, parsed.defaults.backup, spec.backup);
    return {
      name,
      topology: resolveTopology(spec),
      backup,
      onDemandBackups: spec.onDemandBackups.map((request) => ({ name: request.name, storages: request.storages ?? backup.storages })),
      restores: spec.restores.map((request) => ({
        id: request.id,
        snapshot: request.snapshot,
        confirm: request.confirm,
        storage: request.storage ?? backup.storages[0],
        pki: request.pki,
        bumpRevision: request.bumpRevision,
        allowCrossCluster: request.allowCrossCluster,
        allowUnsigned: request.allowUnsigned,
        ...(request.members ? { members: request.members.map((member) => ({ ...member })) } : {}),
      })),
      gitops: { ...spec.gitops },
      labels: spec.labels,
    };
  });
  return deepFreeze({ file, storages, clusters, ...(parsed.gitops ? { gitops: parsed.gitops } : {}) });
}
