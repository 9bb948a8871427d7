import { Duration } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';

import { HEARTBEAT, heartbeatAlarmWindow } from '../../lib/monitoring';
import { longestScheduleGap } from '../../lib/schedule-interval';
import { exampleConfig, serviceConfig, synth } from './support';

// Heartbeat alarms ("no successful run", missing data breaching) must wait through the LONGEST gap a schedule
// leaves between two runs, with a margin, within CloudWatch's limits; a schedule whose gap no alarm can wait
// through (weekly, monthly) gets none.

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Minutes; `undefined`: no heartbeat. */
const cases: ReadonlyArray<readonly [string, number, readonly [period: number, periods: number] | undefined]> = [
  ['rate(1 minute)', 1, [5 * MINUTE, 1]],
  ['rate(5 minutes)', 5, [10 * MINUTE, 1]],
  ['cron(0/10 * * * ? *)', 10, [20 * MINUTE, 1]],
  ['cron(15 * * * ? *)', 60, [2 * HOUR, 1]],
  ['rate(1 hour)', 60, [2 * HOUR, 1]],
  ['cron(0 */6 * * ? *)', 6 * 60, [12 * HOUR, 1]],
  ['cron(0 6,19 * * ? *)', 13 * 60, [DAY, 2]],
  ['rate(1 day)', 1440, [DAY, 2]],
  ['cron(0 6 * * ? *)', 1440, [DAY, 2]],
  ['rate(2 days)', 2 * 1440, [DAY, 3]],
  // Friday 09:00 to Monday 09:00.
  ['cron(0 9 ? * MON-FRI *)', 3 * 1440, [DAY, 4]],
  // Friday 18:45 to Monday 08:00.
  ['cron(*/15 8-18 ? * MON-FRI *)', 3 * 1440 - (18 * 60 + 45 - 8 * 60), [DAY, 4]],
  // Thursday to Monday.
  ['cron(30 7 ? * 2,THU *)', 4 * 1440, [DAY, 5]],
  ['rate(6 days)', 6 * 1440, [DAY, 7]],
  ['rate(7 days)', 7 * 1440, undefined],
  ['cron(0 6 ? * MON *)', 7 * 1440, undefined],
  // 1 January to 1 February.
  ['cron(0 2 1 * ? *)', 31 * 1440, undefined],
  ['cron(0 0 L * ? *)', 31 * 1440, undefined],
  // The third Friday: five weeks apart at most.
  ['cron(0 12 ? * FRI#3 *)', 35 * 1440, undefined],
  ['cron(0 12 ? * 6L *)', 35 * 1440, undefined],
  // A leap year.
  ['cron(0 0 1 JAN ? *)', 366 * 1440, undefined],
];

describe('longestScheduleGap', () => {
  it.each(cases.map(([expression, minutes]) => [expression, minutes] as const))(
    '%s can leave %d minutes between two runs',
    (expression, minutes) => {
      expect(longestScheduleGap(expression)?.toMinutes()).toBe(minutes);
    },
  );

  it('reads the nearest weekday and the last weekday of a month (checked against a day-by-day count with Date)', () => {
    // 15W: from Friday 14 (the 15th a Saturday) to the 15th, a weekday, of the next month.
    expect(longestScheduleGap('cron(0 0 15W * ? *)')?.toDays()).toBe(32);
    // 1W: from Monday 3 (the 1st a Saturday) to the 1st of the next month at the latest.
    expect(longestScheduleGap('cron(0 0 1W * ? *)')?.toDays()).toBe(33);
    // 31W: only in the 31-day months, up to two months apart (and moved off weekends).
    expect(longestScheduleGap('cron(0 0 31W * ? *)')?.toDays()).toBe(63);
    expect(longestScheduleGap('cron(0 0 LW * ? *)')?.toDays()).toBe(33);
  });

  it.each([
    'cron(0 0 * * ? 2030)', // ends: after 2030 the heartbeat would fire for good
    'cron(0 0 ? * FRI-MON *)', // a range that wraps
    'cron(0 0 * * * *)', // day-of-month and day-of-week both set
    'cron(0 0 L-3 * ? *)',
    'cron(0 0 30 2 ? *)', // never runs
    'cron(0 0 * *)',
    'at(2030-01-01T00:00:00)',
    'rate(0 minutes)',
  ])('does not guess for %s', (expression) => {
    expect(longestScheduleGap(expression)).toBeUndefined();
  });
});

/** CloudWatch's rules for an alarm, and "no run in the whole window" only after the longest gap and a margin. */
function expectSafeWindow(gapMinutes: number, window: NonNullable<ReturnType<typeof heartbeatAlarmWindow>>): void {
  const period = window.period.toSeconds();
  const total = period * window.evaluationPeriods;
  expect(period % 60).toBe(0);
  expect(period).toBeGreaterThan(0);
  expect(period).toBeLessThanOrEqual(DAY);
  expect(total).toBeLessThanOrEqual(7 * DAY);
  if (period < HOUR) expect(total).toBeLessThanOrEqual(DAY);
  expect(window.window.toSeconds()).toBe(total);
  expect(window.datapointsToAlarm).toBe(window.evaluationPeriods);
  // One late or retried run is not an alarm: the margin is the gap itself up to a day.
  expect(total).toBeGreaterThanOrEqual((gapMinutes + Math.min(gapMinutes, 24 * 60)) * MINUTE);
}

describe('heartbeatAlarmWindow', () => {
  it.each(cases.map(([expression, minutes, expected]) => [expression, minutes, expected] as const))(
    '%s (gap %d minutes): %j',
    (expression, minutes, expected) => {
      const window = heartbeatAlarmWindow(longestScheduleGap(expression)!);
      if (!expected) {
        expect(window).toBeUndefined();
        return;
      }
      expect(window && [window.period.toSeconds(), window.evaluationPeriods]).toEqual(expected);
      expectSafeWindow(minutes, window!);
    },
  );

  it('gives up only where CloudWatch cannot wait long enough', () => {
    const longest = HEARTBEAT.maximumWindow.toMinutes() - HEARTBEAT.maximumMargin.toMinutes();
    expect(heartbeatAlarmWindow(Duration.minutes(longest))?.evaluationPeriods).toBe(7);
    expect(heartbeatAlarmWindow(Duration.minutes(longest + 1))).toBeUndefined();
  });
});

// Property: random weekly cron expressions (minutes, hours, days of the week), their longest gap found by brute force
// minute by minute over 15 days (any gap of a weekly pattern shows within 7 + 7 days), independently of the parser.

/** A small seeded generator, so that a failure reproduces. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WEEKDAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function randomExpression(next: () => number): string {
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(options: readonly T[]): T => options[int(0, options.length - 1)] as T;
  const sortedList = (min: number, max: number) =>
    [...new Set([int(min, max), int(min, max), int(min, max)])].sort((a, b) => a - b).join(',');
  const weekday = () => (next() < 0.5 ? String(int(1, 7)) : pick(WEEKDAY_NAMES));
  const minute = pick([
    () => String(int(0, 59)),
    () => sortedList(0, 59),
    () => `*/${pick([5, 10, 15, 20, 30, 45])}`,
    () => `${int(0, 14)}/${pick([15, 20, 30])}`,
  ])();
  const hourFrom = int(0, 20);
  const hour = pick([
    () => String(int(0, 23)),
    () => sortedList(0, 23),
    () => `${hourFrom}-${int(hourFrom, 23)}`,
    () => `*/${pick([2, 3, 4, 6, 8, 12])}`,
    () => `${hourFrom}-${int(hourFrom, 23)}/${int(1, 5)}`,
    () => '*',
  ])();
  const [dayOfMonth, dayOfWeek] = pick([
    () => ['*', '?'],
    () => ['?', '*'],
    () => ['?', weekday()],
    () => ['?', [weekday(), weekday()].join(',')],
    () => {
      const from = int(1, 6);
      return ['?', `${from}-${int(from + 1, 7)}`];
    },
    () => ['?', pick(['MON-FRI', 'SAT,SUN', 'MON,WED,FRI', 'TUE-THU'])],
  ])();
  return `cron(${minute} ${hour} ${dayOfMonth} * ${dayOfWeek} *)`;
}

/** Does a simple cron field (values, names, ranges, lists, steps) accept this value? */
function accepts(field: string, value: number, min: number, names: readonly string[] = []): boolean {
  const number = (text: string) => (names.includes(text) ? names.indexOf(text) + min : Number(text));
  return field.split(',').some((part) => {
    const [range = '', step] = part.split('/');
    const [from, to] = range === '*' ? [min, Number.POSITIVE_INFINITY] : range.split('-').map(number);
    const first = from ?? min;
    const last = to ?? (step === undefined ? first : Number.POSITIVE_INFINITY);
    return value >= first && value <= last && (value - first) % Number(step ?? 1) === 0;
  });
}

function bruteForceGapMinutes(expression: string): number {
  const [minute = '', hour = '', , , dayOfWeek = ''] = expression.slice(5, -1).split(' ');
  const minutes = Array.from({ length: 60 }, (_, value) => accepts(minute, value, 0));
  const hours = Array.from({ length: 24 }, (_, value) => accepts(hour, value, 0));
  const weekdays = Array.from(
    { length: 8 },
    (_, value) => dayOfWeek === '?' || accepts(dayOfWeek, value, 1, WEEKDAY_NAMES),
  );
  let previous: number | undefined;
  let longest = 0;
  for (let time = 0; time < 15 * 24 * 60; time++) {
    // Day 0 is a Monday (2).
    const weekday = ((1 + Math.floor(time / (24 * 60))) % 7) + 1;
    if (!minutes[time % 60] || !hours[Math.floor(time / 60) % 24] || !weekdays[weekday]) continue;
    if (previous !== undefined) longest = Math.max(longest, time - previous);
    previous = time;
  }
  return longest;
}

describe('heartbeat alarms for random weekly cron expressions', () => {
  const next = random(20_250_601);
  const expressions = Array.from({ length: 150 }, () => randomExpression(next));

  it('finds the longest gap, and alarms only after it and a margin, within CloudWatch limits', () => {
    let watched = 0;
    for (const expression of expressions) {
      const gap = bruteForceGapMinutes(expression);
      expect({ expression, gap: longestScheduleGap(expression)?.toMinutes() }).toEqual({ expression, gap });
      const window = heartbeatAlarmWindow(longestScheduleGap(expression)!);
      if (window) {
        watched++;
        expect(window.period.toSeconds() * window.evaluationPeriods).toBeGreaterThan(gap * MINUTE);
        expectSafeWindow(gap, window);
      } else {
        // No heartbeat only when the gap and its margin exceed 7 days.
        expect(gap + Math.min(gap, 24 * 60)).toBeGreaterThan(7 * 24 * 60);
      }
    }
    expect(watched).toBeGreaterThan(expressions.length / 2);
  });
});

// The stack: one export job per schedule; heartbeat alarms as above, none for the weekly and monthly ones, whose failure
// alarm stays.

describe('heartbeat alarms in the stack', () => {
  const base = exampleConfig.exportJobs[0]!;
  const schedules = cases.map(([expression]) => expression);
  const { stack, template } = synth({
    ...serviceConfig,
    exportJobs: schedules.map((schedule, index) => ({ ...base, name: `job-${index}`, schedule })),
  });
  const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm'));
  const heartbeat = (index: number) =>
    alarms.find(([id]) => id.includes(`Exportjob${index}Heartbeat`))?.[1].Properties as Record<string, any> | undefined;

  it.each(schedules.map((schedule, index) => [schedule, index] as const))('%s', (schedule, index) => {
    const expected = cases.find(([expression]) => expression === schedule)?.[2];
    const alarm = heartbeat(index);
    const failed = alarms.find(([id]) => id.includes(`ExportJobjob${index}FailedAlarm`))?.[1].Properties;
    expect(failed?.MetricName).toBe('Errors');
    if (!expected) {
      expect(alarm).toBeUndefined();
      return;
    }
    expect(alarm).toMatchObject({
      MetricName: 'Invocations',
      Statistic: 'Sum',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
      Period: expected[0],
      EvaluationPeriods: expected[1],
      DatapointsToAlarm: expected[1],
    });
    expect(String(alarm?.AlarmDescription)).toContain(schedule);
  });

  it('says at synthesis which jobs have no heartbeat', () => {
    const infos = Annotations.fromStack(stack).findInfo(
      '*',
      Match.stringLikeRegexp('No heartbeat alarm for Export-job-'),
    );
    expect(infos.map((info) => String(info.entry.data)).sort()).toEqual(
      schedules
        .filter((schedule) => !cases.find(([expression]) => expression === schedule)?.[2])
        .map((schedule) => expect.stringContaining(schedule)),
    );
  });
});
