import { randomUUID } from 'node:crypto';

import { LOCKOUT_BACKOFF, type BackoffPolicy } from './backoff';
import { renewalDueAt } from './cache-policy';
import { BUDGET_RETRY_AFTER_SECONDS, Deadline } from './deadline';
import { Demand } from './demand';
import {
  RenewalRateLimitedError,
  TenantNotFoundError,
  TimeBudgetExceededError,
  UpstreamTokenInvalidError,
  UpstreamUnavailableError,
} from './errors';
import { LockoutGuard } from './lockout-guard';
import type {
  AuthProvider,
  Clock,
  FailureMarks,
  Session,
  SessionCache,
  SharedSnapshot,
  TenantRecord,
  TenantStore,
  VendorEvent,
} from './ports';
import { FORCED_RENEWAL_INTERVAL_MS, RenewalLimiter } from './renewal-limit';
import { Renewer, type VendScope } from './renewer';
import { SharedLayer, type SharedState } from './shared-layer';
import { SingleFlight } from './single-flight';
import type { ProviderKind } from './tenant-config';

export type { SharedState } from './shared-layer';

/** Default time budget of one vend: ends well before API Gateway's 29 s and the vend function's timeout. */
export const DEFAULT_VEND_BUDGET_MS = 20_000;

/**
 * How long before the flight an early read of the shared layer may have started and still decide it. A slower
 * secret read than that (a throttled Secrets Manager) leaves time for another container to store a newer session,
 * for instance one renewed because a caller reported the old token refused: the flight then reads again, as without
 * the early read. This narrows that window to what a read just before the flight has anyway, plus a second.
 */
export const EARLY_READ_MAX_AGE_MS = 1_000;

export interface VendorOptions {
  /** Margin added to every minTtl to absorb clock differences with the caller and upstream. @default 30 */
  readonly clockSkewSeconds?: number;
  /** Attempts for a throttled or unavailable upstream call, the first included. @default 3 */
  readonly maxUpstreamAttempts?: number;
  /** Base of the jittered retry delay. @default 200 */
  readonly retryBaseMs?: number;
  /** Cap of the jittered retry delay. @default 2000 */
  readonly retryCapMs?: number;
  /** Pause of sign-in after rejected credentials or app client. @default 5 min doubling to 1 h */
  readonly lockoutBackoff?: BackoffPolicy;
  /**
   * Time one vend (or one refresher renewal) may take in all: secret read, shared cache, lease waits,
   * upstream calls, retries and backoff. When it is spent the caller gets 503 with Retry-After.
   * @default 20000
   */
  readonly budgetMs?: number;
  /**
   * How long a fleet-wide renewal lease lasts. It must outlast the longest renewal the budget allows, so
   * a slow renewal is never duplicated by another container. @default budgetMs + 5000
   */
  readonly leaseTtlMs?: number;
  /** At most one forced renewal (`rejected=`) per tenant within this time, fleet-wide. @default 30000 */
  readonly forcedRenewalIntervalMs?: number;
}

export interface VendorDeps {
  readonly tenants: TenantStore;
  readonly providers: Readonly<Record<ProviderKind, AuthProvider>>;
  /** L1: this container's memory. */
  readonly cache: SessionCache;
  /** Lockout marks of this container (kept even when the shared layer is down). */
  readonly failureMarks: FailureMarks;
  /** L2 and the fleet-wide marks; absent: this container works alone. */
  readonly shared?: SharedState;
  readonly clock: Clock;
  /** Waits between retries and lease polls. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Source of retry jitter. @default Math.random */
  readonly random?: () => number;
  /** Receives every domain event (logs and metrics). @default ignore */
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

/** A read of the shared layer started before the flight (never rejects). */
interface EarlyRead {
  readonly seen: Promise<SharedSnapshot | undefined>;
  /** When it was started (clock ms): what it saw is at least that old. */
  readonly startedAt: number;
}

/**
 * Turns a tenant id into a verified session whose tokens stay valid for at least
 * the requested time: memory (L1) first, then the shared cache (L2), then one
 * upstream renewal per tenant at a time (in-process single flight plus a
 * fleet-wide lease), refresh token first and password second, guarded against
 * account lockout, with forced renewals rate-limited, all within one time budget.
 */
export class TokenVendor {
  private readonly flights = new SingleFlight<Obtained>();
  /** Tenants whose shared-layer read a caller started before its flight (see earlyRead). */
  private readonly earlyReads = new Set<string>();
  private readonly skew: number;
  private readonly budgetMs: number;
  private readonly leaseTtlMs: number;
  private readonly holder = randomUUID();
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly emit: (event: VendorEvent) => void;
  private readonly guard: LockoutGuard;
  private readonly limiter: RenewalLimiter;
  private readonly renewer: Renewer;

  constructor(private readonly deps: VendorDeps) {
    const options = deps.options ?? {};
    this.skew = options.clockSkewSeconds ?? 30;
    this.budgetMs = options.budgetMs ?? DEFAULT_VEND_BUDGET_MS;
    this.leaseTtlMs = Math.max(options.leaseTtlMs ?? 0, this.budgetMs + 5000);
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.emit = deps.onEvent ?? (() => undefined);
    this.guard = new LockoutGuard(deps.failureMarks, deps.clock, this.emit, options.lockoutBackoff ?? LOCKOUT_BACKOFF);
    this.limiter = new RenewalLimiter(
      deps.clock,
      options.forcedRenewalIntervalMs ?? FORCED_RENEWAL_INTERVAL_MS,
      this.emit,
    );
    this.renewer = new Renewer({
      tenants: deps.tenants,
      providers: deps.providers,
      cache: deps.cache,
      guard: this.guard,
      clock: deps.clock,
      sleep: this.sleep,
      random: deps.random ?? Math.random,
      emit: this.emit,
      maxAttempts: Math.max(1, options.maxUpstreamAttempts ?? 3),
      retryBaseMs: options.retryBaseMs ?? 200,
      retryCapMs: options.retryCapMs ?? 2000,
    });
  }

  /**
   * @param rejectedFingerprint fingerprint of a token the upstream refused: a session holding that token is
   *   renewed rather than served again, at most once per tenant per forced-renewal interval (else 429).
   */
  async vend(tenantId: string, minTtlSeconds: number, rejectedFingerprint?: string): Promise<VendResult> {
    const scope = this.scope(tenantId);
    return this.withinBudget(tenantId, async () => {
      const remembered = await this.deps.cache.get(tenantId);
      const early = remembered ? undefined : this.earlyRead(tenantId, scope);
      let tenant: TenantRecord;
      try {
        tenant = await scope.deadline.race(this.tenantRecord(tenantId), 'tenant secret');
      } finally {
        if (early) this.endEarlyRead(tenantId, early);
      }
      const options = { minTtlSeconds, skewSeconds: this.skew, rejected: rejectedFingerprint };
      const demand = new Demand(tenant, options, this.deps.clock);
      // What memory held when this request came is served if it will do; else what it holds now, after the secret.
      let local = remembered;
      let served = local !== undefined && demand.accepts(local);
      if (!served) {
        local = await this.deps.cache.get(tenantId);
        served = local !== undefined && demand.accepts(local);
      }
      if (local && served) {
        this.emit({ type: 'cache_hit', tenantId });
        return { tenant, session: local, cacheHit: true, source: 'memory' };
      }
      demand.assertSatisfiable(local);
      const reason = !local ? 'empty' : !demand.isCurrent(local) ? 'secret_rotated' : 'stale';
      this.emit({ type: 'cache_miss', tenantId, reason });

      let obtained = await this.joinFlight(demand, scope, early);
      // The flight (this caller's, another container's, or one this caller joined) showed the tokens too short.
      demand.assertSatisfiable(obtained.session);
      // A flight started by a caller with a smaller minTtl may end with a session too short for this one.
      if (!demand.accepts(obtained.session) && obtained.source !== 'upstream') {
        obtained = await this.joinFlight(demand, scope);
      }
      if (!demand.accepts(obtained.session)) {
        if (demand.onlyRejected(obtained.session)) {
          throw new UpstreamTokenInvalidError(
            `The upstream of tenant '${tenantId}' renewed the session with the token it had refused.`,
          );
        }
        demand.assertSatisfiable(obtained.session);
        // Tokens of this lifetime can meet minTtl, but the flights this caller joined ended with shorter ones.
        throw new UpstreamUnavailableError(
          `The renewal for tenant '${tenantId}' ended with tokens too short for minTtl=${minTtlSeconds}; try again.`,
          BUDGET_RETRY_AFTER_SECONDS,
        );
      }
      return { tenant, session: obtained.session, cacheHit: false, source: obtained.source };
    });
  }

  /**
   * Proactive refresh: renew the tenant's session when it is missing, from an older
   * secret version, or past `renewAtFraction` of its lifetime. Used by the scheduled refresher.
   */
  async refreshIfDue(tenantId: string, renewAtFraction: number): Promise<'fresh' | 'renewed'> {
    const scope = this.scope(tenantId);
    return this.withinBudget(tenantId, async () => {
      const tenant = await scope.deadline.race(this.tenantRecord(tenantId), 'tenant secret');
      // One read for the decision and the renewal: obtain() starts from this snapshot instead of reading again.
      const seen = await scope.shared.snapshot(tenantId);
      const current = seen?.session ?? (await this.deps.cache.get(tenantId));
      const nowSeconds = this.deps.clock.now() / 1000;
      if (current && current.secretVersion === tenant.version) {
        if (nowSeconds < renewalDueAt(current, renewAtFraction)) return 'fresh';
      }
      // Accept only a session obtained after the one seen here, so the refresh always moves forward.
      const issuedAfter = current?.secretVersion === tenant.version ? current.issuedAt : -1;
      const demand = new Demand(tenant, { minTtlSeconds: 0, skewSeconds: 0, issuedAfter }, this.deps.clock);
      await scope.deadline.race(
        this.flights.run(tenantId, () => this.obtain(demand, scope, { seen })),
        'renewal',
      );
      return 'renewed';
    });
  }

  /**
   * Nothing in this container's memory, the secret to be read from its source and nobody at it yet: read the
   * fleet-wide layer while the secret is read, not after it, so a new container's first request waits for one round
   * trip instead of two. Not when the secret store answers from memory (nothing to overlap, and a tenant it knows
   * to be missing costs no read). One such read per tenant at a time (a burst of cold requests must not multiply
   * table reads): at most one more read than before, when another caller starts the flight first. The read never
   * fails.
   */
  private earlyRead(tenantId: string, scope: VendScope): EarlyRead | undefined {
    if (this.flights.running(tenantId) || this.earlyReads.has(tenantId)) return undefined;
    if (this.deps.tenants.answersFromMemory?.(tenantId)) return undefined;
    this.earlyReads.add(tenantId);
    return {
      startedAt: this.deps.clock.now(),
      // Never rejects: SharedLayer answers undefined when the table cannot, and reporting that could still throw.
      seen: scope.shared.snapshot(tenantId).catch(() => undefined),
    };
  }

  /** What an early read saw, if it answered recently enough to decide the flight (EARLY_READ_MAX_AGE_MS). */
  private async recentEnough(read?: EarlyRead): Promise<{ readonly seen: SharedSnapshot | undefined } | undefined> {
    if (!read) return undefined;
    const seen = await read.seen;
    return this.deps.clock.now() - read.startedAt <= EARLY_READ_MAX_AGE_MS ? { seen } : undefined;
  }

  /**
   * The secret is read: from here on a flight (this caller's, or one it joins) covers the callers that come next,
   * and the tenant is free for another early read once this one has ended too.
   */
  private endEarlyRead(tenantId: string, early: EarlyRead): void {
    void early.seen.then(() => this.earlyReads.delete(tenantId));
  }

  /** The tenant's secret; a deleted tenant's sessions (refresh token included) are dropped from this container. */
  private async tenantRecord(tenantId: string): Promise<TenantRecord> {
    try {
      return await this.deps.tenants.get(tenantId);
    } catch (error) {
      if (error instanceof TenantNotFoundError) await this.deps.cache.delete(tenantId);
      throw error;
    }
  }

  private scope(tenantId: string): VendScope {
    const deadline = new Deadline(this.deps.clock, this.budgetMs, `tenant '${tenantId}'`);
    return { deadline, shared: new SharedLayer(this.deps.shared, deadline, this.emit) };
  }

  private async withinBudget<T>(tenantId: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof TimeBudgetExceededError) {
        this.emit({ type: 'budget_exceeded', tenantId, stage: error.stage });
      }
      throw error;
    }
  }

  /**
   * Run or join the tenant's flight, within this caller's budget.
   * @param early a read of the shared layer this caller started before the flight; used if this caller runs it.
   */
  private async joinFlight(demand: Demand, scope: VendScope, early?: EarlyRead): Promise<Obtained> {
    const { tenantId } = demand.tenant;
    const joined = this.flights.running(tenantId);
    const run = (read?: EarlyRead) =>
      scope.deadline.race(
        this.flights.run(tenantId, async () => this.obtain(demand, scope, await this.recentEnough(read))),
        'renewal',
      );
    try {
      return await run(early);
    } catch (error) {
      // The joined flight was a forced renewal refused for another caller's report: this caller has its own needs.
      if (joined && error instanceof RenewalRateLimitedError) return run();
      throw error;
    }
  }

  /**
   * Shared cache, then the fleet-wide lease, then the upstream. Runs at most once per tenant at a time in
   * this container. Without a shared layer the lease is always granted.
   */
  private async obtain(
    demand: Demand,
    scope: VendScope,
    /** What the caller has just read of the shared layer (undefined inside: it could not answer or had nothing). */
    already?: { readonly seen: SharedSnapshot | undefined },
  ): Promise<Obtained> {
    const { tenant } = demand;
    const { tenantId } = tenant;
    const { shared, deadline } = scope;
    let seen = already ? already.seen : await shared.snapshot(tenantId);
    const fromShared = seen?.session;
    if (fromShared && demand.accepts(fromShared)) return this.adoptShared(fromShared);
    const local = await this.deps.cache.get(tenantId);
    if (local && demand.accepts(local)) return { session: local, source: 'memory' };
    const known = demand.isCurrent(fromShared) ? fromShared : local;
    // The tokens cannot live long enough for this demand: no renewal can help. Hand back what is known, so the
    // caller answers 400 for its own minTtl and callers who joined this flight judge the session by theirs.
    if (known && !demand.satisfiableBy(known)) return { session: known, source: known === local ? 'memory' : 'shared' };
    if (known && demand.onlyRejected(known)) await this.limiter.claim(tenantId, shared);

    const started = this.deps.clock.now();
    let delayMs = 50;
    /** When the tenant's sign-in pause ended as this caller began to wait (0: none), read once it has to. */
    let pauseBefore: number | undefined;
    for (;;) {
      // A lease the snapshot shows in another container's hands is not asked for: wait for its session instead.
      const heldElsewhere =
        seen?.lease !== undefined && seen.lease.holder !== this.holder && seen.lease.until > this.deps.clock.now();
      const lease = heldElsewhere
        ? { granted: false, confirmed: false }
        : await shared.tryLease(tenantId, this.holder, this.leaseTtlMs, seen);
      if (lease.granted) {
        this.leaseWaited(tenantId, started, delayMs, 'acquired');
        try {
          // A lease taken against the snapshot confirms it (no holder has written since); otherwise the previous
          // holder may have written just before its lease ended: read again (the lockout mark comes along).
          const latest = lease.confirmed ? seen?.session : (await shared.snapshot(tenantId))?.session;
          if (latest && (demand.accepts(latest) || !demand.satisfiableBy(latest))) return this.adoptShared(latest);
          const current = demand.isCurrent(latest) ? latest : ((await this.deps.cache.get(tenantId)) ?? latest);
          const session = await this.renewer.renew(demand, current, latest?.revision, scope);
          return { session, source: 'upstream' };
        } finally {
          await shared.releaseLease(tenantId, this.holder);
        }
      }
      if (!deadline.allows(delayMs)) {
        this.leaseWaited(tenantId, started, 0, 'timeout');
        throw deadline.exceeded("waiting for another container's renewal");
      }
      pauseBefore ??= (await this.guard.activeMark(tenant, shared))?.blockedUntil ?? 0;
      await this.sleep(delayMs);
      delayMs = Math.min(Math.round(delayMs * 1.5), 500);
      seen = await shared.snapshot(tenantId);
      const polled = seen?.session;
      // Filled by the holder, or shows (with the first known lifetime) that no renewal can meet this demand.
      if (polled && (demand.accepts(polled) || !demand.satisfiableBy(polled))) {
        this.leaseWaited(tenantId, started, 0, 'filled');
        return this.adoptShared(polled);
      }
      // The upstream asked the fleet to wait, or sign-in is paused and the holder cannot renew without it: stop
      // waiting and answer like it. A pause from before the wait does not stop a caller that knows a refresh token of
      // the current secret: the holder may be renewing with it, which a pause of password sign-in leaves alone.
      const mark = await this.guard.activeMark(tenant, shared);
      this.guard.throwIfBusy(tenant, mark);
      const refreshable = [polled, known].some((s) => s?.refreshToken !== undefined && demand.isCurrent(s));
      if (mark && (mark.blockedUntil !== pauseBefore || !refreshable)) this.guard.throwIfPaused(tenant, mark);
    }
  }

  private leaseWaited(tenantId: string, started: number, minMs: number, outcome: 'filled' | 'acquired' | 'timeout') {
    const waitedMs = this.deps.clock.now() - started;
    if (waitedMs > minMs || outcome !== 'acquired') this.emit({ type: 'lease_wait', tenantId, waitedMs, outcome });
  }

  private async adoptShared(session: Session): Promise<Obtained> {
    await this.deps.cache.put(session);
    this.emit({ type: 'shared_cache_hit', tenantId: session.tenantId });
    return { session, source: 'shared' };
  }
}
