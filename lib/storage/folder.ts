/** One cluster's folder in one store, read and assessed: the listing, every sidecar, completeness. */
import { groupFolder, type StoredObject } from './layout';
import { assessSet, type AssessedSet, type AssessOptions } from './sets';
import { readSidecars, type ListOptions, type ObjectStore } from './store';

export interface Folder {
  /** Newest first. */
  readonly sets: readonly AssessedSet[];
  /** Objects of the folder that belong to no set of this cluster. */
  readonly others: readonly StoredObject[];
}

/**
 * Lists `<folder>/` of a store, reads the sidecars of the sets that have one (and their signatures, when the
 * cluster has a signing key: `options.publicKey`) and assesses every set.
 */
export async function readFolder(store: ObjectStore, cluster: string, folder: string, options: AssessOptions & ListOptions = {}): Promise<Folder> {
  const contents = groupFolder(cluster, folder, await store.list(folder, options));
  const signed = options.publicKey !== undefined;
  const texts = await readSidecars(store, contents.sets.flatMap((set) => [
    ...(set.sidecarKey ? [set.sidecarKey] : []),
    ...(signed && set.sidecarKey && set.signatureKey ? [set.signatureKey] : []),
  ]));
  const sets = contents.sets.map((set) => {
    const text = set.sidecarKey ? texts.get(set.sidecarKey) : undefined;
    const signature = set.signatureKey ? texts.get(set.signatureKey) : undefined;
    return typeof text === 'object' ? assessSet(set, undefined, options, text.error) : assessSet(set, text, options, undefined, signature);
  });
  return { sets, others: contents.others };
}
