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
import { AnalyticsExports, EXPORT_ROLE_NAME_SUFFIX, exportRoleNameBase, type ExportNetwork } from './analytics-exports';
import { TokenVendingMonitoring } from './monitoring';
import type { ApiAccessModel } from './resource-policy';
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
   * Stack traces that point at the TypeScript sources (`NODE_OPTIONS=--enable-source-maps`; the functions ship
   * their source maps either way). Node.js then parses each bundle's source map at every cold start: about 30 ms
   * of init on the build machine (README, Performance).
   * @default false
   */
  readonly sourceMapStackTraces?: boolean;

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
   * Send API Gateway execution logs (errors) to CloudWatch (needs the region's API Gateway CloudWatch role).
   * @default false
   */
  readonly executionLogging?: boolean;

  /**
   * Create or replace the region-wide API Gateway CloudWatch role (an account setting shared by every API).
   * @default false
   */
  readonly createCloudWatchRole?: boolean;

  /**
   * How the API's resource policy admits consumers; the handler checks each one per tenant either way.
   * @default { kind: 'principals' } - every consumer ARN listed (fits about 60 consumers)
   */
  readonly apiAccess?: ApiAccessModel;

  /**
   * Retention of the audit logs: the vend function's log and the API access log.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly auditLogRetention?: logs.RetentionDays;

  /**
   * Concurrent executions reserved for the vend function; `null` leaves it unreserved.
   * @default VEND_RESERVED_CONCURRENCY
   */
  readonly vendReservedConcurrency?: number | null;

  /**
   * Where export jobs run when the API is private: subnets that reach its VPC endpoint.
   * @default - export jobs run outside a VPC (refused together with `vpcEndpointIds`)
   */
  readonly exportNetwork?: ExportNetwork;
}

/**
 * Statement for an SCP or permissions boundary: deny `lambda:InvokeFunction` on the vend function to every caller
 * but API Gateway. The function trusts the caller identity in its event, so a direct invoke could claim any.
 */
export function vendInvokeGuardrail(functionArn: string): Record<string, unknown> {
  return {
    Sid: 'OnlyApiGatewayInvokesTokenVending',
    Effect: 'Deny',
    Action: 'lambda:InvokeFunction',
    Resource: [functionArn, `${functionArn}:*`],
    Condition: { StringNotEquals: { 'aws:PrincipalServiceName': 'apigateway.amazonaws.com' } },
  };
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
  readonly dashboard: cloudwatch.Dashboard;
  readonly exportJobs: AnalyticsExportJob[] = [];
  readonly exportBucket?: s3.Bucket;
  /** ARN pattern a consumer role needs `execute-api:Invoke` on. */
  readonly tokenMethodArn: string;

  constructor(scope: Construct, id: string, props: TokenVendingServiceProps) {
    super(scope, id);
    if (props.consumers.length === 0)
      throw new Error('TokenVendingService: consumers must list at least one principal.');
    if (props.vpcEndpointIds && (props.exportJobs?.length ?? 0) > 0 && !props.exportNetwork) {
      throw new Error(
        'TokenVendingService: export jobs cannot reach a private API from outside a VPC: set exportNetwork (subnets that reach the VPC endpoint) or remove vpcEndpointIds.',
      );
    }
    const stack = Stack.of(this);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const auditLogRetention = props.auditLogRetention ?? logs.RetentionDays.ONE_YEAR;
    const refreshSchedule = props.refreshSchedule ?? scheduler.ScheduleExpression.rate(Duration.minutes(5));
    const sharedCache = props.sharedCache ?? true;

    // Export job roles exist before the API so that they can be listed as its consumers.
    const exportJobs = props.exportJobs ?? [];
    const exportRoles = AnalyticsExports.createRoles(this, exportJobs, props.apiAccess);
    const consumers: TokenVendingConsumer[] = [
      ...props.consumers,
      ...exportRoles.map((role, index) => ({ principal: role.roleArn, tenants: [exportJobs[index]?.tenant ?? ''] })),
    ];
    // The vend function's policy names the export roles (their ARNs are known only at deploy time).
    const ownRoles = exportJobs.map((job) => ({
      roleName: exportRoleNameBase(this, job.name, props.apiAccess),
      tenants: [job.tenant],
    }));

    const cache = sharedCache ? new TokenCache(this, 'Cache') : undefined;
    if (cache) this.cacheTable = cache.table;

    const functions = new ServiceFunctions(this, 'Functions', {
      consumers: props.consumers,
      ownRoles,
      ownRoleNameSuffix: EXPORT_ROLE_NAME_SUFFIX,
      ...(props.secretPrefix ? { secretPrefix: props.secretPrefix } : {}),
      ...(props.secretsKmsKey ? { secretsKmsKey: props.secretsKmsKey } : {}),
      ...(props.tenants ? { tenants: props.tenants } : {}),
      ...(cache ? { cache } : {}),
      logRetention,
      auditLogRetention,
      refreshSchedule,
      ...(props.sourceMapStackTraces !== undefined ? { sourceMapStackTraces: props.sourceMapStackTraces } : {}),
      ...(props.vendReservedConcurrency !== undefined
        ? { vendReservedConcurrency: props.vendReservedConcurrency }
        : {}),
    });
    this.vendFunction = functions.vend;
    if (functions.refresh) this.refreshFunction = functions.refresh;

    const tokenApi = new TokenApi(this, 'Api', {
      handler: functions.vend.function,
      principals: consumers.map((consumer) => consumer.principal),
      ...(props.apiAccess ? { access: props.apiAccess } : {}),
      ...(props.vpcEndpointIds ? { vpcEndpointIds: props.vpcEndpointIds } : {}),
      ...(props.throttling ? { throttling: props.throttling } : {}),
      accessLogRetention: auditLogRetention,
      executionLogRetention: logRetention,
      ...(props.executionLogging !== undefined ? { executionLogging: props.executionLogging } : {}),
      ...(props.createCloudWatchRole !== undefined ? { createCloudWatchRole: props.createCloudWatchRole } : {}),
    });
    this.api = tokenApi.api;

    if (exportJobs.length > 0) {
      const exports = new AnalyticsExports(this, 'Exports', {
        jobs: exportJobs,
        roles: exportRoles,
        api: this.api,
        logRetention,
        ...(props.alarmTopic ? { alarmTopic: props.alarmTopic } : {}),
        ...(props.exportNetwork ? { network: props.exportNetwork } : {}),
        ...(props.sourceMapStackTraces !== undefined ? { sourceMapStackTraces: props.sourceMapStackTraces } : {}),
      });
      this.exportBucket = exports.bucket;
      this.exportJobs.push(...exports.jobs);
      new CfnOutput(this, 'ExportBucketName', { value: exports.bucket.bucketName });
    }

    const monitoring = new TokenVendingMonitoring(this, 'Monitoring', {
      api: this.api,
      functions: functions.all,
      heartbeats: [
        ...(functions.refresh
          ? [{ name: 'Refresher', function: functions.refresh, schedule: refreshSchedule.expressionString }]
          : []),
        ...this.exportJobs.map((job, index) => ({
          name: `Export-${exportJobs[index]?.name ?? index}`,
          function: job.function,
          schedule: exportJobs[index]?.schedule ?? 'rate(1 day)',
          exportJob: exportJobs[index]?.name ?? String(index),
        })),
      ],
      ...(functions.refresh ? { refresher: functions.refresh } : {}),
      ...(props.alarmTopic ? { alarmTopic: props.alarmTopic } : {}),
      otherAlarms: this.exportJobs.map((job) => job.alarm),
    });
    this.alarms = [...monitoring.alarms, ...this.exportJobs.map((job) => job.alarm)];
    this.dashboard = monitoring.dashboard;
    new CfnOutput(this, 'DashboardName', {
      value: monitoring.dashboard.dashboardName,
      description: 'CloudWatch dashboard of the service',
    });

    // The handler trusts the caller identity API Gateway puts in the event, so only API Gateway may invoke it.
    new CfnOutput(this, 'VendInvokeGuardrail', {
      description:
        'SCP (or permissions-boundary) statement: nobody but API Gateway may invoke the vend function, which trusts the caller identity in its event',
      value: stack.toJsonString(vendInvokeGuardrail(functions.vend.function.functionArn)),
    });

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
      value: stack.toJsonString({
        Effect: 'Allow',
        Action: 'execute-api:Invoke',
        Resource: [this.tokenMethodArn, tokenApi.arnForRoute('GET', '/v1/tenants/*/aws-credentials')],
      }),
    });
  }
}
