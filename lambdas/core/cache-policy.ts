import type { Session } from './ports';

// When a cached session may be served: only while its tokens stay valid for minTtl plus the clock-skew margin; and
// when it falls due for a proactive renewal.

/** Whole seconds until the session's tokens expire (negative once expired). */
export function remainingSeconds(session: Pick<Session, 'expiresAt'>, nowMs: number): number {
  return session.expiresAt - Math.floor(nowMs / 1000);
}

/** Whether the session may be served to a caller who needs `minTtlSeconds`: `exp - now >= minTtl + skew`. */
export function satisfies(
  session: Pick<Session, 'expiresAt'>,
  nowMs: number,
  minTtlSeconds: number,
  skewSeconds: number,
): boolean {
  return remainingSeconds(session, nowMs) >= minTtlSeconds + skewSeconds;
}

/**
 * When a proactive renewal falls due: once `renewAtFraction` of the lifetime from `issuedAt` to `expiresAt` (epoch
 * seconds) has passed. The refresher, the token vendor and the credentials vendor decide with this one rule.
 */
export function renewalDueAt(
  lifetime: { readonly issuedAt: number; readonly expiresAt: number },
  renewAtFraction: number,
): number {
  return lifetime.issuedAt + (lifetime.expiresAt - lifetime.issuedAt) * renewAtFraction;
}
