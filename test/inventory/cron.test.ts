/** The schedules the Kubernetes CronJob controller (robfig/cron, standard parser) accepts, and the words for the rest. */
import { describe, expect, it } from 'vitest';
import { cronProblem } from '../../lib/inventory/cron';

describe('cronProblem: valid schedules', () => {
  it.each([
    '*/20 * * * *',
    '0 */6 * * 1-5',
    '0 2 * * sun',
    '0 2 * * SUN',
    '0 2 * * mon-fri',
    '0 2 * jan-dec *',
    '@daily',
    '@yearly', '@annually', '@monthly', '@weekly', '@midnight', '@hourly',
    ' @daily ',
    '0 0 1,15 * *',
    '5-55/10 * * * *',
    '5/10 * * * *',
    '0 0 ? * *',
    '59 23 31 12 6',
    '0 0 1 1 0',
    '0  2  *  *  *',
    '0,30 8-18 * * 1,3,5',
  ])('%j is valid', (schedule) => {
    expect(cronProblem(schedule)).toBeUndefined();
  });
});

describe('cronProblem: invalid schedules, exact message', () => {
  it.each([
    ['61 2 * * *', 'minute field "61": 61 is out of range 0-59'],
    ['0 24 * * *', 'hour field "24": 24 is out of range 0-23'],
    ['0 0 0 * *', 'day-of-month field "0": 0 is out of range 1-31'],
    ['0 0 32 * *', 'day-of-month field "32": 32 is out of range 1-31'],
    ['0 0 1 13 *', 'month field "13": 13 is out of range 1-12'],
    // robfig/cron has no 7 for Sunday (Vixie cron has): the API server rejects it, so must we.
    ['0 2 * * 7', 'day-of-week field "7": 7 is out of range 0-6'],
    ['0 2 * *', 'has 4 fields; a schedule has 5: minute hour day-of-month month day-of-week (e.g. "0 2 * * *")'],
    ['0 0 2 * * *', 'has 6 fields; a schedule has 5: minute hour day-of-month month day-of-week (e.g. "0 2 * * *")'],
    ['daily', 'has 1 field; a schedule has 5: minute hour day-of-month month day-of-week (e.g. "0 2 * * *")'],
    ['*/0 * * * *', 'minute field "*/0": a step of 0 never fires'],
    ['*/x * * * *', 'minute field "*/x": step "x" is not a whole number'],
    ['*/5/2 * * * *', 'minute field "*/5/2": "*/5/2" has more than one "/"'],
    ['0 18-8 * * *', 'hour field "18-8": range "18-8" runs backwards'],
    ['0 2 * * fri-mon', 'day-of-week field "fri-mon": range "fri-mon" runs backwards'],
    ['0 2 * * sunday', 'day-of-week field "sunday": "sunday" is not a number or a name (sun..sat)'],
    ['0 2 * * mon-', 'day-of-week field "mon-": "mon-" is not a value or a range'],
    ['0 2 1-2-3 * *', 'day-of-month field "1-2-3": "1-2-3" is not a value or a range'],
    ['0 2 jan * *', 'day-of-month field "jan": "jan" is not a number'],
    ['0 0 1,,15 * *', 'day-of-month field "1,,15": empty list item'],
    ['@nightly', 'unknown macro "@nightly"; use one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or 5 fields'],
    // robfig/cron descriptors are case-sensitive, and @every is not a CronJob schedule.
    ['@Daily', 'unknown macro "@Daily"; use one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or 5 fields'],
    ['@every 1h', 'unknown macro "@every 1h"; use one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or 5 fields'],
    ['CRON_TZ=Europe/Berlin 0 2 * * *', 'set the time zone with `timeZone`, not inside the schedule'],
    ['TZ=UTC 0 2 * * *', 'set the time zone with `timeZone`, not inside the schedule'],
    // Known wording problems (see report): pinned as they read today.
    ['', 'is empty; write 5 fields such as "0 2 * * *" or a macro such as "@daily"'],
    ['-1 * * * *', 'minute field "-1": "-1" is negative; values start at 0'],
  ])('%j: %s', (schedule, message) => {
    expect(cronProblem(schedule)).toBe(message);
  });

  it('the first bad field is reported, left to right', () => {
    expect(cronProblem('60 24 32 13 7')).toBe('minute field "60": 60 is out of range 0-59');
  });
});

describe('cronProblem: regressions', () => {
  it('an empty schedule says it is empty', () => {
    expect(cronProblem('')).toBe('is empty; write 5 fields such as "0 2 * * *" or a macro such as "@daily"');
  });
  it('a negative value is named as such, not as the empty string', () => {
    expect(cronProblem('-1 * * * *')).toBe('minute field "-1": "-1" is negative; values start at 0');
  });
});
