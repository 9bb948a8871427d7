import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

import { FetchError, NonRetryableFetchError } from 'aws-jwt-verify/error';
import type { Fetcher } from 'aws-jwt-verify/https';

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

/**
 * One GET of a key set, the same for https (certificates verified as usual) and loopback http: no redirect followed,
 * only 200 accepted, a declared `content-length` over `maxBytes` refused unread, the body counted as it streams and the
 * request destroyed as soon as it passes `maxBytes`, and the whole exchange (connection, headers, body) cut off after
 * `timeoutMs`. The body must be UTF-8 JSON; errors name the limit or the status, never the body.
 */
export function boundedGet(url: URL, timeoutMs: number, maxBytes: number): Promise<ArrayBuffer> {
  const uri = url.href;
  const tooLarge = () => new NonRetryableFetchError(uri, `key set larger than the limit of ${maxBytes} bytes`);
  return new Promise<ArrayBuffer>((resolve, reject) => {
    let settled = false;
    const finish = (error: FetchError | undefined, body?: ArrayBuffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        request.destroy();
        reject(error);
      } else {
        resolve(body as ArrayBuffer);
      }
    };
    const onResponse = (response: IncomingMessage) => {
      const status = response.statusCode ?? 0;
      if (status !== 200) {
        finish(status === 429 || status >= 500 ? new FetchError(uri, `HTTP ${status}`) : permanent(uri, status));
        return;
      }
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        finish(tooLarge());
        return;
      }
      const chunks: Buffer[] = [];
      let received = 0;
      response.on('data', (chunk: Buffer) => {
        received += chunk.byteLength;
        if (received > maxBytes) finish(tooLarge());
        else chunks.push(chunk);
      });
      response.on('end', () => {
        const body = Buffer.concat(chunks);
        try {
          JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
        } catch {
          finish(new NonRetryableFetchError(uri, 'the key set is not UTF-8 JSON'));
          return;
        }
        finish(undefined, body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer);
      });
      response.on('error', (error) => finish(new FetchError(uri, `${error.name}: ${error.message}`)));
      response.on('close', () => finish(new FetchError(uri, 'the connection closed before the key set ended')));
    };
    const timer = setTimeout(() => finish(new FetchError(uri, `no complete answer within ${timeoutMs} ms`)), timeoutMs);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(url, { method: 'GET', headers: { accept: 'application/json' } }, onResponse);
    request.on('error', (error) => finish(new FetchError(uri, `${error.name}: ${error.message}`)));
    request.end();
  });
}

/**
 * The one JWKS fetcher: every attempt is one `boundedGet`, over https, or plain http only to the loopback emulators
 * the tenant schema allows.
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
    const url = URL.canParse(uri) ? new URL(uri) : undefined;
    if (url?.protocol === 'https:' || (url?.protocol === 'http:' && isLoopbackHost(url.hostname))) {
      return boundedGet(url, this.timeoutMs, this.maxBytes);
    }
    throw new NonRetryableFetchError(uri, 'only https: (or http: to a loopback address) is fetched');
  }
}
