// A fault-injecting HTTP reverse proxy for tests and the soak: it sits between the service and a real component
// (cognito-local, the login-endpoint emulator, dynalite) and, per request, forwards it untouched or injects one
// fault: added latency, a connection reset, an error status (5xx bursts, throttling answers in the upstream's own
// shape), a stalled answer (headers sent, body never finished) or a hang (no answer at all). `stop()` closes the
// listening socket, so callers get connection refused, as from a stopped DynamoDB; `start()` listens again on the
// same port. Counts what it did, so tests can assert that a fault was actually hit.
import { createServer, request as forward, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  | { readonly kind: 'none' }
  /** Forward after `ms`. */
  | { readonly kind: 'latency'; readonly ms: number }
  /** Destroy the client connection without an answer (ECONNRESET / socket hang up). */
  | { readonly kind: 'reset' }
  /** Answer `status` with `body` and `headers` without forwarding (503 burst, 429 throttling, DynamoDB's 400 throttling). */
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly body?: string;
      readonly headers?: Readonly<Record<string, string>>;
    }
  /** Forward, send the upstream's status and headers, then a part of the body, and never finish. */
  | { readonly kind: 'stall' }
  /** Read the request and never answer. */
  | { readonly kind: 'hang' };

export interface FaultRule {
  readonly fault: Fault;
  /** Share of requests the fault applies to (0..1). @default 1 */
  readonly rate?: number;
  /** Only requests whose method + path (e.g. `POST /auth/login`) match. @default every request */
  readonly match?: RegExp;
  /** The rule applies to at most this many requests, then stands aside (a sequence: 503, then 429, then none). */
  readonly times?: number;
}

/** Answers in the shapes real services use, for the `status` fault. */
export const FAULTS = {
  /** API Gateway / ALB style outage. */
  unavailable: {
    kind: 'status',
    status: 503,
    body: '{"message":"Service Unavailable"}',
    headers: { 'retry-after': '1' },
  },
  /** HTTP throttling of a REST upstream. */
  throttled: { kind: 'status', status: 429, body: '{"message":"Too Many Requests"}', headers: { 'retry-after': '1' } },
  /** DynamoDB's throttling answer (JSON 1.0 protocol). */
  dynamoThrottled: {
    kind: 'status',
    status: 400,
    headers: { 'content-type': 'application/x-amz-json-1.0' },
    body: JSON.stringify({
      __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
      message: 'The level of configured provisioned throughput for the table was exceeded.',
    }),
  },
  /** Cognito's throttling answer (JSON 1.1 protocol). */
  cognitoThrottled: {
    kind: 'status',
    status: 400,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'TooManyRequestsException' },
    body: JSON.stringify({ __type: 'TooManyRequestsException', message: 'Rate exceeded' }),
  },
  /** Cognito's internal error (500). */
  cognitoInternal: {
    kind: 'status',
    status: 500,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'InternalErrorException' },
    body: JSON.stringify({ __type: 'InternalErrorException', message: 'Internal error' }),
  },
} as const satisfies Record<string, Fault>;

export interface FaultCounts {
  forwarded: number;
  latency: number;
  reset: number;
  status: number;
  stall: number;
  hang: number;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: point the service here instead of at the target. */
  readonly url: string;
  readonly counts: FaultCounts;
  /** Replace the rules (first matching rule whose dice roll hits applies); `[]`: forward everything. */
  setRules(rules: readonly FaultRule[]): void;
  /** Stop listening and drop open connections: callers get connection refused. */
  stop(): Promise<void>;
  /** Listen again on the same port. */
  start(): Promise<void>;
  /** Stop, and end any stalled or hung answers. */
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  /** Source of the per-request dice (a seeded one makes a schedule repeatable). @default Math.random */
  readonly random?: () => number;
}

function forwardRequest(target: URL, request: IncomingMessage, response: ServerResponse, stall: boolean): void {
  const upstream = forward(
    {
      host: target.hostname,
      port: target.port,
      method: request.method,
      path: request.url,
      // The Host header is kept: services that derive names from it (cognito-local's token issuer) see the proxy.
      headers: request.headers,
    },
    (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      if (stall) {
        // Half the body (at least one byte when there is one), then nothing more.
        answer.once('data', (chunk: Buffer) => response.write(chunk.subarray(0, Math.max(1, chunk.length >> 1))));
        answer.resume();
        return;
      }
      answer.pipe(response);
    },
  );
  upstream.on('error', () => response.destroy());
  request.pipe(upstream);
}

export async function startFaultProxy(target: string, options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const targetUrl = new URL(target);
  const random = options.random ?? Math.random;
  const counts: FaultCounts = { forwarded: 0, latency: 0, reset: 0, status: 0, stall: 0, hang: 0 };
  const held = new Set<ServerResponse>();
  let rules: readonly FaultRule[] = [];
  let port = 0;
  let server: Server | undefined;

  let applied = new Map<FaultRule, number>();
  const choose = (request: IncomingMessage): Fault => {
    const key = `${request.method ?? ''} ${request.url ?? ''}`;
    for (const rule of rules) {
      if (rule.match && !rule.match.test(key)) continue;
      const used = applied.get(rule) ?? 0;
      if (rule.times !== undefined && used >= rule.times) continue;
      if (random() < (rule.rate ?? 1)) {
        applied.set(rule, used + 1);
        return rule.fault;
      }
    }
    return { kind: 'none' };
  };

  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    const fault = choose(request);
    switch (fault.kind) {
      case 'none':
        counts.forwarded++;
        return forwardRequest(targetUrl, request, response, false);
      case 'latency':
        counts.latency++;
        setTimeout(() => forwardRequest(targetUrl, request, response, false), fault.ms);
        return;
      case 'reset':
        counts.reset++;
        request.socket.destroy();
        return;
      case 'status':
        counts.status++;
        request.resume();
        request.on('end', () => {
          response.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
          response.end(fault.body ?? '');
        });
        return;
      case 'stall':
        counts.stall++;
        held.add(response);
        return forwardRequest(targetUrl, request, response, true);
      case 'hang':
        counts.hang++;
        held.add(response);
        request.resume();
        return;
    }
  };

  const sockets = new Set<Socket>();
  const start = async (): Promise<void> => {
    if (server) return;
    const created = createServer(handle);
    created.keepAliveTimeout = 5000;
    created.on('connection', (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      created.once('error', reject);
      created.listen(port, '127.0.0.1', () => resolve());
    });
    port = (created.address() as AddressInfo).port;
    server = created;
  };
  const stop = async (): Promise<void> => {
    const running = server;
    if (!running) return;
    server = undefined;
    const closed = new Promise<void>((resolve) => running.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };

  await start();
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    setRules: (next) => {
      rules = next;
      applied = new Map();
    },
    start,
    stop,
    close: async () => {
      for (const response of held) response.destroy();
      held.clear();
      await stop();
    },
  };
}
