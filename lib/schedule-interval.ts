import { Duration } from 'aws-cdk-lib';

// The LONGEST gap between two consecutive runs of an EventBridge Scheduler expression, for heartbeat alarms: a
// heartbeat must stay quiet through the longest silence the schedule itself leaves (over a weekend for a weekday job,
// a whole month for a monthly one), not just its typical interval.
//
// `rate(n unit)` runs every n units. For `cron(minutes hours day-of-month month day-of-week year)` the runs of a day
// are the same on every day that runs (minutes × hours), so the longest gap is the larger of the longest gap within
// a day and, over consecutive days that run, the time from a day's last run to the next such day's first. The days
// are simulated over 29 years from 2001 (the Gregorian calendar's weekday and leap-year pattern repeats every 28 years
// from 1901 to 2099, plus one year for the gaps across the repeat): about 10,600 days, a millisecond or two.
//
// Times are UTC: the project's schedules set no time zone. (A schedule in a time zone with daylight saving moves by an
// hour twice a year; the heartbeat's margin, at least an hour for any gap of an hour or more, absorbs that.)
//
// Supported: `*`, numbers, names (JAN-DEC, SUN-SAT, 1 = SUN), ranges `a-b`, lists `a,b`, steps `*/n`, `a/n` and
// `a-b/n`; `?`; day-of-month `L`, `LW` and `nW`; day-of-week `L`, `dL` (last d of the month) and `d#n` (n-th d).
// Anything else (e.g. a range that wraps, `L-3`, a year other than `*`: a schedule that ends stops running for good)
// gives `undefined`: the gap is unknown, and the caller must not build an alarm on a guess.

const MINUTES_PER_DAY = 24 * 60;
const UNIT_MINUTES: Readonly<Record<string, number>> = { minute: 1, hour: 60, day: MINUTES_PER_DAY };
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;
/** First simulated year: 2001-01-01 is a Monday. */
const FIRST_YEAR = 2001;
const FIRST_WEEKDAY = 2;
const SIMULATED_YEARS = 29;

interface FieldSpec {
  readonly min: number;
  readonly max: number;
  /** Names of min, min + 1, ... */
  readonly names?: readonly string[];
}
const MINUTE: FieldSpec = { min: 0, max: 59 };
const HOUR: FieldSpec = { min: 0, max: 23 };
const DAY_OF_MONTH: FieldSpec = { min: 1, max: 31 };
const MONTH: FieldSpec = { min: 1, max: 12, names: MONTHS };
const DAY_OF_WEEK: FieldSpec = { min: 1, max: 7, names: WEEKDAYS };

/** One day of the calendar, as the day fields see it. */
interface Day {
  readonly month: number;
  readonly day: number;
  /** 1 = Sunday ... 7 = Saturday, as in cron. */
  readonly weekday: number;
  readonly daysInMonth: number;
}
type DayTest = (day: Day) => boolean;

function fieldValue(text: string | undefined, spec: FieldSpec): number | undefined {
  if (text === undefined) return undefined;
  const index = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  const value = index >= 0 ? spec.min + index : /^\d{1,4}$/.test(text) ? Number(text) : Number.NaN;
  return value >= spec.min && value <= spec.max ? value : undefined;
}

/** The values of a field of `*`, values, ranges, lists and steps; `undefined` for any other syntax. */
function fieldValues(text: string, spec: FieldSpec): ReadonlySet<number> | undefined {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const match = /^(\*|[A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?(?:\/(\d+))?$/.exec(part);
    if (!match) return undefined;
    const [, first, last, stepText] = match;
    if (first === '*' && last !== undefined) return undefined;
    const from = first === '*' ? spec.min : fieldValue(first, spec);
    // `a/n` steps from a to the end of the field.
    const to =
      first === '*' || (last === undefined && stepText !== undefined) ? spec.max : fieldValue(last ?? first, spec);
    const step = stepText === undefined ? 1 : Number(stepText);
    if (from === undefined || to === undefined || from > to || step < 1) return undefined;
    for (let value = from; value <= to; value += step) values.add(value);
  }
  return values;
}

/** Monday to Friday. */
const isWeekday = (weekday: number) => weekday >= 2 && weekday <= 6;

function dayOfMonthTest(text: string): DayTest | undefined {
  if (text === 'L') return (d) => d.day === d.daysInMonth;
  if (text === 'LW') {
    // The last weekday of the month: the last day, or the Friday before it if it falls on a weekend.
    return (d) => isWeekday(d.weekday) && (d.day === d.daysInMonth || (d.weekday === 6 && d.day >= d.daysInMonth - 2));
  }
  const nearest = /^(\d{1,2})W$/.exec(text);
  if (nearest) {
    // The weekday nearest to day n, without leaving the month.
    const n = Number(nearest[1]);
    if (n < 1 || n > 31) return undefined;
    return (d) => {
      if (n > d.daysInMonth || !isWeekday(d.weekday)) return false;
      if (d.day === n) return true;
      const weekdayOfN = ((d.weekday - 1 + n - d.day + 7 * 5) % 7) + 1;
      if (weekdayOfN === 7) return n === 1 ? d.day === 3 : d.day === n - 1;
      if (weekdayOfN === 1) return n === d.daysInMonth ? d.day === n - 2 : d.day === n + 1;
      return false;
    };
  }
  const days = fieldValues(text, DAY_OF_MONTH);
  return days && ((d) => days.has(d.day));
}

function dayOfWeekTest(text: string): DayTest | undefined {
  if (text === 'L') return (d) => d.weekday === 7;
  const last = /^([A-Za-z0-9]+)L$/.exec(text);
  if (last) {
    const weekday = fieldValue(last[1], DAY_OF_WEEK);
    return weekday === undefined ? undefined : (d) => d.weekday === weekday && d.day + 7 > d.daysInMonth;
  }
  const nth = /^([A-Za-z0-9]+)#([1-5])$/.exec(text);
  if (nth) {
    const weekday = fieldValue(nth[1], DAY_OF_WEEK);
    const n = Number(nth[2]);
    return weekday === undefined ? undefined : (d) => d.weekday === weekday && Math.ceil(d.day / 7) === n;
  }
  const weekdays = fieldValues(text, DAY_OF_WEEK);
  return weekdays && ((d) => weekdays.has(d.weekday));
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function longestCronGapMinutes(fields: readonly string[]): number | undefined {
  const [minuteField, hourField, dayOfMonthField, monthField, dayOfWeekField, yearField] = fields;
  if (fields.length !== 6 || yearField !== '*') return undefined;
  if ((dayOfMonthField === '?') === (dayOfWeekField === '?')) return undefined;
  const minutes = fieldValues(minuteField ?? '', MINUTE);
  const hours = fieldValues(hourField ?? '', HOUR);
  const months = fieldValues(monthField ?? '', MONTH);
  const dayTest = dayOfMonthField === '?' ? dayOfWeekTest(dayOfWeekField ?? '') : dayOfMonthTest(dayOfMonthField ?? '');
  if (!minutes || !hours || !months || !dayTest) return undefined;

  const times = [...hours].flatMap((hour) => [...minutes].map((minute) => hour * 60 + minute)).sort((a, b) => a - b);
  const firstTime = times[0] ?? 0;
  const lastTime = times[times.length - 1] ?? 0;
  let longest = 0;
  for (let index = 1; index < times.length; index++)
    longest = Math.max(longest, (times[index] ?? 0) - (times[index - 1] ?? 0));

  let dayIndex = 0;
  let weekday = FIRST_WEEKDAY;
  let previousRunDay: number | undefined;
  for (let year = FIRST_YEAR; year < FIRST_YEAR + SIMULATED_YEARS; year++) {
    for (let month = 1; month <= 12; month++) {
      const length = daysInMonth(year, month);
      for (let day = 1; day <= length; day++, dayIndex++, weekday = (weekday % 7) + 1) {
        if (!months.has(month) || !dayTest({ month, day, weekday, daysInMonth: length })) continue;
        if (previousRunDay !== undefined)
          longest = Math.max(longest, (dayIndex - previousRunDay) * MINUTES_PER_DAY - lastTime + firstTime);
        previousRunDay = dayIndex;
      }
    }
  }
  // A schedule with fewer than two runs in 29 years has no gap worth watching.
  return longest > 0 ? longest : undefined;
}

/**
 * The longest time between two consecutive runs of a Scheduler expression (UTC), or `undefined` when the expression
 * uses syntax this does not read or runs too rarely to tell.
 */
export function longestScheduleGap(expression: string): Duration | undefined {
  const rate = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression.trim());
  if (rate) {
    const minutes = Number(rate[1]) * (UNIT_MINUTES[rate[2] ?? ''] ?? Number.NaN);
    return minutes > 0 ? Duration.minutes(minutes) : undefined;
  }
  const cron = /^cron\((.+)\)$/.exec(expression.trim());
  const minutes = cron ? longestCronGapMinutes(cron[1]?.trim().split(/\s+/) ?? []) : undefined;
  return minutes === undefined ? undefined : Duration.minutes(minutes);
}
