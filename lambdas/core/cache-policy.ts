import type { Session } from './ports';

// When a cached session may be served: only while its tokens stay valid for minTtl plus the clock-skew margin.

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
