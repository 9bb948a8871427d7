/** Lockout guard backoff: 5 minutes after the first rejected password, doubling up to an hour. */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
}

export const LOCKOUT_BACKOFF: BackoffPolicy = { baseMs: 5 * 60_000, maxMs: 60 * 60_000 };

/**
 * Sign-in pause after a sign-in answered with tokens that fail verification: 30 s, doubling up to 5 minutes. Shorter
 * than {@link LOCKOUT_BACKOFF}, which guards the account against lockout: here nothing does, and an upstream that sent
 * garbled answers for a while (a proxy's error pages with status 200) must not keep the tenant waiting an hour after
 * it recovers. A wrong pool or issuer in the secret (the other usual cause) costs one sign-in per 5 minutes, fleet-wide.
 */
export const UNUSABLE_SIGN_IN_BACKOFF: BackoffPolicy = { baseMs: 30_000, maxMs: 5 * 60_000 };

export function backoffDelayMs(failures: number, policy: BackoffPolicy = LOCKOUT_BACKOFF): number {
  const exponent = Math.max(0, failures - 1);
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(exponent, 30));
}

/** "Full jitter" delay for retrying a throttled or failing upstream call. */
export function jitteredDelayMs(attempt: number, baseMs: number, capMs: number, random: () => number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}
