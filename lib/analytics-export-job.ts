import { Duration, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

import { ENV } from '../contract/names';
import type { ExportJob } from '../lambdas/core/export-windows';
import { TvmFunction } from './tvm-function';

export interface AnalyticsExportJobProps {
  /** The job: tenant, schedule, GraphQL endpoint and query, window. */
  readonly job: ExportJob;
  /** The token API the job calls (its role may invoke only its tenant's token method). */
  readonly api: apigw.RestApi;
  /** Where the results go. */
  readonly bucket: s3.IBucket;
  /**
   * The function's role; pass one created earlier when it must be listed as an API consumer before the API exists.
   * @default - a new role
   */
  readonly role?: iam.Role;
  /**
   * Retention of the job's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Topic the job's failure alarm notifies.
   * @default - an alarm without actions
   */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * One scheduled analytics export: a function that gets its tenant's upstream headers
 * from the token API, runs the job's GraphQL query per time window and writes the
 * results to S3, a schedule, and an alarm on failures.
 */
export class AnalyticsExportJob extends Construct {
  readonly function: TvmFunction;
  /** The role to list as a consumer of the token API. */
  readonly role: iam.IRole;
  readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: AnalyticsExportJobProps) {
    super(scope, id);
    const { job, api, bucket } = props;
    this.function = new TvmFunction(this, 'Export', {
      handlerName: 'export',
      description: `Analytics export ${job.name} for tenant ${job.tenant}`,
      environment: {
        [ENV.endpoint]: api.url,
        [ENV.exportBucket]: bucket.bucketName,
        [ENV.exportJob]: JSON.stringify(job),
      },
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      timeout: Duration.minutes(5),
      ...(props.role ? { role: props.role } : {}),
    });
    this.role = this.function.role;

    // Only its own tenant's token method.
    this.function.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['execute-api:Invoke'],
        resources: [api.arnForExecuteApi('GET', `/v1/tenants/${job.tenant}/token`, api.deploymentStage.stageName)],
      }),
    );
    const prefix = `${job.prefix}/${job.tenant}/${job.name}/`;
    this.function.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [bucket.arnForObjects(`${prefix}*`)],
      }),
    );
    // HeadObject of a missing key answers 404 (not 403) only with ListBucket.
    this.function.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
      }),
    );
    if (bucket.encryptionKey) bucket.encryptionKey.grantEncryptDecrypt(this.function.role);

    this.function.invokeOnSchedule(
      scheduler.ScheduleExpression.expression(job.schedule),
      `token-vending-machine export ${job.name}`,
    );

    const stack = Stack.of(this);
    const policy = this.function.role.node.tryFindChild('DefaultPolicy');
    if (policy) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(bucket.node.defaultChild as CfnElement)}.Arn>/${prefix}*]`,
        reason: 'Objects are written per time window under the job\u2019s own prefix; the wildcard stays inside it.',
      });
    }

    this.alarm = new cloudwatch.Alarm(this, 'FailedAlarm', {
      metric: this.function.function.metricErrors({ period: Duration.hours(1), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `token-vending-machine: export ${job.name} (${job.tenant}) failed`,
    });
    if (props.alarmTopic) this.alarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));
  }
}
