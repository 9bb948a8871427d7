import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

import type { ExportJob } from '../lambdas/core/export-windows';
import type { AnalyticsExportJob } from './analytics-export-job';
import { AnalyticsExports } from './analytics-exports';
import { TokenVendingMonitoring } from './monitoring';
import { ServiceFunctions, type TokenVendingConsumer } from './service-functions';
import { TokenApi, type TokenVendingThrottling } from './token-api';
import { TokenCache } from './token-cache';
import type { TvmFunction } from './tvm-function';

export type { TokenVendingConsumer } from './service-functions';
export type { TokenVendingThrottling } from './token-api';

export interface TokenVendingServiceProps {
  /** Callers admitted by the API's resource policy and the handler's access check. Deny by default. */
  readonly consumers: readonly TokenVendingConsumer[];

  /**
   * Tenant secrets are named `<secretPrefix>/<tenantId>`; the functions may read only those.
   * @default DEFAULT_SECRET_PREFIX
   */
  readonly secretPrefix?: string;

  /**
   * Customer-managed KMS key encrypting the tenant secrets; the functions get `kms:Decrypt` through Secrets Manager only.
   * @default - the secrets use the AWS managed key `aws/secretsmanager`
   */
  readonly secretsKmsKey?: kms.IKey;

  /**
   * Tenants the scheduled refresher keeps warm.
   * @default - none: no refresher is created
   */
  readonly tenants?: readonly string[];

  /**
   * Make the API private, reachable only through these interface VPC endpoints (`aws:SourceVpce`).
   * @default - a regional API reachable over the internet, still IAM-authenticated
   */
  readonly vpcEndpointIds?: readonly string[];

  /**
   * Topic the alarms notify.
   * @default - alarms are created without actions
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Retention of every log group the service creates.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * When the refresher runs.
   * @default scheduler.ScheduleExpression.rate(Duration.minutes(5))
   */
  readonly refreshSchedule?: scheduler.ScheduleExpression;

  /**
   * Share tokens across all Lambda containers through a DynamoDB table (and run the refresher).
   * @default true
   */
  readonly sharedCache?: boolean;

  /**
   * Stage throttling.
   * @default { rateLimit: 50, burstLimit: 100 }
   */
  readonly throttling?: TokenVendingThrottling;

  /**
   * Scheduled analytics exports; each gets its own function, role (a consumer of its tenant only) and schedule.
   * @default []
   */
  readonly exportJobs?: readonly ExportJob[];

  /**
   * Send API Gateway execution logs (errors) to CloudWatch. Creates the account-level API Gateway logging role.
   * @default true
   */
  readonly executionLogging?: boolean;
}

/**
 * token-vending-machine as one construct: wires the cache, the functions, the API, the exports and the
 * monitoring, each a construct with one job.
 */
export class TokenVendingService extends Construct {
  readonly api: apigw.RestApi;
  readonly vendFunction: TvmFunction;
  readonly refreshFunction?: TvmFunction;
  readonly cacheTable?: dynamodb.Table;
  readonly alarms: cloudwatch.Alarm[];
  readonly exportJobs: AnalyticsExportJob[] = [];
  readonly exportBucket?: s3.Bucket;
  /** ARN pattern a consumer role needs `execute-api:Invoke` on. */
  readonly tokenMethodArn: string;

  constructor(scope: Construct, id: string, props: TokenVendingServiceProps) {
    super(scope, id);
    if (props.consumers.length === 0)
      throw new Error('TokenVendingService: consumers must list at least one principal.');
    const stack = Stack.of(this);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const sharedCache = props.sharedCache ?? true;

    // Export job roles exist before the API so that they can be listed as its consumers.
    const exportJobs = props.exportJobs ?? [];
    const exportRoles = AnalyticsExports.createRoles(this, exportJobs);
    const consumers: TokenVendingConsumer[] = [
      ...props.consumers,
      ...exportRoles.map((role, index) => ({ principal: role.roleArn, tenants: [exportJobs[index]?.tenant ?? ''] })),
    ];

    const cache = sharedCache ? new TokenCache(this, 'Cache') : undefined;
    if (cache) this.cacheTable = cache.table;

    const functions = new ServiceFunctions(this, 'Functions', {
      consumers,
      ...(props.secretPrefix ? { secretPrefix: props.secretPrefix } : {}),
      ...(props.secretsKmsKey ? { secretsKmsKey: props.secretsKmsKey } : {}),
      ...(props.tenants ? { tenants: props.tenants } : {}),
      ...(cache ? { cache } : {}),
      logRetention,
      refreshSchedule: props.refreshSchedule ?? scheduler.ScheduleExpression.rate(Duration.minutes(5)),
    });
    this.vendFunction = functions.vend;
    if (functions.refresh) this.refreshFunction = functions.refresh;

    const tokenApi = new TokenApi(this, 'Api', {
      handler: functions.vend.function,
      principals: consumers.map((consumer) => consumer.principal),
      ...(props.vpcEndpointIds ? { vpcEndpointIds: props.vpcEndpointIds } : {}),
      ...(props.throttling ? { throttling: props.throttling } : {}),
      logRetention,
      ...(props.executionLogging !== undefined ? { executionLogging: props.executionLogging } : {}),
    });
    this.api = tokenApi.api;

    const monitoring = new TokenVendingMonitoring(this, 'Monitoring', {
      api: this.api,
      functions: functions.all,
      ...(props.alarmTopic ? { alarmTopic: props.alarmTopic } : {}),
    });
    this.alarms = monitoring.alarms;

    if (exportJobs.length > 0) {
      const exports = new AnalyticsExports(this, 'Exports', {
        jobs: exportJobs,
        roles: exportRoles,
        api: this.api,
        logRetention,
        ...(props.alarmTopic ? { alarmTopic: props.alarmTopic } : {}),
      });
      this.exportBucket = exports.bucket;
      this.exportJobs.push(...exports.jobs);
      this.alarms.push(...exports.jobs.map((job) => job.alarm));
      new CfnOutput(this, 'ExportBucketName', { value: exports.bucket.bucketName });
    }

    this.tokenMethodArn = tokenApi.arnForRoute('GET', '/v1/tenants/*/token');
    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the token API' });
    new CfnOutput(this, 'TokenUrl', {
      value: `${this.api.url}v1/tenants/{tenantId}/token`,
      description: 'GET with SigV4 (service execute-api)',
    });
    if (this.cacheTable) new CfnOutput(this, 'CacheTableName', { value: this.cacheTable.tableName });
    // The roles that read tenant secrets: `tvm tenant put --reader-role` lets only these read a secret's value.
    new CfnOutput(this, 'VendRoleArn', {
      value: functions.vend.role.roleArn,
      description: 'Reads tenant secrets: pass to tvm tenant put --reader-role',
    });
    if (functions.refresh) {
      new CfnOutput(this, 'RefreshRoleArn', {
        value: functions.refresh.role.roleArn,
        description: 'Reads tenant secrets: pass to tvm tenant put --reader-role',
      });
    }
    new CfnOutput(this, 'ConsumerPolicyStatement', {
      description: 'Add to a consumer role (and list the role in the deployment config consumers)',
      value: stack.toJsonString({ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: this.tokenMethodArn }),
    });
  }
}
