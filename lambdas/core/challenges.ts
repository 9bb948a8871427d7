// Challenges an upstream can ask at sign-in that the service cannot answer on its own (Cognito's names: an MFA code,
// a new password, a remembered device), and what an operator does about each.

import { UpstreamChallengeRequiredError } from './errors';

const MFA = 'the user has MFA; use a service user without MFA for this tenant';
const DEVICES =
  'the pool remembers devices for this user; turn device tracking off ("Remember user devices": off) for the pool';

/** What an operator does about a challenge the service cannot answer on its own. */
const CHALLENGE_HINTS: Readonly<Record<string, string>> = {
  NEW_PASSWORD_REQUIRED:
    'set a permanent password for the user (e.g. admin-set-user-password --permanent) and store it in the tenant secret',
  SMS_MFA: MFA,
  SMS_OTP: MFA,
  EMAIL_OTP: MFA,
  SOFTWARE_TOKEN_MFA: MFA,
  SELECT_MFA_TYPE: MFA,
  MFA_SETUP: 'the pool requires MFA setup; exempt the service user from MFA or use a pool without it',
  DEVICE_SRP_AUTH: DEVICES,
  DEVICE_PASSWORD_VERIFIER: DEVICES,
  CUSTOM_CHALLENGE: 'the pool runs a custom auth challenge; use an app client without custom auth for this tenant',
};

/** A challenge name as the upstream sent it when it looks like one (`SMS_MFA`), else a placeholder. */
export function challengeNameOf(sent: string): string {
  return /^[A-Z][A-Z0-9_]{0,63}$/.test(sent) ? sent : 'UNRECOGNIZED_CHALLENGE';
}

/**
 * `upstream_challenge_required` with an operator hint for the challenge. The name is the upstream's: one that does
 * not look like a challenge name is not quoted (it goes into answers, logs and the fleet's lockout mark).
 * @param retryAfterSeconds how long sign-in is paused for it (lockout guard).
 */
export function challengeRequired(
  tenantId: string,
  challengeName: string,
  retryAfterSeconds?: number,
): UpstreamChallengeRequiredError {
  const name = challengeNameOf(challengeName);
  const hint = Object.hasOwn(CHALLENGE_HINTS, name) ? CHALLENGE_HINTS[name] : undefined;
  return new UpstreamChallengeRequiredError(tenantId, name, hint, retryAfterSeconds);
}
