import { createHash } from 'node:crypto';

import { Aws, Duration, Stack, Tags, Validations } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';

import type { ExportJob } from '../lambdas/core/export-windows';
import { AnalyticsExportJob } from './analytics-export-job';
import type { ApiAccessModel } from './resource-policy';

/** Subnets and security groups export jobs run in (to reach a private API through its VPC endpoint). */
export interface ExportNetwork {
  readonly subnetIds: readonly string[];
  readonly securityGroupIds: readonly string[];
}

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
   * Stack traces that point at the TypeScript sources (`NODE_OPTIONS=--enable-source-maps`; the functions ship
   * their source maps either way). Node.js then parses each bundle's source map at every cold start: about 30 ms
   * of init on the build machine (README, Performance).
   * @default false
   */
  readonly sourceMapStackTraces?: boolean;
  /**
   * Topic the jobs' alarms notify.
   * @default - alarms without actions
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Run the jobs in these subnets (private API mode: the subnets must reach its VPC endpoint, with private DNS).
   * @default - outside any VPC
   */
  readonly network?: ExportNetwork;
  /**
   * How long noncurrent versions of export objects are kept.
   * @default Duration.days(30)
   */
  readonly noncurrentVersionExpiration?: Duration;
}

/**
 * The IAM role name of an export job, but for its region: `tvm-export-<job>-<hash>`, the hash of the stack name, the
 * service's construct path and the job name, so two deployments or two services in one account never share one.
 * The role is created as `<this>-<region>` (role names are account-wide, and the stack deploys to any region), at most
 * 64 characters; the vend function's access policy file lists it by this part, known at synthesis, and the function
 * completes it with `TVM_OWN_ROLE_NAME_SUFFIX` (`-<region>`) and `TVM_OWN_ROLE_ARN_PREFIX`. Listing the roles in the
 * file instead of the environment keeps the 4 KB environment free however many jobs there are.
 */
export function exportRoleNameBase(scope: Construct, jobName: string, access?: ApiAccessModel): string {
  // An IAM role's path cannot change in place: CloudFormation replaces the role, which a role of the same name cannot
  // be. The path is in the hash, so moving the consumers to another role path renames (and so replaces) the roles.
  const rolePath = access?.kind === 'rolePath' ? `@${access.rolePath}` : '';
  const hash = createHash('sha256')
    .update(`${Stack.of(scope).stackName}/${scope.node.path}/${jobName}${rolePath}`)
    .digest('hex')
    .slice(0, 8);
  return `tvm-export-${jobName.slice(0, 24)}-${hash}`;
}

/** What follows {@link exportRoleNameBase} in an export role's name: its region (resolved at deploy time). */
export const EXPORT_ROLE_NAME_SUFFIX = `-${Aws.REGION}`;

/** Export bucket (versioned, access-logged) and one {@link AnalyticsExportJob} per job. */
export class AnalyticsExports extends Construct {
  readonly bucket: s3.Bucket;
  readonly jobs: AnalyticsExportJob[] = [];

  /**
   * One role per job, to be listed as a consumer of that job's tenant; under the consumers' role path, or carrying
   * the consumer tag, when the API admits consumers that way.
   */
  static createRoles(scope: Construct, jobs: readonly ExportJob[], access?: ApiAccessModel): iam.Role[] {
    return jobs.map((job) => {
      const role = new iam.Role(scope, `ExportJob-${job.name}-Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `token-vending-machine export ${job.name}`,
        // Named at synthesis but for the region, so the vend function's access policy file can list it.
        roleName: `${exportRoleNameBase(scope, job.name, access)}${EXPORT_ROLE_NAME_SUFFIX}`,
        ...(access?.kind === 'rolePath' ? { path: access.rolePath } : {}),
      });
      if (access?.kind === 'principalTag') Tags.of(role).add(access.tagKey, 'true');
      return role;
    });
  }

  constructor(scope: Construct, id: string, props: AnalyticsExportsProps) {
    super(scope, id);
    // Server access logs delivered through the bucket policy, not the log-delivery ACL (ACLs stay disabled).
    this.node.setContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // No ACLs: S3 server access logging is granted through the bucket policy (logging.s3.amazonaws.com).
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
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
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'ExpireNoncurrentVersions',
          noncurrentVersionExpiration: props.noncurrentVersionExpiration ?? Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });
    props.jobs.forEach((job, index) => {
      const role = props.roles[index];
      if (!role) throw new Error(`AnalyticsExports: no role for export job ${job.name}.`);
      const exportJob = new AnalyticsExportJob(this, `ExportJob-${job.name}`, {
        job,
        api: props.api,
        bucket: this.bucket,
        role,
        logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
        ...(props.alarmTopic ? { alarmTopic: props.alarmTopic } : {}),
        ...(props.sourceMapStackTraces !== undefined ? { sourceMapStackTraces: props.sourceMapStackTraces } : {}),
      });
      if (props.network) placeInNetwork(exportJob, props.network);
      this.jobs.push(exportJob);
    });
  }
}

/** Put a job's function in the subnets, with the network-interface permissions Lambda needs for that. */
function placeInNetwork(job: AnalyticsExportJob, network: ExportNetwork): void {
  const fn = job.function.function.node.defaultChild as lambda.CfnFunction;
  fn.vpcConfig = { subnetIds: [...network.subnetIds], securityGroupIds: [...network.securityGroupIds] };
  // What AWSLambdaVPCAccessExecutionRole grants, in a policy of its own so that its wildcard carries its own reason
  // (the role's default policy acknowledges X-Ray's).
  const policy = new iam.Policy(job, 'NetworkPolicy', {
    statements: [
      new iam.PolicyStatement({
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    ],
  });
  policy.attachToRole(job.function.role);
  // The function's network configuration needs the role's permissions first.
  job.function.function.node.addDependency(policy);
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'Lambda in a VPC manages its network interfaces with the ec2 actions of AWSLambdaVPCAccessExecutionRole, which support no resource-level permissions.',
  });
}
