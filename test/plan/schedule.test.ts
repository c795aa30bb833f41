import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import { analyzeSchedule, describeSchedule, durationInWords, worstCaseRpo } from '../../lib/plan/schedule';

const HOUR = 60;

describe('worstCaseRpo', () => {
  it('is 24 hours for a daily schedule', () => {
    expect(worstCaseRpo('0 2 * * *', 'Etc/UTC')).toBe(24 * HOUR);
  });

  it('is 20 minutes for every 20 minutes', () => {
    expect(worstCaseRpo('*/20 * * * *', 'Etc/UTC')).toBe(20);
  });

  it('is the weekend gap, Friday 18:00 to Monday 00:00, for every 6 hours on weekdays', () => {
    const analysis = analyzeSchedule('0 */6 * * 1-5', 'Etc/UTC');
    expect(analysis.worstGapMinutes).toBe(54 * HOUR);
    expect(analysis.usualGapMinutes).toBe(6 * HOUR);
    expect(analysis.worstGap).toEqual({ from: 'Fri 2026-01-02 18:00 UTC+00:00', to: 'Mon 2026-01-05 00:00 UTC+00:00' });
  });

  it('reads macros as robfig/cron does: @daily is 24 hours, @weekly 7 days', () => {
    expect(worstCaseRpo('@daily', 'Etc/UTC')).toBe(24 * HOUR);
    expect(worstCaseRpo('@weekly', 'Etc/UTC')).toBe(7 * 24 * HOUR);
  });

  it('is Infinity for a schedule that runs less than twice a year (Feb 29) or never (Feb 31)', () => {
    expect(worstCaseRpo('0 0 29 2 *', 'Etc/UTC')).toBe(Number.POSITIVE_INFINITY);
    expect(worstCaseRpo('0 0 31 2 *', 'Etc/UTC')).toBe(Number.POSITIVE_INFINITY);
  });

  it('reads day-of-month and day-of-week as either when both are set (robfig/cron, like Vixie cron)', () => {
    // The 1st of each month or any Monday: at most 7 days apart.
    expect(worstCaseRpo('0 0 1 * 1', 'Etc/UTC')).toBe(7 * 24 * HOUR);
  });
});

describe('daylight-saving changes, as the Kubernetes CronJob controller runs them', () => {
  // 2026-03-08 America/New_York: 02:00 EST becomes 03:00 EDT, so 02:30 does not exist that day.
  it('croner alone runs the missing 02:30 at 03:00 EDT (so we do not take its instants as they are)', () => {
    const cron = new Cron('30 2 * * *', { timezone: 'America/New_York', paused: true });
    expect(cron.nextRun(new Date('2026-03-07T12:00:00Z'))?.toISOString()).toBe('2026-03-08T07:00:00.000Z');
  });

  it('skips the missing 02:30 on the spring-forward day, as robfig/cron does: 47 hours without a backup', () => {
    const analysis = analyzeSchedule('30 2 * * *', 'America/New_York');
    expect(analysis.worstGapMinutes).toBe(47 * HOUR);
    expect(analysis.worstGap).toEqual({ from: 'Sat 2026-03-07 02:30 UTC-05:00', to: 'Mon 2026-03-09 02:30 UTC-04:00' });
    expect(analysis.skippedRuns).toBe(1);
    expect(analysis.repeatedRuns).toBe(0);
    expect(analysis.runs).toBe(365); // 365 days of 2026, one skipped, plus the first run of 2027
  });

  it('runs a repeated 01:30 twice on the fall-back day (kubernetes/kubernetes#121594), one hour apart', () => {
    const analysis = analyzeSchedule('30 1 * * *', 'America/New_York');
    expect(analysis.repeatedRuns).toBe(1);
    expect(analysis.skippedRuns).toBe(0);
    expect(analysis.runs).toBe(367);
    expect(analysis.worstGapMinutes).toBe(24 * HOUR);
  });

  it('sees both changes of Europe/Berlin at 02:00 (02:00 missing in March, twice in October)', () => {
    const analysis = analyzeSchedule('0 2 * * *', 'Europe/Berlin');
    expect(analysis).toMatchObject({ worstGapMinutes: 47 * HOUR, skippedRuns: 1, repeatedRuns: 1 });
    expect(analysis.worstGap?.from).toBe('Sat 2026-03-28 02:00 UTC+01:00');
  });

  it('gives a 25-hour gap for 03:00 across the fall-back night, which no DST rule skips', () => {
    expect(worstCaseRpo('0 3 * * *', 'America/New_York')).toBe(25 * HOUR);
  });

  it('needs no DST care for a schedule in Etc/UTC', () => {
    expect(analyzeSchedule('30 2 * * *', 'Etc/UTC')).toMatchObject({ worstGapMinutes: 24 * HOUR, skippedRuns: 0, repeatedRuns: 0 });
  });
});

describe('describeSchedule', () => {
  it('says the schedule in words, 24-hour clock, with its time zone', () => {
    expect(describeSchedule('0 2 * * *', 'America/New_York')).toBe('At 02:00 (America/New_York)');
    expect(describeSchedule('*/20 * * * *', 'Etc/UTC')).toBe('Every 20 minutes (Etc/UTC)');
    expect(describeSchedule('0 */6 * * 1-5', 'Etc/UTC')).toBe('On the hour, every 6 hours, Monday through Friday (Etc/UTC)');
    expect(describeSchedule('@daily', 'Etc/UTC')).toBe('At 00:00 (Etc/UTC)');
  });
});

describe('durationInWords', () => {
  it('uses minutes, then hours up to 3 days, then days', () => {
    expect(durationInWords(1)).toBe('1 minute');
    expect(durationInWords(20)).toBe('20 minutes');
    expect(durationInWords(150)).toBe('2 hours 30 minutes');
    expect(durationInWords(54 * HOUR)).toBe('54 hours');
    expect(durationInWords(7 * 24 * HOUR + 30)).toBe('7 days 30 minutes');
    expect(durationInWords(Number.POSITIVE_INFINITY)).toBe('unbounded');
  });
});
