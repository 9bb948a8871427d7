// Lockout guard: after the upstream rejects a tenant's credentials or app client, password sign-in for that
// tenant pauses with exponential backoff (5 min doubling to 1 h), fleet-wide. Requests inside the pause get
// 502 at once, with Retry-After, without calling the upstream; a new secret version clears the pause.

import { backoffDelayMs, LOCKOUT_BACKOFF, type BackoffPolicy } from './backoff';
import { UpstreamAuthFailedError, type AuthFailureReason } from './errors';
import type { Clock, FailureMark, FailureMarks, TenantRecord, VendorEvent } from './ports';
import type { SharedLayer } from './shared-layer';

/**
 * Failure reasons after which sign-in is paused: retrying cannot help until an operator acts, and each
 * retry may count towards locking the user out. `client_rejected` (unknown app client, auth flow not
 * enabled, bad secret hash) needs an operator as much as a wrong password does.
 */
export const PAUSING_REASONS: ReadonlySet<AuthFailureReason> = new Set<AuthFailureReason>([
  'not_authorized',
  'password_reset_required',
  'user_not_confirmed',
  'user_not_found',
  'client_rejected',
]);

export class LockoutGuard {
  constructor(
    /** This container's marks, kept even when the shared layer is down. */
    private readonly local: FailureMarks,
    private readonly clock: Clock,
    private readonly emit: (event: VendorEvent) => void,
    private readonly backoff: BackoffPolicy = LOCKOUT_BACKOFF,
  ) {}

  /**
   * The tenant's mark for its current secret version, from this container's and the fleet's: the pause that ends
   * last (an older mark with more failures may have ended while a newer one still holds), with the most failures
   * either has counted, so the next rejection backs off further.
   */
  async activeMark(tenant: TenantRecord, shared: SharedLayer): Promise<FailureMark | undefined> {
    const marks = [await this.local.get(tenant.tenantId), await shared.getMark(tenant.tenantId)].filter(
      (mark): mark is FailureMark => mark?.secretVersion === tenant.version,
    );
    const [first, ...others] = marks;
    if (!first) return undefined;
    const longest = others.reduce((a, b) => (b.blockedUntil > a.blockedUntil ? b : a), first);
    const failures = Math.max(...marks.map((mark) => mark.failures));
    return failures === longest.failures ? longest : { ...longest, failures };
  }

  /** Throws 502 `upstream_auth_failed` (reason `locked_out`, Retry-After) while the mark's pause lasts. */
  throwIfPaused(tenant: TenantRecord, mark: FailureMark | undefined): void {
    const now = this.clock.now();
    if (!mark || now >= mark.blockedUntil) return;
    const retryAfterSeconds = Math.ceil((mark.blockedUntil - now) / 1000);
    this.emit({ type: 'locked_out', tenantId: tenant.tenantId, retryAfterSeconds });
    throw new UpstreamAuthFailedError(
      `Sign-in for tenant '${tenant.tenantId}' is paused for ${retryAfterSeconds} s after the upstream rejected its credentials ` +
        `or app client (${mark.reason}); update the tenant secret to retry at once.`,
      'locked_out',
      retryAfterSeconds,
    );
  }

  /** Whether a failure pauses sign-in. */
  pauses(error: unknown): error is UpstreamAuthFailedError {
    return error instanceof UpstreamAuthFailedError && PAUSING_REASONS.has(error.reason);
  }

  /** Record a rejection (one more failure than `previous`) and return the error to answer with, carrying Retry-After. */
  async record(
    tenant: TenantRecord,
    error: UpstreamAuthFailedError,
    previous: FailureMark | undefined,
    shared: SharedLayer,
  ): Promise<UpstreamAuthFailedError> {
    const failures = (previous?.failures ?? 0) + 1;
    const delayMs = backoffDelayMs(failures, this.backoff);
    const mark: FailureMark = {
      secretVersion: tenant.version,
      failures,
      blockedUntil: this.clock.now() + delayMs,
      reason: error.reason,
    };
    await this.local.put(tenant.tenantId, mark);
    await shared.putMark(tenant.tenantId, mark);
    return new UpstreamAuthFailedError(error.message, error.reason, Math.ceil(delayMs / 1000));
  }

  async clear(tenantId: string, shared: SharedLayer): Promise<void> {
    await this.local.clear(tenantId);
    await shared.clearMark(tenantId);
  }
}
