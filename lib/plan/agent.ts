/**
 * The agent's plans, rendered from the cluster plan: what the pods read (lib/agent/plan.ts is their schema). Pure:
 * the same inventory renders byte-identical plans.
 */
import type { BackupPlan as AgentBackupPlan, DrillPlan as AgentDrillPlan } from '../agent/plan';
import { PLAN_API_VERSION } from '../agent/plan';
import type { Cluster } from '../inventory/model';
import { PACKAGE_VERSION } from '../version';
import { POD_PATHS, SIGNING_PATHS, type BackupPlan } from './backup';
import { DRILL_PATHS, type DrillPlan } from './drill';

/** File of a backup plan in the config ConfigMap: `backup-plan.json`, or `backup-plan-<request>.json` on demand. */
export function backupPlanFile(request?: string): string {
  return request ? `backup-plan-${request}.json` : 'backup-plan.json';
}

export const DRILL_PLAN_FILE = 'drill-plan.json';

/** How long the drill waits for its throwaway etcd to become healthy. */
const DRILL_ETCD_START_SECONDS = 120;

export function agentBackupPlan(cluster: Cluster, plan: BackupPlan, request?: string): AgentBackupPlan {
  const { backup } = cluster;
  return {
    apiVersion: PLAN_API_VERSION,
    kind: 'BackupPlan',
    packageVersion: PACKAGE_VERSION,
    cluster: cluster.name,
    scratchDir: POD_PATHS.scratch,
    deadlineSeconds: backup.activeDeadlineSeconds,
    request: request ?? null,
    snapshotFile: POD_PATHS.snapshot,
    minSnapshotBytes: backup.minSnapshotBytes,
    compression: { algorithm: backup.compression, level: null },
    recipients: [...backup.encryption.recipients],
    encryptSnapshot: backup.encryption.snapshot && backup.encryption.recipients.length > 0,
    pki: plan.pkiPaths.length > 0 ? { paths: [...plan.pkiPaths], encryptionConfigFile: plan.encryptionConfigFile ?? null } : null,
    etcd: { ...plan.etcd },
    destinations: plan.destinations.map((destination) => destination.agent),
    signing: backup.signing ? { keyFile: SIGNING_PATHS.keyFile, publicKey: backup.signing.publicKey } : null,
  };
}

export function agentDrillPlan(cluster: Cluster, plan: DrillPlan): AgentDrillPlan {
  const source = plan.source.agent;
  if (source.kind === 'local') throw new Error(`drill of ${cluster.name}: source ${source.name} is not remote`);
  return {
    apiVersion: PLAN_API_VERSION,
    kind: 'DrillPlan',
    packageVersion: PACKAGE_VERSION,
    cluster: cluster.name,
    scratchDir: POD_PATHS.scratch,
    deadlineSeconds: cluster.backup.activeDeadlineSeconds,
    source,
    identityFile: plan.identitySecret ? DRILL_PATHS.identityFile : null,
    identitySecret: plan.identitySecret ?? null,
    etcdStartSeconds: DRILL_ETCD_START_SECONDS,
    signingPublicKey: cluster.backup.signing?.publicKey ?? null,
  };
}

/** A plan as the ConfigMap holds it. */
export function planText(plan: AgentBackupPlan | AgentDrillPlan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}
