/** Kubernetes resource quantities ("512Mi", "2Gi", "100m"): read by the inventory's rules and by the agent's checks. */
export const QUANTITY = /^([0-9]+(\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const QUANTITY_FACTORS: Record<string, number> = {
  '': 1, m: 0.001, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** The quantity's value in its base unit (bytes for storage); throws on anything else. */
export function quantityValue(value: string): number {
  const match = QUANTITY.exec(value);
  if (!match) throw new Error(`not a quantity: ${value}`);
  return Number(match[1]) * QUANTITY_FACTORS[match[3] ?? ''];
}
