import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';

// What every scheduled function of the stack shares: its own schedule group (so the Scheduler metrics are this
// stack's, not the account's `default` group) and one encrypted queue that keeps every invocation that failed for
// good: dropped by the Scheduler after its retries, or failed in the function (Lambda's async on-failure destination).

/** Retry policy of every schedule and of the asynchronous invocations it makes. */
export const SCHEDULED_INVOCATION = {
  /** Scheduler retries of a delivery Lambda refused (throttled, unavailable). */
  schedulerRetryAttempts: 2,
  /** How long the Scheduler keeps trying one delivery. */
  schedulerMaxEventAge: Duration.minutes(15),
  /** Lambda retries of a run that failed: none, the next scheduled run comes soon and catches up. */
  functionRetryAttempts: 0,
  /** How long Lambda keeps an accepted event waiting (e.g. while the one allowed run is still busy). */
  functionMaxEventAge: Duration.hours(1),
} as const;

const ID = 'ScheduledInvocations';

/** The stack's schedule group and failure queue; one per stack, created on first use. */
export class ScheduledInvocations extends Construct {
  readonly group: scheduler.ScheduleGroup;
  readonly failureQueue: sqs.Queue;

  /** The stack's instance, created when first asked for. */
  static of(scope: IConstruct): ScheduledInvocations {
    const stack = Stack.of(scope);
    return (stack.node.tryFindChild(ID) as ScheduledInvocations | undefined) ?? new ScheduledInvocations(stack, ID);
  }

  /** The stack's instance if any function is scheduled. */
  static find(scope: IConstruct): ScheduledInvocations | undefined {
    return Stack.of(scope).node.tryFindChild(ID) as ScheduledInvocations | undefined;
  }

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    this.group = new scheduler.ScheduleGroup(this, 'Group', {});
    this.failureQueue = new sqs.Queue(this, 'FailureQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.failureQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason: 'This queue is the dead-letter queue; its messages are read by an operator after the alarm.',
    });
    Validations.of(this.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue (Scheduler DLQ and Lambda on-failure destination); an alarm fires on its first message.',
    });
  }

  /**
   * Scheduled invocations that failed for good, as they arrive in the failure queue (Scheduler's dead-letter
   * messages and Lambda's on-failure records are both sent to it). Counting arrivals, not the queue's depth: the
   * queue keeps messages for 14 days, so its depth would hold the alarm in ALARM after the first failure and every
   * later one would notify no one.
   */
  metricFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.failureQueue.metricNumberOfMessagesSent({ statistic: 'Sum', ...props });
  }
}
