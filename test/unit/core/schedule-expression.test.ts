import { scheduleExpressionProblem } from '../../../lambdas/core/schedule-expression';

describe('scheduleExpressionProblem', () => {
  it.each([
    'rate(1 minute)',
    'rate(5 minutes)',
    'rate(2 hours)',
    'rate(1 day)',
    'cron(15 * * * ? *)',
    'cron(0 9 ? * MON-FRI *)',
    'cron(0/15 8-17 ? * MON-FRI *)',
    'cron(*/5 * * * ? *)',
    'cron(0 2 L * ? *)',
    'cron(0 0 15W * ? *)',
    'cron(0 2 ? * 6#3 *)',
    'cron(0 0 ? * 5L *)',
    'cron(0 0 1 JAN,JUL ? 2026-2030)',
  ])('accepts %s', (expression) => {
    expect(scheduleExpressionProblem(expression)).toBeUndefined();
  });

  it.each([
    ['rate(0 minutes)', 'a rate must be at least 1'],
    ['rate(5 seconds)', 'must be an EventBridge Scheduler rate(...) or cron(...) expression'],
    ['every hour', 'must be an EventBridge Scheduler rate(...) or cron(...) expression'],
    ['cron(0 9 * * ?)', 'a cron expression has six fields (minutes hours day-of-month month day-of-week year), not 5'],
    ['cron(0 9 * * ? * *)', 'not 7'],
    ['cron(0 9 * * MON-FRI *)', "'?' in exactly one of day-of-month and day-of-week"],
    ['cron(0 9 ? * ? *)', "'?' in exactly one of day-of-month and day-of-week"],
    ['cron(x 9 ? * MON *)', "the cron minutes field 'x' is not valid"],
    ['cron(0 9 ? FOO MON *)', "the cron month field 'FOO' is not valid"],
    ['cron(75 2 * * ? *)', "the cron minutes field '75' has 75, outside 0-59"],
    ['cron(0 24 * * ? *)', 'outside 0-23'],
    ['cron(0 0 32 * ? *)', 'outside 1-31'],
    ['cron(0 0 ? 13 * *)', 'outside 1-12'],
    ['cron(0 0 ? * 8 *)', 'outside 1-7'],
    ['cron(5,10,61 * * * ? *)', 'has 61, outside 0-59'],
    ['cron(0 0 1 * ? 1900)', 'outside 1970-2199'],
  ])('refuses %s: %s', (expression, problem) => {
    expect(scheduleExpressionProblem(expression)).toContain(problem);
  });

  it('refuses a unit the caller does not take', () => {
    expect(scheduleExpressionProblem('rate(1 day)', ['minute', 'hour'])).toBe(
      "a rate's unit must be one of minute, hour",
    );
  });
});
