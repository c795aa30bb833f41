/**
 * `controlplane-backup restore`: the break-glass path without GitOps. It adds the request to the inventory in memory,
 * validates it with the same rules as a committed request, and writes that restore's folder (objects, kustomization,
 * RUNBOOK.md) to --out.
 */
import { isMap, isSeq, parseDocument, YAMLSeq } from 'yaml';
import { InvalidInventoryError, type Problem } from '../inventory/errors';
import { parseInventory, readInventoryText } from '../inventory/load';
import { planCluster } from '../plan/cluster';
import { restoreFolderName } from '../plan/names';
import { renderRestoreFiles } from '../synth/restore-files';
import { generatedHeader } from '../plan/version';
import { suggestedFolder } from '../synth';
import { checkOutputFolder, replaceDirectory } from '../synth/write';

export interface RestoreOptions {
  readonly inventory: string;
  readonly cluster: string;
  readonly snapshot: string;
  readonly confirm: string;
  readonly id: string;
  readonly out: string;
  readonly storage?: string;
  readonly pki?: boolean;
  readonly allowCrossCluster?: boolean;
  /** The request's allowUnsigned: restore a named set not signed with the cluster's signing key. */
  readonly allowUnsigned?: boolean;
}

const FLAG_OF_FIELD: Record<string, string> = {
  id: '--id', snapshot: '--snapshot', confirm: '--confirm', storage: '--storage', allowCrossCluster: '--allow-cross-cluster', allowUnsigned: '--allow-unsigned', pki: '--pki',
};

/** Returns the number of files written; throws InvalidInventoryError with the request's problems worded as flags. */
export function writeRestoreBundle(options: RestoreOptions): number {
  checkOutputFolder(options.out, 'restore', { inventory: options.inventory, suggestion: suggestedFolder(options.inventory, restoreFolderName(options.id)) });
  const { text, name } = readInventoryText(options.inventory);
  // The inventory's own problems first, with their positions in the file (and before this code walks its YAML).
  const original = parseInventory(text, name);
  if (!original.ok) throw new InvalidInventoryError(original.problems);
  const doc = parseDocument(text);
  const clusters = doc.get('clusters', true);
  if (!isMap(clusters) || !clusters.has(options.cluster)) {
    throw new InvalidInventoryError([{ file: options.inventory, line: 1, column: 1, path: '', message: `--cluster: no cluster "${options.cluster}" in the inventory` }]);
  }
  const request = {
    id: options.id,
    snapshot: options.snapshot,
    confirm: options.confirm,
    ...(options.storage ? { storage: options.storage } : {}),
    ...(options.pki ? { pki: true } : {}),
    ...(options.allowCrossCluster ? { allowCrossCluster: true } : {}),
    ...(options.allowUnsigned ? { allowUnsigned: true } : {}),
  };
  let restores = doc.getIn(['clusters', options.cluster, 'restores'], true);
  if (!isSeq(restores)) {
    restores = new YAMLSeq();
    doc.setIn(['clusters', options.cluster, 'restores'], restores);
  }
  const index = (restores as YAMLSeq).items.length;
  (restores as YAMLSeq).add(doc.createNode(request));

  const result = parseInventory(String(doc), options.inventory);
  if (!result.ok) {
    // The inventory itself is valid: these are the request's problems, worded as flags.
    const prefix = `clusters.${options.cluster}.restores[${index}]`;
    throw new InvalidInventoryError(result.problems.map((problem): Problem => {
      const field = problem.path.slice(prefix.length + 1).split(/[.[]/)[0];
      return { file: options.inventory, line: 0, column: 0, path: '', message: `${FLAG_OF_FIELD[field] ?? field}: ${problem.message}` };
    }));
  }
  const folder = `${options.cluster}/${restoreFolderName(options.id)}/`;
  const files = new Map<string, string>();
  for (const [path, content] of renderRestoreFiles(planCluster(result.inventory, options.cluster))) {
    if (path.startsWith(folder)) files.set(path.slice(folder.length), generatedHeader(path) + content);
  }
  replaceDirectory(options.out, files, 'restore');
  return files.size;
}

