// One place that gives every AWS SDK v3 client on the vend path timeouts that actually fire.
//
// `@smithy/node-http-handler`'s `requestTimeout` only logs a warning unless `throwOnRequestTimeout` is set
// (see its `NodeHttpHandlerOptions`), so an endpoint that accepts a connection and never answers would hold a
// vend until the Lambda timeout. Every client built from these options aborts such a request instead, and
// makes a bounded number of attempts so that retries fit the vend's time budget.

import { pipeline, Transform, type Readable } from 'node:stream';

import { StandardRetryStrategy } from '@smithy/core/retry';
import { NodeHttpHandler, type NodeHttpHandlerOptions } from '@smithy/node-http-handler';
import type { HttpRequest } from '@smithy/protocol-http';
import type {
  HttpHandlerOptions,
  HttpResponse,
  RetryErrorInfo,
  RetryStrategyV2,
  StandardRetryToken,
} from '@smithy/types';

import { BodyTooLongError } from '../../contract/bounded-body';
import { timedOut } from '../core/timed-out';

export interface AwsClientTimeouts {
  /** Milliseconds to establish a TCP (and TLS) connection. */
  readonly connectionTimeoutMs: number;
  /** Milliseconds from sending the request to the end of the response; the request is aborted after it. */
  readonly requestTimeoutMs: number;
  /** Attempts per call, the first included (the SDK's standard retry strategy spaces them). */
  readonly maxAttempts: number;
  /**
   * Attempts per call once an attempt has timed out (connection or request timeout), the first included: bounds
   * the worst case at `timeoutAttempts x (connection + request)` while fast failures (a reset or refused
   * connection, throttling) get all `maxAttempts`. @default maxAttempts
   */
  readonly timeoutAttempts?: number;
  /**
   * The largest answer body a client reads: a larger declared `content-length` is refused before reading, and the
   * body is cut (the connection closed) as soon as more arrives, failing the call with BodyTooLongError. For the
   * services whose endpoint a tenant secret may set. @default unbounded
   */
  readonly maxAnswerBytes?: number;
}

/** The constructor options every SDK client on the vend path gets: spread them into `new XxxClient({...})`. */
export interface AwsClientOptions {
  readonly requestHandler: NodeHttpHandler;
  readonly maxAttempts: number;
  /** Present when timed-out calls get fewer attempts than fast failures (`timeoutAttempts < maxAttempts`). */
  readonly retryStrategy?: RetryStrategyV2;
}

/**
 * Per-service timeouts. Worst case per call is about `timeoutAttempts x (connection + request)` plus the SDK's
 * short retry delays; each fits well inside the default 20 s vend budget, and the vendor's deadline stops a
 * vend when the budget is spent whatever a client does.
 */
export const AWS_TIMEOUTS = {
  /**
   * The shared cache is an optimisation: give up fast on a table that does not answer (two attempts, 5 s at
   * worst) and degrade to the container's memory. A reset connection or throttling fails in milliseconds: a third
   * attempt then costs little, while a call that fails makes the container renew alone (the soak's 20% resets and
   * 30% throttling failed 4% and 9% of calls with two attempts; 0.8% and 2.7% with three).
   */
  dynamodb: { connectionTimeoutMs: 1000, requestTimeoutMs: 1500, maxAttempts: 3, timeoutAttempts: 2 },
  /** Tenant secrets: needed for every miss, cached per container. */
  secretsManager: { connectionTimeoutMs: 2000, requestTimeoutMs: 3000, maxAttempts: 2 },
  /** Envelope encryption of refresh tokens in the shared cache. */
  kms: { connectionTimeoutMs: 1000, requestTimeoutMs: 2000, maxAttempts: 2 },
  /**
   * Cognito user pools: the vendor retries (bounded, jittered, within the budget), so the SDK tries once. A tenant
   * secret may name the endpoint: its answers are read up to 1 MB (Cognito's are a few KB of tokens).
   */
  cognito: { connectionTimeoutMs: 3000, requestTimeoutMs: 5000, maxAttempts: 1, maxAnswerBytes: 1_048_576 },
  /** Cognito identity pools: as user pools. */
  cognitoIdentity: { connectionTimeoutMs: 3000, requestTimeoutMs: 5000, maxAttempts: 1, maxAnswerBytes: 1_048_576 },
} as const satisfies Record<string, AwsClientTimeouts>;

export type AwsService = keyof typeof AWS_TIMEOUTS;

/**
 * SDK call options that end one call of a service that tries once (Cognito user and identity pools) within its
 * connection and request timeouts together (8 s), from start to finish, and when `signal` (the vend's budget) fires. The HTTP handler's timeouts
 * alone do not: `requestTimeout` stops at the response headers and `socketTimeout` is an idle timer, so a body
 * dripping a byte a second would hold the call until the whole budget was spent, leaving no time to retry (and,
 * without a budget, as in `tvm tenant test`, for ever). The call then fails as aborted: an outage, retried.
 */
export function singleCallOptions(
  service: 'cognito' | 'cognitoIdentity',
  signal?: AbortSignal,
): { abortSignal: AbortSignal } {
  // Connecting and answering, as the handler's own two timeouts allow, but for the call as a whole.
  const { connectionTimeoutMs, requestTimeoutMs } = AWS_TIMEOUTS[service];
  const timeout = AbortSignal.timeout(connectionTimeoutMs + requestTimeoutMs);
  return { abortSignal: signal ? AbortSignal.any([signal, timeout]) : timeout };
}

/** The SDK's standard retry strategy (spacing, retry quota), with fewer attempts once an attempt timed out. */
class TimeoutBoundedRetryStrategy implements RetryStrategyV2 {
  private readonly standard: StandardRetryStrategy;

  constructor(
    maxAttempts: number,
    private readonly timeoutAttempts: number,
  ) {
    this.standard = new StandardRetryStrategy(maxAttempts);
  }

  acquireInitialRetryToken(retryTokenScope: string): Promise<StandardRetryToken> {
    return this.standard.acquireInitialRetryToken(retryTokenScope);
  }

  refreshRetryTokenForRetry(token: StandardRetryToken, errorInfo: RetryErrorInfo): Promise<StandardRetryToken> {
    // getRetryCount() counts the retries made so far: attempts made = retries + 1.
    if (timedOut(errorInfo.error) && token.getRetryCount() + 1 >= this.timeoutAttempts) {
      return Promise.reject(new Error('No retry token available: the attempts after a timeout are spent'));
    }
    return this.standard.refreshRetryTokenForRetry(token, errorInfo);
  }

  recordSuccess(token: StandardRetryToken): void {
    this.standard.recordSuccess(token);
  }
}

/** The answer's body, cut with BodyTooLongError past `maxBytes` (the connection is closed then). */
export function boundedAnswerBody(body: Readable, headers: Record<string, string>, maxBytes: number): Readable {
  let received = 0;
  const bounded = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      callback(received > maxBytes ? new BodyTooLongError(maxBytes) : null, chunk);
    },
  });
  const declared = Number(headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    body.destroy();
    // The error reaches the SDK's listener on the body; this one only keeps it from being an unhandled 'error' event
    // (which ends the process) should it be emitted before the SDK listens.
    bounded.on('error', () => undefined);
    bounded.destroy(new BodyTooLongError(maxBytes));
    return bounded;
  }
  // Either side's failure ends both: the socket is released, and the SDK sees the error on the body it reads.
  pipeline(body, bounded, () => undefined);
  return bounded;
}

/** The SDK's Node.js handler, reading answer bodies up to a cap (see {@link AwsClientTimeouts.maxAnswerBytes}). */
class BoundedAnswerHandler extends NodeHttpHandler {
  constructor(
    options: NodeHttpHandlerOptions,
    private readonly maxAnswerBytes: number,
  ) {
    super(options);
  }

  override async handle(request: HttpRequest, options?: HttpHandlerOptions): Promise<{ response: HttpResponse }> {
    const { response } = await super.handle(request, options);
    const body = response.body as Readable | undefined;
    if (body) response.body = boundedAnswerBody(body, response.headers, this.maxAnswerBytes);
    return { response };
  }
}

/**
 * Options for an SDK client whose requests time out for real: `new DynamoDBClient({ ...awsClientOptions('dynamodb') })`.
 * Pass `overrides` to tighten a value (tests, benchmarks).
 */
export function awsClientOptions(service: AwsService, overrides: Partial<AwsClientTimeouts> = {}): AwsClientOptions {
  const timeouts: AwsClientTimeouts = { ...AWS_TIMEOUTS[service], ...overrides };
  const handlerOptions: NodeHttpHandlerOptions = {
    connectionTimeout: timeouts.connectionTimeoutMs,
    requestTimeout: timeouts.requestTimeoutMs,
    throwOnRequestTimeout: true,
    // requestTimeout ends when the response headers arrive; a body that stalls after them is cut by this one.
    socketTimeout: timeouts.requestTimeoutMs,
  };
  return {
    requestHandler:
      timeouts.maxAnswerBytes === undefined
        ? new NodeHttpHandler(handlerOptions)
        : new BoundedAnswerHandler(handlerOptions, timeouts.maxAnswerBytes),
    maxAttempts: timeouts.maxAttempts,
    ...(timeouts.timeoutAttempts !== undefined && timeouts.timeoutAttempts < timeouts.maxAttempts
      ? { retryStrategy: new TimeoutBoundedRetryStrategy(timeouts.maxAttempts, Math.max(1, timeouts.timeoutAttempts)) }
      : {}),
  };
}
