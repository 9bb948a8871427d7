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
