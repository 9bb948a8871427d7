import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

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
  /** IAM role or user ARNs the resource policy admits; everyone else is denied. */
  readonly principals: readonly string[];
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
   * Retention of the access log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Send API Gateway execution logs (errors) to CloudWatch. Creates the account-level API Gateway logging role.
   * @default true
   */
  readonly executionLogging?: boolean;
}

/** REST API, SigV4 on every method, resource policy, access logs, throttling. */
export class TokenApi extends Construct {
  readonly api: apigw.RestApi;

  constructor(scope: Construct, id: string, props: TokenApiProps) {
    super(scope, id);
    const throttling = props.throttling ?? { rateLimit: 50, burstLimit: 100 };
    const principals = [...props.principals];
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

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const executionLogging = props.executionLogging ?? true;
    const api = new apigw.RestApi(this, 'Api', {
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
    this.api = api;

    const validator = new apigw.RequestValidator(this, 'RequestValidator', {
      restApi: api,
      validateRequestParameters: true,
      validateRequestBody: true,
    });
    const integration = new apigw.LambdaIntegration(props.handler, { proxy: true });
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
  }

  /** ARN pattern of a route for `execute-api:Invoke` in a caller's IAM policy. */
  arnForRoute(method: string, path: string): string {
    return this.api.arnForExecuteApi(method, path, this.api.deploymentStage.stageName);
  }
}
