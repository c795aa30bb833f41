/**
 * The construct library: the same charts the CLI writes, in a user's own cdk8s app. The props are the inventory's
 * own input type, checked by the same zod schema and rules as inventory.yaml (same messages, without file positions).
 */
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { ClusterChart } from '../constructs/cluster-chart';
import { InvalidInventoryError } from '../inventory/errors';
import { parseInventory } from '../inventory/load';
import type { Inventory } from '../inventory/model';
import { planCluster } from '../plan/cluster';
import type { InventoryInput } from '../inventory/schema';

export interface ControlPlaneBackupProps {
  /** The inventory, exactly as inventory.yaml would hold it (`apiVersion: controlplane-backup.io/v1`, `kind: Inventory`). */
  readonly inventory: InventoryInput;
}

/** Validates an inventory given as an object; throws InvalidInventoryError with every problem (`<source>: <path>: <message>`). */
export function validateInventory(input: InventoryInput | Record<string, unknown>, source = 'inventory'): Inventory {
  // Through the YAML text, so that objects and files take exactly the same path (and the same messages).
  const result = parseInventory(stringify(input), source);
  if (result.ok) return result.inventory;
  throw new InvalidInventoryError(result.problems.map((problem) => ({
    ...problem,
    // line 0: no position, since the text was not written by the user.
    line: 0,
    column: 0,
    message: problem.path ? `${problem.path}: ${problem.message}` : problem.message,
  })));
}

/**
 * Every cluster of the inventory as one Chart (its id is the cluster's name), with the objects that the CLI writes to
 * `dist/<cluster>/`. The fleet-level GitOps wiring (`dist/argocd`, `dist/flux`) and SUMMARY.md stay with the CLI.
 */
export class ControlPlaneBackup extends Construct {
  /** The validated inventory, defaults applied. */
  public readonly inventory: Inventory;
  /** One chart per cluster, in inventory order. */
  public readonly charts: readonly ClusterChart[];

  constructor(scope: Construct, id: string, props: ControlPlaneBackupProps) {
    super(scope, id);
    this.inventory = validateInventory(props.inventory, `ControlPlaneBackup ${this.node.path}`);
    this.charts = this.inventory.clusters.map((cluster) => new ClusterChart(this, { plan: planCluster(this.inventory, cluster) }));
  }
}
