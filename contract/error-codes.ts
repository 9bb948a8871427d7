// The API's error codes and the HTTP status of each: part of the contract shared by the service, the stack
// (alarms by code) and the client (`TokenApiError.code`).

/** Every `error.code` the API can answer with. */
export type ErrorCode =
  | 'invalid_request'
  | 'forbidden'
  | 'not_found'
  | 'tenant_not_found'
  | 'method_not_allowed'
  | 'tenant_misconfigured'
  | 'internal_error'
  | 'upstream_auth_failed'
  | 'upstream_challenge_required'
  | 'upstream_token_invalid'
  | 'upstream_unavailable';

/** HTTP status of each error code. */
export const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  invalid_request: 400,
  forbidden: 403,
  not_found: 404,
  tenant_not_found: 404,
  method_not_allowed: 405,
  tenant_misconfigured: 500,
  internal_error: 500,
  upstream_auth_failed: 502,
  upstream_challenge_required: 502,
  upstream_token_invalid: 502,
  upstream_unavailable: 503,
};

/** Every error code, in table order. */
export const ERROR_CODES = Object.keys(STATUS_BY_CODE) as readonly ErrorCode[];

/** Whether a string is one of the API's error codes (for bodies read from the wire). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(STATUS_BY_CODE, value);
}
