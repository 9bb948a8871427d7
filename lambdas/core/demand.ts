// What one caller (or the refresher) needs from a tenant's session, and what a session it has seen says
// about that need: serve it, renew because the caller reported it refused, or refuse at once because the
// tenant's tokens can never live long enough.

import { satisfies } from './cache-policy';
import { InvalidRequestError } from './errors';
import { fingerprint, primaryToken } from './fingerprint';
import type { Clock, Session, TenantRecord } from './ports';

export interface DemandOptions {
  /** Seconds the token must stay valid. */
  readonly minTtlSeconds: number;
  /** Margin added to `minTtlSeconds`. */
  readonly skewSeconds: number;
  /** Fingerprint of a token the upstream refused (`rejected=`): a session holding it is not served. */
  readonly rejected?: string | undefined;
  /** Only sessions obtained after this time (epoch seconds) are accepted (the refresher moves forward). */
  readonly issuedAfter?: number;
}

export class Demand {
  constructor(
    readonly tenant: TenantRecord,
    private readonly options: DemandOptions,
    private readonly clock: Clock,
  ) {}

  /** The session belongs to the tenant's current secret version. */
  isCurrent(session: Session | undefined): session is Session {
    return session?.secretVersion === this.tenant.version;
  }

  /** The session can be served for this demand. */
  accepts(session: Session): boolean {
    return this.fitsExceptRejection(session) && !this.holdsRejected(session);
  }

  /** The session would be served but for the caller's report that its token was refused: a forced renewal. */
  onlyRejected(session: Session): boolean {
    return this.fitsExceptRejection(session) && this.holdsRejected(session);
  }

  /**
   * Throw 400 when `session` (current secret version) shows that the tenant's tokens live shorter than
   * `minTtl` + skew: no renewal can meet it, so none is attempted.
   */
  assertSatisfiable(session: Session | undefined): void {
    if (session && !this.satisfiableBy(session)) throw this.unmet(session.expiresAt - session.issuedAt);
  }

  /** False when `session` (current secret version) shows the tenant's tokens live shorter than `minTtl` + skew. */
  satisfiableBy(session: Session | undefined): boolean {
    if (!this.isCurrent(session)) return true;
    const { minTtlSeconds, skewSeconds } = this.options;
    return session.expiresAt - session.issuedAt >= minTtlSeconds + skewSeconds;
  }

  /** The 400 for a minTtl that tokens living `lifetimeSeconds` cannot meet. */
  unmet(lifetimeSeconds: number): InvalidRequestError {
    const { minTtlSeconds, skewSeconds } = this.options;
    return new InvalidRequestError(
      `minTtl=${minTtlSeconds} cannot be met: tenant '${this.tenant.tenantId}' receives tokens valid for ` +
        `${lifetimeSeconds} s (${skewSeconds} s are kept as clock-skew margin).`,
    );
  }

  private fitsExceptRejection(session: Session): boolean {
    return (
      this.isCurrent(session) &&
      satisfies(session, this.clock.now(), this.options.minTtlSeconds, this.options.skewSeconds) &&
      (this.options.issuedAfter === undefined || session.issuedAt > this.options.issuedAfter)
    );
  }

  private holdsRejected(session: Session): boolean {
    return this.options.rejected !== undefined && fingerprint(primaryToken(session.tokens)) === this.options.rejected;
  }
}
