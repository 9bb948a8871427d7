import type { Session } from './ports';

/** A cached session may be served only while its tokens stay valid for minTtl plus the clock-skew margin. */
export function remainingSeconds(session: Pick<Session, 'expiresAt'>, nowMs: number): number {
  return session.expiresAt - Math.floor(nowMs / 1000);
}

export function satisfies(
  session: Pick<Session, 'expiresAt'>,
  nowMs: number,
  minTtlSeconds: number,
  skewSeconds: number,
): boolean {
  return remainingSeconds(session, nowMs) >= minTtlSeconds + skewSeconds;
}
