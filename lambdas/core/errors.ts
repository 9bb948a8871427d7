// Every error the service can answer with. Each class carries a stable `code` (part of the API contract,
// `contract/error-codes.ts`) and its HTTP status; `toErrorResponse` is the one place that turns any thrown
// value into a status + body.
//
// Messages are written for the caller or the operator and never contain a secret value: callers pass field
// names and tenant ids, not contents. A `cause` is kept only where it cannot carry a secret either.

import { STATUS_BY_CODE, type ErrorCode } from '../../contract/error-codes';

/** The longest message an error carries into an answer or a log line; the rest is cut. */
export const MAX_ERROR_MESSAGE_CHARS = 2_000;

export abstract class TvmError extends Error {
  abstract readonly code: ErrorCode;
  /** Seconds the caller should wait before asking again (`Retry-After`), where the error knows it. */
  declare readonly retryAfterSeconds?: number;

  /**
   * `options.cause`: the error this one replaces, kept for logs; only when it cannot carry a secret value. Messages
   * may quote upstream text (a verifier naming a token's issuer, an upstream error name): whatever its source, a
   * message is cut at {@link MAX_ERROR_MESSAGE_CHARS}, so no answer or log line can be made huge through it.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(
      message.length > MAX_ERROR_MESSAGE_CHARS ? `${message.slice(0, MAX_ERROR_MESSAGE_CHARS)}... (cut)` : message,
      options,
    );
    this.name = new.target.name;
  }

  get status(): number {
    return STATUS_BY_CODE[this.code];
  }
}

export class InvalidRequestError extends TvmError {
  readonly code = 'invalid_request';
}

export class ForbiddenError extends TvmError {
  readonly code = 'forbidden';
  constructor(message = 'The caller is not allowed to request tokens for this tenant.') {
    super(message);
  }
}

/** Caller input quoted in a message: at most `max` characters, so an answer or log line cannot be made huge. */
function quoted(input: string, max: number): string {
  return input.length > max ? `${input.slice(0, max)}...` : input;
}

export class RouteNotFoundError extends TvmError {
  readonly code = 'not_found';
  constructor(method: string, path: string) {
    super(`No route for ${quoted(method, 16)} ${quoted(path, 80)}.`);
  }
}

export class MethodNotAllowedError extends TvmError {
  readonly code = 'method_not_allowed';
  constructor(
    method: string,
    readonly allow: readonly string[],
  ) {
    super(`Method ${quoted(method, 16)} is not allowed here; use ${allow.join(', ')}.`);
  }
}

export class TenantNotFoundError extends TvmError {
  readonly code = 'tenant_not_found';
  constructor(readonly tenantId: string) {
    super(`Tenant '${tenantId}' does not exist.`);
  }
}

export class TenantMisconfiguredError extends TvmError {
  readonly code = 'tenant_misconfigured';
  constructor(
    readonly tenantId: string,
    readonly problems: readonly string[],
  ) {
    super(`Tenant '${tenantId}' is misconfigured: ${problems.join('; ')}.`);
  }
}

/** Reason an upstream refused the credentials; drives retry and lockout decisions. */
export type AuthFailureReason =
  | 'not_authorized'
  | 'password_reset_required'
  | 'user_not_confirmed'
  | 'user_not_found'
  | 'client_rejected'
  | 'locked_out';

export class UpstreamAuthFailedError extends TvmError {
  readonly code = 'upstream_auth_failed';
  constructor(
    message: string,
    readonly reason: AuthFailureReason,
    /** Seconds until the service will try the upstream again (lockout guard). */
    override readonly retryAfterSeconds?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class UpstreamChallengeRequiredError extends TvmError {
  readonly code = 'upstream_challenge_required';
  constructor(
    readonly tenantId: string,
    readonly challengeName: string,
    /** What the operator should do, when known for this challenge. */
    hint = 'an operator must complete it (for example set a permanent password) before tokens can be vended',
    /** Sign-in is paused this long (lockout guard): signing in again would only ask the same challenge. */
    override readonly retryAfterSeconds?: number,
  ) {
    super(
      `The upstream asks tenant '${tenantId}' to answer the ${challengeName} challenge; ${hint}.` +
        (retryAfterSeconds === undefined ? '' : pausedFor(retryAfterSeconds)),
    );
  }
}

export class UpstreamTokenInvalidError extends TvmError {
  readonly code = 'upstream_token_invalid';
  constructor(
    message: string,
    options?: ErrorOptions,
    /** Sign-in is paused this long (lockout guard) after a sign-in whose answer could not be used. */
    override readonly retryAfterSeconds?: number,
  ) {
    super(message + (retryAfterSeconds === undefined ? '' : pausedFor(retryAfterSeconds)), options);
  }
}

/** The end of the message of an error the lockout guard answers with while it pauses sign-in. */
function pausedFor(seconds: number): string {
  return ` Sign-in for this tenant is paused for ${seconds} s; update the tenant secret to retry at once.`;
}

export class UpstreamUnavailableError extends TvmError {
  readonly code = 'upstream_unavailable';
  /** Whether repeating the upstream call (sign-in, refresh) can help; the vendor's retry loop honours it. */
  readonly retrySignIn: boolean = true;
  constructor(
    message: string,
    /** Seconds a caller should wait before retrying. */
    override readonly retryAfterSeconds = 5,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The upstream answered 429 or 5xx and said how long to wait (`Retry-After`): the service waits that long, fleet-wide
 * (lockout guard), instead of asking again at once.
 */
export class UpstreamBusyError extends UpstreamUnavailableError {}

/**
 * The upstream's signing keys (JWKS) could not be fetched, after the key fetcher's own bounded retries.
 * Signing in again cannot bring them back and spends the user's sign-in budget, so the vendor never
 * repeats a sign-in or refresh for it.
 */
export class KeySetUnavailableError extends UpstreamUnavailableError {
  override readonly retrySignIn = false;
}

/** The vend's time budget ran out (slow upstream, AWS service or another container's renewal): 503 with Retry-After. */
export class TimeBudgetExceededError extends UpstreamUnavailableError {
  override readonly retrySignIn = false;
  constructor(
    message: string,
    retryAfterSeconds: number,
    /** What was under way when the budget ran out (for logs and metrics). */
    readonly stage: string,
  ) {
    super(message, retryAfterSeconds);
  }
}

/**
 * `rejected=` named the current token, but a forced renewal for this tenant already ran (anywhere in the
 * fleet) within the configured interval: renewing again would only spend the upstream's sign-in budget.
 */
export class RenewalRateLimitedError extends TvmError {
  readonly code = 'renewal_rate_limited';
  constructor(
    readonly tenantId: string,
    /** Seconds until a forced renewal for this tenant is allowed again. */
    override readonly retryAfterSeconds: number,
  ) {
    super(
      `Tenant '${tenantId}' was renewed on request less than the minimum interval ago and the upstream still ` +
        `holds the token it refused; ask again after ${retryAfterSeconds} s.`,
    );
  }
}

export class InternalError extends TvmError {
  readonly code = 'internal_error';
  /** The message callers see is always generic; `options.cause` keeps the real failure for the logs. */
  constructor(options?: ErrorOptions) {
    super('Internal error.', options);
  }
}

export interface ErrorResponse {
  readonly status: number;
  readonly code: ErrorCode;
  readonly message: string;
  readonly headers: Record<string, string>;
}

/** The single mapping from any thrown value to what the API answers. Unknown errors become a generic 500. */
export function toErrorResponse(error: unknown): ErrorResponse {
  const known = error instanceof TvmError ? error : new InternalError();
  const headers: Record<string, string> = {};
  if (known.retryAfterSeconds !== undefined) headers['Retry-After'] = String(known.retryAfterSeconds);
  if (known instanceof MethodNotAllowedError) {
    headers.Allow = known.allow.join(', ');
  }
  return { status: known.status, code: known.code, message: known.message, headers };
}
