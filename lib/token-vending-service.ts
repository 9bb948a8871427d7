import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

import type { ExportJob } from '../lambdas/core/export-windows';
import { AnalyticsExportJob } from './analytics-export-job';
import { TvmFunction } from './tvm-function';

/** One consumer of the API: an IAM role or user and the tenants it may ask for (`"*"` for all). */
export interface TokenVendingConsumer {
  /** IAM role or user ARN. Assumed-role sessions of the role are matched to it. */
  readonly principal: string;
  /** Tenant ids, or `["*"]` for every tenant. */
  readonly tenants: readonly string[];
}

/** API Gateway stage throttling. */
export interface TokenVendingThrottling {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Burst capacity. */
  readonly burstLimit: number;
}

export interface TokenVendingServiceProps {
  /** Callers admitted by the API's resource policy and the handler's access check. Deny by default. */
  readonly consumers: readonly TokenVendingConsumer[];

  /**
   * Tenant secrets are named `<secretPrefix>/<tenantId>`; the functions may read only those.
   * @default 'tvm/tenants'
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
   * @default - none
   */
  readonly exportJobs?: readonly ExportJob[];

  /**
   * Send API Gateway execution logs (errors) to CloudWatch. Creates the account-level API Gateway logging role.
   * @default true
   */
  readonly executionLogging?: boolean;
}

/**
 * token-vending-machine as one construct: an IAM-authenticated REST API in front of the
 * vend function, the shared token cache, the scheduled refresher and their alarms.
 */
export class TokenVendingService extends Construct {
  readonly api: apigw.RestApi;
  readonly vendFunction: TvmFunction;
  readonly refreshFunction?: TvmFunction;
  readonly cacheTable?: dynamodb.Table;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly exportJobs: AnalyticsExportJob[] = [];
  readonly exportBucket?: s3.Bucket;
  /** ARN pattern a consumer role needs `execute-api:Invoke` on. */
  readonly tokenMethodArn: string;

  constructor(scope: Construct, id: string, props: TokenVendingServiceProps) {
    super(scope, id);
    if (props.consumers.length === 0)
      throw new Error('TokenVendingService: consumers must list at least one principal.');
    const stack = Stack.of(this);
    const secretPrefix = props.secretPrefix ?? 'tvm/tenants';
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const tenants = props.tenants ?? [];
    const sharedCache = props.sharedCache ?? true;
    const throttling = props.throttling ?? { rateLimit: 50, burstLimit: 100 };

    // Export job roles exist before the API so that they can be listed as its consumers.
    const exportJobs = props.exportJobs ?? [];
    const exportRoles = exportJobs.map(
      (job) =>
        new iam.Role(this, `ExportJob-${job.name}-Role`, {
          assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
          description: `token-vending-machine export ${job.name}`,
        }),
    );
    const consumers: TokenVendingConsumer[] = [
      ...props.consumers,
      ...exportJobs.map((job, index) => ({
        principal: (exportRoles[index] as iam.Role).roleArn,
        tenants: [job.tenant],
      })),
    ];

    const environment: Record<string, string> = {
      TVM_SECRET_PREFIX: secretPrefix,
      TVM_CONSUMERS: stack.toJsonString(consumers),
      TVM_TENANTS: JSON.stringify(tenants),
    };

    if (sharedCache) {
      const key = new kms.Key(this, 'CacheKey', {
        description: 'token-vending-machine token cache',
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      this.cacheTable = new dynamodb.Table(this, 'CacheTable', {
        partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: key,
        timeToLiveAttribute: 'ttl',
        // A cache: everything in it is rebuilt from the upstream on demand.
        removalPolicy: RemovalPolicy.DESTROY,
      });
      Validations.of(this.cacheTable).acknowledge({
        id: 'AwsSolutions-DDB3',
        reason:
          'The table is a cache of upstream tokens with a TTL; after a loss the service signs in again, so point-in-time recovery would only keep expired credentials around.',
      });
      environment.TVM_CACHE_TABLE = this.cacheTable.tableName;
    }

    this.vendFunction = new TvmFunction(this, 'Vend', {
      handlerName: 'vend',
      description: 'Vends upstream tokens for GET /v1/tenants/{tenantId}/token',
      environment,
      logRetention,
      timeout: Duration.seconds(25),
    });
    const functions = [this.vendFunction];
    if (sharedCache && tenants.length > 0) {
      this.refreshFunction = new TvmFunction(this, 'Refresh', {
        handlerName: 'refresh',
        description: 'Renews cached upstream tokens before they expire',
        environment,
        logRetention,
        timeout: Duration.minutes(2),
      });
      functions.push(this.refreshFunction);
      this.refreshFunction.invokeOnSchedule(
        props.refreshSchedule ?? scheduler.ScheduleExpression.rate(Duration.minutes(5)),
        'token-vending-machine proactive refresh',
      );
    }

    const secretsArn = stack.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${secretPrefix}/*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    for (const fn of functions) {
      fn.role.addToPolicy(
        new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretsArn] }),
      );
      if (props.secretsKmsKey) {
        fn.role.addToPolicy(
          new iam.PolicyStatement({
            actions: ['kms:Decrypt'],
            resources: [props.secretsKmsKey.keyArn],
            conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` } },
          }),
        );
      }
      if (this.cacheTable) this.grantCacheAccess(fn, this.cacheTable);
      this.acknowledgeFunctionFindings(fn, secretPrefix);
    }

    this.api = this.createApi({ ...props, consumers }, throttling, logRetention);

    if (exportJobs.length > 0) {
      const accessLogs = new s3.Bucket(this, 'ExportAccessLogs', {
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
      this.exportBucket = new s3.Bucket(this, 'ExportBucket', {
        encryption: s3.BucketEncryption.S3_MANAGED,
        enforceSSL: true,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        serverAccessLogsBucket: accessLogs,
        serverAccessLogsPrefix: 'export-bucket/',
        versioned: true,
      });
      exportJobs.forEach((job, index) => {
        const exportJob = new AnalyticsExportJob(this, `ExportJob-${job.name}`, {
          job,
          api: this.api,
          bucket: this.exportBucket as s3.Bucket,
          role: exportRoles[index] as iam.Role,
          logRetention,
          ...(props.alarmTopic ? { alarmTopic: props.alarmTopic } : {}),
        });
        this.exportJobs.push(exportJob);
        this.alarms.push(exportJob.alarm);
      });
      new CfnOutput(this, 'ExportBucketName', { value: this.exportBucket.bucketName });
    }
    this.tokenMethodArn = this.api.arnForExecuteApi('GET', '/v1/tenants/*/token', this.api.deploymentStage.stageName);
    this.createAlarms(functions, props.alarmTopic);

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the token API' });
    new CfnOutput(this, 'TokenUrl', {
      value: `${this.api.url}v1/tenants/{tenantId}/token`,
      description: 'GET with SigV4 (service execute-api)',
    });
    if (this.cacheTable) new CfnOutput(this, 'CacheTableName', { value: this.cacheTable.tableName });
    new CfnOutput(this, 'ConsumerPolicyStatement', {
      description: 'Add to a consumer role (and list the role in the deployment config consumers)',
      value: stack.toJsonString({ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: this.tokenMethodArn }),
    });
  }

  private createApi(
    props: TokenVendingServiceProps,
    throttling: TokenVendingThrottling,
    logRetention: logs.RetentionDays,
  ): apigw.RestApi {
    const principals = props.consumers.map((consumer) => consumer.principal);
    const statements = [
      new iam.PolicyStatement({
        effect: iam.Effect.ALLOW,
        principals: principals.map((arn) => new iam.ArnPrincipal(arn)),
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*'],
      }),
      // Same-account callers could otherwise get in on their own IAM policy alone.
      new iam.PolicyStatement({
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*'],
        conditions: { ArnNotLike: { 'aws:PrincipalArn': principals } },
      }),
    ];
    if (props.vpcEndpointIds) {
      statements.push(
        new iam.PolicyStatement({
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['execute-api:Invoke'],
          resources: ['execute-api:/*'],
          conditions: { StringNotEquals: { 'aws:SourceVpce': [...props.vpcEndpointIds] } },
        }),
      );
    }

    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const executionLogging = props.executionLogging ?? true;
    const api = new apigw.RestApi(this, 'Api', {
      description: 'token-vending-machine: IAM-authenticated token API',
      endpointConfiguration: props.vpcEndpointIds
        ? {
            types: [apigw.EndpointType.PRIVATE],
            vpcEndpoints: props.vpcEndpointIds.map((id, index) =>
              ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(this, `ApiVpce${index}`, {
                vpcEndpointId: id,
                port: 443,
              }),
            ),
          }
        : { types: [apigw.EndpointType.REGIONAL] },
      policy: new iam.PolicyDocument({ statements }),
      cloudWatchRole: executionLogging,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.DESTROY,
      deployOptions: {
        stageName: 'prod',
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: executionLogging ? apigw.MethodLoggingLevel.ERROR : apigw.MethodLoggingLevel.OFF,
        dataTraceEnabled: false,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
        throttlingRateLimit: throttling.rateLimit,
        throttlingBurstLimit: throttling.burstLimit,
      },
      defaultMethodOptions: { authorizationType: apigw.AuthorizationType.IAM },
      disableExecuteApiEndpoint: false,
    });

    const validator = new apigw.RequestValidator(this, 'RequestValidator', {
      restApi: api,
      validateRequestParameters: true,
      validateRequestBody: true,
    });
    const integration = new apigw.LambdaIntegration(this.vendFunction.function, { proxy: true });
    const v1 = api.root.addResource('v1');
    v1.addResource('health').addMethod('GET', integration, { requestValidator: validator });
    v1.addResource('tenants')
      .addResource('{tenantId}')
      .addResource('token')
      .addMethod('GET', integration, {
        requestValidator: validator,
        requestParameters: {
          'method.request.path.tenantId': true,
          'method.request.querystring.minTtl': false,
          'method.request.querystring.rejected': false,
        },
      });

    if (executionLogging) {
      const role = api.node.tryFindChild('CloudWatchRole');
      if (role) {
        Validations.of(role).acknowledge({
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
          reason:
            'API Gateway writes execution logs through one account-level role; AWS documents this managed policy for it.',
        });
      }
    }
    Validations.of(api).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'Every method requires SigV4 (AWS_IAM) and the resource policy admits only configured roles; WAF can be associated per account if wanted.',
    });
    Validations.of(api).acknowledge({
      id: 'AwsSolutions-COG4',
      reason: 'Callers are internal IAM roles authenticated with SigV4 (AWS_IAM), not Cognito users.',
    });
    return api;
  }

  /** Item access and exactly the KMS actions DynamoDB needs for a customer-managed key (no wildcards). */
  private grantCacheAccess(fn: TvmFunction, table: dynamodb.Table): void {
    fn.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [table.tableArn],
      }),
    );
    if (table.encryptionKey) {
      fn.role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
          resources: [table.encryptionKey.keyArn],
        }),
      );
    }
  }

  private acknowledgeFunctionFindings(fn: TvmFunction, secretPrefix: string): void {
    const policy = fn.role.node.tryFindChild('DefaultPolicy');
    if (!policy) return;
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${secretPrefix}/*]`,
      reason:
        'Tenant secrets are named <prefix>/<tenantId> and Secrets Manager appends a random suffix to each ARN; the wildcard stays inside the prefix.',
    });
  }

  private createAlarms(functions: readonly TvmFunction[], topic: sns.ITopic | undefined): void {
    const fiveMinutes = Duration.minutes(5);
    const upstreamFailures = (code: string) =>
      new cloudwatch.Metric({
        namespace: 'TokenVendingMachine',
        metricName: 'UpstreamFailureByCode',
        dimensionsMap: { service: 'token-vending-machine', code },
        statistic: 'Sum',
        period: fiveMinutes,
      });
    const definitions: Array<[string, cloudwatch.IMetric, number, string]> = [
      [
        'Api5xx',
        this.api.metricServerError({ period: fiveMinutes, statistic: 'Sum' }),
        1,
        'The token API answered 5xx',
      ],
      [
        'UpstreamAuthFailed',
        upstreamFailures('upstream_auth_failed'),
        1,
        'An upstream rejected tenant credentials: an operator must fix the tenant secret',
      ],
      ['UpstreamUnavailable', upstreamFailures('upstream_unavailable'), 5, 'An upstream is throttling or down'],
      [
        'UpstreamTokenInvalid',
        upstreamFailures('upstream_token_invalid'),
        1,
        'An upstream returned a token that failed verification',
      ],
    ];
    for (const fn of functions) {
      const name = fn.node.id;
      definitions.push([
        `${name}Errors`,
        fn.function.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
        1,
        `${name} function errors`,
      ]);
      definitions.push([
        `${name}Throttles`,
        fn.function.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
        1,
        `${name} function throttled`,
      ]);
    }
    for (const [id, metric, threshold, description] of definitions) {
      const alarm = new cloudwatch.Alarm(this, `${id}Alarm`, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `token-vending-machine: ${description}`,
      });
      if (topic) alarm.addAlarmAction(new actions.SnsAction(topic));
      this.alarms.push(alarm);
    }
  }
}
