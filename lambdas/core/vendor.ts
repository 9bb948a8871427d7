import { randomUUID } from 'node:crypto';

import { backoffDelayMs, jitteredDelayMs, LOCKOUT_BACKOFF, type BackoffPolicy } from './backoff';
import { remainingSeconds, satisfies } from './cache-policy';
import {
  InvalidRequestError,
  UpstreamAuthFailedError,
  UpstreamTokenInvalidError,
  UpstreamUnavailableError,
} from './errors';
import { fingerprint, primaryToken } from './fingerprint';
import type {
  AuthProvider,
  Clock,
  FailureMark,
  FailureMarks,
  LeaseStore,
  ProviderSession,
  Session,
  SessionCache,
  SharedSessionCache,
  TenantRecord,
  TenantStore,
  VendorEvent,
} from './ports';
import { SingleFlight } from './single-flight';
import type { ProviderKind } from './tenant-config';

export interface VendorOptions {
  /** Margin added to every minTtl to absorb clock differences with the caller and upstream. @default 30 */
  readonly clockSkewSeconds?: number;
  /** Attempts for a throttled or unavailable upstream call, the first included. @default 3 */
  readonly maxUpstreamAttempts?: number;
  /** Base and cap of the jittered retry delay. @default 200 / 2000 ms */
  readonly retryBaseMs?: number;
  readonly retryCapMs?: number;
  readonly lockoutBackoff?: BackoffPolicy;
  /** How long a fleet-wide renewal lease lasts. @default 10000 */
  readonly leaseTtlMs?: number;
  /** How long a container waits for another's renewal before giving up. @default 12000 */
  readonly leaseWaitMs?: number;
}

/** The fleet-wide layer (DynamoDB in production). Every call may fail: the vendor then carries on without it. */
export interface SharedState {
  readonly cache: SharedSessionCache;
  readonly leases: LeaseStore;
  readonly failureMarks: FailureMarks;
}

export interface VendorDeps {
  readonly tenants: TenantStore;
  readonly providers: Readonly<Record<ProviderKind, AuthProvider>>;
  /** L1: this container's memory. */
  readonly cache: SessionCache;
  /** Lockout marks of this container (kept even when the shared layer is down). */
  readonly failureMarks: FailureMarks;
  readonly shared?: SharedState;
  readonly clock: Clock;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly onEvent?: (event: VendorEvent) => void;
  readonly options?: VendorOptions;
}

export type VendSource = 'memory' | 'shared' | 'upstream';

export interface VendResult {
  readonly tenant: TenantRecord;
  readonly session: Session;
  /** Served from this container's memory without any I/O beyond the tenant store. */
  readonly cacheHit: boolean;
  readonly source: VendSource;
}

interface Obtained {
  readonly session: Session;
  readonly source: VendSource;
}

type Accept = (session: Session) => boolean;

/** Failure reasons after which password sign-in is paused: retrying cannot help and may lock the user out. */
const LOCKOUT_REASONS = new Set(['not_authorized', 'password_reset_required', 'user_not_confirmed', 'user_not_found']);

/**
 * Turns a tenant id into a verified session whose tokens stay valid for at least
 * the requested time: memory (L1) first, then the shared cache (L2), then one
 * upstream renewal per tenant at a time (in-process single flight plus a
 * fleet-wide lease), refresh token first and password second, guarded against
 * account lockout.
 */
export class TokenVendor {
  private readonly flights = new SingleFlight<Obtained>();
  private readonly skew: number;
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private readonly retryCapMs: number;
  private readonly lockoutBackoff: BackoffPolicy;
  private readonly leaseTtlMs: number;
  private readonly leaseWaitMs: number;
  private readonly holder = randomUUID();
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly emit: (event: VendorEvent) => void;

  constructor(private readonly deps: VendorDeps) {
    const options = deps.options ?? {};
    this.skew = options.clockSkewSeconds ?? 30;
    this.maxAttempts = Math.max(1, options.maxUpstreamAttempts ?? 3);
    this.retryBaseMs = options.retryBaseMs ?? 200;
    this.retryCapMs = options.retryCapMs ?? 2000;
    this.lockoutBackoff = options.lockoutBackoff ?? LOCKOUT_BACKOFF;
    this.leaseTtlMs = options.leaseTtlMs ?? 10_000;
    this.leaseWaitMs = options.leaseWaitMs ?? 12_000;
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = deps.random ?? Math.random;
    this.emit = deps.onEvent ?? (() => undefined);
  }

  /**
   * @param rejectedFingerprint fingerprint of a token the upstream refused: a session
   *   holding that token is renewed rather than served again (once per rejected token).
   */
  async vend(tenantId: string, minTtlSeconds: number, rejectedFingerprint?: string): Promise<VendResult> {
    const tenant = await this.deps.tenants.get(tenantId);
    const local = await this.deps.cache.get(tenantId);
    const accept: Accept = (session) =>
      session.secretVersion === tenant.version &&
      satisfies(session, this.deps.clock.now(), minTtlSeconds, this.skew) &&
      (rejectedFingerprint === undefined || fingerprint(primaryToken(session.tokens)) !== rejectedFingerprint);
    if (local && accept(local)) {
      this.emit({ type: 'cache_hit', tenantId });
      return { tenant, session: local, cacheHit: true, source: 'memory' };
    }
    const reason = !local ? 'empty' : local.secretVersion !== tenant.version ? 'secret_rotated' : 'stale';
    this.emit({ type: 'cache_miss', tenantId, reason });

    let obtained = await this.flights.run(tenantId, () => this.obtain(tenant, accept));
    // A flight started by a caller with a smaller minTtl may end with a session too short for this one.
    if (!accept(obtained.session) && obtained.source !== 'upstream') {
      obtained = await this.flights.run(tenantId, () => this.obtain(tenant, accept));
    }
    if (!accept(obtained.session)) {
      const lifetime = obtained.session.expiresAt - obtained.session.issuedAt;
      throw new InvalidRequestError(
        `minTtl=${minTtlSeconds} cannot be met: tenant '${tenantId}' receives tokens valid for ${lifetime} s ` +
          `(${this.skew} s are kept as clock-skew margin).`,
      );
    }
    return { tenant, session: obtained.session, cacheHit: false, source: obtained.source };
  }

  /**
   * Proactive refresh: renew the tenant's session when it is missing, from an older
   * secret version, or past `renewAtFraction` of its lifetime. Used by the scheduled refresher.
   */
  async refreshIfDue(tenantId: string, renewAtFraction: number): Promise<'fresh' | 'renewed'> {
    const tenant = await this.deps.tenants.get(tenantId);
    const current = (await this.sharedGet(tenantId)) ?? (await this.deps.cache.get(tenantId));
    const nowSeconds = this.deps.clock.now() / 1000;
    if (current && current.secretVersion === tenant.version) {
      const dueAt = current.issuedAt + (current.expiresAt - current.issuedAt) * renewAtFraction;
      if (nowSeconds < dueAt) return 'fresh';
    }
    // Accept only a session obtained after the one seen here, so the refresh always moves forward.
    const seenIssuedAt = current?.secretVersion === tenant.version ? current.issuedAt : -1;
    await this.flights.run(tenantId, () =>
      this.obtain(tenant, (session) => session.secretVersion === tenant.version && session.issuedAt > seenIssuedAt),
    );
    return 'renewed';
  }

  /** Shared cache, then the fleet-wide lease, then the upstream. Runs at most once per tenant at a time in this container. */
  private async obtain(tenant: TenantRecord, accept: Accept): Promise<Obtained> {
    const { tenantId } = tenant;
    const sharedState = this.deps.shared;
    if (!sharedState) {
      const local = await this.deps.cache.get(tenantId);
      if (local && accept(local)) return { session: local, source: 'memory' };
      return { session: await this.renew(tenant, accept, local, undefined), source: 'upstream' };
    }

    const shared = await this.sharedGet(tenantId);
    if (shared && accept(shared)) return this.adoptShared(shared);

    const started = this.deps.clock.now();
    let delayMs = 50;
    for (;;) {
      if (await this.tryLease(tenantId)) {
        try {
          // The previous holder may have written just before its lease ended.
          const latest = await this.sharedGet(tenantId);
          if (latest && accept(latest)) return this.adoptShared(latest);
          const known = latest ?? (await this.deps.cache.get(tenantId));
          const session = await this.renew(tenant, accept, known, latest?.revision);
          if (this.deps.clock.now() - started > delayMs) {
            this.emit({ type: 'lease_wait', tenantId, waitedMs: this.deps.clock.now() - started, outcome: 'acquired' });
          }
          return { session, source: 'upstream' };
        } finally {
          await this.releaseLease(tenantId);
        }
      }
      const waited = this.deps.clock.now() - started;
      if (waited >= this.leaseWaitMs) {
        this.emit({ type: 'lease_wait', tenantId, waitedMs: waited, outcome: 'timeout' });
        throw new UpstreamUnavailableError(
          `Another container is renewing tenant '${tenantId}' and has not finished in time.`,
          2,
        );
      }
      await this.sleep(delayMs);
      delayMs = Math.min(Math.round(delayMs * 1.5), 500);
      const polled = await this.sharedGet(tenantId);
      if (polled && accept(polled)) {
        this.emit({ type: 'lease_wait', tenantId, waitedMs: this.deps.clock.now() - started, outcome: 'filled' });
        return this.adoptShared(polled);
      }
      // The holder's sign-in was rejected: stop waiting and answer like it.
      this.throwIfLockedOut(tenant, await this.activeMark(tenant));
    }
  }

  private async adoptShared(session: Session): Promise<Obtained> {
    await this.deps.cache.put(session);
    this.emit({ type: 'shared_cache_hit', tenantId: session.tenantId });
    return { session, source: 'shared' };
  }

  /** Renew with the refresh token when there is one for this secret version, else sign in. */
  private async renew(
    tenant: TenantRecord,
    accept: Accept,
    known: Session | undefined,
    sharedRevision: number | undefined,
  ): Promise<Session> {
    const { tenantId } = tenant;
    const current = known?.secretVersion === tenant.version ? known : undefined;
    if (current && accept(current)) return current;

    const provider = this.deps.providers[tenant.config.provider];
    if (current?.refreshToken) {
      try {
        const renewed = await this.withRetries(tenantId, () => provider.refresh(tenantId, tenant.config, current));
        this.emit({ type: 'refresh', tenantId });
        return await this.store(tenant, renewed, current, sharedRevision);
      } catch (error) {
        if (!(error instanceof UpstreamAuthFailedError)) throw this.report(tenantId, error);
        // The refresh token expired or was revoked: fall back to one password sign-in.
        this.emit({ type: 'refresh_rejected', tenantId });
      }
    }
    return this.signIn(tenant, provider, sharedRevision);
  }

  private async signIn(
    tenant: TenantRecord,
    provider: AuthProvider,
    sharedRevision: number | undefined,
  ): Promise<Session> {
    const { tenantId } = tenant;
    const mark = await this.activeMark(tenant);
    this.throwIfLockedOut(tenant, mark);
    try {
      const fresh = await this.withRetries(tenantId, () => provider.signIn(tenantId, tenant.config));
      this.emit({ type: 'sign_in', tenantId });
      if (mark) await this.clearMarks(tenantId);
      return await this.store(tenant, fresh, undefined, sharedRevision);
    } catch (error) {
      if (error instanceof UpstreamAuthFailedError && LOCKOUT_REASONS.has(error.reason)) {
        const failures = (mark?.failures ?? 0) + 1;
        const delayMs = backoffDelayMs(failures, this.lockoutBackoff);
        await this.putMarks(tenantId, {
          secretVersion: tenant.version,
          failures,
          blockedUntil: this.deps.clock.now() + delayMs,
          reason: error.reason,
        });
        // An operator may have just rotated the credentials: read the secret again next time.
        this.deps.tenants.invalidate(tenantId);
        this.report(tenantId, error);
        throw new UpstreamAuthFailedError(error.message, error.reason, Math.ceil(delayMs / 1000));
      }
      throw this.report(tenantId, error);
    }
  }

  private throwIfLockedOut(tenant: TenantRecord, mark: FailureMark | undefined): void {
    const now = this.deps.clock.now();
    if (!mark || now >= mark.blockedUntil) return;
    const retryAfterSeconds = Math.ceil((mark.blockedUntil - now) / 1000);
    this.emit({ type: 'locked_out', tenantId: tenant.tenantId, retryAfterSeconds });
    throw new UpstreamAuthFailedError(
      `Sign-in for tenant '${tenant.tenantId}' is paused for ${retryAfterSeconds} s after the upstream rejected its credentials ` +
        `(${mark.reason}); update the tenant secret to retry at once.`,
      'locked_out',
      retryAfterSeconds,
    );
  }

  private async store(
    tenant: TenantRecord,
    fresh: ProviderSession,
    previous: Session | undefined,
    sharedRevision: number | undefined,
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
    if (remainingSeconds(session, this.deps.clock.now()) <= 0) {
      throw new UpstreamTokenInvalidError(
        `The upstream of tenant '${tenant.tenantId}' returned tokens that have already expired.`,
      );
    }
    let stored = session;
    if (this.deps.shared) {
      try {
        const result = await this.deps.shared.cache.putIfUnchanged(session, sharedRevision);
        stored = result.stored;
        if (result.conflict) this.emit({ type: 'shared_cache_conflict', tenantId: tenant.tenantId });
      } catch (error) {
        this.sharedError(tenant.tenantId, 'put', error);
      }
    }
    await this.deps.cache.put(stored);
    return stored;
  }

  /** Retry throttling and outages with jittered backoff; everything else fails at once. */
  private async withRetries<T>(tenantId: string, call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof UpstreamUnavailableError) || attempt >= this.maxAttempts) throw error;
        this.emit({ type: 'upstream_retry', tenantId, attempt });
        await this.sleep(jitteredDelayMs(attempt, this.retryBaseMs, this.retryCapMs, this.random));
      }
    }
  }

  private report(tenantId: string, error: unknown): unknown {
    const code =
      error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : 'internal_error';
    const reason = error instanceof UpstreamAuthFailedError ? error.reason : undefined;
    this.emit({ type: 'upstream_failure', tenantId, code, ...(reason ? { reason } : {}) });
    return error;
  }

  // ---- shared layer: every failure degrades to local behaviour ----

  private sharedError(tenantId: string, operation: string, error: unknown): void {
    this.emit({
      type: 'shared_cache_error',
      tenantId,
      operation,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }

  private async sharedGet(tenantId: string): Promise<Session | undefined> {
    if (!this.deps.shared) return undefined;
    try {
      return await this.deps.shared.cache.get(tenantId);
    } catch (error) {
      this.sharedError(tenantId, 'get', error);
      return undefined;
    }
  }

  private async tryLease(tenantId: string): Promise<boolean> {
    try {
      return (await this.deps.shared?.leases.tryAcquire(tenantId, this.holder, this.leaseTtlMs)) ?? true;
    } catch (error) {
      // Without the lease table, renew alone rather than not at all.
      this.sharedError(tenantId, 'lease', error);
      return true;
    }
  }

  private async releaseLease(tenantId: string): Promise<void> {
    try {
      await this.deps.shared?.leases.release(tenantId, this.holder);
    } catch (error) {
      this.sharedError(tenantId, 'release', error);
    }
  }

  /** The strictest lockout mark for the tenant's current secret version, local or fleet-wide. */
  private async activeMark(tenant: TenantRecord): Promise<FailureMark | undefined> {
    const marks = [await this.deps.failureMarks.get(tenant.tenantId)];
    if (this.deps.shared) {
      try {
        marks.push(await this.deps.shared.failureMarks.get(tenant.tenantId));
      } catch (error) {
        this.sharedError(tenant.tenantId, 'mark', error);
      }
    }
    return marks
      .filter((mark): mark is FailureMark => mark?.secretVersion === tenant.version)
      .sort((a, b) => b.failures - a.failures || b.blockedUntil - a.blockedUntil)[0];
  }

  private async putMarks(tenantId: string, mark: FailureMark): Promise<void> {
    await this.deps.failureMarks.put(tenantId, mark);
    try {
      await this.deps.shared?.failureMarks.put(tenantId, mark);
    } catch (error) {
      this.sharedError(tenantId, 'mark', error);
    }
  }

  private async clearMarks(tenantId: string): Promise<void> {
    await this.deps.failureMarks.clear(tenantId);
    try {
      await this.deps.shared?.failureMarks.clear(tenantId);
    } catch (error) {
      this.sharedError(tenantId, 'mark', error);
    }
  }
}
