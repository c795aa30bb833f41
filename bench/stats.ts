/** Small helpers for benchmark figures: medians, ratios, formatting. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function ratio(a: number, b: number): number {
  return b > 0 ? a / b : Number.NaN;
}

export function seconds(ms: number): string {
  return Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : '-';
}

export function mb(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 1e6).toFixed(1)} MB` : '-';
}

export function times(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(2)}x` : '-';
}

/** Goal check: "met" or "MISSED", for the table and the summary. */
export function verdict(value: number, limit: number): 'met' | 'MISSED' {
  return Number.isFinite(value) && value <= limit ? 'met' : 'MISSED';
}
