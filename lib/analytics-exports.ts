import { Duration, Validations } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

import type { ExportJob } from '../lambdas/core/export-windows';
import { AnalyticsExportJob } from './analytics-export-job';

// The export bucket and the scheduled export jobs that write to it. The jobs' roles are created first
// (`createRoles`) so that they can be admitted as API consumers before the API exists.

export interface AnalyticsExportsProps {
  /** The jobs, each with the role created for it by {@link AnalyticsExports.createRoles}. */
  readonly jobs: readonly ExportJob[];
  readonly roles: readonly iam.Role[];
  /** The token API the jobs call. */
  readonly api: apigw.RestApi;
  /**
   * Retention of the jobs' log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Topic the jobs' alarms notify.
   * @default - alarms without actions
   */
  readonly alarmTopic?: sns.ITopic;
}

/** Export bucket (versioned, access-logged) and one {@link AnalyticsExportJob} per job. */
export class AnalyticsExports extends Construct {
  readonly bucket: s3.Bucket;
  readonly jobs: AnalyticsExportJob[] = [];

  /** One role per job, to be listed as a consumer of that job's tenant. */
  static createRoles(scope: Construct, jobs: readonly ExportJob[]): iam.Role[] {
    return jobs.map(
      (job) =>
        new iam.Role(scope, `ExportJob-${job.name}-Role`, {
          assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
          description: `token-vending-machine export ${job.name}`,
        }),
    );
  }

  constructor(scope: Construct, id: string, props: AnalyticsExportsProps) {
    super(scope, id);
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
    });
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket of the export bucket; logging it again would recurse.',
    });
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'export-bucket/',
      versioned: true,
    });
    props.jobs.forEach((job, index) => {
      const role = props.roles[index];
      if (!role) throw new Error(`AnalyticsExports: no role for export job ${job.name}.`);
      this.jobs.push(
        new AnalyticsExportJob(this, `ExportJob-${job.name}`, {
          job,
          api: props.api,
          bucket: this.bucket,
          role,
          logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
          ...(props.alarmTopic ? { alarmTopic: props.alarmTopic } : {}),
        }),
      );
    });
  }
}
