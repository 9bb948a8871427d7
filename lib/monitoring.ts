import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

import type { ErrorCode } from '../contract/error-codes';
import { DIMENSION, METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../contract/names';
import type { TvmFunction } from './tvm-function';

// Alarms of the service: each a named definition with a named threshold.

/** One alarm: what it watches, when it fires and what it means to the operator who receives it. */
export interface AlarmDefinition {
  /** Construct id prefix; the alarm is `<id>Alarm`. */
  readonly id: string;
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  /** What it means, shown in the notification. */
  readonly description: string;
  /** @default cloudwatch.TreatMissingData.NOT_BREACHING */
  readonly treatMissingData?: cloudwatch.TreatMissingData;
  /** @default cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD */
  readonly comparisonOperator?: cloudwatch.ComparisonOperator;
  /** @default 1 */
  readonly evaluationPeriods?: number;
}

/** Named thresholds, so a change reads as a decision rather than a number in a tuple. */
export const THRESHOLDS = {
  /** Any 5xx answer of the API in the period. */
  api5xx: 1,
  /** An upstream rejected the tenant's credentials: needs an operator. */
  upstreamAuthFailed: 1,
  /** Upstream throttling or outage, counted over the period. */
  upstreamUnavailable: 5,
  /** An upstream answer failed verification. */
  upstreamTokenInvalid: 1,
  /** Function errors in the period. */
  functionErrors: 1,
  /** Function throttles in the period. */
  functionThrottles: 1,
} as const;

export interface TokenVendingMonitoringProps {
  readonly api: apigw.RestApi;
  /** The service functions: each gets an errors and a throttles alarm. */
  readonly functions: readonly TvmFunction[];
  /**
   * Topic every alarm notifies.
   * @default - alarms without actions
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Period of the alarms.
   * @default Duration.minutes(5)
   */
  readonly period?: Duration;
}

/** The service's alarms, each notifying the topic. */
export class TokenVendingMonitoring extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  private readonly topic?: sns.ITopic;

  constructor(scope: Construct, id: string, props: TokenVendingMonitoringProps) {
    super(scope, id);
    if (props.alarmTopic) this.topic = props.alarmTopic;
    const period = props.period ?? Duration.minutes(5);
    const upstreamFailures = (code: ErrorCode) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: METRIC.upstreamFailureByCode,
        dimensionsMap: { [DIMENSION.service]: SERVICE_NAME, [DIMENSION.code]: code },
        statistic: 'Sum',
        period,
      });
    const definitions: AlarmDefinition[] = [
      {
        id: 'Api5xx',
        metric: props.api.metricServerError({ period, statistic: 'Sum' }),
        threshold: THRESHOLDS.api5xx,
        description: 'The token API answered 5xx',
      },
      {
        id: 'UpstreamAuthFailed',
        metric: upstreamFailures('upstream_auth_failed'),
        threshold: THRESHOLDS.upstreamAuthFailed,
        description: 'An upstream rejected tenant credentials: an operator must fix the tenant secret',
      },
      {
        id: 'UpstreamUnavailable',
        metric: upstreamFailures('upstream_unavailable'),
        threshold: THRESHOLDS.upstreamUnavailable,
        description: 'An upstream is throttling or down',
      },
      {
        id: 'UpstreamTokenInvalid',
        metric: upstreamFailures('upstream_token_invalid'),
        threshold: THRESHOLDS.upstreamTokenInvalid,
        description: 'An upstream returned a token that failed verification',
      },
    ];
    for (const fn of props.functions) {
      const name = fn.node.id;
      definitions.push(
        {
          id: `${name}Errors`,
          metric: fn.function.metricErrors({ period, statistic: 'Sum' }),
          threshold: THRESHOLDS.functionErrors,
          description: `${name} function errors`,
        },
        {
          id: `${name}Throttles`,
          metric: fn.function.metricThrottles({ period, statistic: 'Sum' }),
          threshold: THRESHOLDS.functionThrottles,
          description: `${name} function throttled`,
        },
      );
    }
    definitions.forEach((definition) => this.addAlarm(definition));
  }

  /** Create an alarm from its definition, notifying the topic. */
  addAlarm(definition: AlarmDefinition): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, `${definition.id}Alarm`, {
      metric: definition.metric,
      threshold: definition.threshold,
      evaluationPeriods: definition.evaluationPeriods ?? 1,
      comparisonOperator:
        definition.comparisonOperator ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: definition.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `${SERVICE_NAME}: ${definition.description}`,
    });
    if (this.topic) alarm.addAlarmAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
    return alarm;
  }
}
