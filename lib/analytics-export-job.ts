import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { Duration, Stack, Stage, Validations, type CfnElement } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

import { ENV } from '../contract/names';
import { jobPrefix, type ExportJob } from '../lambdas/core/export-windows';
import { JOB_FILE_IN_LAYER, JOB_FILE_PATH } from '../lambdas/export/job-file';
import { AnalyticsExportTable } from './analytics-export-table';
import { FUNCTION_MEMORY_MB } from './bundle-settings';
import { TvmFunction } from './tvm-function';

export interface AnalyticsExportJobProps {
  /** The job: tenant, schedule, GraphQL or REST source, pagination, window. */
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
   * Stack traces that point at the TypeScript sources (`NODE_OPTIONS=--enable-source-maps`; the functions ship
   * their source maps either way). Node.js then parses each bundle's source map at every cold start: about 30 ms
   * of init on the build machine (README, Performance).
   * @default false
   */
  readonly sourceMapStackTraces?: boolean;
  /**
   * Topic the job's failure alarm notifies.
   * @default - an alarm without actions
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Function timeout; each run stops about 90 s before it and resumes the window next run.
   * @default Duration.minutes(15)
   */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /**
   * Glue database of the job's table.
   * @default the stack's shared export database (`<stack name>_exports`)
   */
  readonly database?: glue.CfnDatabase;
}

/**
 * One scheduled analytics export: a function that gets its tenant's upstream headers from the token API,
 * pages through the job's GraphQL or REST source per time window and streams the records to S3 as gzip
 * NDJSON under Hive-style partitions; its schedule (at most one run at a time, explicit retries), its Glue
 * table for Athena, and an alarm on failures. The job definition ships in a layer, not in a variable.
 */
/** Memory a page needs at peak, as a multiple of its size, with room for the rest of the run. */
export const PAGE_MEMORY_FACTOR = 8;

export class AnalyticsExportJob extends Construct {
  readonly function: TvmFunction;
  /** The role to list as a consumer of the token API. */
  readonly role: iam.IRole;
  readonly alarm: cloudwatch.Alarm;
  /** The job's Athena table. */
  readonly table: AnalyticsExportTable;
  readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: AnalyticsExportJobProps) {
    super(scope, id);
    const { job, api, bucket } = props;
    const timeout = props.timeout ?? Duration.minutes(15);
    const memorySize = props.memorySize ?? FUNCTION_MEMORY_MB;
    // A page is held as bytes, as text and as parsed records at once: about 5-6 times its size at peak (a 30 MiB
    // page peaked at 277 MiB; one holding numbers a double cannot carry is read a second time, lambdas/export/
    // page-json.ts, about half as much again). A page the function cannot hold would crash it on every retry.
    if (job.maxPageBytes * PAGE_MEMORY_FACTOR > memorySize * 1024 * 1024) {
      throw new Error(
        `Export job ${job.name}: maxPageBytes ${job.maxPageBytes} needs about ${PAGE_MEMORY_FACTOR} times that in memory, ` +
          `more than the function's ${memorySize} MB: at most ${Math.floor((memorySize * 1024 * 1024) / PAGE_MEMORY_FACTOR)}.`,
      );
    }
    this.function = new TvmFunction(this, 'Export', {
      handlerName: 'export',
      description: `Analytics export ${job.name} for tenant ${job.tenant}`,
      environment: {
        [ENV.endpoint]: api.url,
        [ENV.exportBucket]: bucket.bucketName,
        [ENV.exportJobFile]: JOB_FILE_PATH,
      },
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      timeout,
      memorySize,
      ...(props.role ? { role: props.role } : {}),
      ...(props.sourceMapStackTraces !== undefined ? { sourceMapStackTraces: props.sourceMapStackTraces } : {}),
    });
    this.role = this.function.role;
    // The job definition (queries can be long) as a file in a layer: no 4 KB environment limit.
    this.function.function.addLayers(
      new lambda.LayerVersion(this, 'JobDefinition', {
        code: lambda.Code.fromAsset(jobDefinitionAsset(job, assemblyDir(this))),
        description: `Export job ${job.name} definition`,
      }),
    );
    // Only its own tenant's token method.
    this.function.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['execute-api:Invoke'],
        resources: [api.arnForExecuteApi('GET', `/v1/tenants/${job.tenant}/token`, api.deploymentStage.stageName)],
      }),
    );
    // Only its own prefix: write (multipart included), read back its own state and staging, delete staging.
    const prefix = jobPrefix(job);
    this.function.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject', 's3:DeleteObject'],
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

    // At most one run at a time (reserved concurrency 1) and explicit retries: see TvmFunction.invokeOnSchedule.
    this.schedule = this.function.invokeOnSchedule(
      scheduler.ScheduleExpression.expression(job.schedule),
      `token-vending-machine export ${job.name}`,
    );
    this.table = new AnalyticsExportTable(this, 'Table', {
      job,
      bucket,
      ...(props.database ? { database: props.database } : {}),
    });

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

/** The cloud assembly directory the app synthesizes into (`cdk.out`, or the temporary one of a test's `App`). */
function assemblyDir(scope: Construct): string {
  const stage = Stage.of(scope);
  if (!stage) throw new Error('An AnalyticsExportJob must be inside a CDK App (or Stage).');
  return stage.outdir;
}

/**
 * A directory holding `tvm/export-job.json` for the layer, in `<outdir>/tvm-export-jobs/<content hash>/`: same job,
 * same directory and asset hash, and nothing left behind outside the cloud assembly (the CDK copies it into its
 * `asset.*` directory; the source stays beside it, where the next synth of the same job finds it again).
 */
export function jobDefinitionAsset(job: ExportJob, outdir: string): string {
  const content = JSON.stringify(job);
  const dir = join(outdir, 'tvm-export-jobs', createHash('sha256').update(content).digest('hex').slice(0, 32));
  mkdirSync(join(dir, JOB_FILE_IN_LAYER.dir), { recursive: true });
  writeFileSync(join(dir, JOB_FILE_IN_LAYER.dir, JOB_FILE_IN_LAYER.file), content);
  return dir;
}
