/** The public module of the `controlplane-backup` package: `import { ControlPlaneBackup } from 'controlplane-backup'`. */
export { ControlPlaneBackup, validateInventory, type ControlPlaneBackupProps } from './library/control-plane-backup';
export { ClusterChart, type ClusterChartProps } from './constructs/cluster-chart';
/** Every decision for one cluster, for `new ClusterChart(scope, { plan: planCluster(inventory, name) })`. */
export { planCluster, type ClusterPlan } from './plan/cluster';
export { InvalidInventoryError, type Problem } from './inventory/errors';
export { loadInventory, parseInventory } from './inventory/load';
export type { Inventory, Cluster, Storage, BackupSettings } from './inventory/model';
export type { InventoryInput } from './inventory/schema';
export { inventoryJsonSchema } from './inventory/json-schema';
/** The CLI's file naming and YAML rendering, for apps that want the same files as `controlplane-backup synth`. */
export { objectFile } from './synth/render';
export { objectFileName } from './synth/files';
export { toYaml } from './synth/yaml';
export { validateDirectory, validateObject, formatIssue, type ValidationIssue } from './validate';
