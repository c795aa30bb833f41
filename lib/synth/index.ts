/** inventory file -> validated model -> constructs -> dist/. The one entry point that main.ts and the CLI share. */
import { dirname, isAbsolute, join, relative } from 'node:path';
import { loadInventory } from '../inventory/load';
import type { Inventory } from '../inventory/model';
import { renderFiles, type RenderOptions } from './render';
import { checkOutputFolder, replaceDirectory } from './write';

export interface SynthResult {
  readonly inventory: Inventory;
  readonly files: number;
}

/**
 * Throws InvalidInventoryError or UnsafeOutputError (nothing written) on bad input. `source`: an inventory file
 * (`-`: stdin) or a loaded inventory.
 */
export function synthesize(source: string | Inventory, outDir: string, options: RenderOptions = {}): SynthResult {
  const inventoryFile = typeof source === 'string' && source !== '-' ? source : undefined;
  checkOutputFolder(outDir, 'synth', { inventory: inventoryFile, suggestion: suggestedFolder(inventoryFile ?? '.', 'dist') });
  const inventory = typeof source === 'string' ? loadInventory(source) : source;
  // Streamed: each file is written as it is rendered, so memory does not grow with the size of the output.
  const files = replaceDirectory(outDir, renderFiles(inventory, options));
  return { inventory, files };
}

/** `dist` beside the inventory (relative when the inventory is in the current directory): what --out should be. */
export function suggestedFolder(inventoryFile: string, name: string): string {
  const folder = dirname(inventoryFile);
  return folder === '.' ? name : join(isAbsolute(inventoryFile) ? folder : relative('.', folder) || '.', name);
}
