import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Hash } from '@smithy/core/serde';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

import { TENANT_ID_PATTERN, type AwsCredentialsResponseBody, type TokenResponseBody } from '../contract/api';
import { BodyTooLongError, readBodyUpTo } from '../contract/bounded-body';
import { isErrorCode, type ErrorCode } from '../contract/error-codes';
import { fingerprint, primaryToken } from '../contract/fingerprint';
import { retryAfterMs } from '../contract/retry-after';

// The consumer library of the token API (see TokenClient).

/** The API's 200 body (HTTP API v1). */
export type TokenResponse = TokenResponseBody;

/** The 200 body of the aws-credentials route. */
export type AwsCredentialsResponse = AwsCredentialsResponseBody;

export interface GetAwsCredentialsOptions {
  /** Seconds the credentials must stay valid, 0 to 3540 (identity pool credentials live one hour). @default 300 */
  readonly minTtl?: number;
}

export interface GetTokenOptions {
  /** Seconds the token must stay valid. @default 300 */
  readonly minTtl?: number;
  /**
   * The upstream refused the cached token (e.g. answered 401): get a different one. The API is told
   * the refused token's fingerprint and renews its session unless it already holds a newer token.
   * The API renews a tenant on request at most once per interval (30 s by default) for all callers:
   * inside it, a report of the current token is answered 429 `renewal_rate_limited` with Retry-After.
   * The client then waits Retry-After once (up to `maxRenewalWaitMs`) and asks again; a second 429,
   * or a longer Retry-After, throws a TokenApiError with that code and `retryAfterSeconds`.
   * @default false
   */
  readonly forceRefresh?: boolean;
}

export interface TokenClientOptions {
  /** The API's base URL, e.g. the stack's `ApiUrl` output or `http://127.0.0.1:8787`. */
  readonly endpoint: string;
  /** Signing region. @default taken from an execute-api host name, else AWS_REGION */
  readonly region?: string;
  /** @default the AWS SDK default credential provider chain */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Retries of a 503, a network error or a timed-out attempt before giving up. @default 3 */
  readonly maxRetries?: number;
  /**
   * Longest wait for one attempt's answer, body included; a timed-out attempt is retried like a network error.
   * Longer than the service's own 20 s vend budget, so a slow but healthy renewal is not cut short. @default 25000 ms
   */
  readonly timeoutMs?: number;
  /**
   * Longest time one request may take with all its attempts and the waits between them: no retry starts, and no
   * attempt runs, past it. A `forceRefresh`'s wait for `renewal_rate_limited` (see `maxRenewalWaitMs`) starts a new
   * request with a fresh budget. @default 60000 ms
   */
  readonly totalTimeoutMs?: number;
  /** Longest wait between retries, whatever Retry-After says. @default 10000 ms */
  readonly maxRetryDelayMs?: number;
  /**
   * Longest Retry-After a `forceRefresh` waits out once when the API answers 429 `renewal_rate_limited`
   * (0: never wait, throw at once). @default 30000 ms (the API's default renewal interval)
   */
  readonly maxRenewalWaitMs?: number;
  /** Margin kept on top of minTtl for cached tokens. @default 30 */
  readonly clockSkewSeconds?: number;
  /** Sends the signed requests (tests, proxies, custom agents). @default global fetch */
  readonly fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** Waits between retries. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Source of retry jitter, in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** Time source for cache expiry, in epoch milliseconds. @default Date */
  readonly clock?: { now(): number };
}

/**
 * The API's error codes, plus the client's own: `http_error` for an error answer without one of them (e.g. a
 * proxy's HTML page), `invalid_response` for a 2xx answer whose body is not the API's JSON, and `timeout`
 * (status 0) when no answer came within `timeoutMs` or `totalTimeoutMs`.
 */
export type TokenApiErrorCode = ErrorCode | 'http_error' | 'invalid_response' | 'timeout';

/** An error answer of the token API (or the client's own `timeout` / `invalid_response`), with its stable code. */
export class TokenApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: TokenApiErrorCode,
    message: string,
    readonly requestId?: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'TokenApiError';
  }
}

const DEFAULT_TIMEOUT_MS = 25_000;
const DEFAULT_TOTAL_TIMEOUT_MS = 60_000;
/** The longest delay Node's timers (and AbortSignal.timeout) take. */
const MAX_TIMER_MS = 2 ** 32 - 1;
/** The most clock skew a client may allow for: SigV4 refuses requests whose clock is 5 minutes off. */
const MAX_CLOCK_SKEW_SECONDS = 300;
/** Longest error message or request id taken from an answer. */
const MAX_TEXT = 500;
/** Largest answer body read (a token answer is a few KB): a bigger one is refused, not buffered. */
export const MAX_ANSWER_BYTES = 1_000_000;
/** The API's bounds of `minTtl`, in seconds. */
const MAX_MIN_TTL = 3600;

/** How one attempt ended. */
type Attempt =
  | { readonly kind: 'answer'; readonly response: Response; readonly text: string }
  | { readonly kind: 'oversize'; readonly response: Response }
  | { readonly kind: 'network'; readonly error: unknown }
  | { readonly kind: 'timeout' };

/** The body as text, or undefined when it is over `maxBytes` (the rest is not read). */
async function readCapped(response: Response, maxBytes: number): Promise<string | undefined> {
  try {
    return await readBodyUpTo(response, maxBytes);
  } catch (error) {
    if (error instanceof BodyTooLongError) return undefined;
    throw error;
  }
}

/** `minTtl` as the API takes it: an integer number of seconds from 0 to 3600; else a RangeError before any request. */
function checkMinTtl(minTtl: number): number {
  if (!Number.isInteger(minTtl) || minTtl < 0 || minTtl > MAX_MIN_TTL)
    throw new RangeError(`TokenClient: minTtl must be an integer number of seconds from 0 to ${MAX_MIN_TTL}.`);
  return minTtl;
}

/** A tenant id as the API takes it; else a RangeError before the cache or any request (it names no secret). */
function checkTenantId(tenantId: string): void {
  if (typeof tenantId !== 'string' || !TENANT_ID_PATTERN.test(tenantId))
    throw new RangeError(
      `TokenClient: the tenant id ${JSON.stringify(String(tenantId).slice(0, 80))} is not one: 1-64 lowercase ` +
        'letters, digits or hyphens.',
    );
}

/** `promise`, or a rejection as soon as `signal` aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(signal.reason as Error);
    if (signal.aborted) abort();
    signal.addEventListener('abort', abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The parsed body, or undefined when it is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A string read from an answer, without control characters and at most MAX_TEXT long; else undefined. */
function wireText(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value.trim()) return undefined;
  const text = value.replace(/\p{Cc}/gu, ' ');
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

function isDate(value: unknown): boolean {
  return typeof value === 'string' && Number.isFinite(Date.parse(value));
}

const TOKEN_FIELDS = ['idToken', 'accessToken', 'token'] as const;

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;
/** A value the service could vend: printable ASCII, no blank at either end, at most 32,768 characters. */
const HEADER_SAFE_VALUE = /^(?:[\x21-\x7e](?:[\x20-\x7e]{0,32766}[\x21-\x7e])?)?$/;

/** What is wrong with a token route's 200 body, for the fields the client relies on; undefined when nothing. */
function tokenProblem(body: JsonObject): string | undefined {
  if (typeof body.tenantId !== 'string') return 'tenantId is not a string';
  if (!isDate(body.expiresAt)) return 'expiresAt is not a date';
  const headers = body.headers;
  if (!isObject(headers) || !Object.values(headers).every((value) => typeof value === 'string'))
    return 'headers is not an object of strings';
  // The service never vends a value that could split a header or smuggle a line: an answer that holds one is not
  // the service's (a wrong TVM_ENDPOINT, a proxy), and its headers must not reach an upstream request.
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name)) return 'headers has a name that is no HTTP header name';
    if (!HEADER_SAFE_VALUE.test(value as string)) return `headers.${name} is not a header-safe value`;
  }
  for (const field of TOKEN_FIELDS) {
    if (body[field] !== undefined && typeof body[field] !== 'string') return `${field} is not a string`;
    if (typeof body[field] === 'string' && !HEADER_SAFE_VALUE.test(body[field])) return `${field} is not header-safe`;
  }
  if (!TOKEN_FIELDS.some((field) => body[field])) return 'it holds no idToken, accessToken or token';
  return undefined;
}

/** What is wrong with an aws-credentials 200 body; undefined when nothing. */
function credentialsProblem(body: JsonObject): string | undefined {
  for (const field of ['accessKeyId', 'secretAccessKey', 'sessionToken', 'identityId'] as const)
    if (typeof body[field] !== 'string' || !body[field]) return `${field} is not a non-empty string`;
  if (!isDate(body.expiration)) return 'expiration is not a date';
  return undefined;
}

/** What the request asked for, which a 2xx answer must meet. */
interface Expected {
  readonly tenantId: string;
  readonly minTtl: number;
  /** The client's clock, epoch ms. */
  readonly now: number;
  /** How far the client's clock may be from the API's. */
  readonly skewSeconds: number;
}

/** What is wrong with a well-formed body for the request that got it: another tenant's, or too short-lived. */
function answerProblem(body: JsonObject, route: 'token' | 'aws-credentials', expected: Expected): string | undefined {
  if (route === 'token' && body.tenantId !== expected.tenantId)
    return `it is for tenant '${wireText(String(body.tenantId))}', not '${expected.tenantId}'`;
  const expiry = Date.parse(String(route === 'token' ? body.expiresAt : body.expiration));
  const remaining = Math.floor((expiry - expected.now) / 1000);
  if (remaining < expected.minTtl - expected.skewSeconds)
    return `it is valid for ${remaining} s by this client's clock, not the ${expected.minTtl} s asked for`;
  return undefined;
}

/** Where a redirect points, for the error message (its origin only). */
function redirectTarget(response: Response): string {
  const location = response.headers.get('location');
  if (!location) return '';
  try {
    return ` to ${wireText(new URL(location, response.url || undefined).origin)}`;
  } catch {
    return '';
  }
}

/** A 2xx answer's body, checked to be the route's JSON, for this request, before anyone caches or reads it. */
function readSuccess<T>(
  response: Response,
  text: string,
  route: 'token' | 'aws-credentials',
  target: string,
  expected: Expected,
): T {
  const { status } = response;
  const body = parseJson(text);
  const type = wireText(response.headers.get('content-type'));
  const problem = !isObject(body)
    ? `the body is not a JSON object${type ? ` (content-type ${type})` : ''}`
    : ((route === 'token' ? tokenProblem(body) : credentialsProblem(body)) ?? answerProblem(body, route, expected));
  if (problem)
    throw new TokenApiError(
      status,
      'invalid_response',
      `${target} answered ${status} with a body that is not the token API's ${route} response: ${problem}.`,
    );
  return body as T;
}

/** An error answer as a TokenApiError: the API's code and message when the body has them, else `http_error`. */
function toError(response: Response, text: string): TokenApiError {
  const waitMs = retryAfterMs(response.headers.get('retry-after'), Date.now());
  const retryAfter = waitMs === undefined ? NaN : Math.max(1, Math.ceil(waitMs / 1000));
  // API Gateway's own errors, and proxies', may not be the API's JSON (or JSON at all).
  const parsed = parseJson(text);
  const body = isObject(parsed) ? parsed : {};
  const error = isObject(body.error) ? body.error : {};
  const code = error.code;
  return new TokenApiError(
    response.status,
    isErrorCode(code) ? code : response.status === 403 ? 'forbidden' : 'http_error',
    wireText(error.message) ?? wireText(body.message) ?? `HTTP ${response.status}`,
    wireText(body.requestId),
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
  );
}

/** `abc123.execute-api.ap-southeast-2.amazonaws.com` -> `ap-southeast-2`. */
export function regionFromEndpoint(endpoint: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com/.exec(new URL(endpoint).hostname)?.[1];
}

/**
 * Consumer library for token-vending-machine: SigV4-signed calls to the token API,
 * an in-process cache that honours `expiresAt` and `minTtl`, and bounded retries of
 * 503 answers that respect `Retry-After`. Works in Lambda and in plain Node.js.
 *
 * ```ts
 * const tokens = new TokenClient({ endpoint: process.env.TVM_ENDPOINT! });
 * const headers = await tokens.headers('acme', { minTtl: 600 });
 * await fetch('https://api.example.com/graphql', { method: 'POST', headers, body });
 * ```
 */
export class TokenClient {
  private readonly endpoint: URL;
  private readonly signer: SignatureV4;
  private readonly cache = new Map<string, TokenResponse>();
  /** Forced renewals begun per tenant: an answer to a request sent before the latest one is not cached. */
  private readonly renewals = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<TokenResponse>>();
  private readonly credentialsCache = new Map<string, AwsCredentialsResponse>();
  private readonly credentialsInFlight = new Map<string, Promise<AwsCredentialsResponse>>();
  private readonly fetchFn: (url: string, init: RequestInit) => Promise<Response>;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly clock: { now(): number };

  constructor(private readonly options: TokenClientOptions) {
    this.endpoint = new URL(options.endpoint.endsWith('/') ? options.endpoint : `${options.endpoint}/`);
    const region =
      options.region ??
      regionFromEndpoint(options.endpoint) ??
      process.env.AWS_REGION ??
      process.env.AWS_DEFAULT_REGION;
    if (!region)
      throw new Error('TokenClient needs a region: pass `region`, set AWS_REGION, or use an execute-api endpoint.');
    this.signer = new SignatureV4({
      service: 'execute-api',
      region,
      credentials: options.credentials ?? defaultProvider(),
      sha256: Hash.bind(null, 'sha256'),
    });
    // A bad number would not fail later, it would quietly change what the client does (NaN retries until the total
    // timeout, a negative skew serves tokens short of minTtl): refused here, naming the option.
    const check = (name: keyof TokenClientOptions, ok: (value: number) => boolean, what: string) => {
      const value = options[name];
      if (value !== undefined && !(typeof value === 'number' && ok(value)))
        throw new RangeError(`TokenClient: ${name} must be ${what}.`);
    };
    for (const name of ['timeoutMs', 'totalTimeoutMs'] as const)
      check(name, (v) => v > 0 && v <= MAX_TIMER_MS, `a number of milliseconds from 1 to ${MAX_TIMER_MS}`);
    // Infinity: no limit but totalTimeoutMs (no retry starts, and no wait runs, past it).
    for (const name of ['maxRetryDelayMs', 'maxRenewalWaitMs'] as const)
      check(name, (v) => v >= 0, 'a number of milliseconds, 0 or more (Infinity: only totalTimeoutMs limits it)');
    check(
      'maxRetries',
      (v) => v === Infinity || (Number.isInteger(v) && v >= 0),
      'a whole number, 0 or more (Infinity: only totalTimeoutMs limits it)',
    );
    // A skew beyond the 5 minutes SigV4 allows would fail every signed request anyway; a larger margin would let the
    // answer check take tokens that expired long ago (it allows minTtl minus the skew).
    check(
      'clockSkewSeconds',
      (v) => v >= 0 && v <= MAX_CLOCK_SKEW_SECONDS,
      `a number of seconds from 0 to ${MAX_CLOCK_SKEW_SECONDS}`,
    );
    this.fetchFn = options.fetch ?? ((url, init) => fetch(url, init));
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.clock = options.clock ?? Date;
  }

  /** A token valid for at least `minTtl` seconds, from this client's cache when it can. */
  async getToken(tenantId: string, options: GetTokenOptions = {}): Promise<TokenResponse> {
    checkTenantId(tenantId);
    const minTtl = checkMinTtl(options.minTtl ?? 300);
    const cached = this.cache.get(tenantId);
    if (cached && !options.forceRefresh && this.remaining(cached) >= minTtl + (this.options.clockSkewSeconds ?? 30))
      return cached;
    const rejected = options.forceRefresh && cached ? fingerprint(primaryToken(cached)) : undefined;
    if (rejected) this.renewals.set(tenantId, (this.renewals.get(tenantId) ?? 0) + 1);
    const renewalsBefore = this.renewals.get(tenantId) ?? 0;
    const key = `${tenantId}|${minTtl}|${rejected ?? ''}`;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.fetchToken(tenantId, minTtl, rejected).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    const token = await pending;
    // An answer to a request sent before a forced renewal began, arriving after it, is not cached: the cache would go
    // back to the token the upstream refused.
    if ((this.renewals.get(tenantId) ?? 0) === renewalsBefore) this.cache.set(tenantId, token);
    return token;
  }

  /**
   * Temporary AWS credentials of the tenant's identity pool identity (`GET /v1/tenants/{id}/aws-credentials`),
   * valid for at least `minTtl` seconds, from this client's cache when it can; concurrent calls share one request.
   */
  async getAwsCredentials(tenantId: string, options: GetAwsCredentialsOptions = {}): Promise<AwsCredentialsResponse> {
    checkTenantId(tenantId);
    const minTtl = checkMinTtl(options.minTtl ?? 300);
    const cached = this.credentialsCache.get(tenantId);
    const skew = this.options.clockSkewSeconds ?? 30;
    if (cached && Math.floor((Date.parse(cached.expiration) - this.clock.now()) / 1000) >= minTtl + skew) return cached;
    const key = `${tenantId}|${minTtl}`;
    let pending = this.credentialsInFlight.get(key);
    if (!pending) {
      pending = this.fetchJson<AwsCredentialsResponse>(tenantId, minTtl, undefined, 'aws-credentials').finally(() =>
        this.credentialsInFlight.delete(key),
      );
      this.credentialsInFlight.set(key, pending);
    }
    const credentials = await pending;
    this.credentialsCache.set(tenantId, credentials);
    return credentials;
  }

  /**
   * An AWS SDK v3 credential provider for the tenant's identity pool identity:
   * `new S3Client({ credentials: tokens.awsCredentials('acme') })`. The SDK calls it again when the credentials
   * are within five minutes of `expiration`; this client then asks the API for a set valid for `minTtl` more.
   */
  awsCredentials(tenantId: string, options: GetAwsCredentialsOptions = {}): AwsCredentialIdentityProvider {
    return async () => {
      const credentials = await this.getAwsCredentials(tenantId, options);
      return {
        accessKeyId: credentials.accessKeyId,
        secretAccessKey: credentials.secretAccessKey,
        sessionToken: credentials.sessionToken,
        expiration: new Date(credentials.expiration),
      };
    };
  }

  /** The upstream's request headers, ready to use. */
  async headers(tenantId: string, options: GetTokenOptions = {}): Promise<Record<string, string>> {
    return (await this.getToken(tenantId, options)).headers;
  }

  /** Forget the cached token of a tenant (e.g. after the upstream rejected it). */
  invalidate(tenantId: string): void {
    this.cache.delete(tenantId);
  }

  /** Build and sign the request; exported for tests and for callers with their own HTTP stack. */
  async signedRequest(
    tenantId: string,
    minTtl: number,
    rejected?: string,
    route: 'token' | 'aws-credentials' = 'token',
  ): Promise<{ url: string; headers: Record<string, string> }> {
    const url = new URL(`v1/tenants/${encodeURIComponent(tenantId)}/${route}`, this.endpoint);
    const query: Record<string, string> = { minTtl: String(minTtl), ...(rejected ? { rejected } : {}) };
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    const request = new HttpRequest({
      method: 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers: { host: url.host, accept: 'application/json' },
    });
    const signed = await this.signer.sign(request);
    return { url: url.toString(), headers: signed.headers };
  }

  private remaining(token: TokenResponse): number {
    return Math.floor((Date.parse(token.expiresAt) - this.clock.now()) / 1000);
  }

  private fetchToken(tenantId: string, minTtl: number, rejected: string | undefined): Promise<TokenResponse> {
    return this.fetchJson<TokenResponse>(tenantId, minTtl, rejected, 'token');
  }

  private async fetchJson<T>(
    tenantId: string,
    minTtl: number,
    rejected: string | undefined,
    route: 'token' | 'aws-credentials',
  ): Promise<T> {
    const maxRetries = this.options.maxRetries ?? 3;
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const totalTimeoutMs = this.options.totalTimeoutMs ?? DEFAULT_TOTAL_TIMEOUT_MS;
    let deadline = performance.now() + totalTimeoutMs;
    let waitedForRenewal = false;
    for (let attempt = 0; ; attempt++) {
      const { url, headers } = await this.signedRequest(tenantId, minTtl, rejected, route);
      const target = `GET ${url.split('?')[0]}`;
      const limitMs = Math.max(1, Math.ceil(Math.min(timeoutMs, deadline - performance.now())));
      const answer = await this.send(url, headers, limitMs);
      /** The wait before the next attempt, or undefined when the last error is the caller's. */
      const retryWait = (retryAfterSeconds: number | undefined) => {
        if (attempt >= maxRetries) return undefined;
        const waitMs = this.backoff(attempt, retryAfterSeconds);
        return performance.now() + waitMs < deadline ? waitMs : undefined;
      };
      if (answer.kind === 'oversize')
        throw new TokenApiError(
          answer.response.status,
          'invalid_response',
          `${target} answered ${answer.response.status} with a body over ${MAX_ANSWER_BYTES} bytes, which the client does not read.`,
        );
      // No answer (a network error, or none in time): retried alike.
      if (answer.kind !== 'answer') {
        const waitMs = retryWait(undefined);
        if (waitMs === undefined) {
          if (answer.kind === 'network') throw answer.error;
          const attempts = `${attempt + 1} attempt${attempt ? 's' : ''}`;
          const limit =
            limitMs < timeoutMs ? `the ${totalTimeoutMs} ms totalTimeoutMs` : `the ${timeoutMs} ms timeoutMs`;
          throw new TokenApiError(0, 'timeout', `${target}: no answer within ${limit} (${attempts}).`);
        }
        await this.sleep(waitMs);
        continue;
      }
      const { response, text } = answer;
      if (response.ok)
        return readSuccess<T>(response, text, route, target, {
          tenantId,
          minTtl,
          now: this.clock.now(),
          skewSeconds: this.options.clockSkewSeconds ?? 30,
        });
      if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400))
        throw new TokenApiError(
          response.status,
          'http_error',
          `${target} answered ${response.status}, a redirect${redirectTarget(response)}: the client does not follow redirects (its signed request is for the endpoint alone); configure the API's own URL.`,
        );
      const error = toError(response, text);
      if (error.code === 'renewal_rate_limited' && !waitedForRenewal) {
        // Another caller had the tenant renewed moments ago: once the interval is over, the API renews again
        // (or already serves a newer token). Wait for it once; a second refusal is the caller's to handle.
        const waitMs = (error.retryAfterSeconds ?? 1) * 1000;
        if (waitMs > (this.options.maxRenewalWaitMs ?? 30_000)) throw error;
        waitedForRenewal = true;
        await this.sleep(waitMs);
        deadline = performance.now() + totalTimeoutMs;
        continue;
      }
      if (response.status !== 503) throw error;
      const waitMs = retryWait(error.retryAfterSeconds);
      if (waitMs === undefined) throw error;
      await this.sleep(waitMs);
    }
  }

  /** One attempt: the answer and its whole body within `limitMs`, else a timeout; or fetch's own error. */
  private async send(url: string, headers: Record<string, string>, limitMs: number): Promise<Attempt> {
    const signal = AbortSignal.timeout(limitMs);
    try {
      // Raced as well as passed on: a custom `fetch` that ignores the signal cannot outlast the limit either.
      // Redirects are never followed: the signed headers (the caller's session token among them) would go to
      // whatever host the Location names, and its answer would be taken for the API's.
      const response = await abortable(
        this.fetchFn(url, { method: 'GET', headers, signal, redirect: 'manual' }),
        signal,
      );
      const text = await abortable(readCapped(response, MAX_ANSWER_BYTES), signal);
      return text === undefined ? { kind: 'oversize', response } : { kind: 'answer', response, text };
    } catch (error) {
      if (!signal.aborted) return { kind: 'network', error };
      return { kind: 'timeout' };
    }
  }

  /** Retry-After (capped) plus up to 20% jitter, or exponential backoff with full jitter. */
  private backoff(attempt: number, retryAfterSeconds: number | undefined): number {
    const cap = this.options.maxRetryDelayMs ?? 10_000;
    if (retryAfterSeconds !== undefined) {
      const base = Math.min(cap, retryAfterSeconds * 1000);
      return Math.round(base + base * 0.2 * this.random());
    }
    return Math.round(Math.min(cap, 200 * 2 ** attempt) * this.random());
  }
}
