import { Names, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

import { addGatewayResponses } from './gateway-responses';
import { policyLength, QUOTAS } from './quotas';
import { apiResourcePolicy, consumerAccounts, type ApiAccessModel } from './resource-policy';

// The IAM-authenticated REST API in front of the vend function.

/** API Gateway stage throttling. */
export interface TokenVendingThrottling {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Burst capacity. */
  readonly burstLimit: number;
}

export interface TokenApiProps {
  /** The function that answers every route. */
  readonly handler: lambda.IFunction;
  /** IAM role or user ARNs of the consumers (tokens for roles the stack creates). */
  readonly principals: readonly string[];
  /**
   * How the resource policy admits the consumers; the handler checks each one per tenant either way.
   * @default { kind: 'principals' } - every consumer ARN listed (fits about 60 consumers)
   */
  readonly access?: ApiAccessModel;
  /**
   * Make the API private, reachable only through these interface VPC endpoints (`aws:SourceVpce`).
   * @default - a regional API reachable over the internet, still IAM-authenticated
   */
  readonly vpcEndpointIds?: readonly string[];
  /**
   * Stage throttling.
   * @default { rateLimit: 50, burstLimit: 100 }
   */
  readonly throttling?: TokenVendingThrottling;
  /**
   * Retention of the access log group (an audit log: who asked for what).
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly accessLogRetention?: logs.RetentionDays;
  /**
   * Send API Gateway execution logs (errors) to CloudWatch, into a log group created here with
   * `executionLogRetention`. Needs the region's API Gateway CloudWatch role (account setting).
   * @default false
   */
  readonly executionLogging?: boolean;
  /**
   * Create (or replace) the region-wide API Gateway CloudWatch role. It is an account setting shared by every API
   * in the region: leave it to whoever owns the account unless this is a dedicated account.
   * @default false
   */
  readonly createCloudWatchRole?: boolean;
  /**
   * Retention of the execution log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly executionLogRetention?: logs.RetentionDays;
}

/** Who called, what, and how it ended: caller ARN, path, status, error and VPC endpoint in every access log line. */
export const ACCESS_LOG_FORMAT = apigw.AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    requestTime: '$context.requestTime',
    caller: '$context.identity.userArn',
    accountId: '$context.identity.accountId',
    sourceIp: '$context.identity.sourceIp',
    vpceId: '$context.identity.vpceId',
    httpMethod: '$context.httpMethod',
    path: '$context.path',
    resourcePath: '$context.resourcePath',
    status: '$context.status',
    error: '$context.error.message',
    errorType: '$context.error.responseType',
    latencyMs: '$context.responseLatency',
    integrationStatus: '$context.integration.status',
    integrationLatencyMs: '$context.integration.latency',
    integrationError: '$context.integration.error',
  }),
);

/** REST API, SigV4 on every method, compact resource policy, gateway responses in our error shape, access logs. */
export class TokenApi extends Construct {
  readonly api: apigw.RestApi;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: TokenApiProps) {
    super(scope, id);
    const throttling = props.throttling ?? { rateLimit: 50, burstLimit: 100 };
    const policy = apiResourcePolicy({
      model: props.access ?? { kind: 'principals' },
      principals: props.principals,
      ...(props.vpcEndpointIds ? { vpcEndpointIds: props.vpcEndpointIds } : {}),
    });
    const length = policyLength(Stack.of(this).resolve(policy.toJSON()));
    if (length > QUOTAS.apiResourcePolicyChars) {
      const model = props.access ?? { kind: 'principals' };
      const over = `The API resource policy would be about ${length} characters, over API Gateway's ${QUOTAS.apiResourcePolicyChars}`;
      // The interface endpoints are listed in full whatever the access model: say so when they are what does not fit.
      const withoutEndpoints = policyLength(
        Stack.of(this).resolve(apiResourcePolicy({ model, principals: props.principals }).toJSON()),
      );
      if (props.vpcEndpointIds && withoutEndpoints <= QUOTAS.apiResourcePolicyChars) {
        throw new Error(
          `${over}: its ${props.vpcEndpointIds.length} vpcEndpointIds take ${length - withoutEndpoints} of them; list fewer ` +
            'interface endpoints (one per VPC that calls the API).',
        );
      }
      throw new Error(
        model.kind === 'principals'
          ? `${over}: with ${props.principals.length} consumer principals (export job roles included), set "apiAccess": {"rolePath": "/your-path/"} or ` +
              '{"principalTag": "tag-key"} in the deployment config to admit consumers by account plus role path or principal tag.'
          : `${over}: the consumers are in ${consumerAccounts(props.principals).length} accounts, and each account costs ` +
              'about 50 characters (about 150 fit); if they are in one AWS Organization, add "organizationId" to ' +
              '"apiAccess" to admit them by organization (any number of accounts), else split them over two deployments.',
      );
    }

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const executionLogging = props.executionLogging ?? false;
    // A unique name: the 5xx alarm and the dashboard find the API's metrics by name (ApiName dimension).
    const restApiName = Names.uniqueResourceName(this, { maxLength: 64, separator: '-' });
    const api = new apigw.RestApi(this, 'Api', {
      restApiName,
      description: 'token-vending-machine: IAM-authenticated token API',
      endpointConfiguration: props.vpcEndpointIds
        ? {
            types: [apigw.EndpointType.PRIVATE],
            vpcEndpoints: props.vpcEndpointIds.map((endpointId, index) =>
              ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(this, `Vpce${index}`, {
                vpcEndpointId: endpointId,
                port: 443,
              }),
            ),
          }
        : { types: [apigw.EndpointType.REGIONAL] },
      policy,
      // Opt-in: the role is a region-wide account setting; when created it stays after the stack (others rely on it).
      ...(props.createCloudWatchRole
        ? { cloudWatchRole: true, cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN }
        : { cloudWatchRole: false }),
      deployOptions: {
        stageName: 'prod',
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: executionLogging ? apigw.MethodLoggingLevel.ERROR : apigw.MethodLoggingLevel.OFF,
        dataTraceEnabled: false,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: ACCESS_LOG_FORMAT,
        throttlingRateLimit: throttling.rateLimit,
        throttlingBurstLimit: throttling.burstLimit,
      },
      defaultMethodOptions: { authorizationType: apigw.AuthorizationType.IAM },
      disableExecuteApiEndpoint: false,
    });
    this.api = api;
    if (executionLogging) {
      // API Gateway would create this group itself, without retention; creating it first sets the retention.
      new logs.LogGroup(this, 'ExecutionLogs', {
        logGroupName: `API-Gateway-Execution-Logs_${api.restApiId}/${api.deploymentStage.stageName}`,
        retention: props.executionLogRetention ?? logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      });
    }
    addGatewayResponses(api);

    const validator = new apigw.RequestValidator(this, 'RequestValidator', {
      restApi: api,
      validateRequestParameters: true,
      validateRequestBody: true,
    });
    // The function is invocable only through the deployed stage: no test-invoke permission from the console.
    const integration = new apigw.LambdaIntegration(props.handler, { proxy: true, allowTestInvoke: false });
    const v1 = api.root.addResource('v1');
    const health = v1.addResource('health');
    health.addMethod('GET', integration, { requestValidator: validator });
    const tenant = v1.addResource('tenants').addResource('{tenantId}');
    const token = tenant.addResource('token');
    token.addMethod('GET', integration, {
      requestValidator: validator,
      requestParameters: {
        'method.request.path.tenantId': true,
        'method.request.querystring.minTtl': false,
        'method.request.querystring.rejected': false,
      },
    });
    // Every other signed request (unknown route, other method) reaches the function, which answers `not_found` or
    // `method_not_allowed` in the API's shape; unsigned ones get API Gateway's `unauthenticated`.
    // Identity pool credentials of a tenant: same function, access policy and audit as tokens.
    const awsCredentials = tenant.addResource('aws-credentials');
    awsCredentials.addMethod('GET', integration, {
      requestValidator: validator,
      requestParameters: { 'method.request.path.tenantId': true, 'method.request.querystring.minTtl': false },
    });
    for (const resource of [api.root, health, token, awsCredentials]) resource.addMethod('ANY', integration);
    api.root.addResource('{proxy+}').addMethod('ANY', integration);

    const cloudWatchRole = api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'Opted in (createCloudWatchRole): API Gateway writes execution logs through one account-level role; AWS documents this managed policy for it.',
      });
    }
    Validations.of(api).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'Every method requires SigV4 (AWS_IAM) and the resource policy admits only configured consumers; WAF can be associated per account if wanted.',
    });
    Validations.of(api).acknowledge({
      id: 'AwsSolutions-COG4',
      reason: 'Callers are internal IAM roles authenticated with SigV4 (AWS_IAM), not Cognito users.',
    });
    if (!executionLogging) {
      Validations.of(api).acknowledge({
        id: 'AwsSolutions-APIG6',
        reason:
          'Execution logging needs the region-wide API Gateway CloudWatch role, an account setting this stack does not take over by default (executionLogging opts in); access logs record every request.',
      });
    }
  }

  /** ARN pattern of a route for `execute-api:Invoke` in a caller's IAM policy. */
  arnForRoute(method: string, path: string): string {
    return this.api.arnForExecuteApi(method, path, this.api.deploymentStage.stageName);
  }
}
