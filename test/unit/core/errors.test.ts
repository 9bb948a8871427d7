// Error messages: the one place that bounds them (TvmError), whatever text an upstream put into them.
import {
  InvalidRequestError,
  MAX_ERROR_MESSAGE_CHARS,
  toErrorResponse,
  UpstreamTokenInvalidError,
} from '../../../lambdas/core/errors';

describe('error messages', () => {
  it('are cut at MAX_ERROR_MESSAGE_CHARS, in the error and in the answer, keeping the start', () => {
    const issuer = `https://evil.example/${'x'.repeat(100_000)}`;
    const error = new UpstreamTokenInvalidError(`The ID token failed verification: Issuer not allowed: ${issuer}`);
    expect(error.message.length).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_CHARS + 20);
    expect(error.message).toMatch(
      /^The ID token failed verification: Issuer not allowed: https:\/\/evil\.example\/x+\.\.\. \(cut\)$/,
    );
    const answer = toErrorResponse(error);
    expect(answer).toMatchObject({ status: 502, code: 'upstream_token_invalid', message: error.message });
  });

  it('are kept whole up to the limit', () => {
    const message = 'm'.repeat(MAX_ERROR_MESSAGE_CHARS);
    expect(new InvalidRequestError(message).message).toBe(message);
  });
});
