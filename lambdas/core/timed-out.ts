// Whether a failed call timed out, as opposed to failing fast. The AWS SDK's HTTP handler names a reset, a broken
// pipe and a refused connection `TimeoutError` too (with the socket error's `code`), although they fail at once:
// retrying those is cheap, while a real timeout has already spent its wait.

/** Connection failures the SDK's HTTP handler names `TimeoutError` although they fail at once. */
const FAST_CONNECTION_ERRORS: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED']);

/** Whether an attempt failed because a connection or request timeout fired (not a reset, refusal or error answer). */
export function timedOut(error: unknown): boolean {
  // Duck-typed: the SDK may hand over errors from another realm (a test runner's VM context).
  const { name, code } = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown;
    code?: unknown;
  };
  if (name !== 'TimeoutError') return false;
  return typeof code !== 'string' || !FAST_CONNECTION_ERRORS.has(code);
}
