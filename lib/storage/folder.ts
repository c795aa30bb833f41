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

/** Lists `<folder>/` of a store, reads the sidecars of the sets that have one and assesses every set. */
export async function readFolder(store: ObjectStore, cluster: string, folder: string, options: AssessOptions & ListOptions = {}): Promise<Folder> {
  const contents = groupFolder(cluster, folder, await store.list(folder, options));
  const sidecars = await readSidecars(store, contents.sets.flatMap((set) => (set.sidecarKey ? [set.sidecarKey] : [])));
  const sets = contents.sets.map((set) => {
    const text = set.sidecarKey ? sidecars.get(set.sidecarKey) : undefined;
    return typeof text === 'object' ? assessSet(set, undefined, options, text.error) : assessSet(set, text, options);
  });
  return { sets, others: contents.others };
}
