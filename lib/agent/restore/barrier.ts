/** The kubeadm members' barrier, in the object store the backup comes from (lib/storage/restores.ts keys). */
import { barrierKey, barrierMember, restoreFolder } from '../../storage/restores';
import type { ObjectStore } from '../../storage/store';
import type { Barrier } from './member';

export function storeBarrier(store: ObjectStore, clusterFolder: string, restoreId: string): Barrier {
  const folder = restoreFolder(clusterFolder, restoreId);
  return {
    location: `${store.description}/${folder}`,
    async stage(member, snapshot) {
      await store.write(barrierKey(clusterFolder, restoreId, member), `${snapshot}\n`);
    },
    async staged() {
      const staged = new Map<string, string>();
      for (const object of await store.list(folder)) {
        const member = barrierMember(folder, object.key);
        if (member) staged.set(member, (await store.read(object.key)).toString('utf8').split('\n')[0]);
      }
      return staged;
    },
  };
}
