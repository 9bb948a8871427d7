import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';

/** Serves a Lambda proxy handler over plain HTTP, building the same event API Gateway would. */

export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export function toProxyEvent(
  request: IncomingMessage,
  body: string,
  callerArn: string,
  requestId: string,
): APIGatewayProxyEvent {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const multi: Record<string, string[]> = {};
  url.searchParams.forEach((value, name) => {
    (multi[name] ??= []).push(value);
  });
  const single = Object.fromEntries(
    Object.entries(multi).map(([name, values]) => [name, values[values.length - 1] ?? '']),
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return {
    httpMethod: request.method ?? 'GET',
    path: url.pathname,
    resource: url.pathname,
    headers,
    multiValueHeaders: {},
    queryStringParameters: Object.keys(single).length ? single : null,
    multiValueQueryStringParameters: Object.keys(multi).length ? multi : null,
    pathParameters: null,
    stageVariables: null,
    body: body || null,
    isBase64Encoded: false,
    requestContext: {
      requestId,
      httpMethod: request.method ?? 'GET',
      path: url.pathname,
      stage: 'local',
      identity: { userArn: callerArn, sourceIp: request.socket.remoteAddress ?? '127.0.0.1' },
    } as APIGatewayProxyEvent['requestContext'],
  };
}

function localContext(requestId: string): Context {
  return {
    awsRequestId: requestId,
    functionName: 'tvm-local',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:tvm-local',
    memoryLimitInMB: '512',
    logGroupName: 'local',
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export interface LocalHttpServer {
  readonly server: Server;
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function serveHandler(
  handler: ProxyHandler,
  options: { host: string; port: number; callerArn: string },
): Promise<LocalHttpServer> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const requestId = randomUUID();
      const event = toProxyEvent(request, Buffer.concat(chunks).toString('utf8'), options.callerArn, requestId);
      handler(event, localContext(requestId))
        .then((result) => {
          response.writeHead(result.statusCode, {
            ...(result.headers as Record<string, string>),
            'x-request-id': requestId,
          });
          response.end(result.body);
        })
        .catch(() => {
          response.writeHead(500, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ error: { code: 'internal_error', message: 'Internal error.' }, requestId }));
        });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: `http://${options.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
