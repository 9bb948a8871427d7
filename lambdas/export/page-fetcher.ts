// One upstream page request, budgeted: the tenant's vended headers, a timeout that fires, 429/5xx/network
// errors retried with full-jitter backoff honouring Retry-After, one token renewal on 401, a size cap on
// the answer, and the run's deadline over all of it.
import type { TokenClient } from '../../client/token-client';
import { jitteredDelayMs } from '../core/backoff';
import { ExportFailedError, OutOfTimeError } from './export-errors';

export interface PageRequest {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  /** JSON body (POST). */
  readonly body?: string;
}

export interface PageAnswer {
  readonly json: unknown;
  readonly headers: Headers;
}

export interface PageFetcherOptions {
  readonly tenant: string;
  readonly tokens: Pick<TokenClient, 'headers' | 'getToken'>;
  readonly fetch: (url: string, init: RequestInit) => Promise<Response>;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
  readonly clock: { now(): number };
  /** Epoch ms the run must stop by (checkpoint and resume next run). */
  readonly deadline: number;
  readonly maxAttempts: number;
  readonly requestTimeoutMs: number;
  readonly maxPageBytes: number;
  /** First retry waits up to this (doubling per attempt, capped). @default 1000 */
  readonly retryBaseMs?: number;
  /** @default 30000 */
  readonly retryCapMs?: number;
}

/** Seconds or an HTTP date, as milliseconds from now; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

const RETRYABLE = new Set([429, 500, 502, 503, 504]);
/** The minimum minTtl asked of the token API: a page request never outlives its token. */
const TOKEN_MIN_TTL_SECONDS = 300;

export class PageFetcher {
  /** Token renewals asked for after 401 answers (one per page at most). */
  renewals = 0;
  /** Retries after 429, 5xx or network errors. */
  retries = 0;

  constructor(private readonly options: PageFetcherOptions) {}

  remainingMs(): number {
    return this.options.deadline - this.options.clock.now();
  }

  /** Fetches and parses one page; throws ExportFailedError, or OutOfTimeError when the budget ends first. */
  async fetchJson(request: PageRequest): Promise<PageAnswer> {
    const { tokens, tenant } = this.options;
    let headers = await tokens.headers(tenant, { minTtl: TOKEN_MIN_TTL_SECONDS });
    let renewed = false;
    for (let attempt = 1; ; attempt++) {
      if (this.remainingMs() <= 0) throw new OutOfTimeError('The run ended before the page was fetched.');
      const timeoutMs = Math.min(this.options.requestTimeoutMs, this.remainingMs());
      const cutByBudget = timeoutMs < this.options.requestTimeoutMs;
      const signal = AbortSignal.timeout(Math.max(1, timeoutMs));
      let response: Response;
      try {
        response = await this.send(request, headers, signal);
      } catch (error) {
        if (cutByBudget && signal.aborted) throw new OutOfTimeError('The run ended during a page request.');
        await this.backoff(attempt, undefined, `a network error (${(error as Error).name})`, error);
        continue;
      }
      if ((response.status === 401 || response.status === 403) && !renewed) {
        await response.body?.cancel();
        renewed = true;
        this.renewals++;
        headers = (await tokens.getToken(tenant, { minTtl: TOKEN_MIN_TTL_SECONDS, forceRefresh: true })).headers;
        attempt--; // a renewal is not a retry
        continue;
      }
      if (RETRYABLE.has(response.status)) {
        await response.body?.cancel();
        const wait = retryAfterMs(response.headers.get('retry-after'), this.options.clock.now());
        await this.backoff(attempt, wait, `HTTP ${response.status}`);
        continue;
      }
      if (response.status === 401 || response.status === 403) {
        await response.body?.cancel();
        throw new ExportFailedError(
          'upstream_unauthorized',
          `The upstream answered HTTP ${response.status} for tenant ${tenant} even with a renewed token.`,
        );
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new ExportFailedError('upstream_rejected', `The upstream answered HTTP ${response.status}.`);
      }
      let body: Buffer;
      try {
        body = await this.readBody(response);
      } catch (error) {
        if (error instanceof ExportFailedError) throw error;
        if (cutByBudget && signal.aborted) throw new OutOfTimeError('The run ended while a page was read.');
        await this.backoff(attempt, undefined, `a broken answer (${(error as Error).name})`, error);
        continue;
      }
      try {
        return { json: JSON.parse(body.toString('utf8')) as unknown, headers: response.headers };
      } catch {
        throw new ExportFailedError('upstream_invalid_answer', 'A page answer is not JSON.');
      }
    }
  }

  private send(request: PageRequest, headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
    return this.options.fetch(request.url, {
      method: request.method,
      headers: {
        ...headers,
        accept: 'application/json',
        ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(request.body === undefined ? {} : { body: request.body }),
      redirect: 'error',
      signal,
    });
  }

  private async backoff(attempt: number, retryAfter: number | undefined, what: string, cause?: unknown) {
    if (attempt >= this.options.maxAttempts) {
      throw new ExportFailedError(
        'upstream_unavailable',
        `The upstream answered ${what} ${attempt} times; giving up on this window.`,
        cause === undefined ? undefined : { cause },
      );
    }
    const wait =
      retryAfter ??
      jitteredDelayMs(
        attempt - 1, // the first retry waits up to retryBaseMs
        this.options.retryBaseMs ?? 1000,
        this.options.retryCapMs ?? 30_000,
        this.options.random,
      );
    if (wait >= this.remainingMs()) throw new OutOfTimeError(`The upstream asked to wait ${wait} ms, past the budget.`);
    this.retries++;
    await this.options.sleep(wait);
  }

  /** Reads at most maxPageBytes; a larger answer is invalid, a broken one is retried. */
  private async readBody(response: Response): Promise<Buffer> {
    const limit = this.options.maxPageBytes;
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (declared > limit) {
      await response.body?.cancel();
      throw new ExportFailedError(
        'upstream_invalid_answer',
        `A page of ${declared} bytes exceeds maxPageBytes ${limit}.`,
      );
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (!response.body) return Buffer.alloc(0);
    const reader = response.body.getReader();
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      size += chunk.value.byteLength;
      if (size > limit) {
        await reader.cancel();
        throw new ExportFailedError('upstream_invalid_answer', `A page exceeds maxPageBytes ${limit}.`);
      }
      chunks.push(chunk.value);
    }
    return Buffer.concat(chunks);
  }
}
