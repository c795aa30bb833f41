/** inventory file -> validated model -> constructs -> dist/. The one entry point that main.ts and the CLI share. */
import { loadInventory } from '../inventory/load';
import type { Inventory } from '../inventory/model';
import { renderFiles, type RenderOptions } from './render';
import { replaceDirectory } from './write';

export interface SynthResult {
  readonly inventory: Inventory;
  readonly files: number;
}

/** Throws InvalidInventoryError (nothing written) on bad input. `source`: an inventory file (`-`: stdin) or a loaded inventory. */
export function synthesize(source: string | Inventory, outDir: string, options: RenderOptions = {}): SynthResult {
  const inventory = typeof source === 'string' ? loadInventory(source) : source;
  // Streamed: each file is written as it is rendered, so memory does not grow with the size of the output.
  const files = replaceDirectory(outDir, renderFiles(inventory, options));
  return { inventory, files };
}
