// Forced renewals (`rejected=<fingerprint>`) are rate-limited per tenant, fleet-wide: at most one per
// interval (default 30 s). A caller that reports the current token refused inside the interval gets 429
// `renewal_rate_limited` with Retry-After; callers whose report is already out of date get the renewed
// session without any upstream call (the vendor checks that before it asks for a slot).

import { RenewalRateLimitedError } from './errors';
import type { Clock, RenewalClaim, RenewalMarks, VendorEvent } from './ports';
import type { SharedLayer } from './shared-layer';

/** Default interval between two forced renewals of one tenant. */
export const FORCED_RENEWAL_INTERVAL_MS = 30_000;

/** This container's forced-renewal marks. */
export class MemoryRenewalMarks implements RenewalMarks {
  private readonly lastAt = new Map<string, number>();

  async tryClaim(tenantId: string, nowMs: number, intervalMs: number): Promise<RenewalClaim> {
    const last = this.lastAt.get(tenantId);
    if (last !== undefined && last > nowMs - intervalMs) return { claimed: false, lastAt: last };
    this.lastAt.set(tenantId, nowMs);
    return { claimed: true };
  }

  /** Remember a renewal another container made (so this one answers 429 without asking the table). */
  note(tenantId: string, at: number): void {
    this.lastAt.set(tenantId, at);
  }
}

export class RenewalLimiter {
  private readonly local = new MemoryRenewalMarks();

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly emit: (event: VendorEvent) => void,
  ) {}

  /** Take the tenant's forced-renewal slot, in this container and then fleet-wide, or throw 429. */
  async claim(tenantId: string, shared: SharedLayer): Promise<void> {
    const now = this.clock.now();
    let claim = await this.local.tryClaim(tenantId, now, this.intervalMs);
    if (claim.claimed) {
      claim = await shared.claimRenewal(tenantId, now, this.intervalMs);
      if (!claim.claimed) this.local.note(tenantId, claim.lastAt);
    }
    if (!claim.claimed) {
      const retryAfterSeconds = Math.max(1, Math.ceil((claim.lastAt + this.intervalMs - now) / 1000));
      this.emit({ type: 'renewal_rate_limited', tenantId, retryAfterSeconds });
      throw new RenewalRateLimitedError(tenantId, retryAfterSeconds);
    }
    this.emit({ type: 'forced_renewal', tenantId });
  }
}
