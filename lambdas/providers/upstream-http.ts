// The one way providers talk HTTP to an upstream that receives credentials (login endpoints, OAuth2 token
// endpoints): POST to exactly the configured URL, never follow a redirect, turn network errors and timeouts
// into outages, and read the answer with a size cap while it streams, so a hostile upstream can neither
// redirect the credentials elsewhere nor make the service buffer an unbounded body.

import { BodyTooLongError, readBodyUpTo } from '../../contract/bounded-body';
import { retryAfterSeconds } from '../../contract/retry-after';
import { UpstreamAuthFailedError, UpstreamBusyError, UpstreamUnavailableError } from '../core/errors';

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** Who is being called, for messages that name the tenant and the upstream but never a secret. */
export interface UpstreamTarget {
  readonly tenantId: string;
  /** e.g. "login endpoint", "token endpoint". */
  readonly upstream: string;
  /** e.g. " during sign-in"; empty when the upstream does one thing only. */
  readonly during: string;
  /** What the operator should change when the upstream answers a redirect. */
  readonly redirectHint: string;
}

/** The longest wait an upstream's `Retry-After` is taken for, in seconds. */
export const MAX_RETRY_AFTER_SECONDS = 300;

/** Seconds the upstream asks to wait (`Retry-After` in seconds, capped at 300), or undefined when it does not say. */
export function askedWaitSeconds(response: Response): number | undefined {
  const seconds = retryAfterSeconds(response.headers.get('retry-after'));
  return seconds === undefined ? undefined : Math.max(1, Math.min(seconds, MAX_RETRY_AFTER_SECONDS));
}

/**
 * `upstream_unavailable` for a 429 or 5xx answer: {@link UpstreamBusyError} when the upstream said how long to wait
 * (the service then waits that long, fleet-wide), else a plain outage retried after 5 s.
 */
export function unavailableAnswer(message: string, response: Response): UpstreamUnavailableError {
  const asked = askedWaitSeconds(response);
  return asked === undefined ? new UpstreamUnavailableError(message) : new UpstreamBusyError(message, asked);
}

/**
 * POST credentials to `url` and return the answer unless it is a redirect. A redirect is never followed (the
 * API key, password, client secret or refresh token would go wherever it points): it is an operator's problem,
 * `upstream_auth_failed` with reason `client_rejected`, which pauses sign-in. A network error or timeout is
 * `upstream_unavailable`, keeping the error as its cause (it holds no request body).
 */
export async function postWithoutRedirect(
  fetchFn: FetchLike,
  url: string,
  init: { readonly headers: Record<string, string>; readonly body: string; readonly signal: AbortSignal },
  target: UpstreamTarget,
): Promise<Response> {
  let response: Response;
  try {
    response = await fetchFn(url, { method: 'POST', ...init, redirect: 'manual' });
  } catch (error) {
    const kind = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : 'could not be reached';
    throw new UpstreamUnavailableError(
      `The ${target.upstream} of tenant '${target.tenantId}' ${kind}${target.during}.`,
      undefined,
      { cause: error },
    );
  }
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel().catch(() => undefined);
    throw new UpstreamAuthFailedError(
      `The ${target.upstream} of tenant '${target.tenantId}' answered${target.during} with a redirect ` +
        `(HTTP ${response.status}), which is never followed: ${target.redirectHint}.`,
      'client_rejected',
    );
  }
  return response;
}

const ANSWER_UNREADABLE_MESSAGES = {
  too_long: 'answer too long',
  undecodable: 'answer body could not be decoded',
  interrupted: 'answer cut off before its end',
} as const;

/**
 * The answer's body could not be read whole: longer than allowed ('too_long', a bad answer), sent in a form that
 * could not be decoded ('undecodable', e.g. `content-encoding: gzip` over bytes that are not gzip: a bad answer), or
 * cut off while it streamed ('interrupted': the connection closed, reset or timed out, or the request's signal
 * fired; an outage, worth a retry).
 */
export class AnswerUnreadableError extends Error {
  override readonly name = 'AnswerUnreadableError';
  constructor(
    readonly kind: 'too_long' | 'undecodable' | 'interrupted',
    options?: ErrorOptions,
  ) {
    super(ANSWER_UNREADABLE_MESSAGES[kind], options);
  }
}

/** Names of the errors a fired abort signal (the request's timeout, the vend's budget) fails a read with. */
const ABORT_ERROR_NAMES: ReadonlySet<string> = new Set(['AbortError', 'TimeoutError']);

/**
 * Codes of a connection that closed, reset or timed out under a body (undici's and Node's socket errors). A
 * decompression failure (zlib's `Z_DATA_ERROR`, a Brotli error) is none of them: the upstream sent a bad answer.
 */
const TRANSPORT_ERROR_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_ABORTED',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
]);

/**
 * Whether a read failed because the transport did: an abort, or a socket that closed, reset or timed out. undici
 * fails the body stream with `TypeError: terminated` whatever the reason and keeps the reason as its `cause`, so the
 * error and its causes are inspected (duck-typed, a few levels deep: a cycle cannot loop).
 */
export function isTransportFailure(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const { name, code, cause } = current as { name?: unknown; code?: unknown; cause?: unknown };
    if (typeof name === 'string' && ABORT_ERROR_NAMES.has(name)) return true;
    if (typeof code === 'string' && TRANSPORT_ERROR_CODES.has(code)) return true;
    current = cause;
  }
  return false;
}

/** True when reading an answer failed because the transport did, not because of what the upstream sent. */
export function isInterruptedAnswer(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (error instanceof AnswerUnreadableError && error.kind === 'interrupted');
}

/**
 * Read the body as UTF-8 text, at most `maxBytes`. Refuses a larger declared `content-length` without reading,
 * and stops reading (cancelling the stream) as soon as more arrives, so memory stays bounded whatever the
 * upstream sends. Throws AnswerUnreadableError: 'too_long'; 'interrupted' when the stream failed mid-body because
 * `signal` fired or the connection broke; 'undecodable' when it failed for anything else (a body its
 * `content-encoding` cannot decode).
 */
export async function readBoundedText(response: Response, maxBytes: number, signal?: AbortSignal): Promise<string> {
  try {
    // Not valid UTF-8 is an answer that cannot be decoded ('undecodable'), not one read with U+FFFD in it.
    return await readBodyUpTo(response, maxBytes, { fatal: true });
  } catch (error) {
    if (error instanceof BodyTooLongError) throw new AnswerUnreadableError('too_long');
    const interrupted = signal?.aborted === true || isTransportFailure(error);
    throw new AnswerUnreadableError(interrupted ? 'interrupted' : 'undecodable', { cause: error });
  }
}
