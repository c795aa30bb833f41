/**
 * Schedule arithmetic, pure: when a CronJob runs over one representative year, the longest gap between two runs
 * (the worst-case RPO) and the schedule in words.
 *
 * The runs are those of the Kubernetes CronJob controller, which uses robfig/cron v3 (`SpecSchedule.Next`) in the
 * CronJob's `timeZone`. croner decides which wall-clock minutes match the expression (fields, ranges, steps, names,
 * day-of-month OR day-of-week); this file maps wall-clock times to instants the way the controller does, which is
 * not what croner does on its own around daylight-saving changes:
 * - a wall time that does not exist (spring forward: 02:30 in America/New_York on the second Sunday of March) never
 *   runs that day (robfig/cron#541); croner alone would run it at 03:00;
 * - a wall time that exists twice (fall back: 01:30) runs twice (kubernetes/kubernetes#121594); croner alone runs
 *   it once.
 */
import { Cron } from 'croner';
import cronstrue from 'cronstrue';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * The representative window: the calendar year 2026, in wall-clock time of the schedule's zone, plus the first run
 * after it (so the gap across New Year counts). Fixed, so that the output never depends on the day of the synth.
 */
export const RPO_WINDOW = { from: Date.UTC(2026, 0, 1), to: Date.UTC(2027, 0, 1), label: '2026' } as const;

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** The 5 fields of a (valid) schedule, macros expanded and `?` as `*` (robfig/cron reads them so). */
function scheduleFields(schedule: string): [string, string, string, string, string] {
  const expanded = MACROS[schedule.trim()] ?? schedule.trim();
  const fields = expanded.split(/\s+/).map((field) => field.replace(/\?/g, '*'));
  if (fields.length !== 5) throw new Error(`schedule "${schedule}" does not have 5 fields`);
  return fields as [string, string, string, string, string];
}

/** Instants at or after `from` (ms), in order, while `keepGoing` says so; wall-clock UTC, so no DST is applied. */
function wallMatches(pattern: string, from: number, keepGoing: (at: number, count: number) => boolean, domAndDow = false): number[] {
  const cron = new Cron(pattern, { timezone: 'Etc/UTC', paused: true, domAndDow });
  const out: number[] = [];
  let next = cron.nextRun(new Date(from - 1000));
  while (next && keepGoing(next.getTime(), out.length)) {
    out.push(next.getTime());
    next = cron.nextRun(next);
  }
  return out;
}

// ---- time zones -------------------------------------------------------------------------------------------------

interface ZoneOffsets {
  /** Instants (ms) where the offset changes, ascending, and the offset (ms, local = UTC + offset) from each on. */
  readonly changes: readonly number[];
  readonly offsets: readonly number[];
  readonly initial: number;
  readonly from: number;
  readonly to: number;
  readonly exact: (instant: number) => number;
}

const zones = new Map<string, ZoneOffsets>();

function exactOffset(format: Intl.DateTimeFormat, instant: number): number {
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(new Date(instant))) if (part.type !== 'literal') parts[part.type] = Number(part.value);
  const local = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  return local - Math.floor(instant / 1000) * 1000;
}

/** Offsets of a zone around the window: sampled hourly, each change located to the minute. Once per zone. */
function zoneOffsets(timeZone: string): ZoneOffsets {
  const known = zones.get(timeZone);
  if (known) return known;
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
  });
  const exact = (instant: number) => exactOffset(format, instant);
  const from = RPO_WINDOW.from - 3 * DAY;
  const to = RPO_WINDOW.to + 40 * DAY;
  const changes: number[] = [];
  const offsets: number[] = [];
  const initial = exact(from);
  let previous = initial;
  for (let at = from + HOUR; at <= to; at += HOUR) {
    const offset = exact(at);
    if (offset === previous) continue;
    let low = at - HOUR; // offset `previous` here, `offset` at `at`
    let high = at;
    while (high - low > MINUTE) {
      const middle = low + Math.floor((high - low) / 2 / MINUTE) * MINUTE;
      if (exact(middle) === previous) low = middle;
      else high = middle;
    }
    changes.push(high);
    offsets.push(offset);
    previous = offset;
  }
  const result = { changes, offsets, initial, from, to, exact };
  zones.set(timeZone, result);
  return result;
}

function offsetAt(zone: ZoneOffsets, instant: number): number {
  if (instant < zone.from || instant > zone.to) return zone.exact(instant);
  let offset = zone.initial;
  for (let i = 0; i < zone.changes.length && zone.changes[i] <= instant; i++) offset = zone.offsets[i];
  return offset;
}

/** Instants at which a wall-clock time happens in a zone: none (skipped by a DST change), one, or two (repeated). */
function instantsOf(zone: ZoneOffsets, wall: number): number[] {
  const candidates = [...new Set([offsetAt(zone, wall - DAY), offsetAt(zone, wall + DAY)])];
  return candidates.map((offset) => wall - offset).filter((instant) => offsetAt(zone, instant) === wall - instant).sort((a, b) => a - b);
}

// ---- analysis -----------------------------------------------------------------------------------------------------

export interface ScheduleAnalysis {
  readonly schedule: string;
  readonly timeZone: string;
  /** Runs of the CronJob whose wall-clock time falls in the window (plus the first one after it). */
  readonly runs: number;
  /** Longest time between two consecutive runs, in minutes; Infinity when it runs fewer than twice. */
  readonly worstGapMinutes: number;
  /** Local wall-clock times (with UTC offset) of the two runs around the longest gap. */
  readonly worstGap?: { readonly from: string; readonly to: string };
  /** The most frequent time between runs, in minutes (the interval a person would name). */
  readonly usualGapMinutes: number;
  /** Wall-clock times the expression matches that do not exist on a spring-forward day: the controller skips them. */
  readonly skippedRuns: number;
  /** Wall-clock times that exist twice on a fall-back day: the controller runs both. */
  readonly repeatedRuns: number;
}

const analyses = new Map<string, ScheduleAnalysis>();

/**
 * Matching days, hours and minutes of the window, by field. Walking croner over the year costs about 30 ms a
 * schedule; schedules of one fleet mostly differ in one field (minute 7 or 23 of every fourth hour), so the lists repeat.
 */
const fieldMatches = new Map<string, readonly number[]>();

function memo(key: string, compute: () => number[]): readonly number[] {
  let known = fieldMatches.get(key);
  if (!known) {
    known = compute();
    fieldMatches.set(key, known);
  }
  return known;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function localTime(zone: ZoneOffsets, instant: number): string {
  const offset = offsetAt(zone, instant);
  const wall = new Date(instant + offset);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset) / MINUTE;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${WEEKDAYS[wall.getUTCDay()]} ${wall.toISOString().slice(0, 10)} ${wall.toISOString().slice(11, 16)} UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/**
 * When the CronJob runs over the window, and the gaps between runs. Memoized by (schedule, timeZone): a fleet
 * usually shares a handful of schedules, so the cost of a synth stays linear in the number of clusters.
 */
export function analyzeSchedule(schedule: string, timeZone: string): ScheduleAnalysis {
  const key = `${schedule}\u0000${timeZone}`;
  const known = analyses.get(key);
  if (known) return known;
  const [minute, hour, dayOfMonth, month, dayOfWeek] = scheduleFields(schedule);
  // robfig/cron: when either day field starts with `*`, a day must match both; otherwise either.
  const domAndDow = dayOfMonth.startsWith('*') || dayOfWeek.startsWith('*');
  const { from, to } = RPO_WINDOW;
  // Cron fields are independent: matching wall times = matching days x matching hours x matching minutes.
  // Days of the window, and the first matching day after it (within 8 years: robfig/cron looks 5 ahead).
  const days = memo(`days\u0000${dayOfMonth} ${month} ${dayOfWeek}\u0000${domAndDow}`, () => {
    let pastEnd = false;
    return wallMatches(`0 0 ${dayOfMonth} ${month} ${dayOfWeek}`, from, (at) => {
      if (pastEnd || at >= to + 8 * 366 * DAY) return false;
      pastEnd = at >= to;
      return true;
    }, domAndDow);
  });
  const minutes = memo(`minutes\u0000${minute}`, () => wallMatches(`${minute} 0 * * *`, from, (at) => at < from + HOUR).map((at) => at - from));
  const hours = memo(`hours\u0000${hour}`, () => wallMatches(`0 ${hour} * * *`, from, (at) => at < from + DAY).map((at) => at - from));
  const times = hours.flatMap((h) => minutes.map((m) => h + m));

  const zone = zoneOffsets(timeZone);
  const instants: number[] = [];
  let skippedRuns = 0;
  let repeatedRuns = 0;
  for (const day of days) {
    for (const time of times) {
      const wall = day + time;
      const at = instantsOf(zone, wall);
      const inWindow = wall >= from && wall < to;
      if (inWindow && at.length === 0) skippedRuns++;
      if (inWindow && at.length === 2) repeatedRuns++;
      instants.push(...at);
    }
  }
  const sorted = Float64Array.from(instants).sort();
  // The window: every run at or after its first wall-clock minute, up to and including the first run after it.
  const start = sorted.findIndex((instant) => instant + offsetAt(zone, instant) >= from);
  let end = sorted.findIndex((instant) => instant + offsetAt(zone, instant) >= to);
  if (end < 0) end = sorted.length - 1;
  const runs = start < 0 ? [] : Array.from(sorted.subarray(start, end + 1));

  let worstGapMinutes = Number.POSITIVE_INFINITY;
  let worstGap: ScheduleAnalysis['worstGap'];
  const counts = new Map<number, number>();
  if (runs.length >= 2) {
    worstGapMinutes = 0;
    for (let i = 1; i < runs.length; i++) {
      const gap = (runs[i] - runs[i - 1]) / MINUTE;
      counts.set(gap, (counts.get(gap) ?? 0) + 1);
      if (gap > worstGapMinutes) {
        worstGapMinutes = gap;
        worstGap = { from: localTime(zone, runs[i - 1]), to: localTime(zone, runs[i]) };
      }
    }
  }
  let usualGapMinutes = worstGapMinutes;
  let usualCount = 0;
  for (const [gap, count] of [...counts].sort((a, b) => a[0] - b[0])) {
    if (count > usualCount) [usualGapMinutes, usualCount] = [gap, count];
  }
  const result: ScheduleAnalysis = { schedule, timeZone, runs: runs.length, worstGapMinutes, ...(worstGap ? { worstGap } : {}), usualGapMinutes, skippedRuns, repeatedRuns };
  analyses.set(key, result);
  return result;
}

/** Worst-case RPO in minutes: the longest time between two consecutive runs (Infinity if it runs less than twice a year). */
export function worstCaseRpo(schedule: string, timeZone: string): number {
  return analyzeSchedule(schedule, timeZone).worstGapMinutes;
}

/** describeSchedule by (schedule, timeZone): the summary and every cluster's alerts ask for it. */
const descriptions = new Map<string, string>();

/** The schedule in words, 24-hour clock, with its time zone: `At 02:00 (America/New_York)`. */
export function describeSchedule(schedule: string, timeZone: string): string {
  const key = `${schedule}\u0000${timeZone}`;
  let text = descriptions.get(key);
  if (text === undefined) {
    text = `${cronstrue.toString(scheduleFields(schedule).join(' '), { use24HourTimeFormat: true, verbose: false })} (${timeZone})`;
    descriptions.set(key, text);
  }
  return text;
}

/** `20 minutes`, `24 hours`, `2 hours 30 minutes`, `54 hours`, `7 days`, `12 days 6 hours`. */
export function durationInWords(minutes: number): string {
  if (!Number.isFinite(minutes)) return 'unbounded';
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const whole = Math.round(minutes);
  if (whole < 60) return unit(whole, 'minute');
  if (whole < 72 * 60) {
    const h = Math.floor(whole / 60);
    const m = whole % 60;
    return m ? `${unit(h, 'hour')} ${unit(m, 'minute')}` : unit(h, 'hour');
  }
  const d = Math.floor(whole / 1440);
  const h = Math.floor((whole % 1440) / 60);
  const m = whole % 60;
  return [unit(d, 'day'), h ? unit(h, 'hour') : '', m ? unit(m, 'minute') : ''].filter(Boolean).join(' ');
}
