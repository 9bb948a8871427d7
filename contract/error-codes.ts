// The API's error codes and the HTTP status of each: part of the contract shared by the service, the stack
// (alarms by code) and the client (`TokenApiError.code`).

/** Every `error.code` the API can answer with. */
export type ErrorCode =
  | 'invalid_request'
  | 'forbidden'
  | 'not_found'
  | 'tenant_not_found'
  | 'method_not_allowed'
  | 'renewal_rate_limited'
  | 'tenant_misconfigured'
  | 'internal_error'
  | 'upstream_auth_failed'
  | 'upstream_challenge_required'
  | 'upstream_token_invalid'
  | 'upstream_unavailable'
  // Answered by API Gateway itself (gateway responses in lib/gateway-responses.ts), never by the function:
  /** Missing, malformed, expired or wrongly signed SigV4 (403). */
  | 'unauthenticated'
  /** API Gateway stage throttling or quota (429, `Retry-After`). */
  | 'throttled'
  /** API Gateway's integration timeout (504); the vend budget ends before it, so this should not happen. */
  | 'upstream_timeout';

/** HTTP status of each error code. */
export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  invalid_request: 400,
  forbidden: 403,
  not_found: 404,
  tenant_not_found: 404,
  method_not_allowed: 405,
  renewal_rate_limited: 429,
  tenant_misconfigured: 500,
  internal_error: 500,
  upstream_auth_failed: 502,
  upstream_challenge_required: 502,
  upstream_token_invalid: 502,
  upstream_unavailable: 503,
  unauthenticated: 403,
  throttled: 429,
  upstream_timeout: 504,
};

/** Every error code, in table order. */
export const ERROR_CODES = Object.keys(STATUS_BY_CODE) as readonly ErrorCode[];

/** Whether a string is one of the API's error codes (for bodies read from the wire). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(STATUS_BY_CODE, value);
}
