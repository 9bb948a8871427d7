// Temporary AWS credentials of a tenant's Cognito identity pool identity, vended like tokens: memory (L1), then
// the shared cache (L2), then one renewal per tenant at a time, served only while they stay valid for the
// caller's minTtl plus the clock-skew margin. The user pool session underneath comes from the TokenVendor, so
// its single flight, lockout guard and budget rules apply unchanged.

import { randomUUID } from 'node:crypto';

import {
  IDENTITY_POOL_CREDENTIALS_SECONDS,
  identityPoolConfig,
  identityPoolOf,
  type CredentialsCache,
  type CredentialsSession,
  type IdentityPool,
  type IdentityPoolTenantConfig,
} from './aws-credentials';
import { jitteredDelayMs } from './backoff';
import { renewalDueAt, satisfies } from './cache-policy';
import { Deadline } from './deadline';
import { InvalidRequestError, UpstreamTokenInvalidError, UpstreamUnavailableError } from './errors';
import type { Clock, LeaseStore, TenantRecord, TenantStore, VendorEvent } from './ports';
import { SingleFlight } from './single-flight';
import { DEFAULT_VEND_BUDGET_MS, type VendResult } from './vendor';

// The types, the port and the presenter live in aws-credentials.ts; importers of this module get them here too.
export * from './aws-credentials';

export interface CredentialsVendorOptions {
  /** Margin added to every minTtl. @default 30 */
  readonly clockSkewSeconds?: number;
  /** Attempts for a throttled or unavailable identity pool call, the first included. @default 3 */
  readonly maxUpstreamAttempts?: number;
  /** Base and cap of the jittered retry delay. @default 200 / 2000 ms */
  readonly retryBaseMs?: number;
  readonly retryCapMs?: number;
  /**
   * Time budget of one vend, the ID token included: when it is spent the caller gets 503 with Retry-After,
   * before the Lambda timeout and API Gateway's 29 s. @default 20000
   */
  readonly budgetMs?: number;
}

export interface CredentialsVendorDeps {
  readonly tenants: TenantStore;
  /** The user pool session (ID token) comes from here, with all of its caching and guards. */
  readonly tokens: { vend(tenantId: string, minTtlSeconds: number): Promise<VendResult> };
  readonly identityPool: IdentityPool;
  /** L1: this container's memory. */
  readonly cache: CredentialsCache;
  /** L2: the fleet. Every failure degrades to L1 and the upstream. */
  readonly shared?: CredentialsCache;
  /**
   * Fleet-wide single flight (with `shared`): one container renews a tenant's credentials while the others poll
   * L2. The lease is `<tenant>#aws-credentials`, apart from the token lease. Failures degrade to renewing alone.
   */
  readonly leases?: LeaseStore;
  readonly clock: Clock;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly onEvent?: (event: VendorEvent) => void;
  readonly options?: CredentialsVendorOptions;
}

export type CredentialsSource = 'memory' | 'shared' | 'upstream';

export interface CredentialsVendResult {
  readonly tenant: TenantRecord;
  readonly session: CredentialsSession;
  readonly source: CredentialsSource;
}

export class CredentialsVendor {
  private readonly flights = new SingleFlight<{ session: CredentialsSession; source: CredentialsSource }>();
  private readonly skew: number;
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private readonly retryCapMs: number;
  private readonly budgetMs: number;
  private readonly holder = randomUUID();
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly emit: (event: VendorEvent) => void;

  constructor(private readonly deps: CredentialsVendorDeps) {
    const options = deps.options ?? {};
    this.skew = options.clockSkewSeconds ?? 30;
    this.maxAttempts = Math.max(1, options.maxUpstreamAttempts ?? 3);
    this.retryBaseMs = options.retryBaseMs ?? 200;
    this.retryCapMs = options.retryCapMs ?? 2000;
    this.budgetMs = options.budgetMs ?? DEFAULT_VEND_BUDGET_MS;
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = deps.random ?? Math.random;
    this.emit = deps.onEvent ?? (() => undefined);
  }

  /** Credentials valid for at least `minTtlSeconds` (plus the skew margin). */
  async vend(tenantId: string, minTtlSeconds: number): Promise<CredentialsVendResult> {
    const tenant = await this.deps.tenants.get(tenantId);
    const config = identityPoolConfig(tenant);
    if (minTtlSeconds + this.skew >= IDENTITY_POOL_CREDENTIALS_SECONDS) {
      throw new InvalidRequestError(
        `minTtl=${minTtlSeconds} cannot be met: identity pool credentials live ${IDENTITY_POOL_CREDENTIALS_SECONDS} s ` +
          `(${this.skew} s are kept as clock-skew margin).`,
      );
    }
    const matches = (session: CredentialsSession) =>
      session.secretVersion === tenant.version && session.identityPoolId === config.identityPoolId;
    const accept = (session: CredentialsSession) =>
      matches(session) &&
      satisfies({ expiresAt: session.credentials.expiresAt }, this.deps.clock.now(), minTtlSeconds, this.skew);

    const local = await this.deps.cache.get(tenantId);
    if (local && accept(local)) {
      this.emit({ type: 'cache_hit', tenantId });
      return { tenant, session: local, source: 'memory' };
    }
    this.emit({ type: 'cache_miss', tenantId, reason: !local ? 'empty' : matches(local) ? 'stale' : 'secret_rotated' });

    // A joined flight may have started earlier: this caller still waits at most its own budget.
    const deadline = new Deadline(this.deps.clock, this.budgetMs, `the AWS credentials of tenant '${tenantId}'`);
    const run = () =>
      deadline.race(
        this.flights.run(tenantId, () => this.obtain(tenant, config, accept, matches, deadline)),
        'aws credentials',
      );
    let obtained = await run();
    // A flight started for a smaller minTtl may end with credentials too short for this caller.
    if (!accept(obtained.session) && obtained.source !== 'upstream') obtained = await run();
    if (!accept(obtained.session)) {
      const left = obtained.session.credentials.expiresAt - Math.floor(this.deps.clock.now() / 1000);
      throw new InvalidRequestError(
        `minTtl=${minTtlSeconds} cannot be met: the identity pool of tenant '${tenantId}' issued credentials valid for ${left} s ` +
          `(${this.skew} s are kept as clock-skew margin).`,
      );
    }
    return { tenant, ...obtained };
  }

  /**
   * Proactive refresh (the scheduled refresher, for tenants whose credentials the fleet holds in L2): renew the
   * tenant's credentials when they are from an older secret version or identity pool, or past `renewAtFraction` of
   * their lifetime, through the same flight and fleet-wide lease as a vend. `none`: the tenant has no identity
   * pool (any more), so there is nothing to keep warm.
   */
  async refreshIfDue(tenantId: string, renewAtFraction: number): Promise<'fresh' | 'renewed' | 'none'> {
    const tenant = await this.deps.tenants.get(tenantId);
    const poolConfig = identityPoolOf(tenant);
    if (!poolConfig) return 'none';
    const matches = (session: CredentialsSession) =>
      session.secretVersion === tenant.version && session.identityPoolId === poolConfig.identityPoolId;
    const notDue = (session: CredentialsSession) =>
      matches(session) &&
      this.deps.clock.now() / 1000 <
        renewalDueAt({ issuedAt: session.issuedAt, expiresAt: session.credentials.expiresAt }, renewAtFraction);
    const deadline = new Deadline(this.deps.clock, this.budgetMs, `the AWS credentials of tenant '${tenantId}'`);
    const obtained = await deadline.race(
      this.flights.run(tenantId, () => this.obtain(tenant, poolConfig, notDue, matches, deadline)),
      'aws credentials',
    );
    return obtained.source === 'upstream' ? 'renewed' : 'fresh';
  }

  private async obtain(
    tenant: TenantRecord,
    config: IdentityPoolTenantConfig,
    accept: (session: CredentialsSession) => boolean,
    matches: (session: CredentialsSession) => boolean,
    deadline: Deadline,
  ): Promise<{ session: CredentialsSession; source: CredentialsSource }> {
    const { tenantId } = tenant;
    const shared = await this.sharedGet(tenantId);
    if (shared && accept(shared)) {
      await this.deps.cache.put(shared);
      this.emit({ type: 'shared_cache_hit', tenantId });
      return { session: shared, source: 'shared' };
    }
    const local = await this.deps.cache.get(tenantId);
    if (local && accept(local)) return { session: local, source: 'memory' };

    const polled = await this.awaitLease(tenantId, accept, deadline);
    if (polled) return polled;
    try {
      // The previous holder may have written just before its lease ended.
      const latest = this.deps.leases ? await this.sharedGet(tenantId) : undefined;
      if (latest && accept(latest)) {
        await this.deps.cache.put(latest);
        return { session: latest, source: 'shared' };
      }
      return await this.renew(tenant, config, matches, deadline, [latest ?? shared, local]);
    } finally {
      await this.releaseLease(tenantId);
    }
  }

  /**
   * Wait for the fleet-wide lease; undefined once held (or when there is no lease store, or it fails). Meanwhile
   * another container may finish: its credentials from L2 are the answer.
   */
  private async awaitLease(
    tenantId: string,
    accept: (session: CredentialsSession) => boolean,
    deadline: Deadline,
  ): Promise<{ session: CredentialsSession; source: CredentialsSource } | undefined> {
    const leases = this.deps.leases;
    if (!leases || !this.deps.shared) return undefined;
    let delayMs = 50;
    for (;;) {
      try {
        if (await leases.tryAcquire(this.leaseKey(tenantId), this.holder, this.budgetMs + 5000)) return undefined;
      } catch (error) {
        this.sharedError(tenantId, 'lease', error);
        return undefined;
      }
      if (!deadline.allows(delayMs)) throw deadline.exceeded('waiting for another container');
      await this.sleep(delayMs);
      delayMs = Math.min(Math.round(delayMs * 1.5), 500);
      const filled = await this.sharedGet(tenantId);
      if (filled && accept(filled)) {
        await this.deps.cache.put(filled);
        this.emit({ type: 'shared_cache_hit', tenantId });
        return { session: filled, source: 'shared' };
      }
    }
  }

  private leaseKey(tenantId: string): string {
    return `${tenantId}#aws-credentials`;
  }

  private async releaseLease(tenantId: string): Promise<void> {
    if (!this.deps.leases || !this.deps.shared) return;
    try {
      await this.deps.leases.release(this.leaseKey(tenantId), this.holder);
    } catch (error) {
      this.sharedError(tenantId, 'release', error);
    }
  }

  private async renew(
    tenant: TenantRecord,
    config: IdentityPoolTenantConfig,
    matches: (session: CredentialsSession) => boolean,
    deadline: Deadline,
    seen: readonly (CredentialsSession | undefined)[],
  ): Promise<{ session: CredentialsSession; source: CredentialsSource }> {
    const { tenantId } = tenant;
    const [shared, local] = seen;
    // The identity id is stable: take it from any copy for the same secret and pool, expired or not.
    const known = [shared, local].find((session) => session && matches(session))?.identityId;
    // The ID token is only presented to the identity pool: it must be valid now, not for the caller's minTtl.
    const { session: userPoolSession } = await this.deps.tokens.vend(tenantId, 0);
    const idToken = userPoolSession.tokens.idToken;
    if (!idToken) throw new UpstreamTokenInvalidError(`Tenant '${tenantId}' has no ID token for its identity pool.`);

    const answer = await this.withRetries(tenantId, deadline, () =>
      this.deps.identityPool.credentials(tenantId, config, idToken, known, deadline.signal),
    );
    const nowSeconds = Math.floor(this.deps.clock.now() / 1000);
    if (answer.credentials.expiresAt <= nowSeconds) {
      throw new UpstreamTokenInvalidError(
        `The identity pool of tenant '${tenantId}' returned credentials that have already expired.`,
      );
    }
    const session: CredentialsSession = {
      tenantId,
      secretVersion: tenant.version,
      identityPoolId: config.identityPoolId,
      identityId: answer.identityId,
      // GetCredentialsForIdentity issues one-hour credentials: a later expiry is not believed (they are then served
      // and renewed as if they lasted an hour), so an answer cannot make stale keys be vended for days.
      credentials: {
        ...answer.credentials,
        expiresAt: Math.min(answer.credentials.expiresAt, nowSeconds + IDENTITY_POOL_CREDENTIALS_SECONDS),
      },
      issuedAt: nowSeconds,
    };
    try {
      await this.deps.shared?.put(session);
    } catch (error) {
      this.sharedError(tenantId, 'put', error);
    }
    await this.deps.cache.put(session);
    return { session, source: 'upstream' };
  }

  private async sharedGet(tenantId: string): Promise<CredentialsSession | undefined> {
    try {
      return await this.deps.shared?.get(tenantId);
    } catch (error) {
      this.sharedError(tenantId, 'get', error);
      return undefined;
    }
  }

  private sharedError(tenantId: string, operation: string, error: unknown): void {
    this.emit({
      type: 'shared_cache_error',
      tenantId,
      operation: `aws-credentials ${operation}`,
      error: error instanceof Error ? error.name : String(error),
    });
  }

  /** Throttling and outages are retried with jittered backoff; everything else fails at once. */
  private async withRetries<T>(tenantId: string, deadline: Deadline, call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        const delayMs = jitteredDelayMs(attempt, this.retryBaseMs, this.retryCapMs, this.random);
        if (!(error instanceof UpstreamUnavailableError) || attempt >= this.maxAttempts || !deadline.allows(delayMs)) {
          const code = error instanceof Error && 'code' in error ? String(error.code) : 'internal_error';
          this.emit({ type: 'upstream_failure', tenantId, code });
          throw error;
        }
        this.emit({ type: 'upstream_retry', tenantId, attempt });
        await this.sleep(delayMs);
      }
    }
  }
}
