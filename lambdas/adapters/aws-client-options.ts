// One place that gives every AWS SDK v3 client on the vend path timeouts that actually fire.
//
// `@smithy/node-http-handler`'s `requestTimeout` only logs a warning unless `throwOnRequestTimeout` is set
// (see its `NodeHttpHandlerOptions`), so an endpoint that accepts a connection and never answers would hold a
// vend until the Lambda timeout. Every client built from these options aborts such a request instead, and
// makes a bounded number of attempts so that retries fit the vend's time budget.

import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface AwsClientTimeouts {
  /** Milliseconds to establish a TCP (and TLS) connection. */
  readonly connectionTimeoutMs: number;
  /** Milliseconds from sending the request to the end of the response; the request is aborted after it. */
  readonly requestTimeoutMs: number;
  /** Attempts per call, the first included (the SDK's standard retry strategy spaces them). */
  readonly maxAttempts: number;
}

/** The constructor options every SDK client on the vend path gets: spread them into `new XxxClient({...})`. */
export interface AwsClientOptions {
  readonly requestHandler: NodeHttpHandler;
  readonly maxAttempts: number;
}

/**
 * Per-service timeouts. Worst case per call is about `maxAttempts x (connection + request)` plus the SDK's
 * short retry delays; each fits well inside the default 20 s vend budget, and the vendor's deadline stops a
 * vend when the budget is spent whatever a client does.
 */
export const AWS_TIMEOUTS = {
  /** The shared cache is an optimisation: give up fast and degrade to the container's memory. */
  dynamodb: { connectionTimeoutMs: 1000, requestTimeoutMs: 1500, maxAttempts: 2 },
  /** Tenant secrets: needed for every miss, cached per container. */
  secretsManager: { connectionTimeoutMs: 2000, requestTimeoutMs: 3000, maxAttempts: 2 },
  /** Envelope encryption of refresh tokens in the shared cache. */
  kms: { connectionTimeoutMs: 1000, requestTimeoutMs: 2000, maxAttempts: 2 },
  /** Cognito user pools: the vendor retries (bounded, jittered, within the budget), so the SDK tries once. */
  cognito: { connectionTimeoutMs: 3000, requestTimeoutMs: 5000, maxAttempts: 1 },
  /** Cognito identity pools: as user pools. */
  cognitoIdentity: { connectionTimeoutMs: 3000, requestTimeoutMs: 5000, maxAttempts: 1 },
} as const satisfies Record<string, AwsClientTimeouts>;

export type AwsService = keyof typeof AWS_TIMEOUTS;

/**
 * Options for an SDK client whose requests time out for real: `new DynamoDBClient({ ...awsClientOptions('dynamodb') })`.
 * Pass `overrides` to tighten a value (tests, benchmarks).
 */
export function awsClientOptions(service: AwsService, overrides: Partial<AwsClientTimeouts> = {}): AwsClientOptions {
  const timeouts = { ...AWS_TIMEOUTS[service], ...overrides };
  return {
    requestHandler: new NodeHttpHandler({
      connectionTimeout: timeouts.connectionTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      throwOnRequestTimeout: true,
      // requestTimeout ends when the response headers arrive; a body that stalls after them is cut by this one.
      socketTimeout: timeouts.requestTimeoutMs,
    }),
    maxAttempts: timeouts.maxAttempts,
  };
}
