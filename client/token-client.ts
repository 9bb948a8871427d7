import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Hash } from '@smithy/core/serde';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

import type { AwsCredentialsResponseBody, TokenResponseBody } from '../contract/api';
import { isErrorCode, type ErrorCode } from '../contract/error-codes';
import { fingerprint, primaryToken } from '../contract/fingerprint';

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
  /** Retries of a 503 (or a network error) before giving up. @default 3 */
  readonly maxRetries?: number;
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

/** The API's error codes, plus `http_error` for an answer without one of them (e.g. a proxy's HTML page). */
export type TokenApiErrorCode = ErrorCode | 'http_error';

/** An error answer of the token API, with its stable code. */
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
    this.fetchFn = options.fetch ?? ((url, init) => fetch(url, init));
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.clock = options.clock ?? Date;
  }

  /** A token valid for at least `minTtl` seconds, from this client's cache when it can. */
  async getToken(tenantId: string, options: GetTokenOptions = {}): Promise<TokenResponse> {
    const minTtl = options.minTtl ?? 300;
    const cached = this.cache.get(tenantId);
    if (cached && !options.forceRefresh && this.remaining(cached) >= minTtl + (this.options.clockSkewSeconds ?? 30))
      return cached;
    const rejected = options.forceRefresh && cached ? fingerprint(primaryToken(cached)) : undefined;
    const key = `${tenantId}|${minTtl}|${rejected ?? ''}`;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.fetchToken(tenantId, minTtl, rejected).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    const token = await pending;
    this.cache.set(tenantId, token);
    return token;
  }

  /**
   * Temporary AWS credentials of the tenant's identity pool identity (`GET /v1/tenants/{id}/aws-credentials`),
   * valid for at least `minTtl` seconds, from this client's cache when it can; concurrent calls share one request.
   */
  async getAwsCredentials(tenantId: string, options: GetAwsCredentialsOptions = {}): Promise<AwsCredentialsResponse> {
    const minTtl = options.minTtl ?? 300;
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
    let waitedForRenewal = false;
    for (let attempt = 0; ; attempt++) {
      const { url, headers } = await this.signedRequest(tenantId, minTtl, rejected, route);
      let response: Response;
      try {
        response = await this.fetchFn(url, { method: 'GET', headers });
      } catch (error) {
        if (attempt >= maxRetries) throw error;
        await this.sleep(this.backoff(attempt, undefined));
        continue;
      }
      if (response.ok) return (await response.json()) as T;
      const error = await this.toError(response);
      if (error.code === 'renewal_rate_limited' && !waitedForRenewal) {
        // Another caller had the tenant renewed moments ago: once the interval is over, the API renews again
        // (or already serves a newer token). Wait for it once; a second refusal is the caller's to handle.
        const waitMs = (error.retryAfterSeconds ?? 1) * 1000;
        if (waitMs > (this.options.maxRenewalWaitMs ?? 30_000)) throw error;
        waitedForRenewal = true;
        await this.sleep(waitMs);
        continue;
      }
      if (response.status !== 503 || attempt >= maxRetries) throw error;
      await this.sleep(this.backoff(attempt, error.retryAfterSeconds));
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

  private async toError(response: Response): Promise<TokenApiError> {
    const retryAfter = Number(response.headers.get('retry-after'));
    let body: { error?: { code?: string; message?: string }; requestId?: string; message?: string } = {};
    try {
      body = (await response.json()) as typeof body;
    } catch {
      // API Gateway's own errors may not be JSON
    }
    const code = body.error?.code;
    return new TokenApiError(
      response.status,
      isErrorCode(code) ? code : response.status === 403 ? 'forbidden' : 'http_error',
      body.error?.message ?? body.message ?? `HTTP ${response.status}`,
      body.requestId,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    );
  }
}
