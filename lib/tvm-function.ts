import { join } from 'node:path';

import { Duration, RemovalPolicy, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';

import { ENV, METRICS_NAMESPACE, SERVICE_NAME } from '../contract/names';

/** The newest Node.js runtime this aws-cdk-lib offers (cdk-nag AwsSolutions-L1 checks it). */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** How every function is bundled; the benchmarks build bundles with the same settings. */
export const BUNDLE_SETTINGS = { minify: true, sourceMap: true, target: 'node24', format: 'cjs' } as const;

export function handlerEntry(handlerName: string): string {
  return join(__dirname, '..', 'lambdas', 'handlers', `${handlerName}.ts`);
}

export interface TvmFunctionProps {
  /** Entry file under `lambdas/handlers/`, without extension, e.g. `vend`. */
  readonly handlerName: string;
  readonly description: string;
  readonly environment: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  /** @default 10 seconds */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /**
   * The execution role.
   * @default - a new role with no managed policies
   */
  readonly role?: iam.Role;
}

/**
 * One Lambda function with the project's defaults: newest Node.js runtime on ARM64,
 * esbuild-minified bundle with source maps and the AWS SDK inside, its own log group
 * with retention, active tracing, and a role that holds only what is granted to it.
 */
export class TvmFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: TvmFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An own role instead of the AWS managed basic-execution policy: logs only to its own group.
    this.role =
      props.role ??
      new iam.Role(this, 'Role', {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `${props.description} (${SERVICE_NAME})`,
      });
    this.function = new NodejsFunction(this, 'Function', {
      entry: handlerEntry(props.handlerName),
      handler: 'handler',
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      description: props.description,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        [ENV.powertoolsServiceName]: SERVICE_NAME,
        [ENV.powertoolsMetricsNamespace]: METRICS_NAMESPACE,
        ...props.environment,
      },
      bundling: {
        minify: BUNDLE_SETTINGS.minify,
        sourceMap: BUNDLE_SETTINGS.sourceMap,
        sourcesContent: false,
        target: BUNDLE_SETTINGS.target,
        format: OutputFormat.CJS,
        // Bundle the AWS SDK too: a pinned, tree-shaken copy starts faster than the runtime's.
        externalModules: [],
      },
    });
    this.logGroup.grantWrite(this.role);
    const policy = this.role.node.tryFindChild('DefaultPolicy');
    if (policy) {
      Validations.of(policy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Active tracing needs X-Ray PutTraceSegments/PutTelemetryRecords, which do not support resource-level permissions.',
      });
    }
  }

  /**
   * Invoke this function on a schedule (EventBridge Scheduler), without retries: the next run
   * comes soon anyway, and a failed run is counted by the function's Errors alarm.
   */
  invokeOnSchedule(schedule: scheduler.ScheduleExpression, description: string): scheduler.Schedule {
    const role = new iam.Role(this, 'ScheduleRole', { assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com') });
    const created = new scheduler.Schedule(this, 'Schedule', {
      description,
      schedule,
      target: new targets.LambdaInvoke(this.function, { retryAttempts: 0, role }),
    });
    const invokePolicy = role.node.tryFindChild('DefaultPolicy');
    if (invokePolicy) {
      const functionLogicalId = Stack.of(this).getLogicalId(this.function.node.defaultChild as CfnElement);
      Validations.of(invokePolicy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${functionLogicalId}.Arn>:*]`,
        reason:
          'The scheduler may invoke this one function and its versions; the wildcard covers only version qualifiers.',
      });
    }
    return created;
  }
}
