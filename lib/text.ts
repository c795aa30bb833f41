/** Small text helpers shared by every layer (a leaf: it imports nothing): typo hints, lists and counts in words. */

/** Levenshtein distance, for "did you mean" hints on typos. */
function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0];
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j];
      previous[j] = Math.min(previous[j] + 1, previous[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return previous[b.length];
}

/** The candidate closest to `input`, when it is close enough to be a plausible typo. */
export function nearest(input: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(input.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const tolerance = Math.max(2, Math.floor(input.length / 3));
  return bestDistance <= tolerance ? best : undefined;
}

/** "a, b or c" */
export function listOf(values: readonly string[], conjunction = 'or'): string {
  if (values.length <= 1) return values.join('');
  return `${values.slice(0, -1).join(', ')} ${conjunction} ${values[values.length - 1]}`;
}

/** At most `max` items, then "N more": a message about hundreds of clusters stays one readable line. */
export function shortList(values: readonly string[], max = 5): string[] {
  return values.length <= max + 1 ? [...values] : [...values.slice(0, max), `${values.length - max} more`];
}

/** "1 backup", "3 backups"; `many` for irregular plurals. */
export function plural(count: number, word: string, many = `${word}s`): string {
  return `${count} ${count === 1 ? word : many}`;
}

/**
 * `clusters.prod-eu-1.kubeadm.members[0].ip`, `metadata.labels["app.kubernetes.io/name"]`: numbers become `[0]`,
 * keys that are not plain words are quoted. The inventory's problems and the manifest checks both print paths so.
 */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const step of path) {
    if (typeof step === 'number') out += `[${step}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(step)) out += out ? `.${step}` : step;
    else out += `[${JSON.stringify(step)}]`;
  }
  return out;
}
