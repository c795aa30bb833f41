/**
 * dist/SUMMARY.md: the fleet's backup topology for people, regenerated on every synth. Everything in it comes
 * from the inventory and the pure plans (no clock, no host): the same inventory gives the same bytes.
 */
import { signingKeyId } from '../storage/signature';
import { clusterStorages, type Cluster, type Inventory, type Retention, type Storage } from '../inventory/model';
import { credentialKind, storageIdentity } from '../plan/identity';
import { schedulePause } from '../plan/pause';
import { retentionWindow } from '../plan/retention-window';
import { analyzeSchedule, describeSchedule, durationInWords, RPO_WINDOW, type ScheduleAnalysis } from '../plan/schedule';
import { plural } from '../text';

interface ClusterFacts {
  readonly cluster: Cluster;
  readonly analysis: ScheduleAnalysis;
  /** Worst-case RPO in minutes; Infinity when suspended or when it runs less than twice a year. */
  readonly rpo: number;
  readonly reach: number;
  readonly reachText: string;
}

const code = (text: string) => `\`${text}\``;
const list = (items: readonly string[]) =>
  items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
const sameRetention = (a: Retention, b: Retention) => JSON.stringify(a) === JSON.stringify(b);

function factsOf(cluster: Cluster): ClusterFacts {
  const { schedule, timeZone, retention } = cluster.backup;
  const analysis = analyzeSchedule(schedule, timeZone);
  const window = retentionWindow(retention, analysis.usualGapMinutes);
  return {
    cluster,
    analysis,
    rpo: schedulePause(cluster).suspended ? Number.POSITIVE_INFINITY : analysis.worstGapMinutes,
    reach: window.reachMinutes,
    reachText: window.reachText,
  };
}

function topologyLine(cluster: Cluster): string {
  const { topology } = cluster;
  if (topology.kind === 'kubeadm') {
    const members = topology.members.map((member) => `${member.name} (${member.ip})`);
    return `kubeadm, stacked etcd on ${plural(members.length, 'control-plane member')}: ${list(members)}; backup objects in namespace ${code(topology.namespace)} of the cluster itself`;
  }
  return `hosted control plane, etcd StatefulSet ${code(`${topology.namespace}/${topology.statefulSet}`)} with ${plural(topology.replicas, 'replica')}; backup objects in namespace ${code(topology.namespace)} of the management cluster`;
}

function rpoLine(facts: ClusterFacts): string {
  const { analysis, cluster } = facts;
  const pause = schedulePause(cluster);
  if (pause.suspended) return `unbounded: no backup is taken while the schedule is suspended (${pause.reason})`;
  if (!Number.isFinite(analysis.worstGapMinutes)) return `unbounded: the schedule runs less than twice in ${RPO_WINDOW.label}`;
  let line = `${durationInWords(analysis.worstGapMinutes)}`;
  if (analysis.worstGapMinutes !== analysis.usualGapMinutes && analysis.worstGap) {
    line += ` (usually ${durationInWords(analysis.usualGapMinutes)}; the longest gap runs from ${analysis.worstGap.from} to ${analysis.worstGap.to})`;
  }
  const notes: string[] = [];
  if (analysis.skippedRuns > 0) {
    notes.push(`${plural(analysis.skippedRuns, 'run')} in ${RPO_WINDOW.label} fall${analysis.skippedRuns === 1 ? 's' : ''} on a wall-clock time that the spring-forward change skips, and the CronJob controller does not run ${analysis.skippedRuns === 1 ? 'it' : 'them'} that day`);
  }
  if (analysis.repeatedRuns > 0) {
    notes.push(`${plural(analysis.repeatedRuns, 'run')} in ${RPO_WINDOW.label} fall${analysis.repeatedRuns === 1 ? 's' : ''} on a wall-clock time that happens twice when clocks go back, and the CronJob controller runs ${analysis.repeatedRuns === 1 ? 'it' : 'them'} twice`);
  }
  return notes.length ? `${line}. ${notes.map((note) => note[0].toUpperCase() + note.slice(1)).join('. ')}` : line;
}

function retentionText(retention: Retention, interval: number): string {
  const window = retentionWindow(retention, interval);
  const oldest = window.tiers.length > 1 ? `; oldest restore point about ${window.reachText} back` : '';
  return `${window.text}${oldest}`;
}

/**
 * A lock longer than the retention's maxAge is no error: the lock is a floor chosen on purpose, retention a ceiling,
 * and a set goes when both allow it. The line says so, because the bucket then holds more than maxAge suggests.
 */
function objectLockWords(lock: { mode: string; days: number }, retention: Retention): string {
  const longer = retention.maxAgeHours > 0 && retention.maxAgeHours < lock.days * 24;
  return `Object Lock ${lock.mode} for ${plural(lock.days, 'day')}: retention deletes a set only once its lock has ended`
    + (longer ? ` (longer than maxAge: sets stay ${plural(lock.days, 'day')} at least)` : '');
}

function destinationLine(storage: Storage, cluster: Cluster, interval: number): string {
  let where: string;
  switch (storage.kind) {
    case 's3': {
      const { s3, credentials } = storage;
      const key = [s3.bucket, s3.prefix, cluster.name].filter(Boolean).join('/');
      where = `S3 ${code(`${key}/`)} at ${s3.endpoint}${s3.sse ? ` (server-side encryption ${s3.sse.type})` : ''}; ${credentialWords(storage, credentials)}`
        + (s3.objectLock ? `; ${objectLockWords(s3.objectLock, storage.retention ?? cluster.backup.retention)}` : '');
      break;
    }
    case 'gcs': {
      const { gcs, credentials } = storage;
      const key = [gcs.bucket, gcs.prefix, cluster.name].filter(Boolean).join('/');
      where = `Google Cloud Storage ${code(`gs://${key}/`)}${gcs.endpoint ? ` at ${gcs.endpoint}` : ''}; ${credentialWords(storage, credentials, 'service-account key')}`;
      break;
    }
    case 'azureBlob': {
      const { azureBlob, credentials } = storage;
      const key = [azureBlob.container, azureBlob.prefix, cluster.name].filter(Boolean).join('/');
      where = `Azure Blob Storage account ${code(azureBlob.account)}, ${code(`${key}/`)}${azureBlob.endpoint ? ` at ${azureBlob.endpoint}` : ''}; ${credentialWords(storage, credentials, 'connection string')}`;
      break;
    }
    case 'objectBucketClaim': {
      const claim = storage.objectBucketClaim;
      const bucket = claim.bucketName ? `bucket ${code(claim.bucketName)}` : `a bucket named ${code(`${claim.generateBucketName}-...`)}`;
      where = `${bucket} from an ObjectBucketClaim (storage class ${code(claim.storageClassName)}), folder ${code(`${[claim.prefix, cluster.name].filter(Boolean).join('/')}/`)}; credentials ${code(credentialKind(storage))}: the Secret the provisioner writes`;
      break;
    }
    case 'local':
      where = `the control-plane node's disk, ${code(`${storage.local.path}/${cluster.name}/`)}; credentials ${code(credentialKind(storage))}`;
      break;
  }
  const own = storage.retention && !sameRetention(storage.retention, cluster.backup.retention)
    ? `; its own retention keeps ${retentionText(storage.retention, interval)}`
    : '';
  return `${code(storage.name)}: ${where}${own}`;
}

function encryptionLine(cluster: Cluster): string {
  const { encryption, pki, encryptionConfig } = cluster.backup;
  const recipients = plural(encryption.recipients.length, 'age recipient');
  const snapshot = encryption.snapshot && encryption.recipients.length > 0 ? `snapshot encrypted for ${recipients}` : 'snapshot not encrypted';
  if (!pki) return `${snapshot}; no PKI bundle`;
  const contents = cluster.topology.kind === 'kubeadm'
    ? code(cluster.topology.pkiDir)
    : cluster.topology.pkiSecrets.length ? `Secrets ${list(cluster.topology.pkiSecrets.map(code))}` : 'no Secrets listed';
  const config = encryptionConfig?.hostPath || encryptionConfig?.secret ? ' and the encryption-at-rest config' : '';
  return `${snapshot}; PKI bundle: yes (${contents}${config}), encrypted for ${recipients}`;
}

function clusterSection(facts: ClusterFacts, inventory: Inventory): string[] {
  const { cluster, analysis } = facts;
  const { backup } = cluster;
  const pause = schedulePause(cluster);
  const interval = analysis.usualGapMinutes;
  const lines = [
    `## ${cluster.name}`,
    '',
    `- Topology: ${topologyLine(cluster)}.`,
    `- Schedule: ${describeSchedule(backup.schedule, backup.timeZone)}, ${code(backup.schedule)}${pause.suspended ? `; **suspended**: ${pause.reason}` : ''}.`,
    `- Worst-case RPO: ${rpoLine(facts)}.`,
    `- Retention: ${retentionText(backup.retention, interval)}.`,
    `- Destinations:`,
    ...backup.storages.map((name) => `  - ${destinationLine(inventory.storages[name], cluster, interval)}.`),
    `- Encryption: ${encryptionLine(cluster)}.`,
    `- Signing: ${backup.signing
      ? `every set signed with key ${code(signingKeyId(backup.signing.publicKey))} (Secret ${code(backup.signing.secretName)}); restores, drills and retention use only signed sets`
      : '**unsigned**: anyone with the storage credential can plant a set that restores and drills take as latest; set `backup.signing` (README, "Signed backups")'}.`,
  ];
  if (cluster.onDemandBackups.length) {
    lines.push(`- On-demand backups: ${list(cluster.onDemandBackups.map((request) => `${code(request.name)} (to ${list(request.storages.map(code))})`))}.`);
  }
  if (cluster.restores.length) {
    lines.push('- **Restore pending**: the backup and drill CronJobs are suspended in this folder until the request is removed from the inventory (applied by hand, never by an automated sync):');
    for (const restore of cluster.restores) {
      lines.push(`  - ${code(restore.id)}: snapshot ${code(restore.snapshot)} from ${code(restore.storage)}${restore.pki ? ', with its PKI bundle' : ''}.`);
    }
  } else {
    lines.push('- Pending restore requests: none.');
  }
  return lines;
}

function fleetSection(all: readonly ClusterFacts[], inventory: Inventory): string[] {
  const kubeadm = all.filter((f) => f.cluster.topology.kind === 'kubeadm');
  const hosted = all.filter((f) => f.cluster.topology.kind === 'hosted');
  const members = kubeadm.reduce((sum, f) => sum + (f.cluster.topology.kind === 'kubeadm' ? f.cluster.topology.members.length : 0), 0);
  const replicas = hosted.reduce((sum, f) => sum + (f.cluster.topology.kind === 'hosted' ? f.cluster.topology.replicas : 0), 0);
  const users = new Map<string, string[]>(Object.keys(inventory.storages).map((name) => [name, []]));
  for (const { cluster } of all) {
    for (const name of clusterStorages(cluster)) users.get(name)?.push(cluster.name);
  }
  const lines = [
    '## Fleet',
    '',
    `- Clusters: ${all.length} (${plural(kubeadm.length, 'kubeadm cluster')} with ${plural(members, 'etcd member')}, ${plural(hosted.length, 'hosted control plane')} with ${plural(replicas, 'etcd replica')}).`,
    `- Storages: ${Object.keys(inventory.storages).length}.`,
    ...[...users].map(([name, clusters]) => `  - ${code(name)} (${kindWords(inventory.storages[name])}): ${clusters.length ? list(clusters) : 'used by no cluster'}.`),
  ];
  const ranked = [...all].sort((a, b) => a.rpo - b.rpo || a.cluster.name.localeCompare(b.cluster.name));
  if (ranked.length) {
    const shortest = ranked[0];
    const longest = ranked[ranked.length - 1];
    lines.push(`- Shortest worst-case RPO: ${durationInWords(shortest.rpo)} (${shortest.cluster.name}); longest: ${durationInWords(longest.rpo)} (${longest.cluster.name}).`);
  }
  const restores = all.reduce((sum, f) => sum + f.cluster.restores.length, 0);
  lines.push(`- Pending restore requests: ${restores}.`);
  return lines;
}

/** The credential kind of a destination and where it comes from: which Secret holds its key, or which identity it assumes. */
function credentialWords(storage: Storage, credentials: Extract<Storage, { kind: 's3' | 'gcs' | 'azureBlob' }>['credentials'], material?: string): string {
  const identity = storageIdentity(storage);
  const of = material ? `${material} from ` : '';
  const source = identity
    ? `workload identity ${identity.principal}; you create ${identity.userCreates}`
    : credentials.externalSecret
      ? `${of}ExternalSecret from ${credentials.externalSecret.secretStoreRef.kind} ${code(credentials.externalSecret.secretStoreRef.name)}`
      : credentials.sealedSecret ? `${of}SealedSecret` : `${of}existing Secret ${code(credentials.existingSecret?.name ?? '')}`;
  return `credentials ${code(credentialKind(storage))}: ${source}`;
}

function kindWords(storage: Storage): string {
  return { s3: 'S3', gcs: 'GCS', azureBlob: 'Azure Blob', objectBucketClaim: 'ObjectBucketClaim', local: 'node disk' }[storage.kind];
}

export function renderSummary(inventory: Inventory): string {
  const all = inventory.clusters.map(factsOf);
  const lines = [
    '# Control-plane backups',
    '',
    'Generated by `controlplane-backup synth` from the inventory; do not edit (the next synth rewrites it).',
    '',
    `Worst-case RPO is the longest time between two consecutive scheduled runs in ${RPO_WINDOW.label}, computed in the`,
    'schedule\'s time zone the way the Kubernetes CronJob controller runs it (a run on a wall-clock time that a',
    'daylight-saving change skips does not happen that day; one on a time that happens twice runs twice), plus the time',
    'a run takes. Restore points are approximate: the retention tiers keep the newest backup of each period.',
    '',
    '| cluster | topology | schedule | worst-case RPO | oldest restore point | destinations |',
    '| --- | --- | --- | --- | --- | --- |',
    ...all.map((f) => {
      const { cluster } = f;
      const topology = cluster.topology.kind === 'kubeadm'
        ? `kubeadm, ${plural(cluster.topology.members.length, 'member')}`
        : `hosted, ${plural(cluster.topology.replicas, 'replica')}`;
      const reach = Number.isFinite(f.reach) ? `about ${f.reachText}` : 'no limit';
      const pause = schedulePause(cluster);
      const state = pause.restoreIds.length ? ' (**restore pending**: suspended)' : pause.suspended ? ' (suspended)' : '';
      return `| ${cluster.name} | ${topology} | ${code(cluster.backup.schedule)} ${cluster.backup.timeZone}${state} | ${durationInWords(f.rpo)} | ${reach} | ${cluster.backup.storages.join(', ')} |`;
    }),
    '',
    ...fleetSection(all, inventory),
  ];
  for (const facts of all) lines.push('', ...clusterSection(facts, inventory));
  return `${lines.join('\n')}\n`;
}
