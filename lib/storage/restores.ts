/**
 * Where a restore keeps its own objects beside the backups: `<cluster folder>/restores/<id>/`. The kubeadm members
 * meet there before any of them stops etcd (`<member>.staged`: the backup it staged) and record how each ended
 * (`<member>.result.json`), which outlives the pod. These keys are never a set's objects: retention ignores them.
 */
import { objectKey } from './layout';

/** `<cluster folder>/restores/<id>` */
export function restoreFolder(clusterFolder: string, restoreId: string): string {
  return objectKey(clusterFolder, `restores/${restoreId}`);
}

/** The barrier object of one member: its text is the name of the backup the member staged. */
export function barrierKey(clusterFolder: string, restoreId: string, member: string): string {
  return objectKey(restoreFolder(clusterFolder, restoreId), `${member}.staged`);
}

/** The member of a barrier key directly in `restoreFolder`, or undefined. */
export function barrierMember(restoreFolderKey: string, key: string): string | undefined {
  const m = new RegExp(`^${restoreFolderKey.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/([A-Za-z0-9._-]+)\\.staged$`).exec(key);
  return m?.[1];
}

/** A member's result line, kept after its pod is gone. */
export function restoreResultKey(clusterFolder: string, restoreId: string, member: string): string {
  return objectKey(restoreFolder(clusterFolder, restoreId), `${member}.result.json`);
}
