/**
 * Validation of the 5-field cron syntax that the Kubernetes CronJob controller accepts
 * (robfig/cron standard parser: numbers, names, ranges, steps, lists, `?` and the @-macros).
 * Returns a sentence for people, or undefined when the expression is valid.
 */
const FIELDS = [
  { name: 'minute', min: 0, max: 59, names: [] as string[] },
  { name: 'hour', min: 0, max: 23, names: [] as string[] },
  { name: 'day-of-month', min: 1, max: 31, names: [] as string[] },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  },
  { name: 'day-of-week', min: 0, max: 6, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
] as const;

const CRON_MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'] as const;

export function cronProblem(expression: string): string | undefined {
  const trimmed = expression.trim();
  if (trimmed === '') return 'is empty; write 5 fields such as "0 2 * * *" or a macro such as "@daily"';
  if (trimmed.startsWith('@')) {
    return (CRON_MACROS as readonly string[]).includes(trimmed)
      ? undefined
      : `unknown macro "${trimmed}"; use one of ${CRON_MACROS.join(', ')} or 5 fields`;
  }
  if (/^(TZ|CRON_TZ)=/.test(trimmed)) return 'set the time zone with `timeZone`, not inside the schedule';
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 5) {
    return `has ${parts.length} field${parts.length === 1 ? '' : 's'}; a schedule has 5: minute hour day-of-month month day-of-week (e.g. "0 2 * * *")`;
  }
  for (let i = 0; i < 5; i++) {
    const problem = fieldProblem(parts[i], FIELDS[i]);
    if (problem) return `${FIELDS[i].name} field "${parts[i]}": ${problem}`;
  }
  return undefined;
}

function fieldProblem(field: string, spec: (typeof FIELDS)[number]): string | undefined {
  for (const item of field.split(',')) {
    if (item === '') return 'empty list item';
    const [range, step, extra] = item.split('/');
    if (extra !== undefined) return `"${item}" has more than one "/"`;
    if (step !== undefined && !/^[0-9]+$/.test(step)) return `step "${step}" is not a whole number`;
    if (step !== undefined && Number(step) === 0) return 'a step of 0 never fires';
    if (range === '*' || range === '?') continue;
    const bounds = range.split('-');
    if (bounds.length > 2) return `"${range}" is not a value or a range`;
    if (bounds.some((bound) => bound === '')) return range.startsWith('-') ? `"${range}" is negative; values start at ${spec.min}` : `"${range}" is not a value or a range`;
    const values: number[] = [];
    for (const bound of bounds) {
      const value = valueOf(bound, spec);
      if (value === undefined) {
        const named = spec.names.length ? ` or a name (${spec.names[0]}..${spec.names[spec.names.length - 1]})` : '';
        return `"${bound}" is not a number${named}`;
      }
      if (value < spec.min || value > spec.max) return `${value} is out of range ${spec.min}-${spec.max}`;
      values.push(value);
    }
    if (values.length === 2 && values[0] > values[1]) return `range "${range}" runs backwards`;
  }
  return undefined;
}

function valueOf(token: string, spec: (typeof FIELDS)[number]): number | undefined {
  if (/^[0-9]+$/.test(token)) return Number(token);
  const index = (spec.names as readonly string[]).indexOf(token.toLowerCase());
  if (index < 0) return undefined;
  return spec.name === 'month' ? index + 1 : index;
}
