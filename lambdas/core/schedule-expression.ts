// EventBridge Scheduler's recurring expressions, checked as the service checks them, so a config that synthesizes
// also deploys: `rate(<n> <unit>)` with n >= 1, or `cron(<minutes> <hours> <day-of-month> <month> <day-of-week>
// <year>)` with six fields and `?` in exactly one of the two day fields.
// https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\((.*)\)$/;

const NUMBER_LIST = (names = '') =>
  new RegExp(
    `^(?:\\*|(?:\\d+|${names || '\\d+'})(?:-(?:\\d+|${names || '\\d+'}))?)(?:/\\d+)?(?:,(?:\\*|(?:\\d+|${names || '\\d+'})(?:-(?:\\d+|${names || '\\d+'}))?)(?:/\\d+)?)*$`,
    'i',
  );
const MONTHS = 'JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC';
const DAYS = 'SUN|MON|TUE|WED|THU|FRI|SAT';

/** Each cron field's name and what it may hold (besides `?` in the day fields). */
const CRON_FIELDS: ReadonlyArray<readonly [string, RegExp]> = [
  ['minutes', NUMBER_LIST()],
  ['hours', NUMBER_LIST()],
  ['day-of-month', /^(?:L|LW|\d{1,2}W|[\d*,\-/]+)$/i],
  ['month', NUMBER_LIST(MONTHS)],
  ['day-of-week', new RegExp(`^(?:(?:\\d|${DAYS})(?:#[1-5]|L)|[\\d*,\\-/A-Z]+)$`, 'i')],
  ['year', NUMBER_LIST()],
];

/** Each cron field's values, in the order of {@link CRON_FIELDS}. */
const CRON_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [1, 7],
  [1970, 2199],
];

/** Why `expression` is not an EventBridge Scheduler rate or cron expression; undefined when it is one. */
export function scheduleExpressionProblem(
  expression: string,
  units: readonly string[] = ['minute', 'hour', 'day'],
): string | undefined {
  const rate = RATE.exec(expression);
  if (rate) {
    if (Number(rate[1]) < 1) return 'a rate must be at least 1';
    if (!units.some((unit) => rate[2]?.startsWith(unit))) return `a rate's unit must be one of ${units.join(', ')}`;
    return undefined;
  }
  const cron = CRON.exec(expression);
  if (!cron) return 'must be an EventBridge Scheduler rate(...) or cron(...) expression';
  const fields = (cron[1] ?? '').trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 6)
    return `a cron expression has six fields (minutes hours day-of-month month day-of-week year), not ${fields.length}`;
  const [, , dayOfMonth, , dayOfWeek] = fields;
  if ((dayOfMonth === '?') === (dayOfWeek === '?'))
    return "a cron expression needs '?' in exactly one of day-of-month and day-of-week";
  for (const [index, [name, pattern]] of CRON_FIELDS.entries()) {
    const field = fields[index] ?? '';
    if (field === '?' && (name === 'day-of-month' || name === 'day-of-week')) continue;
    if (!pattern.test(field)) return `the cron ${name} field '${field.slice(0, 40)}' is not valid`;
    const [low, high] = CRON_RANGES[index] ?? [0, 0];
    // Every number but a step (after '/') and a week of the month (after '#') is a value of the field.
    const outside = [...field.matchAll(/(^|\D)(\d+)/g)]
      .filter((match) => match[1] !== '/' && match[1] !== '#')
      .map((match) => Number(match[2]))
      .find((value) => value < low || value > high);
    if (outside !== undefined)
      return `the cron ${name} field '${field.slice(0, 40)}' has ${outside}, outside ${low}-${high}`;
  }
  return undefined;
}
