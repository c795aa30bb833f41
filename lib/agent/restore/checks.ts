/**
 * Checks before anything destructive (issue 11 item 5), pure: each failure names the check, the values found and the
 * fix. Run by the kubeadm member before it stops etcd and by the hosted coordinator in phase Validating.
 */
import { X509Certificate } from 'node:crypto';

export interface CheckFinding {
  readonly check: 'etcd-version' | 'free-space' | 'certificates' | 'cluster';
  readonly severity: 'error' | 'warning';
  readonly message: string;
}

const DAY_MS = 86_400_000;

function parseVersion(version: string | undefined): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version ?? '');
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** Who will write or serve the restored data, and how a person fixes a version it cannot handle. */
export interface EtcdVersionTarget {
  /** "the restore tools are etcd 3.5.16", "StatefulSet tenant-a/etcd runs etcd 3.5.16 (image ...)" */
  describe(version: string): string;
  /** the fix, given the snapshot's "major.minor" */
  fix(minor: string): string;
}

/** The tools image's etcdutl rebuilds the data dir (the kubeadm member, the hosted replicas). */
export const RESTORE_TOOLS: EtcdVersionTarget = {
  describe: (version) => `the restore tools are etcd ${version}`,
  fix: (minor) => `restore with a tools image whose etcdutl is ${minor} or newer (images.tools)`,
};

/**
 * A snapshot taken by a newer etcd minor than the etcd that restores or serves it may hold a schema that etcd cannot
 * read back; an older one is always restorable. Unknown versions (an old meta.json, a tool that does not say, an
 * image without a version tag) pass with a warning.
 */
export function checkEtcdVersion(snapshotVersion: string | undefined, targetVersion: string | undefined, target: EtcdVersionTarget = RESTORE_TOOLS): CheckFinding[] {
  const snap = parseVersion(snapshotVersion);
  const tool = parseVersion(targetVersion);
  if (!snap || !tool) {
    return [{ check: 'etcd-version', severity: 'warning', message: `etcd versions unknown (snapshot taken by ${snapshotVersion || 'an unrecorded version'}, ${target.describe(targetVersion || 'unknown')}): not checked` }];
  }
  if (snap[0] > tool[0] || (snap[0] === tool[0] && snap[1] > tool[1])) {
    return [{ check: 'etcd-version', severity: 'error', message: `etcd-version: the snapshot was taken by etcd ${snapshotVersion}, ${target.describe(targetVersion!)}: ${target.fix(`${snap[0]}.${snap[1]}`)}` }];
  }
  return [];
}

/** The etcd version an image reference names by its tag ("registry.k8s.io/etcd:3.5.16-0", "quay.io/coreos/etcd:v3.5.16"). */
export function imageEtcdVersion(image: string | undefined): string | undefined {
  const tag = /:([^:/@]+)(@sha256:[0-9a-f]+)?$/.exec(image ?? '')?.[1];
  const version = parseVersion(tag);
  return version ? version.join('.') : undefined;
}

/** The staging dir goes beside the data: the volume needs room for the restored copy and then some. */
export function checkFreeSpace(where: string, freeBytes: number, snapshotBytes: number): CheckFinding[] {
  const need = 2 * snapshotBytes;
  if (freeBytes >= need) return [];
  return [{ check: 'free-space', severity: 'error', message: `free-space: ${where} has ${mib(freeBytes)} free, the restore needs at least twice the snapshot (2 x ${mib(snapshotBytes)} = ${mib(need)}) for the staging dir: free space on that volume (old member.before-restore-* dirs?) or grow it` }];
}

/**
 * Hosted: the replicas restore into their PVCs, beside the old data; before anything is scaled down the coordinator
 * can only see the size the StatefulSet claims for each, which must hold twice the snapshot.
 */
export function checkVolumeSize(where: string, capacityBytes: number, snapshotBytes: number): CheckFinding[] {
  const need = 2 * snapshotBytes;
  if (capacityBytes >= need) return [];
  return [{ check: 'free-space', severity: 'error', message: `free-space: ${where} holds ${mib(capacityBytes)}, the restore needs at least twice the snapshot (2 x ${mib(snapshotBytes)} = ${mib(need)}) for the restored copy beside the data: grow the PVCs (a storage class with allowVolumeExpansion) before restoring` }];
}

/** Expired certificates in the restored PKI fail the restore; those expiring within 7 days are a warning with dates. */
export function checkCertificates(files: readonly { readonly path: string; readonly data: Buffer }[], now: Date): CheckFinding[] {
  const findings: CheckFinding[] = [];
  for (const file of files) {
    if (!file.path.endsWith('.crt')) continue;
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(file.data);
    } catch {
      continue; // not a single PEM certificate (a bundle, a key): not ours to judge
    }
    const notAfter = new Date(cert.validTo);
    const date = notAfter.toISOString().replace(/\.\d{3}Z$/, 'Z');
    if (notAfter.getTime() <= now.getTime()) {
      findings.push({ check: 'certificates', severity: 'error', message: `certificates: ${file.path} of the backup expired on ${date}: a control plane restored with it does not start; restore without the PKI (pki: false) or from a newer backup` });
    } else if (notAfter.getTime() - now.getTime() < 7 * DAY_MS) {
      findings.push({ check: 'certificates', severity: 'warning', message: `certificates: ${file.path} of the backup expires on ${date}, within 7 days: renew it right after the restore (kubeadm certs renew)` });
    }
  }
  return findings;
}

/** A backup of another cluster is refused unless the request says allowCrossCluster. */
export function checkCluster(backupCluster: string | undefined, cluster: string, allowCrossCluster: boolean): CheckFinding[] {
  if (backupCluster === undefined || backupCluster === cluster || allowCrossCluster) return [];
  return [{ check: 'cluster', severity: 'error', message: `cluster: the backup was taken of cluster ${backupCluster} (its meta.json), this restore is for ${cluster}: pick a backup of ${cluster}, or set allowCrossCluster: true on the restore request if this is on purpose` }];
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}
