import { Duration } from 'aws-cdk-lib';

// The longest gap between two runs of an EventBridge Scheduler expression, for heartbeat alarms. `rate(...)` is
// exact; for `cron(...)` a step or wildcard in the minute or hour field is read, anything else counts as daily.

const UNIT_MINUTES: Readonly<Record<string, number>> = { minute: 1, hour: 60, day: 24 * 60 };

function stepOf(field: string | undefined): number | undefined {
  if (field === '*') return 1;
  const step = /^(?:\*|\d+)\/(\d+)$/.exec(field ?? '');
  return step ? Number(step[1]) : undefined;
}

export function scheduleInterval(expression: string): Duration {
  const rate = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression);
  if (rate) return Duration.minutes(Number(rate[1]) * (UNIT_MINUTES[rate[2] ?? 'day'] ?? 24 * 60));
  const cron = /^cron\((.+)\)$/.exec(expression);
  const [minutes, hours] = cron?.[1]?.trim().split(/\s+/) ?? [];
  const minuteStep = stepOf(minutes);
  if (minuteStep !== undefined) return Duration.minutes(minuteStep);
  const hourStep = stepOf(hours);
  if (hourStep !== undefined) return Duration.hours(hourStep);
  return Duration.days(1);
}
