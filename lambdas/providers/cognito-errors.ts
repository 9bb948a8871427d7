// How real Cognito's answers (and a Cognito-compatible endpoint's) map to the service's errors: which names are a
// rejected user, which a rejected app client (paused like a wrong password), which an outage worth retrying, and that
// a redirect is never followed.

import { BodyTooLongError } from '../../contract/bounded-body';
import {
  UpstreamAuthFailedError,
  UpstreamTokenInvalidError,
  UpstreamUnavailableError,
  type AuthFailureReason,
} from '../core/errors';
import { isTransportFailure } from './upstream-http';

const AUTH_FAILURES: Readonly<Record<string, AuthFailureReason>> = {
  NotAuthorizedException: 'not_authorized',
  // cognito-local answers a wrong password with this; real Cognito uses it for password-policy violations.
  InvalidPasswordException: 'not_authorized',
  UserNotFoundException: 'user_not_found',
  PasswordResetRequiredException: 'password_reset_required',
  UserNotConfirmedException: 'user_not_confirmed',
};

const OPERATOR_HINTS: Readonly<Record<AuthFailureReason, string>> = {
  not_authorized: 'the username or password is wrong, or the user is disabled or locked',
  user_not_found: 'the user does not exist in the pool',
  password_reset_required: 'the user must reset the password; store the new one in the tenant secret',
  user_not_confirmed: 'the user is not confirmed; confirm it in the user pool',
  client_rejected: 'the app client rejected the request; check the client id, its auth flows and secret',
  locked_out: 'sign-in is paused',
};

const UNAVAILABLE = new Set([
  'TooManyRequestsException',
  'LimitExceededException',
  'InternalErrorException',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  // A pool trigger (Lambda) throttled or timed out: transient, not a rejection of the client or the credentials.
  'UnexpectedLambdaException',
]);

/**
 * Real Cognito answers a wrong or missing SECRET_HASH with NotAuthorizedException ("Unable to verify secret hash
 * for client ...", "Client ... is configured with secret but SECRET_HASH was not received"): the app client
 * settings are wrong, not the password.
 */
const CLIENT_SECRET_MESSAGE = /secret hash|SECRET_HASH/i;

interface SdkErrorShape {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/**
 * The SDK's error as a cause, without anything the upstream wrote: an answer's message is the endpoint's own text
 * (a proxy in front of a Cognito-compatible endpoint may quote the request, password included), so an error from
 * an answer keeps only its name and HTTP status. A network error (no answer) is kept whole: its message is Node's.
 * Nothing for answers that failed to parse: their message (V8 quotes the text) or `$responseBodyText` may hold a
 * token.
 */
function causeOf(error: unknown): ErrorOptions | undefined {
  if (!(error instanceof Error) || error.name === 'SyntaxError' || '$responseBodyText' in error) return undefined;
  if (/deserializ|json/i.test(error.message)) return undefined;
  const status = (error as SdkErrorShape).$metadata?.httpStatusCode;
  if (status === undefined) return { cause: error };
  const answered = new Error(`${error.name} (HTTP ${status})`);
  answered.name = error.name;
  return { cause: Object.assign(answered, { $metadata: { httpStatusCode: status } }) };
}

/** Map an SDK or network error to the service's error classes. Never includes request parameters. */
export function classifyCognitoError(tenantId: string, operation: string, error: unknown): Error {
  const shape = (error ?? {}) as SdkErrorShape;
  const name = shape.name ?? 'Error';
  const status = shape.$metadata?.httpStatusCode;
  const reason =
    name === 'NotAuthorizedException' && CLIENT_SECRET_MESSAGE.test(shape.message ?? '')
      ? 'client_rejected'
      : Object.hasOwn(AUTH_FAILURES, name)
        ? AUTH_FAILURES[name]
        : undefined;
  if (status !== undefined && status >= 300 && status < 400) {
    // The endpoint redirected: the request (password, refresh token) is never sent on, and retrying cannot help.
    return new UpstreamAuthFailedError(
      `The Cognito endpoint of tenant '${tenantId}' answered ${operation} with a redirect (HTTP ${status}), which is ` +
        'never followed: set endpoint to the final URL.',
      'client_rejected',
    );
  }
  // The answer was over the client's cap (aws-client-options.ts): cut, never buffered, and no Cognito answer (unless
  // it was an outage's or throttling's page, a proxy's maintenance page say: then an outage, retried).
  if (error instanceof BodyTooLongError && !(status !== undefined && (status >= 500 || status === 429))) {
    return new UpstreamTokenInvalidError(
      `The Cognito endpoint of tenant '${tenantId}' answered ${operation} with more than ${error.maxBytes} bytes; ` +
        'the answer was cut unread.',
    );
  }
  const cause = causeOf(error);
  if (reason) {
    return new UpstreamAuthFailedError(
      `Cognito rejected ${operation} for tenant '${tenantId}' (${name}): ${OPERATOR_HINTS[reason]}.`,
      reason,
      undefined,
      cause,
    );
  }
  // The answer broke off (a reset mid-body): an outage, retried, never a rejection that pauses the tenant.
  if (isTransportFailure(error)) {
    return new UpstreamUnavailableError(`Cognito is unavailable for tenant '${tenantId}' (${name}).`, undefined, cause);
  }
  // A 2xx whose body is not Cognito's answer (an HTML page, garbage, a body its content-encoding cannot decode):
  // a broken upstream, not a rejection of the credentials or the app client.
  if (status !== undefined && status >= 200 && status < 300) {
    return new UpstreamTokenInvalidError(
      `The Cognito endpoint of tenant '${tenantId}' answered ${operation} with HTTP ${status} and a body that is not Cognito's answer (${name}).`,
      cause,
    );
  }
  if (UNAVAILABLE.has(name) || status === undefined || status >= 500 || status === 429 || shape.$retryable) {
    return new UpstreamUnavailableError(`Cognito is unavailable for tenant '${tenantId}' (${name}).`, undefined, cause);
  }
  return new UpstreamAuthFailedError(
    `Cognito rejected ${operation} for tenant '${tenantId}' (${name}): ${OPERATOR_HINTS.client_rejected}.`,
    'client_rejected',
    undefined,
    cause,
  );
}
