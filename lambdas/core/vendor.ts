import { backoffDelayMs, jitteredDelayMs, LOCKOUT_BACKOFF, type BackoffPolicy } from './backoff';
import { remainingSeconds, satisfies } from './cache-policy';
import { InvalidRequestError, UpstreamAuthFailedError, UpstreamTokenInvalidError, UpstreamUnavailableError } from './errors';
import type {
  AuthProvider,
  Clock,
  FailureMarks,
  ProviderSession,
  Session,
  SessionCache,
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
}

export interface VendorDeps {
  readonly tenants: TenantStore;
  readonly providers: Readonly<Record<ProviderKind, AuthProvider>>;
  readonly cache: SessionCache;
  readonly failureMarks: FailureMarks;
  readonly clock: Clock;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly onEvent?: (event: VendorEvent) => void;
  readonly options?: VendorOptions;
}

export interface VendResult {
  readonly tenant: TenantRecord;
  readonly session: Session;
  readonly cacheHit: boolean;
}

/** Failure reasons after which password sign-in is paused: retrying cannot help and may lock the user out. */
const LOCKOUT_REASONS = new Set(['not_authorized', 'password_reset_required', 'user_not_confirmed', 'user_not_found']);

/**
 * Turns a tenant id into a verified session whose tokens stay valid for at least
 * the requested time: cache first, then one upstream renewal per tenant at a time
 * (refresh token first, password second), guarded against account lockout.
 */
export class TokenVendor {
  private readonly flights = new SingleFlight<Session>();
  private readonly skew: number;
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private readonly retryCapMs: number;
  private readonly lockoutBackoff: BackoffPolicy;
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
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = deps.random ?? Math.random;
    this.emit = deps.onEvent ?? (() => undefined);
  }

  async vend(tenantId: string, minTtlSeconds: number): Promise<VendResult> {
    const tenant = await this.deps.tenants.get(tenantId);
    const cached = await this.deps.cache.get(tenantId);
    const now = this.deps.clock.now();
    if (cached && cached.secretVersion === tenant.version && satisfies(cached, now, minTtlSeconds, this.skew)) {
      this.emit({ type: 'cache_hit', tenantId });
      return { tenant, session: cached, cacheHit: true };
    }
    const reason = !cached ? 'empty' : cached.secretVersion !== tenant.version ? 'secret_rotated' : 'stale';
    this.emit({ type: 'cache_miss', tenantId, reason });

    const session = await this.flights.run(tenantId, () => this.renew(tenant, minTtlSeconds));
    if (!satisfies(session, this.deps.clock.now(), minTtlSeconds, this.skew)) {
      const lifetime = session.expiresAt - session.issuedAt;
      throw new InvalidRequestError(
        `minTtl=${minTtlSeconds} cannot be met: tenant '${tenantId}' receives tokens valid for ${lifetime} s ` +
          `(${this.skew} s are kept as clock-skew margin).`,
      );
    }
    return { tenant, session, cacheHit: false };
  }

  /**
   * Proactive refresh: renew the tenant's session when it is missing, from an older
   * secret version, or past `renewAtFraction` of its lifetime. Used by the scheduled refresher.
   */
  async refreshIfDue(tenantId: string, renewAtFraction: number): Promise<'fresh' | 'renewed'> {
    const tenant = await this.deps.tenants.get(tenantId);
    const cached = await this.deps.cache.get(tenantId);
    const nowSeconds = this.deps.clock.now() / 1000;
    if (cached && cached.secretVersion === tenant.version) {
      const dueAt = cached.issuedAt + (cached.expiresAt - cached.issuedAt) * renewAtFraction;
      if (nowSeconds < dueAt) return 'fresh';
    }
    // An unreachable minTtl makes renew() go upstream even if the cached session is still valid.
    await this.flights.run(tenantId, () => this.renew(tenant, Number.POSITIVE_INFINITY));
    return 'renewed';
  }

  /** Obtain a new session for the tenant. Runs at most once per tenant at a time. */
  private async renew(tenant: TenantRecord, minTtlSeconds: number): Promise<Session> {
    const { tenantId } = tenant;
    const cached = await this.deps.cache.get(tenantId);
    const current = cached?.secretVersion === tenant.version ? cached : undefined;
    // Another flight (or container) may have renewed while we waited.
    if (current && satisfies(current, this.deps.clock.now(), minTtlSeconds, this.skew)) return current;

    const provider = this.deps.providers[tenant.config.provider];
    if (current?.refreshToken) {
      try {
        const renewed = await this.withRetries(tenantId, () => provider.refresh(tenantId, tenant.config, current));
        this.emit({ type: 'refresh', tenantId });
        return await this.store(tenant, renewed, current);
      } catch (error) {
        if (!(error instanceof UpstreamAuthFailedError)) throw this.report(tenantId, error);
        // The refresh token expired or was revoked: fall back to one password sign-in.
        this.emit({ type: 'refresh_rejected', tenantId });
      }
    }
    return this.signIn(tenant, provider);
  }

  private async signIn(tenant: TenantRecord, provider: AuthProvider): Promise<Session> {
    const { tenantId } = tenant;
    const mark = await this.deps.failureMarks.get(tenantId);
    const activeMark = mark?.secretVersion === tenant.version ? mark : undefined;
    const now = this.deps.clock.now();
    if (activeMark && now < activeMark.blockedUntil) {
      const retryAfterSeconds = Math.ceil((activeMark.blockedUntil - now) / 1000);
      this.emit({ type: 'locked_out', tenantId, retryAfterSeconds });
      throw new UpstreamAuthFailedError(
        `Sign-in for tenant '${tenantId}' is paused for ${retryAfterSeconds} s after the upstream rejected its credentials ` +
          `(${activeMark.reason}); update the tenant secret to retry at once.`,
        'locked_out',
        retryAfterSeconds,
      );
    }
    try {
      const fresh = await this.withRetries(tenantId, () => provider.signIn(tenantId, tenant.config));
      this.emit({ type: 'sign_in', tenantId });
      if (mark) await this.deps.failureMarks.clear(tenantId);
      return await this.store(tenant, fresh, undefined);
    } catch (error) {
      if (error instanceof UpstreamAuthFailedError && LOCKOUT_REASONS.has(error.reason)) {
        const failures = (activeMark?.failures ?? 0) + 1;
        const delayMs = backoffDelayMs(failures, this.lockoutBackoff);
        await this.deps.failureMarks.put(tenantId, {
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

  private async store(tenant: TenantRecord, fresh: ProviderSession, previous: Session | undefined): Promise<Session> {
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
      throw new UpstreamTokenInvalidError(`The upstream of tenant '${tenant.tenantId}' returned tokens that have already expired.`);
    }
    await this.deps.cache.put(session);
    return session;
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
    const code = error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : 'internal_error';
    const reason = error instanceof UpstreamAuthFailedError ? error.reason : undefined;
    this.emit({ type: 'upstream_failure', tenantId, code, ...(reason ? { reason } : {}) });
    return error;
  }
}
