/** Lockout guard backoff: 5 minutes after the first rejected password, doubling up to an hour. */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
}

export const LOCKOUT_BACKOFF: BackoffPolicy = { baseMs: 5 * 60_000, maxMs: 60 * 60_000 };

/**
 * Sign-in pause after a sign-in answered with tokens that fail verification: 30 s, doubling up to an hour. Shorter at
 * first than {@link LOCKOUT_BACKOFF}: one garbled answer should not keep a tenant waiting five minutes, and a wrong
 * pool or issuer in the secret (the usual cause) still costs at most one sign-in an hour once the pause has grown.
 */
export const UNUSABLE_SIGN_IN_BACKOFF: BackoffPolicy = { baseMs: 30_000, maxMs: 60 * 60_000 };

export function backoffDelayMs(failures: number, policy: BackoffPolicy = LOCKOUT_BACKOFF): number {
  const exponent = Math.max(0, failures - 1);
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(exponent, 30));
}

/** "Full jitter" delay for retrying a throttled or failing upstream call. */
export function jitteredDelayMs(attempt: number, baseMs: number, capMs: number, random: () => number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}
