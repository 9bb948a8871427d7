// Serves a Lambda proxy handler over plain HTTP, building the same event API Gateway would. No request can take
// the server down: a request line the adapter cannot read, a handler that throws, or a request Node's HTTP parser
// rejects all get an answer in the API's error shape, and the server keeps serving.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';

import type { ErrorCode } from '../../contract/error-codes';
import { asInvocation, useConcurrentInvocations } from './concurrent-invocations';

export type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** The request target could not be read as a path and query. */
export class BadRequestTargetError extends Error {
  override readonly name = 'BadRequestTargetError';
}

const ERROR_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' } as const;

/** The API's error body. */
export function errorBody(code: ErrorCode, message: string, requestId: string): string {
  return JSON.stringify({ error: { code, message }, requestId });
}

/**
 * Path and query of a request target, as API Gateway hands them to the function: the path as sent (dot segments and
 * backslashes are not resolved, as the deployed API does not: `/v1/tenants/a/../b/token` is no route there and none
 * here), every query parameter with all its values in null-prototype objects, so `__proto__`, `constructor` or
 * `toString` are plain parameter names.
 */
export function parseTarget(target: string): { path: string; query: [string, string][] } {
  // Origin-form targets start with "/"; anything else (absolute-form, "*") is not an API request. Only printable
  // ASCII, as a request line carries it.
  if (!target.startsWith('/') || !/^[\x21-\x7e]*$/.test(target))
    throw new BadRequestTargetError(
      `Cannot read the request target '${target.slice(0, 80).replace(/[^\x20-\x7e]/g, '?')}'.`,
    );
  const at = target.indexOf('?');
  const path = at < 0 ? target : target.slice(0, at);
  const query = at < 0 ? [] : [...new URLSearchParams(target.slice(at + 1))];
  return { path, query };
}

export function toProxyEvent(
  request: IncomingMessage,
  body: string,
  callerArn: string,
  requestId: string,
): APIGatewayProxyEvent {
  const { path, query } = parseTarget(request.url ?? '/');
  const multi = Object.create(null) as Record<string, string[]>;
  const single = Object.create(null) as Record<string, string>;
  for (const [name, value] of query) {
    (Object.hasOwn(multi, name) ? multi[name] : (multi[name] = []))?.push(value);
    single[name] = value;
  }
  const headers = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const method = request.method ?? 'GET';
  const hasQuery = query.length > 0;
  return {
    httpMethod: method,
    path,
    resource: path,
    headers,
    multiValueHeaders: {},
    queryStringParameters: hasQuery ? single : null,
    multiValueQueryStringParameters: hasQuery ? multi : null,
    pathParameters: null,
    stageVariables: null,
    body: body || null,
    isBase64Encoded: false,
    requestContext: {
      requestId,
      httpMethod: method,
      path,
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

/** Answer in the API's error shape, unless an answer is already under way. */
function sendError(
  response: ServerResponse,
  status: number,
  code: ErrorCode,
  message: string,
  requestId: string,
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = errorBody(code, message, requestId);
  response.writeHead(status, {
    ...ERROR_HEADERS,
    'Content-Length': Buffer.byteLength(body),
    'x-request-id': requestId,
  });
  response.end(body);
}

/**
 * What Node's HTTP parser rejected, as the message of the answer: always 400 `invalid_request`, the one status of that
 * code in the API's contract (the deployed API answers these with 400 too).
 */
function parserRejection(error: NodeJS.ErrnoException): string {
  if (error.code === 'HPE_HEADER_OVERFLOW') return 'Request headers are too large.';
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'The request took too long to arrive.';
  return 'The request is not valid HTTP.';
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
};

/** Answers under way on each connection: a pipelined request the parser rejects is answered after them. */
const answersUnderWay = new WeakMap<Socket, Set<ServerResponse>>();

function trackAnswer(response: ServerResponse): void {
  const socket = response.req.socket;
  let underWay = answersUnderWay.get(socket);
  if (!underWay) answersUnderWay.set(socket, (underWay = new Set()));
  underWay.add(response);
  const done = () => underWay.delete(response);
  response.once('finish', done);
  response.once('close', done);
}

/**
 * Resolves once every answer under way on the connection has been written (or the connection closed). Not the answer
 * to a request whose body never completed (the parser rejected it): that one is never written, and the raw 400
 * takes its place.
 */
async function answersWritten(socket: Socket): Promise<void> {
  const underWay = [...(answersUnderWay.get(socket) ?? [])].filter((response) => response.req.complete);
  await Promise.all(
    underWay.map(
      (response) =>
        new Promise<void>((resolve) => {
          if (response.writableFinished || response.destroyed) return resolve();
          response.once('finish', () => resolve());
          response.once('close', () => resolve());
        }),
    ),
  );
}

/**
 * `clientError`: Node's parser rejected the bytes (huge headers, bad characters, a broken request line). Answer
 * with a raw HTTP response in the API's error shape where the socket still takes one, then close it; after the
 * answers to the requests pipelined before it, which it must not replace.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const message = parserRejection(error);
  void answersWritten(socket).then(() => {
    if (socket.writable) endWithError(socket, 400, 'invalid_request', message);
    else socket.destroy();
  });
}

/**
 * Answer on the raw socket (no ServerResponse exists for it) in the API's error shape, then close the connection.
 * `extraHeaders`: complete header lines, e.g. `Allow: GET`.
 */
function endWithError(socket: Socket, status: number, code: ErrorCode, message: string, extraHeaders = ''): void {
  const requestId = randomUUID();
  const body = errorBody(code, message, requestId);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Bad Request'}\r\n${extraHeaders}` +
      'Content-Type: application/json\r\nCache-Control: no-store\r\nConnection: close\r\n' +
      `x-request-id: ${requestId}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export interface LocalHttpServer {
  readonly server: Server;
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface ServeOptions {
  /** Address to bind. */
  readonly host: string;
  /** Port to bind; 0 picks a free one. */
  readonly port: number;
  /** The caller ARN every request carries (local mode has no SigV4). */
  readonly callerArn: string;
  /** Told about a request that failed outside the handler's own error handling (a bug). @default ignore */
  readonly onError?: (error: unknown) => void;
  /**
   * Host names a request's `Host` header may name besides `localhost`, `127.0.0.1`, `[::1]` and the bound address.
   * Any other is refused (403 `forbidden`): a web page whose domain an attacker re-resolves to 127.0.0.1 (DNS
   * rebinding) would otherwise be same-origin with this server, which vends every tenant's tokens to any caller.
   * @default none
   */
  readonly allowedHosts?: readonly string[];
}

const LOOPBACK_HOST_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** Whether a `Host` header (absent: HTTP/1.0 or a raw client) names this loopback server. */
export function isAllowedHost(header: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (header === undefined || header === '') return true;
  // A host and an optional port, nothing else (no user info, path or spaces).
  if (!/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(header)) return false;
  let hostname: string;
  try {
    hostname = new URL(`http://${header}`).hostname;
  } catch {
    return false;
  }
  return allowed.has(hostname);
}

/** The largest request body read (API Gateway's API takes none; the body only reaches the event, as there). */
export const MAX_BODY_BYTES = 64 * 1024;

export async function serveHandler(handler: ProxyHandler, options: ServeOptions): Promise<LocalHttpServer> {
  const onError = options.onError ?? (() => undefined);
  await useConcurrentInvocations();
  const bound = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
  const allowedHosts = new Set(
    [...LOOPBACK_HOST_NAMES, bound, ...(options.allowedHosts ?? [])].map((name) => {
      try {
        return new URL(`http://${name}`).hostname;
      } catch {
        return name.toLowerCase();
      }
    }),
  );
  const serve = async (request: IncomingMessage, body: string, response: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    if (!isAllowedHost(request.headers.host, allowedHosts)) {
      sendError(
        response,
        403,
        'forbidden',
        'The Host header names another host: local mode answers only requests to localhost, 127.0.0.1 or [::1] (a page on another domain resolved to this address is refused).',
        requestId,
      );
      return;
    }
    let event: APIGatewayProxyEvent;
    try {
      event = toProxyEvent(request, body, options.callerArn, requestId);
    } catch (error) {
      const message = error instanceof BadRequestTargetError ? error.message : 'The request could not be read.';
      sendError(response, 400, 'invalid_request', message, requestId);
      return;
    }
    try {
      // Its own invocation for Powertools (concurrent-invocations.ts): log lines carry this request's id.
      const result = await asInvocation(requestId, () => handler(event, localContext(requestId)));
      response.writeHead(result.statusCode, {
        ...(result.headers as Record<string, string>),
        'Content-Length': Buffer.byteLength(result.body),
        'x-request-id': requestId,
      });
      response.end(result.body);
    } catch (error) {
      onError(error);
      sendError(response, 500, 'internal_error', 'Internal error.', requestId);
    }
  };

  // HTTP/1.1 without Host is still a request to answer in the API's shape (API Gateway, behind a hostname, never sees
  // one), not Node's bare 400.
  const server = createServer({ requireHostHeader: false }, (request: IncomingMessage, response: ServerResponse) => {
    trackAnswer(response);
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) {
        chunks.push(chunk);
        return;
      }
      // The API reads no body: refuse a big one at once, without holding it, and close the connection.
      refused = true;
      chunks.length = 0;
      response.shouldKeepAlive = false;
      sendError(
        response,
        400,
        'invalid_request',
        `The request body is over ${MAX_BODY_BYTES} bytes; the API reads none.`,
        randomUUID(),
      );
      response.once('finish', () => request.destroy());
    });
    request.on('error', () => response.destroy());
    request.on('end', () => {
      if (refused) return;
      let body: string;
      try {
        body = Buffer.concat(chunks).toString('utf8');
      } catch (error) {
        onError(error);
        response.destroy();
        return;
      }
      serve(request, body, response).catch((error: unknown) => {
        onError(error);
        response.destroy();
      });
    });
  });
  server.on('clientError', answerClientError);
  // An Expect other than 100-continue: Node.js would answer a bare 417; API Gateway ignores the header, and so does
  // this server (the request is served as usual).
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) =>
    server.emit('request', request, response),
  );
  // CONNECT (a proxy tunnel) is no API request: answer it in the error shape instead of dropping the connection.
  server.on('connect', (_request: IncomingMessage, socket: Socket) =>
    endWithError(socket, 405, 'method_not_allowed', 'CONNECT is not supported here; use GET.', 'Allow: GET\r\n'),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Once listening, a server error is reported, never thrown at the process.
  server.on('error', onError);
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
