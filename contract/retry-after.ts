// `Retry-After` as HTTP defines it (RFC 9110): a number of seconds, or an HTTP date. Read the same way by the client
// (the token API's 503 and 429) and the export runner (an upstream's 429 and 5xx).

const SECONDS = /^\d+(?:\.\d+)?$/;
/** IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`, the form a server sends (the obsolete ones are not taken). */
const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** The seconds form only (fractions rounded up), or undefined when the header is absent or not a number of seconds. */
export function retryAfterSeconds(header: string | null | undefined): number | undefined {
  const value = header?.trim();
  return value && SECONDS.test(value) ? Math.ceil(Number(value)) : undefined;
}

/**
 * Milliseconds to wait from `nowMs`, or undefined when the header is absent or neither form. Fractions of a second
 * are rounded up; a date already past is 0.
 */
export function retryAfterMs(header: string | null | undefined, nowMs: number): number | undefined {
  const seconds = retryAfterSeconds(header);
  if (seconds !== undefined) return seconds * 1000;
  const value = header?.trim();
  if (!value || !HTTP_DATE.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
