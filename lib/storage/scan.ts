/** Lists the folders of many targets at once, a few at a time, each failure kept with its target. */
import { readFolder, type Folder } from './folder';
import { parseDrillReport, type BackupSet, type DrillSummary } from './layout';
import type { StoreClients } from './clients';
import { StorageError } from './s3';
import type { StoreLocation, Target } from './targets';

export type ScanResult =
  | { readonly target: Target; readonly status: 'listed'; readonly contents: Folder }
  | { readonly target: Target; readonly status: 'skipped'; readonly message: string }
  | { readonly target: Target; readonly status: 'failed'; readonly message: string };

export interface ScanOptions {
  /** MaxKeys per ListObjectsV2 page; tests page small instead of creating thousands of objects. @default 1000 */
  readonly pageSize?: number;
  /** Called as pages arrive: objects listed so far over all targets, targets done, targets to list. */
  readonly onProgress?: (objects: number, done: number, total: number) => void;
}

/** How many folders (or drill reports) are read at once: enough to hide latency, few enough for any endpoint. */
const PARALLEL = 4;

/** Runs `work` on every item, at most PARALLEL at once, keeping the order of the items in the result. */
export async function mapLimited<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  return results;
}

export async function scanTargets(clients: StoreClients, targets: readonly Target[], options: ScanOptions = {}): Promise<ScanResult[]> {
  const listable = targets.filter((target) => target.location).length;
  const counts = new Map<Target, number>();
  let done = 0;
  const report = () => options.onProgress?.([...counts.values()].reduce((a, b) => a + b, 0), done, listable);
  return mapLimited(targets, async (target): Promise<ScanResult> => {
    if (!target.location) return { target, status: 'skipped', message: target.skipped! };
    try {
      const publicKey = target.cluster.backup.signing?.publicKey;
      const contents = await readFolder(clients.store(target.location), target.cluster.name, target.folder, {
        ...(publicKey ? { publicKey } : {}),
        pageSize: options.pageSize,
        onPage: (listed) => {
          counts.set(target, listed);
          report();
        },
      });
      return { target, status: 'listed', contents };
    } catch (error) {
      if (!(error instanceof StorageError)) throw error;
      return { target, status: 'failed', message: error.message };
    } finally {
      done++;
      report();
    }
  });
}

/** The drill report of a set; a report that cannot be read or parsed is `unreadable`, with the reason. */
export async function readDrill(clients: StoreClients, location: StoreLocation, set: BackupSet): Promise<DrillSummary | null> {
  if (!set.drillKey) return null;
  try {
    return parseDrillReport((await clients.store(location).read(set.drillKey)).toString('utf8'));
  } catch (error) {
    if (!(error instanceof StorageError)) throw error;
    return { result: 'unreadable', checkedAt: null, message: error.message };
  }
}
