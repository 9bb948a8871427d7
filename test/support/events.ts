import type { APIGatewayProxyEvent, Context } from 'aws-lambda';

export function proxyEvent(options: {
  method?: string;
  path: string;
  query?: Record<string, string | string[]>;
  callerArn?: string | null;
  requestId?: string;
}): APIGatewayProxyEvent {
  const multi = Object.fromEntries(
    Object.entries(options.query ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]),
  );
  const single = Object.fromEntries(Object.entries(multi).map(([k, v]) => [k, v[v.length - 1] ?? '']));
  return {
    httpMethod: options.method ?? 'GET',
    path: options.path,
    resource: options.path,
    headers: {},
    multiValueHeaders: {},
    queryStringParameters: options.query ? single : null,
    multiValueQueryStringParameters: options.query ? multi : null,
    pathParameters: null,
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: {
      requestId: options.requestId ?? 'req-1',
      identity: {
        userArn:
          options.callerArn === undefined
            ? 'arn:aws:sts::123456789012:assumed-role/analytics-export/run-1'
            : options.callerArn,
      },
    } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}

export const lambdaContext = {
  awsRequestId: 'lambda-req-1',
  functionName: 'vend',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;

export interface TokenRouteEventOptions {
  /** @default 300 */
  readonly minTtl?: number;
  /** @default 'bench' */
  readonly requestId?: string;
  /** The IAM caller. @default the benchmarks' principal */
  readonly caller?: string;
}

/** An API Gateway REST proxy event for `GET /v1/tenants/{tenantId}/token?minTtl=`, as the stack delivers it. */
export function tokenRouteEvent(tenantId: string, options: TokenRouteEventOptions = {}): APIGatewayProxyEvent {
  const minTtl = String(options.minTtl ?? 300);
  return {
    httpMethod: 'GET',
    path: `/v1/tenants/${tenantId}/token`,
    resource: '/v1/tenants/{tenantId}/token',
    headers: {},
    multiValueHeaders: {},
    queryStringParameters: { minTtl },
    multiValueQueryStringParameters: { minTtl: [minTtl] },
    pathParameters: { tenantId },
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: {
      requestId: options.requestId ?? 'bench',
      identity: { userArn: options.caller ?? 'arn:aws:iam::123456789012:role/bench' },
    } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}
