/**
 * How far back one can restore, and at what granularity, from a retention policy and the interval between runs.
 * Pure and approximate by design ("about"): the tiers of lib/storage/retention.ts keep the newest backup of each
 * of the N most recent hours/days/ISO weeks/months that have one, so a tier reaches back N periods, or N runs when
 * runs are further apart than the period; maxAge is a ceiling over all of them.
 */
import type { Retention } from '../inventory/model';
import { durationInWords } from './schedule';
import { plural } from '../text';

const HOUR = 60;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** An average month (365.25 / 12 days). */
const MONTH = 43_830;

export interface RetentionTier {
  /** The retention rule, as in the inventory: `keepLast 48`, `daily 14`. */
  readonly rule: string;
  /** Time between two kept backups, in minutes. */
  readonly granularityMinutes: number;
  /** How far back this tier reaches, in minutes. */
  readonly reachMinutes: number;
  /** `the last 48 backups (every 30 minutes, about 24 hours)`, `one a day back to 14 days`. */
  readonly text: string;
  /** The reach in the tier's own unit: `14 days`, `12 months`, `6 hours 40 minutes`. */
  readonly reachText: string;
}

export interface RetentionWindow {
  /** Oldest restore point, in minutes before the newest backup; Infinity when nothing is ever removed. */
  readonly reachMinutes: number;
  /** The tiers that extend the reach, finest first (a tier that reaches no further than a finer one is left out). */
  readonly tiers: readonly RetentionTier[];
  readonly text: string;
  /** The oldest restore point in words (`12 months`), or `no limit`. */
  readonly reachText: string;
}

const PERIODS = [
  { key: 'hourly', minutes: HOUR, one: 'one an hour', unit: 'hour' },
  { key: 'daily', minutes: DAY, one: 'one a day', unit: 'day' },
  { key: 'weekly', minutes: WEEK, one: 'one a week', unit: 'week' },
  { key: 'monthly', minutes: MONTH, one: 'one a month', unit: 'month' },
] as const;


/** @param intervalMinutes the usual time between two runs of the schedule. */
export function retentionWindow(retention: Retention, intervalMinutes: number): RetentionWindow {
  const maxAge = retention.maxAgeHours * HOUR;
  const every = `every ${durationInWords(intervalMinutes)}`;
  const candidates: RetentionTier[] = [];
  if (retention.keepLast > 0) {
    const reach = retention.keepLast * intervalMinutes;
    candidates.push({
      rule: `keepLast ${retention.keepLast}`,
      granularityMinutes: intervalMinutes,
      reachMinutes: reach,
      text: `the last ${plural(retention.keepLast, 'backup')} (${every}, about ${durationInWords(reach)})`,
      reachText: durationInWords(reach),
    });
  }
  for (const period of PERIODS) {
    const count = retention[period.key];
    if (count <= 0) continue;
    const granularity = Math.max(period.minutes, intervalMinutes);
    const coarser = granularity > period.minutes;
    const reach = count * granularity;
    candidates.push({
      rule: `${period.key} ${count}`,
      granularityMinutes: granularity,
      reachMinutes: reach,
      text: coarser
        ? `every backup (${every}) back to about ${durationInWords(reach)}`
        : `${period.one} back to ${plural(count, period.unit)}`,
      reachText: coarser ? durationInWords(reach) : plural(count, period.unit),
    });
  }
  if (candidates.length === 0) {
    if (maxAge === 0) return { reachMinutes: Number.POSITIVE_INFINITY, tiers: [], text: 'every backup, for ever: no retention rule is set', reachText: 'no limit' };
    const tier = { rule: 'maxAge', granularityMinutes: intervalMinutes, reachMinutes: maxAge, text: `every backup (${every}) back to ${durationInWords(maxAge)} (maxAge)`, reachText: durationInWords(maxAge) };
    return { reachMinutes: maxAge, tiers: [tier], text: tier.text, reachText: tier.reachText };
  }
  // Finest first; of two tiers as fine as each other, the one that reaches further (the other adds nothing).
  candidates.sort((a, b) => a.granularityMinutes - b.granularityMinutes || b.reachMinutes - a.reachMinutes);
  const tiers: RetentionTier[] = [];
  let reach = 0;
  for (const tier of candidates) {
    if (tier.reachMinutes <= reach) continue;
    if (maxAge > 0 && tier.reachMinutes > maxAge) {
      if (maxAge > reach) {
        tiers.push({
          ...tier,
          reachMinutes: maxAge,
          text: `${tier.text.replace(/ back to .*$| \(every .*$/, '')} back to ${durationInWords(maxAge)}, where maxAge ends it`,
          reachText: durationInWords(maxAge),
        });
        reach = maxAge;
      }
      break;
    }
    tiers.push(tier);
    reach = tier.reachMinutes;
  }
  const text = tiers.map((tier, index) => (index === 1 ? `then ${tier.text}` : tier.text)).join(', ');
  return { reachMinutes: reach, tiers, text, reachText: tiers[tiers.length - 1].reachText };
}
