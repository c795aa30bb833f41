import { describe, expect, it } from 'vitest';
import type { Retention } from '../../lib/inventory/model';
import { retentionWindow } from '../../lib/plan/retention-window';

const NONE: Retention = { keepLast: 0, maxAgeHours: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0 };
const HOUR = 60;
const DAY = 24 * HOUR;

describe('retentionWindow', () => {
  it('keeps everything when no rule is set', () => {
    expect(retentionWindow(NONE, 30)).toMatchObject({ reachMinutes: Number.POSITIVE_INFINITY, reachText: 'no limit' });
  });

  it('reaches keepLast runs back', () => {
    const window = retentionWindow({ ...NONE, keepLast: 20 }, 20);
    expect(window.reachMinutes).toBe(400);
    expect(window.text).toBe('the last 20 backups (every 20 minutes, about 6 hours 40 minutes)');
  });

  it('lists the tiers that reach further, finest first, and leaves out those a finer one covers', () => {
    const window = retentionWindow({ keepLast: 48, maxAgeHours: 400 * 24, hourly: 24, daily: 14, weekly: 8, monthly: 12 }, 30);
    expect(window.tiers.map((tier) => tier.rule)).toEqual(['keepLast 48', 'daily 14', 'weekly 8', 'monthly 12']);
    expect(window.text).toBe('the last 48 backups (every 30 minutes, about 24 hours), then one a day back to 14 days, one a week back to 8 weeks, one a month back to 12 months');
    expect(window.reachText).toBe('12 months');
  });

  it('lets maxAge end the reach', () => {
    const window = retentionWindow({ ...NONE, daily: 7, monthly: 12, maxAgeHours: 90 * 24 }, DAY);
    expect(window.reachMinutes).toBe(90 * DAY);
    expect(window.text).toBe('one a day back to 7 days, then one a month back to 90 days, where maxAge ends it');
  });

  it('keeps every backup up to maxAge when maxAge is the only rule', () => {
    expect(retentionWindow({ ...NONE, maxAgeHours: 7 * 24 }, DAY).text).toBe('every backup (every 24 hours) back to 7 days (maxAge)');
  });

  it('counts runs, not periods, when runs are further apart than the period', () => {
    const window = retentionWindow({ ...NONE, hourly: 24 }, 6 * HOUR);
    expect(window.reachMinutes).toBe(24 * 6 * HOUR);
    expect(window.text).toBe('every backup (every 6 hours) back to about 6 days');
  });
});
