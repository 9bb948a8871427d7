// One upstream page request, budgeted: the tenant's vended headers, a timeout that fires, 429/5xx/network
// errors retried with full-jitter backoff honouring Retry-After, one token renewal on 401, a size cap on
// the answer, and the run's deadline over all of it. Every answer is hostile input: a redirect is never followed
// (the token would go with it), and a body that cannot be decoded, is not JSON or nests deeper than any page does
// fails the window at once rather than being retried as an outage.
import type { TokenClient } from '../../client/token-client';
import { retryAfterMs } from '../../contract/retry-after';
import { jitteredDelayMs } from '../core/backoff';
import { AnswerUnreadableError, isInterruptedAnswer, readBoundedText } from '../providers/upstream-http';
import { ExportFailedError, OutOfTimeError } from './export-errors';
import { ExactNumber, parsePageJson, type PageJson } from './page-json';

export interface PageRequest {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  /** JSON body (POST). */
  readonly body?: string;
}

export interface PageAnswer {
  readonly json: unknown;
  readonly headers: Headers;
  /** Numbers a double cannot carry are ExactNumber in `json` (page-json.ts): write its records with recordLine. */
  readonly exactNumbers?: boolean;
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

/** How deep a page's JSON may nest (arrays and objects): far beyond any real page, far below a stack overflow. */
export const MAX_PAGE_DEPTH = 256;

/** An array or object of the page (an ExactNumber is a number, no level). */
const isNesting = (value: unknown): value is object =>
  typeof value === 'object' && value !== null && !(value instanceof ExactNumber);

/** Whether `value` nests arrays and objects deeper than `max` levels; walked without recursion. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<{ readonly value: unknown; readonly depth: number }> = [{ value, depth: 1 }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (!isNesting(next.value)) continue;
    if (next.depth > max) return true;
    for (const child of Object.values(next.value)) {
      if (isNesting(child)) stack.push({ value: child, depth: next.depth + 1 });
    }
  }
  return false;
}

const RETRYABLE = new Set([429, 500, 502, 503, 504]);
/** The minimum minTtl asked of the token API: a page request never outlives its token. */
const TOKEN_MIN_TTL_SECONDS = 300;

export class PageFetcher {
  /** Token renewals asked for after 401 answers (one per page at most). */
  renewals = 0;
  /** Retries after 429, 5xx or network errors. */
  retries = 0;
  /** Every header value sent (the tenant's token among them), to be kept out of messages: see {@link redacted}. */
  private readonly sent = new Set<string>();

  constructor(private readonly options: PageFetcherOptions) {}

  /**
   * The error with every header value this fetcher sent taken out of its message: an upstream that quotes the token
   * it was given in an error ("invalid token Bearer eyJ...") must not put it into the run's log line.
   */
  redacted(error: unknown): unknown {
    if (!(error instanceof ExportFailedError)) return error;
    let message = error.message;
    for (const value of this.sent) message = message.split(value).join('[redacted]');
    return message === error.message ? error : new ExportFailedError(error.code, message);
  }

  private remember(headers: Record<string, string>): Record<string, string> {
    for (const value of Object.values(headers)) {
      // The whole value, and each word of it long enough to be a credential (the token of `Bearer <token>`).
      for (const part of [value, ...value.split(/\s+/)]) if (part.length >= 8) this.sent.add(part);
    }
    return headers;
  }

  remainingMs(): number {
    return this.options.deadline - this.options.clock.now();
  }

  /** Fetches and parses one page; throws ExportFailedError, or OutOfTimeError when the budget ends first. */
  async fetchJson(request: PageRequest): Promise<PageAnswer> {
    const { tokens, tenant } = this.options;
    let headers = this.remember(await tokens.headers(tenant, { minTtl: TOKEN_MIN_TTL_SECONDS }));
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
        headers = this.remember(
          (await tokens.getToken(tenant, { minTtl: TOKEN_MIN_TTL_SECONDS, forceRefresh: true })).headers,
        );
        attempt--; // a renewal is not a retry
        continue;
      }
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel();
        throw new ExportFailedError(
          'upstream_rejected',
          `The upstream answered a redirect (HTTP ${response.status}), which is never followed (the tenant's token ` +
            'would go with it): set the job URL to the final one.',
        );
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
      let text: string;
      try {
        text = await readBoundedText(response, this.options.maxPageBytes, signal);
      } catch (error) {
        if (cutByBudget && signal.aborted) throw new OutOfTimeError('The run ended while a page was read.');
        // Cut off mid-body (a reset, a timeout): an outage, retried. Too long or undecodable: a bad answer.
        if (isInterruptedAnswer(error, signal)) {
          await this.backoff(attempt, undefined, 'an answer cut off before its end', error);
          continue;
        }
        const kind = error instanceof AnswerUnreadableError ? error.kind : 'undecodable';
        throw new ExportFailedError(
          'upstream_invalid_answer',
          kind === 'too_long'
            ? `A page exceeds maxPageBytes ${this.options.maxPageBytes}.`
            : 'A page answer could not be decoded (its content-encoding does not match its body, or it is not UTF-8).',
        );
      }
      let page: PageJson;
      try {
        // A byte-order mark is no part of the JSON (TextDecoder keeps it): a page that starts with one is still read.
        page = parsePageJson(text.startsWith('\uFEFF') ? text.slice(1) : text);
      } catch {
        throw new ExportFailedError('upstream_invalid_answer', 'A page answer is not JSON.');
      }
      if (nestsDeeperThan(page.json, MAX_PAGE_DEPTH)) {
        throw new ExportFailedError(
          'upstream_invalid_answer',
          `A page answer nests deeper than ${MAX_PAGE_DEPTH} levels.`,
        );
      }
      return { json: page.json, headers: response.headers, exactNumbers: page.exactNumbers };
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
      redirect: 'manual',
      signal,
    });
  }

  private async backoff(attempt: number, retryAfter: number | undefined, what: string, cause?: unknown) {
    const capMs = this.options.retryCapMs ?? 30_000;
    // A longer wait than a retry ever takes is not spent idle in this run: the window resumes next run.
    if (retryAfter !== undefined && retryAfter > capMs) {
      throw new OutOfTimeError(
        `The upstream asked to wait ${Math.ceil(retryAfter / 1000)} s, longer than a retry waits.`,
      );
    }
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
        capMs,
        this.options.random,
      );
    if (wait >= this.remainingMs()) throw new OutOfTimeError(`The upstream asked to wait ${wait} ms, past the budget.`);
    this.retries++;
    await this.options.sleep(wait);
  }
}
