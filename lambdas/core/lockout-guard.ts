// Lockout guard: after the upstream rejects a tenant's credentials or app client, asks a challenge the service
// cannot answer, or answers a sign-in with tokens that fail verification, password sign-in for that tenant pauses
// with exponential backoff, fleet-wide. Requests inside the pause get 502 at once, with the code of the failure
// that started it and Retry-After, without calling the upstream; a new secret version clears the pause.

import { backoffDelayMs, LOCKOUT_BACKOFF, UNUSABLE_SIGN_IN_BACKOFF, type BackoffPolicy } from './backoff';
import { challengeRequired } from './challenges';
import {
  UpstreamAuthFailedError,
  UpstreamBusyError,
  UpstreamChallengeRequiredError,
  UpstreamTokenInvalidError,
  type AuthFailureReason,
} from './errors';
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

/** A failure that pauses sign-in. */
export type PausingFailure = UpstreamAuthFailedError | UpstreamChallengeRequiredError | UpstreamTokenInvalidError;

/** The `reason` of a mark left by a challenge: `challenge:<ChallengeName>`. */
const CHALLENGE_MARK = 'challenge:';
/** The `reason` of a mark left by a sign-in whose tokens failed verification. */
const TOKEN_INVALID_MARK = 'token_invalid';
/** The `reason` of a mark that holds only an upstream's wait (`busyUntil`), no pause of sign-in. */
export const BUSY_MARK = 'upstream_busy';

export class LockoutGuard {
  constructor(
    /** This container's marks, kept even when the shared layer is down. */
    private readonly local: FailureMarks,
    private readonly clock: Clock,
    private readonly emit: (event: VendorEvent) => void,
    /** After rejected credentials or app client, and after a challenge (both need an operator). */
    private readonly backoff: BackoffPolicy = LOCKOUT_BACKOFF,
    /**
     * After a sign-in answered with tokens that fail verification: an operator's mistake (a wrong pool or issuer in
     * the secret) as often as the upstream's, so the pause starts shorter.
     */
    private readonly unusableBackoff: BackoffPolicy = UNUSABLE_SIGN_IN_BACKOFF,
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
    const busyUntil = Math.max(...marks.map((mark) => mark.busyUntil ?? 0));
    if (failures === longest.failures && busyUntil === (longest.busyUntil ?? 0)) return longest;
    return { ...longest, failures, ...(busyUntil > 0 ? { busyUntil } : {}) };
  }

  /**
   * While the mark's pause lasts, throws what started it (502 `upstream_auth_failed` with reason `locked_out`,
   * `upstream_challenge_required` or `upstream_token_invalid`), with Retry-After.
   */
  throwIfPaused(tenant: TenantRecord, mark: FailureMark | undefined): void {
    const now = this.clock.now();
    if (!mark || now >= mark.blockedUntil) {
      this.throwIfBusy(tenant, mark);
      return;
    }
    const retryAfterSeconds = Math.ceil((mark.blockedUntil - now) / 1000);
    this.emit({ type: 'locked_out', tenantId: tenant.tenantId, retryAfterSeconds });
    throw pausedError(tenant.tenantId, mark.reason, retryAfterSeconds);
  }

  /**
   * Throws 503 `upstream_unavailable` with Retry-After while the upstream's own wait lasts (see {@link recordBusy}):
   * before a refresh, which the other pauses do not stop (a rejected password leaves the refresh token good).
   */
  throwIfBusy(tenant: TenantRecord, mark: FailureMark | undefined): void {
    const now = this.clock.now();
    if (mark?.busyUntil === undefined || now >= mark.busyUntil) return;
    throw busyError(tenant.tenantId, Math.ceil((mark.busyUntil - now) / 1000));
  }

  /**
   * The upstream asked to wait (429 or 5xx with `Retry-After`) longer than one vend retries: no container calls it
   * for this tenant until then, neither to sign in nor to refresh. Not a failure of the tenant's: it is kept in the
   * mark's own `busyUntil`, beside any pause the mark holds, whose reason, end and count of failures stay.
   */
  async recordBusy(
    tenant: TenantRecord,
    error: UpstreamBusyError,
    previous: FailureMark | undefined,
    shared: SharedLayer,
  ): Promise<void> {
    const busyUntil = this.clock.now() + error.retryAfterSeconds * 1000;
    if ((previous?.busyUntil ?? 0) >= busyUntil) return;
    // Kept beside a pause the mark holds, which goes on as it was (reason, end, failures).
    const mark: FailureMark = previous
      ? { ...previous, busyUntil }
      : { secretVersion: tenant.version, failures: 0, blockedUntil: 0, reason: BUSY_MARK, busyUntil };
    await this.local.put(tenant.tenantId, mark);
    await shared.putMark(tenant.tenantId, mark);
  }

  /** Whether a failure of a password sign-in pauses sign-in. */
  pauses(error: unknown): error is PausingFailure {
    return (
      (error instanceof UpstreamAuthFailedError && PAUSING_REASONS.has(error.reason)) ||
      error instanceof UpstreamChallengeRequiredError ||
      error instanceof UpstreamTokenInvalidError
    );
  }

  /** Record a failure (one more than `previous`) and return the error to answer with, carrying Retry-After. */
  async record(
    tenant: TenantRecord,
    error: PausingFailure,
    previous: FailureMark | undefined,
    shared: SharedLayer,
  ): Promise<PausingFailure> {
    const failures = (previous?.failures ?? 0) + 1;
    const reason = markReason(error);
    const delayMs = backoffDelayMs(failures, reason === TOKEN_INVALID_MARK ? this.unusableBackoff : this.backoff);
    const mark: FailureMark = {
      secretVersion: tenant.version,
      failures,
      blockedUntil: this.clock.now() + delayMs,
      reason,
      ...(previous?.busyUntil !== undefined ? { busyUntil: previous.busyUntil } : {}),
    };
    await this.local.put(tenant.tenantId, mark);
    await shared.putMark(tenant.tenantId, mark);
    const retryAfterSeconds = Math.ceil(delayMs / 1000);
    if (error instanceof UpstreamAuthFailedError) {
      return new UpstreamAuthFailedError(error.message, error.reason, retryAfterSeconds);
    }
    return pausedError(tenant.tenantId, reason, retryAfterSeconds, error);
  }

  async clear(tenantId: string, shared: SharedLayer): Promise<void> {
    await this.local.clear(tenantId);
    await shared.clearMark(tenantId);
  }
}

function busyError(tenantId: string, retryAfterSeconds: number): UpstreamBusyError {
  return new UpstreamBusyError(
    `The upstream of tenant '${tenantId}' asked to wait; it is not called again for ${retryAfterSeconds} s.`,
    retryAfterSeconds,
  );
}

/** What a mark records of the failure that set it. */
function markReason(error: PausingFailure): string {
  if (error instanceof UpstreamChallengeRequiredError) return `${CHALLENGE_MARK}${error.challengeName}`;
  if (error instanceof UpstreamTokenInvalidError) return TOKEN_INVALID_MARK;
  return error.reason;
}

/**
 * The answer while a mark pauses sign-in: the failure that set the mark, told again with Retry-After. `first`: that
 * failure itself, when it has just happened (its message says more than the mark can).
 */
function pausedError(
  tenantId: string,
  reason: string,
  retryAfterSeconds: number,
  first?: UpstreamChallengeRequiredError | UpstreamTokenInvalidError,
): PausingFailure {
  if (reason.startsWith(CHALLENGE_MARK)) {
    return challengeRequired(tenantId, reason.slice(CHALLENGE_MARK.length), retryAfterSeconds);
  }
  if (reason === TOKEN_INVALID_MARK) {
    return new UpstreamTokenInvalidError(
      first?.message ??
        `The upstream of tenant '${tenantId}' answered its last sign-in with tokens that failed verification.`,
      undefined,
      retryAfterSeconds,
    );
  }
  return new UpstreamAuthFailedError(
    `Sign-in for tenant '${tenantId}' is paused for ${retryAfterSeconds} s after the upstream rejected its credentials ` +
      `or app client (${reason}); update the tenant secret to retry at once.`,
    'locked_out',
    retryAfterSeconds,
  );
}
