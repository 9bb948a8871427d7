import { FetchError, NonRetryableFetchError } from 'aws-jwt-verify/error';
import { fetch as httpsFetch, type Fetcher } from 'aws-jwt-verify/https';

import { isLoopbackHost } from '../core/tenant-config';

// How the service fetches an upstream's signing keys (JWKS): never following a redirect, each attempt with a timeout,
// retried on its own a bounded number of times, and after a failure not tried again for a short cooldown, so a key set
// that is down costs a few fetches, never another sign-in. aws-jwt-verify keeps the key cache and the kid lookup.

export interface JwksFetcherOptions {
  /** Attempts per fetch, the first included. @default 3 */
  readonly attempts?: number;
  /** Pause before the second attempt, doubled for each further one. @default 100 */
  readonly retryDelayMs?: number;
  /** Time allowed per attempt, connection and response. @default 3000 */
  readonly timeoutMs?: number;
  /** After a fetch failed (all attempts), later fetches of that URI fail at once for this long. @default 10 */
  readonly cooldownSeconds?: number;
  /** Largest key set accepted. @default 1 MiB */
  readonly maxBytes?: number;
  readonly clock?: { now(): number };
  readonly sleep?: (ms: number) => Promise<void>;
}

/** A key set answered 3xx or 4xx: asking again will not help. */
function permanent(uri: string, status: number): FetchError {
  const detail = status >= 300 && status < 400 ? `redirect (HTTP ${status}), not followed` : `HTTP ${status}`;
  return new NonRetryableFetchError(uri, detail);
}

/** Plain-http JWKS for loopback emulators (aws-jwt-verify's own fetcher speaks https only). */
async function loopbackFetch(uri: string, timeoutMs: number, maxBytes: number): Promise<ArrayBuffer> {
  let response: Response;
  try {
    response = await fetch(uri, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new FetchError(uri, error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    if (response.status === 429 || response.status >= 500) throw new FetchError(uri, `HTTP ${response.status}`);
    throw permanent(uri, response.status);
  }
  const body = await response.arrayBuffer();
  if (body.byteLength > maxBytes) throw new NonRetryableFetchError(uri, `key set larger than ${maxBytes} bytes`);
  return body;
}

/**
 * The one JWKS fetcher: https through aws-jwt-verify's Node fetcher (it follows no redirects and refuses any status
 * but 200), plain http only for the loopback emulators the tenant schema allows.
 */
export class RetryingJwksFetcher implements Fetcher {
  private readonly attempts: number;
  private readonly retryDelayMs: number;
  private readonly timeoutMs: number;
  private readonly cooldownMs: number;
  private readonly maxBytes: number;
  private readonly clock: { now(): number };
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly failedUntil = new Map<string, number>();

  constructor(options: JwksFetcherOptions = {}) {
    this.attempts = Math.max(1, options.attempts ?? 3);
    this.retryDelayMs = options.retryDelayMs ?? 100;
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.cooldownMs = (options.cooldownSeconds ?? 10) * 1000;
    this.maxBytes = options.maxBytes ?? 1024 * 1024;
    this.clock = options.clock ?? Date;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Seconds until a failed URI may be fetched again (0 when it may be fetched now). */
  cooldownRemainingSeconds(uri: string): number {
    return Math.max(0, Math.ceil(((this.failedUntil.get(uri) ?? 0) - this.clock.now()) / 1000));
  }

  async fetch(uri: string): Promise<ArrayBuffer> {
    const wait = this.cooldownRemainingSeconds(uri);
    if (wait > 0) throw new NonRetryableFetchError(uri, `the last fetch failed; not tried again for ${wait} s`);
    try {
      const body = await this.fetchWithRetries(uri);
      this.failedUntil.delete(uri);
      return body;
    } catch (error) {
      this.failedUntil.set(uri, this.clock.now() + this.cooldownMs);
      throw error;
    }
  }

  private async fetchWithRetries(uri: string): Promise<ArrayBuffer> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.fetchOnce(uri);
      } catch (error) {
        const retryable = error instanceof FetchError && !(error instanceof NonRetryableFetchError);
        if (!retryable || attempt >= this.attempts) throw error;
        await this.sleep(this.retryDelayMs * 2 ** (attempt - 1));
      }
    }
  }

  private async fetchOnce(uri: string): Promise<ArrayBuffer> {
    if (uri.startsWith('https:')) {
      return httpsFetch(uri, { timeout: this.timeoutMs, responseTimeout: this.timeoutMs });
    }
    if (uri.startsWith('http:') && isLoopbackHost(new URL(uri).hostname)) {
      return loopbackFetch(uri, this.timeoutMs, this.maxBytes);
    }
    throw new NonRetryableFetchError(uri, 'only https: (or http: to a loopback address) is fetched');
  }
}
