/** inventory file -> validated model -> constructs -> dist/. The one entry point that main.ts and the CLI share. */
import { loadInventory } from '../inventory/load';
import type { Inventory } from '../inventory/model';
import { renderInventory, type RenderOptions } from './render';
import { replaceDirectory } from './write';

export interface SynthResult {
  readonly inventory: Inventory;
  readonly files: number;
}

/** Throws InvalidInventoryError (nothing written) on bad input. */
export function synthesize(inventoryFile: string, outDir: string, options: RenderOptions = {}): SynthResult {
  const inventory = loadInventory(inventoryFile);
  const files = renderInventory(inventory, options);
  replaceDirectory(outDir, files);
  return { inventory, files: files.size };
}
