import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { AssetHashType, DockerImage, Duration, RemovalPolicy, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';

import { ENV, METRICS_NAMESPACE, SERVICE_NAME } from '../contract/names';
import { BUNDLE_SETTINGS, FUNCTION_MEMORY_MB, nodeOptions } from './bundle-settings';
import { environmentBytes, QUOTAS } from './quotas';
import { SCHEDULED_INVOCATION, ScheduledInvocations } from './scheduled-invocations';

/** The newest Node.js runtime this aws-cdk-lib offers (cdk-nag AwsSolutions-L1 checks it). */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;

export { BUNDLE_SETTINGS, esbuildOptions, handlerEntry } from './bundle-settings';

/**
 * The prebuilt bundle of a handler (`dist/bundles/<name>/`, made by `npm run build`) when this code runs from
 * the installed package; undefined in a source checkout, where the handler is bundled from TypeScript at synth.
 */
export function prebuiltBundle(handlerName: string): string | undefined {
  const dir = join(__dirname, '..', 'bundles', handlerName);
  return existsSync(join(dir, BUNDLE_SETTINGS.outputFile)) ? dir : undefined;
}

export interface TvmFunctionProps {
  /** Entry file under `lambdas/handlers/`, without extension, e.g. `vend`. */
  readonly handlerName: string;
  readonly description: string;
  readonly environment: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  /**
   * What happens to the function's log group when the stack is deleted or the group replaced: the vend function's
   * is its audit log (who got which tenant's token) and is kept.
   * @default RemovalPolicy.DESTROY
   */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** @default 10 seconds */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /**
   * The execution role.
   * @default - a new role with no managed policies
   */
  readonly role?: iam.Role;
  /**
   * Concurrent executions reserved for (and capping) this function.
   * @default - unreserved (scheduled functions get 1 from `invokeOnSchedule`)
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Stack traces that point at the TypeScript sources: the functions ship their source maps and run with
   * `NODE_OPTIONS=--enable-source-maps`. Node.js then parses each bundle's source map at every cold start: about
   * 30 ms of init on the build machine (README, Performance). Without it, no source maps are deployed.
   * @default false
   */
  readonly sourceMapStackTraces?: boolean;
}

/** How a function's code is packaged. */
export interface BundleOptions {
  /**
   * Ship the source maps beside the code. They are used only with `NODE_OPTIONS=--enable-source-maps`
   * ({@link TvmFunctionProps.sourceMapStackTraces}); otherwise they would more than double the deployment package
   * for nothing the function reads.
   * @default false
   */
  readonly sourceMaps?: boolean;
}

/**
 * The code of a handler from the TypeScript sources: bundled at synth by the project's own esbuild with the settings
 * of lib/bundle-settings.ts (code splitting, which the CDK's `NodejsFunction` cannot do, and the SDK compaction
 * plugin), in a child process under tsx, no Docker. The asset hash
 * is the bundle's, so a dependency upgrade that changes the bundle deploys it.
 */
export function sourceBundle(handlerName: string, options: BundleOptions = {}): lambda.Code {
  const sourceMaps = options.sourceMaps ?? false;
  return lambda.Code.fromAsset(join(__dirname, '..', 'lambdas'), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // The CDK stages one asset per distinct set of options, compared as JSON, which leaves out `tryBundle` below:
      // without the handler (and what it ships) named here, every function of a synth would get the first one's
      // code. (Docker bundling, which would read these, never runs.)
      environment: { TVM_BUNDLE_HANDLER: handlerName, TVM_BUNDLE_SOURCE_MAPS: String(sourceMaps) },
      // Never pulled: local bundling below always bundles or fails.
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:24'),
      local: {
        tryBundle(outputDir: string): boolean {
          // The CDK asks for the bundle synchronously and esbuild runs plugins only in its asynchronous API, so the
          // bundle is built in a child process (scripts/bundle-handler.ts), exactly as `npm run build` builds it.
          const resolve = createRequire(__filename).resolve;
          let tsx: string;
          try {
            resolve('esbuild');
            tsx = resolve('tsx');
          } catch {
            throw new Error(
              `Bundling the ${handlerName} function from its sources needs esbuild and tsx: npm install --save-dev esbuild tsx (the published package deploys prebuilt bundles instead)`,
            );
          }
          const script = join(__dirname, '..', 'scripts', 'bundle-handler.ts');
          const bundled = spawnSync(
            process.execPath,
            ['--import', pathToFileURL(tsx).href, script, handlerName, outputDir, String(sourceMaps)],
            { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' },
          );
          if (bundled.status !== 0)
            throw new Error(
              `Bundling the ${handlerName} function failed: ${(bundled.stderr || String(bundled.error ?? bundled.signal)).trim()}`,
            );
          // esbuild's warnings (the child writes nothing else) reach the synth's output.
          if (bundled.stderr) process.stderr.write(bundled.stderr);
          return true;
        },
      },
    },
  });
}

/** The code of a handler: its prebuilt bundle in the installed package, else bundled from the sources. */
export function handlerCode(handlerName: string, options: BundleOptions = {}): lambda.Code {
  const prebuilt = prebuiltBundle(handlerName);
  if (!prebuilt) return sourceBundle(handlerName, options);
  return lambda.Code.fromAsset(prebuilt, options.sourceMaps ? {} : { exclude: ['*.map'] });
}

/**
 * One Lambda function with the project's defaults: newest Node.js runtime on ARM64,
 * esbuild-minified ES module bundle (SDK tree-shaken, sign-in code in a chunk loaded on first use) with the AWS SDK
 * inside (source maps only with `sourceMapStackTraces`), its own log group with retention, active tracing, and a
 * role that holds only what is granted to it.
 */
export class TvmFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: TvmFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    // An own role instead of the AWS managed basic-execution policy: logs only to its own group.
    this.role =
      props.role ??
      new iam.Role(this, 'Role', {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `${props.description} (${SERVICE_NAME})`,
      });
    const common = {
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? FUNCTION_MEMORY_MB,
      timeout: props.timeout ?? Duration.seconds(10),
      description: props.description,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
      ...(props.reservedConcurrentExecutions !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions }
        : {}),
      environment: {
        ...nodeOptions(props.sourceMapStackTraces ?? false),
        [ENV.powertoolsServiceName]: SERVICE_NAME,
        [ENV.powertoolsMetricsNamespace]: METRICS_NAMESPACE,
        ...props.environment,
      },
    };
    this.function = new lambda.Function(this, 'Function', {
      ...common,
      code: handlerCode(props.handlerName, { sourceMaps: props.sourceMapStackTraces ?? false }),
      handler: 'index.handler',
    });
    // Lambda refuses at deploy time an environment over 4 KB; fail at synthesis instead, naming the biggest values.
    const environment = common.environment;
    this.node.addValidation({
      validate: () => {
        const resolved = Stack.of(this).resolve(environment) as Record<string, unknown>;
        const bytes = environmentBytes(resolved);
        if (bytes <= QUOTAS.lambdaEnvironmentBytes) return [];
        const largest = Object.keys(resolved)
          .map((key) => [key, environmentBytes({ [key]: resolved[key] })] as const)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3)
          .map(([key, size]) => `${key} ${size} B`);
        return [
          `The environment of ${props.handlerName} would be about ${bytes} bytes once deployed, over Lambda's ${QUOTAS.lambdaEnvironmentBytes} (largest: ${largest.join(', ')}).`,
        ];
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
   * Invoke this function on a schedule (EventBridge Scheduler, in the stack's own schedule group), at most one run
   * at a time (reserved concurrency 1). The Scheduler retries a refused delivery a few times; a run that fails is not
   * retried (the next run comes soon and catches up). Whatever fails for good lands in the stack's encrypted failure
   * queue, which has an alarm ({@link ScheduledInvocations}).
   */
  invokeOnSchedule(schedule: scheduler.ScheduleExpression, description: string): scheduler.Schedule {
    const shared = ScheduledInvocations.of(this);
    (this.function.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions = 1;
    this.function.configureAsyncInvoke({
      retryAttempts: SCHEDULED_INVOCATION.functionRetryAttempts,
      maxEventAge: SCHEDULED_INVOCATION.functionMaxEventAge,
      onFailure: new destinations.SqsDestination(shared.failureQueue),
    });
    // Only this account's schedules in the stack's group may use the role (confused deputy).
    const role = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
        ArnLike: {
          'aws:SourceArn': Stack.of(this).formatArn({
            service: 'scheduler',
            resource: 'schedule',
            resourceName: `${shared.group.scheduleGroupName}/*`,
          }),
        },
      }),
    });
    const created = new scheduler.Schedule(this, 'Schedule', {
      description,
      schedule,
      scheduleGroup: shared.group,
      target: new targets.LambdaInvoke(this.function, {
        retryAttempts: SCHEDULED_INVOCATION.schedulerRetryAttempts,
        maxEventAge: SCHEDULED_INVOCATION.schedulerMaxEventAge,
        deadLetterQueue: shared.failureQueue,
        role,
      }),
    });
    Validations.of(this.function).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Failed asynchronous runs go to the on-failure destination (the stack failure queue, with an alarm), which records more than a dead-letter queue would.',
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
