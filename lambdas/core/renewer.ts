// Renewal of one tenant's session at the upstream: the refresh token first, one password sign-in second,
// bounded jittered retries of throttling and outages inside the vend's time budget, the lockout guard
// around sign-in, and the compare-and-swap write of the result to both cache layers.

import { jitteredDelayMs } from './backoff';
import { remainingSeconds } from './cache-policy';
import type { Deadline } from './deadline';
import type { Demand } from './demand';
import {
  UpstreamAuthFailedError,
  UpstreamBusyError,
  UpstreamTokenInvalidError,
  UpstreamUnavailableError,
} from './errors';
import { assertHeaderSafe } from './header-safety';
import type { LockoutGuard } from './lockout-guard';
import type {
  AuthProvider,
  Clock,
  FailureMark,
  ProviderSession,
  Session,
  SessionCache,
  TenantRecord,
  TenantStore,
  VendorEvent,
} from './ports';
import type { SharedLayer } from './shared-layer';
import type { ProviderKind } from './tenant-config';

/**
 * The longest wait a busy upstream may ask for (`Retry-After`) that a vend waits itself before asking again; the
 * vend's budget still decides whether it fits.
 */
export const MAX_ASKED_WAIT_IN_VEND_MS = 2_000;

/** What one vend (or refresher run) brings to a renewal: its deadline and its view of the shared layer. */
export interface VendScope {
  readonly deadline: Deadline;
  readonly shared: SharedLayer;
}

export interface RenewerDeps {
  readonly tenants: TenantStore;
  readonly providers: Readonly<Record<ProviderKind, AuthProvider>>;
  readonly cache: SessionCache;
  readonly guard: LockoutGuard;
  readonly clock: Clock;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
  readonly emit: (event: VendorEvent) => void;
  /** Attempts for a throttled or unavailable upstream call, the first included. */
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly retryCapMs: number;
}

export class Renewer {
  constructor(private readonly deps: RenewerDeps) {}

  /** Renew with the refresh token when there is one for this secret version, else sign in. */
  async renew(
    demand: Demand,
    known: Session | undefined,
    sharedRevision: number | undefined,
    scope: VendScope,
  ): Promise<Session> {
    const { tenant } = demand;
    const { tenantId } = tenant;
    const current = demand.isCurrent(known) ? known : undefined;
    if (current && demand.accepts(current)) return current;

    const provider = this.deps.providers[tenant.config.provider];
    if (current?.refreshToken) {
      // The upstream asked the fleet to wait: a refresh would be asking again all the same.
      const mark = await this.deps.guard.activeMark(tenant, scope.shared);
      const read = { mark };
      this.deps.guard.throwIfBusy(tenant, mark);
      try {
        const renewed = await this.withRetries(tenantId, scope.deadline, 'refresh', () =>
          provider.refresh(tenantId, tenant.config, current, { signal: scope.deadline.signal }),
        );
        this.deps.emit({ type: 'refresh', tenantId });
        return await this.store(tenant, renewed, current, sharedRevision, scope);
      } catch (error) {
        if (error instanceof UpstreamBusyError) await this.deps.guard.recordBusy(tenant, error, mark, scope.shared);
        if (!(error instanceof UpstreamAuthFailedError)) throw this.report(tenantId, error);
        // The refresh token expired or was revoked: fall back to one password sign-in.
        this.deps.emit({ type: 'refresh_rejected', tenantId });
        return this.signIn(tenant, provider, sharedRevision, scope, read);
      }
    }
    return this.signIn(tenant, provider, sharedRevision, scope);
  }

  /**
   * @param read the tenant's mark when the refresh before this sign-in has read it (under the same lease, so nobody
   *   has written one since): not read again.
   */
  private async signIn(
    tenant: TenantRecord,
    provider: AuthProvider,
    sharedRevision: number | undefined,
    scope: VendScope,
    read?: { readonly mark: FailureMark | undefined },
  ): Promise<Session> {
    const { tenantId } = tenant;
    const { guard } = this.deps;
    const mark = read ? read.mark : await guard.activeMark(tenant, scope.shared);
    guard.throwIfPaused(tenant, mark);
    try {
      const fresh = await this.withRetries(tenantId, scope.deadline, 'sign-in', () =>
        provider.signIn(tenantId, tenant.config, { signal: scope.deadline.signal }),
      );
      this.deps.emit({ type: 'sign_in', tenantId });
      if (mark) await guard.clear(tenantId, scope.shared);
      return await this.store(tenant, fresh, undefined, sharedRevision, scope);
    } catch (error) {
      if (guard.pauses(error)) {
        const paused = await guard.record(tenant, error, mark, scope.shared);
        // An operator may have just rotated the credentials: read the secret again next time.
        this.deps.tenants.invalidate(tenantId);
        this.report(tenantId, error);
        throw paused;
      }
      if (error instanceof UpstreamBusyError) await guard.recordBusy(tenant, error, mark, scope.shared);
      throw this.report(tenantId, error);
    }
  }

  /** Stamp the provider's session, write it to the shared cache (compare-and-swap) and to L1. */
  private async store(
    tenant: TenantRecord,
    fresh: ProviderSession,
    previous: Session | undefined,
    sharedRevision: number | undefined,
    scope: VendScope,
  ): Promise<Session> {
    const session: Session = {
      ...fresh,
      tenantId: tenant.tenantId,
      provider: tenant.config.provider,
      secretVersion: tenant.version,
      refreshToken: fresh.refreshToken ?? previous?.refreshToken,
      identityId: fresh.identityId ?? previous?.identityId,
      issuedAt: Math.floor(this.deps.clock.now() / 1000),
    };
    // Whatever the provider, nothing that could split a header or smuggle a line is ever cached or vended.
    for (const [field, value] of Object.entries(session.tokens)) {
      if (typeof value === 'string') assertHeaderSafe(tenant.tenantId, field, value);
    }
    if (session.identityId !== undefined) assertHeaderSafe(tenant.tenantId, 'identity id', session.identityId);
    if (remainingSeconds(session, this.deps.clock.now()) <= 0) {
      throw new UpstreamTokenInvalidError(
        `The upstream of tenant '${tenant.tenantId}' returned tokens that have already expired.`,
      );
    }
    const stored = await scope.shared.put(session, sharedRevision);
    await this.deps.cache.put(stored);
    // After a compare-and-swap conflict the table keeps the session another container wrote first when it lives
    // about as long (it holds the newest refresh token), and so does this container's memory. This renewal's own
    // tokens are as valid and may live up to a minute longer: the callers of this flight get whichever lives longer.
    const keptTheirs = stored.secretVersion !== session.secretVersion || stored.expiresAt < session.expiresAt;
    return keptTheirs ? session : stored;
  }

  /**
   * Retry throttling and outages with jittered backoff while the budget lasts (at least the wait a busy upstream
   * asked for, and not at all when it asked for more than {@link MAX_ASKED_WAIT_IN_VEND_MS}); everything else fails
   * at once, and so does an outage that repeating the call cannot cure (`retrySignIn: false`, e.g. the upstream's
   * signing keys are unreachable: signing in again would only spend the user's sign-in budget).
   */
  private async withRetries<T>(
    tenantId: string,
    deadline: Deadline,
    stage: string,
    call: () => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      deadline.check(`upstream ${stage}`);
      try {
        return await deadline.race(call(), `upstream ${stage}`);
      } catch (error) {
        if (!(error instanceof UpstreamUnavailableError) || !error.retrySignIn || attempt >= this.deps.maxAttempts) {
          throw error;
        }
        let delayMs = jitteredDelayMs(attempt, this.deps.retryBaseMs, this.deps.retryCapMs, this.deps.random);
        if (error instanceof UpstreamBusyError) {
          // The upstream said how long to wait: up to MAX_ASKED_WAIT_IN_VEND_MS it is waited in full here; a longer
          // wait is the callers' (503 with that Retry-After) and the fleet's (the lockout guard's busy mark).
          const askedMs = error.retryAfterSeconds * 1000;
          if (askedMs > MAX_ASKED_WAIT_IN_VEND_MS) throw error;
          delayMs = Math.max(delayMs, askedMs);
        }
        // No time left for another attempt: answer with this outage (and its Retry-After) now.
        if (!deadline.allows(delayMs)) throw error;
        this.deps.emit({ type: 'upstream_retry', tenantId, attempt });
        await this.deps.sleep(delayMs);
      }
    }
  }

  private report(tenantId: string, error: unknown): unknown {
    const code =
      error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : 'internal_error';
    const reason = error instanceof UpstreamAuthFailedError ? error.reason : undefined;
    this.deps.emit({ type: 'upstream_failure', tenantId, code, ...(reason ? { reason } : {}) });
    return error;
  }
}
