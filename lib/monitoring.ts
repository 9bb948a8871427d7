import { Annotations, Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

import type { ErrorCode } from '../contract/error-codes';
import { DIMENSION, METRIC, METRICS_NAMESPACE, SERVICE_NAME, type MetricName } from '../contract/names';
import { longestScheduleGap } from './schedule-interval';
import { ScheduledInvocations } from './scheduled-invocations';
import type { TvmFunction } from './tvm-function';

// Alarms of the service, each a named definition with a named threshold and a description that tells the person
// it reaches what happened; and the service's dashboard.

/** One alarm: what it watches, when it fires and what it means to the operator who receives it. */
export interface AlarmDefinition {
  /** Construct id prefix; the alarm is `<id>Alarm`. */
  readonly id: string;
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  /** What it means and what to do, shown in the notification. */
  readonly description: string;
  /** @default cloudwatch.TreatMissingData.NOT_BREACHING */
  readonly treatMissingData?: cloudwatch.TreatMissingData;
  /** @default cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD */
  readonly comparisonOperator?: cloudwatch.ComparisonOperator;
  /** @default 1 */
  readonly evaluationPeriods?: number;
  /** @default - evaluationPeriods */
  readonly datapointsToAlarm?: number;
}

/** Named thresholds, so a change reads as a decision rather than a number in a tuple. */
export const THRESHOLDS = {
  /** Share of API requests answered 5xx, in percent, ... */
  api5xxPercent: 5,
  /** ... counted only in periods with at least this many requests (one failure in a quiet hour is not an outage). */
  api5xxMinRequests: 10,
  /** ... in this many of the last three periods. */
  api5xxBreachingPeriods: 2,
  /** An upstream rejected the tenant's credentials: needs an operator. */
  upstreamAuthFailed: 1,
  /** Upstream throttling or outage, counted over the period. */
  upstreamUnavailable: 5,
  /** An upstream answer failed verification. */
  upstreamTokenInvalid: 1,
  /** Shared cache (DynamoDB) errors in the period: vending carries on per container, sign-ins multiply. */
  sharedCacheErrors: 5,
  /** Requests refused because a tenant's sign-in is paused (lockout guard). */
  lockedOut: 1,
  /** Function errors in the period. */
  functionErrors: 1,
  /** Function throttles in the period. */
  functionThrottles: 1,
  /** Runs of a scheduled function in a heartbeat period below which the period is empty (all empty: it stopped). */
  heartbeatRuns: 1,
  /** Scheduler invocations dropped or failed at the target, and failures kept in the failure queue. */
  schedulerFailures: 1,
  /** Tenants the refresher did not reach before its time ran out, in the period. */
  refreshSkipped: 1,
} as const;

/** A scheduled function that must keep running. */
export interface HeartbeatTarget {
  readonly name: string;
  readonly function: TvmFunction;
  /**
   * Its Scheduler expression (`rate(...)` or `cron(...)`): the alarm tolerates the longest gap between two of its
   * runs plus a margin (`heartbeatAlarmWindow`).
   */
  readonly schedule: string;
  /** For an export job: its name (the `job` dimension), which adds the no-progress alarm. */
  readonly exportJob?: string;
}

export interface TokenVendingMonitoringProps {
  readonly api: apigw.RestApi;
  /** The service functions: each gets an errors and a throttles alarm. */
  readonly functions: readonly TvmFunction[];
  /**
   * Scheduled functions with a heartbeat alarm (missing data is breaching).
   * @default []
   */
  readonly heartbeats?: readonly HeartbeatTarget[];
  /**
   * The scheduled refresher, when the service has one: alarms when a run skips tenants for lack of time.
   * @default - no refresher alarm
   */
  readonly refresher?: TvmFunction;
  /**
   * Topic every alarm notifies.
   * @default - alarms without actions
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Alarms made elsewhere (the export jobs' failure alarms) that the dashboard shows beside these.
   * @default []
   */
  readonly otherAlarms?: readonly cloudwatch.IAlarm[];
  /**
   * Period of the alarms and the dashboard.
   * @default Duration.minutes(5)
   */
  readonly period?: Duration;
}

/** How a heartbeat alarm watches a schedule: it alarms when no run happened in any of its evaluation periods. */
export interface HeartbeatAlarmWindow {
  /** Time without a run that alarms: `period × evaluationPeriods`. */
  readonly window: Duration;
  readonly period: Duration;
  readonly evaluationPeriods: number;
  /** Always `evaluationPeriods`: every period must be empty (or missing, which is breaching). */
  readonly datapointsToAlarm: number;
}

/** Bounds of the heartbeat windows (CloudWatch's own limits, and the margin over a schedule's longest gap). */
export const HEARTBEAT = {
  /** Shortest window. */
  minimumWindow: Duration.minutes(5),
  /** Largest margin over the longest gap; below it the margin is the gap itself (the window is twice the gap). */
  maximumMargin: Duration.days(1),
  /** Longest period used; longer windows are several periods of this length. */
  maximumPeriod: Duration.days(1),
  /** CloudWatch: period × evaluationPeriods is at most 7 days (at most 1 day for periods under an hour). */
  maximumWindow: Duration.days(7),
} as const;

/**
 * The heartbeat alarm for a schedule whose runs are at most `longestGap` apart: it must not fire while the schedule
 * runs as planned, even with one run late or retried, so it waits through the longest gap plus a margin (the gap
 * itself up to a day, then a day): at least 5 minutes, in whole minutes. Up to a day that is one period; beyond, whole
 * days, each of which must be without a run (`datapointsToAlarm = evaluationPeriods`; missing data is breaching), so
 * the alarm means "no run in the whole window". CloudWatch evaluates at most 7 days (period × evaluationPeriods), so a
 * schedule that can stay silent longer (weekly with a margin, monthly, yearly) gets `undefined`: no heartbeat, rather
 * than one that fires between runs; its failure alarms (function errors, Scheduler drops and target errors, the
 * failure queue) still report failed runs, but not a schedule that stopped.
 */
export function heartbeatAlarmWindow(longestGap: Duration): HeartbeatAlarmWindow | undefined {
  const gap = longestGap.toMinutes({ integral: false });
  const margin = Math.min(gap, HEARTBEAT.maximumMargin.toMinutes());
  const wanted = Math.max(HEARTBEAT.minimumWindow.toMinutes(), Math.ceil(gap + margin));
  const periodMinutes = HEARTBEAT.maximumPeriod.toMinutes();
  if (wanted <= periodMinutes) {
    const period = Duration.minutes(wanted);
    return { window: period, period, evaluationPeriods: 1, datapointsToAlarm: 1 };
  }
  const evaluationPeriods = Math.ceil(wanted / periodMinutes);
  if (evaluationPeriods * periodMinutes > HEARTBEAT.maximumWindow.toMinutes()) return undefined;
  return {
    window: Duration.minutes(evaluationPeriods * periodMinutes),
    period: HEARTBEAT.maximumPeriod,
    evaluationPeriods,
    datapointsToAlarm: evaluationPeriods,
  };
}

/** Alarms per alarm-status widget of the dashboard. */
const ALARMS_PER_WIDGET = 50;

/** The service's alarms, each notifying the topic, and its dashboard. */
export class TokenVendingMonitoring extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;
  private readonly topic?: sns.ITopic;
  private readonly period: Duration;

  constructor(scope: Construct, id: string, props: TokenVendingMonitoringProps) {
    super(scope, id);
    if (props.alarmTopic) this.topic = props.alarmTopic;
    const period = (this.period = props.period ?? Duration.minutes(5));
    const { api } = props;
    const upstreamFailures = (code: ErrorCode) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: METRIC.upstreamFailureByCode,
        dimensionsMap: { [DIMENSION.service]: SERVICE_NAME, [DIMENSION.code]: code },
        statistic: 'Sum',
        period,
      });
    const api5xxRate = new cloudwatch.MathExpression({
      expression: `IF(requests >= ${THRESHOLDS.api5xxMinRequests}, 100 * errors / requests, 0)`,
      usingMetrics: {
        errors: api.metricServerError({ period, statistic: 'Sum' }),
        requests: api.metricCount({ period, statistic: 'SampleCount' }),
      },
      period,
      label: 'API 5xx (% of requests)',
    });
    const definitions: AlarmDefinition[] = [
      {
        id: 'Api5xxRate',
        metric: api5xxRate,
        threshold: THRESHOLDS.api5xxPercent,
        evaluationPeriods: 3,
        datapointsToAlarm: THRESHOLDS.api5xxBreachingPeriods,
        description: `More than ${THRESHOLDS.api5xxPercent}% of token API requests answered 5xx in ${THRESHOLDS.api5xxBreachingPeriods} of the last 3 periods: callers are failing; check the vend function's logs and the upstream alarms.`,
      },
      {
        id: 'UpstreamAuthFailed',
        metric: upstreamFailures('upstream_auth_failed'),
        threshold: THRESHOLDS.upstreamAuthFailed,
        description:
          "An upstream rejected a tenant's credentials; sign-in for that tenant is paused. Fix the tenant secret (tvm tenant test).",
      },
      {
        id: 'UpstreamUnavailable',
        metric: upstreamFailures('upstream_unavailable'),
        threshold: THRESHOLDS.upstreamUnavailable,
        description: 'An upstream is throttling, down or too slow; callers get 503 with Retry-After.',
      },
      {
        id: 'UpstreamTokenInvalid',
        metric: upstreamFailures('upstream_token_invalid'),
        threshold: THRESHOLDS.upstreamTokenInvalid,
        description:
          "An upstream returned a token that failed verification (issuer, client, lifetime): check the tenant's issuer settings.",
      },
      {
        id: 'SharedCacheErrors',
        metric: this.serviceMetric(METRIC.sharedCacheError),
        threshold: THRESHOLDS.sharedCacheErrors,
        description:
          'The shared cache (DynamoDB) is failing: containers vend on their own, so upstream sign-ins multiply. Check the table and its key.',
      },
      {
        id: 'TenantsLockedOut',
        metric: this.serviceMetric(METRIC.lockedOut),
        threshold: THRESHOLDS.lockedOut,
        description:
          "Requests were refused because a tenant's sign-in is paused after rejected credentials: fix the tenant secret; a new secret version clears the pause.",
      },
    ];
    for (const fn of props.functions) {
      const name = fn.node.id;
      definitions.push(
        {
          id: `${name}Errors`,
          metric: fn.function.metricErrors({ period, statistic: 'Sum' }),
          threshold: THRESHOLDS.functionErrors,
          description: `The ${name} function failed (an unhandled error or a timeout): see its log group.`,
        },
        {
          id: `${name}Throttles`,
          metric: fn.function.metricThrottles({ period, statistic: 'Sum' }),
          threshold: THRESHOLDS.functionThrottles,
          description: `The ${name} function was throttled: its reserved concurrency or the account's limit was reached.`,
        },
      );
    }
    if (props.refresher) {
      definitions.push({
        id: 'RefreshSkipped',
        metric: this.serviceMetric(METRIC.refreshSkipped),
        threshold: THRESHOLDS.refreshSkipped,
        description:
          "The refresher ran out of time before it reached every tenant: those sessions are renewed when a caller asks, not ahead of it (they go first in the next run). Look in the refresher's log ('refresh ran out of time', 'tenant refresh failed') for a slow or throttling upstream.",
      });
    }
    for (const heartbeat of props.heartbeats ?? []) {
      const gap = longestScheduleGap(heartbeat.schedule);
      const watch = gap && heartbeatAlarmWindow(gap);
      if (!gap || !watch) {
        // See heartbeatAlarmWindow: an alarm that cannot wait through the schedule's longest gap would fire between runs.
        Annotations.of(this).addInfo(
          `No heartbeat alarm for ${heartbeat.name}: its schedule ${heartbeat.schedule} ${gap ? `can leave ${gap.toHumanString()} between runs, more than a CloudWatch alarm can wait (${HEARTBEAT.maximumWindow.toHumanString()} with a margin)` : 'could not be read'}; its failure alarms still report failed runs.`,
        );
        continue;
      }
      definitions.push({
        id: `${heartbeat.name}Heartbeat`,
        metric: heartbeat.function.function.metricInvocations({ period: watch.period, statistic: 'Sum' }),
        threshold: THRESHOLDS.heartbeatRuns,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        evaluationPeriods: watch.evaluationPeriods,
        datapointsToAlarm: watch.datapointsToAlarm,
        description: `${heartbeat.name} has not run for ${watch.window.toHumanString()} (its schedule ${heartbeat.schedule} leaves at most ${gap.toHumanString()} between runs): the schedule is disabled, deleted or failing. Check the Scheduler alarms and the failure queue.`,
      });
      if (heartbeat.exportJob !== undefined) {
        // Runs that happen but export nothing (every pending window paused: the upstream keeps asking to wait longer
        // than a run has, or a window never fits in one) over the same window: the job has stalled. The windows
        // stay pending (none is skipped), so the data comes once the cause is fixed.
        definitions.push({
          id: `${heartbeat.name}NoProgress`,
          metric: this.serviceMetric(METRIC.exportNoProgress, 'Minimum').with({
            dimensionsMap: { [DIMENSION.service]: SERVICE_NAME, [DIMENSION.job]: heartbeat.exportJob },
            period: watch.period,
          }),
          threshold: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          evaluationPeriods: watch.evaluationPeriods,
          datapointsToAlarm: watch.datapointsToAlarm,
          description: `${heartbeat.name} ran but exported no window for ${watch.window.toHumanString()}: every pending window paused (the upstream asks to wait longer than a run has, or a window never fits in one run). Nothing is skipped; read the job's logs ("export finished", paused).`,
        });
      }
    }
    const scheduled = ScheduledInvocations.find(this);
    if (scheduled) {
      definitions.push(
        {
          id: 'SchedulerDropped',
          metric: scheduled.group.metricDropped({ period, statistic: 'Sum' }),
          threshold: THRESHOLDS.schedulerFailures,
          description:
            'EventBridge Scheduler dropped a scheduled invocation after its retries (refresher or export job did not run).',
        },
        {
          id: 'SchedulerTargetErrors',
          metric: scheduled.group.metricTargetErrors({ period, statistic: 'Sum' }),
          threshold: THRESHOLDS.schedulerFailures,
          description: 'EventBridge Scheduler could not invoke a scheduled function (permissions, throttling).',
        },
        {
          id: 'ScheduledFailures',
          metric: scheduled.metricFailures({ period }),
          threshold: THRESHOLDS.schedulerFailures,
          description:
            'A scheduled invocation failed for good and was sent to the failure queue (each new failure alarms again): read the message, fix the cause.',
        },
      );
    }
    definitions.forEach((definition) => this.addAlarm(definition));
    this.dashboard = this.createDashboard(props);
  }

  /** Create an alarm from its definition, notifying the topic. */
  addAlarm(definition: AlarmDefinition): cloudwatch.Alarm {
    const evaluationPeriods = definition.evaluationPeriods ?? 1;
    const alarm = new cloudwatch.Alarm(this, `${definition.id}Alarm`, {
      metric: definition.metric,
      threshold: definition.threshold,
      evaluationPeriods,
      datapointsToAlarm: definition.datapointsToAlarm ?? evaluationPeriods,
      comparisonOperator:
        definition.comparisonOperator ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: definition.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `${SERVICE_NAME}: ${definition.description}`,
    });
    if (this.topic) alarm.addAlarmAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
    return alarm;
  }

  /** A custom metric as the functions emit it (Powertools adds the `service` dimension). */
  private serviceMetric(name: MetricName, statistic = 'Sum'): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: name,
      dimensionsMap: { [DIMENSION.service]: SERVICE_NAME },
      statistic,
      period: this.period,
    });
  }

  /** Every metric of this name in the namespace, whatever its dimensions (e.g. per export job). */
  private searchMetric(name: MetricName, label: string): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: `SUM(SEARCH('Namespace="${METRICS_NAMESPACE}" MetricName="${name}"', 'Sum', ${this.period.toSeconds()}))`,
      usingMetrics: {},
      label,
      period: this.period,
    });
  }

  private createDashboard(props: TokenVendingMonitoringProps): cloudwatch.Dashboard {
    const { api } = props;
    const period = this.period;
    const metric = (name: MetricName, label: string = name) => this.serviceMetric(name).with({ label });
    const lookups = {
      l1: metric(METRIC.cacheHit),
      l2: metric(METRIC.sharedCacheHit),
      miss: metric(METRIC.cacheMiss),
    };
    const vend = props.functions.find((fn) => fn.node.id === 'Vend');
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    const width = 8;
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Vends', width, left: [metric(METRIC.vend, 'tokens vended')] }),
      new cloudwatch.GraphWidget({
        title: 'Cache hit ratio (%)',
        width,
        left: [
          new cloudwatch.MathExpression({
            expression: '100 * l1 / (l1 + l2 + miss)',
            usingMetrics: lookups,
            label: 'L1 (container memory)',
            period,
          }),
          new cloudwatch.MathExpression({
            expression: '100 * l2 / (l1 + l2 + miss)',
            usingMetrics: lookups,
            label: 'L2 (DynamoDB)',
            period,
          }),
        ],
        leftYAxis: { min: 0, max: 100 },
      }),
      new cloudwatch.GraphWidget({
        title: 'Upstream sign-ins and refreshes',
        width,
        left: [metric(METRIC.signIn, 'sign-ins'), metric(METRIC.refresh, 'refreshes')],
        right: [metric(METRIC.refreshRejected, 'refresh tokens rejected')],
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Upstream failures by code',
        width,
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${METRICS_NAMESPACE},${DIMENSION.code},${DIMENSION.service}} MetricName="${METRIC.upstreamFailureByCode}"', 'Sum', ${period.toSeconds()})`,
            usingMetrics: {},
            label: '',
            period,
          }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Locked-out tenants and shared cache errors',
        width,
        left: [metric(METRIC.lockedOut, 'requests refused (tenant locked out)')],
        right: [metric(METRIC.sharedCacheError, 'shared cache errors')],
      }),
      new cloudwatch.GraphWidget({
        title: 'Latency (ms)',
        width,
        left: [
          api.metricLatency({ statistic: 'p50', period, label: 'API p50' }),
          api.metricLatency({ statistic: 'p99', period, label: 'API p99' }),
          ...(vend
            ? [
                vend.function.metricDuration({ statistic: 'p50', period, label: 'vend p50' }),
                vend.function.metricDuration({ statistic: 'p99', period, label: 'vend p99' }),
              ]
            : []),
        ],
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API requests, 4xx and 5xx',
        width,
        left: [api.metricCount({ period, statistic: 'SampleCount', label: 'requests' })],
        right: [
          api.metricClientError({ period, statistic: 'Sum', label: '4xx' }),
          api.metricServerError({ period, statistic: 'Sum', label: '5xx' }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Refresher outcomes (tenants per run)',
        width,
        left: [
          metric(METRIC.refreshRenewed, 'renewed'),
          metric(METRIC.refreshFresh, 'still fresh'),
          metric(METRIC.refreshFailed, 'failed'),
          metric(METRIC.refreshSkipped, 'skipped (out of time)'),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Export outcomes (all jobs)',
        width,
        left: [
          this.searchMetric(METRIC.exportWindowsWritten, 'windows written'),
          this.searchMetric(METRIC.exportWindowsSkipped, 'windows skipped'),
          this.searchMetric(METRIC.exportFailed, 'runs failed'),
        ],
      }),
    );
    // Every alarm of the service, in widgets of at most 50 (a company-sized config has about a hundred).
    const shown: cloudwatch.IAlarm[] = [...this.alarms, ...(props.otherAlarms ?? [])];
    for (let start = 0; start < shown.length; start += ALARMS_PER_WIDGET) {
      const part = shown.length > ALARMS_PER_WIDGET ? ` (${start / ALARMS_PER_WIDGET + 1})` : '';
      dashboard.addWidgets(
        new cloudwatch.AlarmStatusWidget({
          title: `Alarms${part}`,
          width: 24,
          height: 6,
          alarms: shown.slice(start, start + ALARMS_PER_WIDGET),
        }),
      );
    }
    return dashboard;
  }
}
