import { UpstreamTokenInvalidError } from './errors';

// What may be rendered into an HTTP header or handed out as a token: printable ASCII only (no CR, LF, NUL or other
// control characters, nothing outside ASCII), no leading or trailing blank, and at most 16 KB. A value that breaks the
// rule could split a header or smuggle a line into a caller's request (`tvm token --headers`), so it is refused.

/** Longest token, identity id or API key the service will put in a header or a response: 16 KB. */
export const MAX_HEADER_VALUE_LENGTH = 16_384;

/** Longest rendered header (a template may combine values, e.g. `{token}` and `{identityId}`): 32 KB. */
export const MAX_RENDERED_HEADER_LENGTH = 32_768;

const HEADER_SAFE = /^[\x21-\x7E](?:[\x20-\x7E]*[\x21-\x7E])?$/;

/** Why `value` is not header-safe, or undefined when it is. Never quotes the value. */
export function headerValueProblem(value: string, maxLength = MAX_HEADER_VALUE_LENGTH): string | undefined {
  if (value.length === 0) return 'is empty';
  if (value.length > maxLength) return `is longer than ${maxLength} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1F\x7F]/.test(value)) return 'contains a control character';
  if (!HEADER_SAFE.test(value))
    return 'contains a character that is not printable ASCII, or starts or ends with a blank';
  return undefined;
}

/** Throw `upstream_token_invalid` when an upstream-supplied value is not header-safe; `what` names it for the operator. */
export function assertHeaderSafe(tenantId: string, what: string, value: string, maxLength?: number): void {
  const problem = headerValueProblem(value, maxLength);
  if (problem) {
    throw new UpstreamTokenInvalidError(
      `The upstream's ${what} for tenant '${tenantId}' ${problem}; it is not vended.`,
    );
  }
}
