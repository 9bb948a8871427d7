// The fleet-wide layer as one vend sees it: every call is bounded by the vend's deadline, and every failure
// degrades to local behaviour (a `shared_cache_error` event, then carry on from L1 and the upstream).
// A call that timed out marks the layer down for the rest of this vend, so a hung table costs one
// timeout per vend rather than one per call.

import { raceTimer, type Deadline } from './deadline';
import type {
  FailureMark,
  FailureMarks,
  LeaseStore,
  RenewalClaim,
  RenewalMarks,
  Session,
  SessionLeases,
  SharedSessionCache,
  SharedSnapshot,
  VendorEvent,
} from './ports';
import { timedOut } from './timed-out';

/** The fleet-wide layer (DynamoDB in production). Every call may fail: the vendor then carries on without it. */
export interface SharedState {
  readonly cache: SharedSessionCache;
  /** Leases for renewals that have no lease with the session (AWS credentials), and for every renewal without {@link sessionLeases}. */
  readonly leases: LeaseStore;
  readonly failureMarks: FailureMarks;
  /** Forced-renewal rate limit (`rejected=`); without it the limit holds per container only. */
  readonly renewals?: RenewalMarks;
  /**
   * The session's renewal lease kept with the session: one read for session, mark and lease, a lease that
   * confirms that read, and a session write that releases it (3 round trips per miss). Without it the lease is
   * a separate item and the session is read again after taking it.
   */
  readonly sessionLeases?: SessionLeases;
}

/** The outcome of one attempt to take a tenant's renewal lease. */
export interface LeaseOutcome {
  readonly granted: boolean;
  /** The lease also confirmed the snapshot it was taken against: no need to read the session again. */
  readonly confirmed: boolean;
}

/**
 * A call that timed out (or ran out of budget) marks the layer down for the rest of the vend; a reset or refused
 * connection fails at once and does not.
 */
function isTimeout(error: unknown): boolean {
  return (
    error instanceof SharedLayerShareSpentError ||
    (error instanceof Error && error.name === 'TimeBudgetExceededError') ||
    timedOut(error)
  );
}

/** Lease calls of one vend that may fail, while the table answers reads, before the container renews alone. */
export const LEASE_FAILURES_BEFORE_RENEWING_ALONE = 3;

/**
 * Share of a vend's budget it may spend inside shared-layer calls (the SDK's own retries and backoff included):
 * the table is an optimisation, so a slow or throttled one leaves the rest of the budget to the upstream. A call
 * still waiting when the share is spent is given up (its late answer ignored), and the table is skipped for the
 * rest of the vend.
 */
export const SHARED_LAYER_BUDGET_SHARE = 0.4;

/** This vend has spent its share of the budget on the shared layer. */
class SharedLayerShareSpentError extends Error {
  override readonly name = 'SharedLayerShareSpentError';
}

const FAILED = Symbol('failed');

const SHARE_SPENT = 'The vend has spent its share of the budget on the shared layer.';

export class SharedLayer {
  private down = false;
  /** Marks read together with the session by {@link snapshot}; {@link getMark} answers from them until replaced. */
  private readonly prefetchedMarks = new Map<string, FailureMark | undefined>();
  /** Tenants whose session lease was released by the session write of this vend. */
  private readonly releasedBySessionWrite = new Set<string>();
  /** Whether a read of this vend was answered: the table is reachable, so a failed lease call is worth retrying. */
  private answeredRead = false;
  private leaseFailures = 0;
  /** Real milliseconds this vend has spent inside shared-layer calls. */
  private spentMs = 0;

  constructor(
    private readonly state: SharedState | undefined,
    private readonly deadline: Deadline,
    private readonly emit: (event: VendorEvent) => void,
  ) {}

  /** Whether there is a shared layer at all (configured, whether or not it answers). */
  get configured(): boolean {
    return this.state !== undefined;
  }

  async get(tenantId: string): Promise<Session | undefined> {
    const session = await this.call(tenantId, 'get', FAILED, (state) => state.cache.get(tenantId));
    if (session === FAILED) return undefined;
    this.answeredRead = true;
    return session;
  }

  /**
   * The session, with the lockout mark and the lease's generation read in the same round trip when the layer
   * keeps the lease with the session (the next {@link getMark} of this vend then answers from it). Undefined when
   * the layer cannot answer.
   */
  async snapshot(tenantId: string): Promise<SharedSnapshot | undefined> {
    const leases = this.state?.sessionLeases;
    if (!leases) {
      const session = await this.get(tenantId);
      return session ? { session, generation: 0 } : undefined;
    }
    const seen = await this.call(tenantId, 'get', undefined, () => leases.snapshot(tenantId));
    if (seen) {
      this.answeredRead = true;
      this.prefetchedMarks.set(tenantId, seen.mark);
    }
    return seen;
  }

  /** Compare-and-swap write; on failure the session is kept as it is (L1 only). */
  async put(session: Session, expectedRevision: number | undefined): Promise<Session> {
    const result = await this.call(session.tenantId, 'put', undefined, (state) =>
      state.cache.putIfUnchanged(session, expectedRevision),
    );
    if (!result) return session;
    if (result.conflict) this.emit({ type: 'shared_cache_conflict', tenantId: session.tenantId });
    else if (this.state?.sessionLeases) this.releasedBySessionWrite.add(session.tenantId);
    return result.stored;
  }

  /**
   * Take the tenant's renewal lease, against `seen` when the lease lives with the session. When the lease call
   * fails: while this vend's reads are answered, not granted (the caller polls and tries again), up to
   * {@link LEASE_FAILURES_BEFORE_RENEWING_ALONE} times; without the table, renew alone rather than not at all.
   */
  async tryLease(tenantId: string, holder: string, ttlMs: number, seen?: SharedSnapshot): Promise<LeaseOutcome> {
    const leases = this.state?.sessionLeases;
    const granted = await this.call(tenantId, 'lease', FAILED, (state) =>
      leases ? leases.tryAcquire(tenantId, holder, ttlMs, seen) : state.leases.tryAcquire(tenantId, holder, ttlMs),
    );
    if (granted === FAILED) {
      const retry = this.answeredRead && !this.down && ++this.leaseFailures < LEASE_FAILURES_BEFORE_RENEWING_ALONE;
      return { granted: !retry, confirmed: false };
    }
    return { granted, confirmed: granted && leases !== undefined && seen !== undefined };
  }

  /**
   * Always attempted (unless the session write released it), so others need not wait out the lease; after the
   * deadline it is sent without waiting.
   */
  async releaseLease(tenantId: string, holder: string): Promise<void> {
    if (this.releasedBySessionWrite.delete(tenantId)) return;
    const release = (state: SharedState) =>
      state.sessionLeases ? state.sessionLeases.release(tenantId, holder) : state.leases.release(tenantId, holder);
    if (this.state && !this.down && this.deadline.expired()) {
      release(this.state).catch((error: unknown) => this.report(tenantId, 'release', error));
      return;
    }
    await this.call(tenantId, 'release', undefined, release);
  }

  async getMark(tenantId: string): Promise<FailureMark | undefined> {
    if (this.prefetchedMarks.has(tenantId)) return this.prefetchedMarks.get(tenantId);
    return this.call(tenantId, 'mark', undefined, (state) => state.failureMarks.get(tenantId));
  }

  async putMark(tenantId: string, mark: FailureMark): Promise<void> {
    this.prefetchedMarks.delete(tenantId);
    await this.call(tenantId, 'mark', undefined, (state) => state.failureMarks.put(tenantId, mark));
  }

  async clearMark(tenantId: string): Promise<void> {
    this.prefetchedMarks.delete(tenantId);
    await this.call(tenantId, 'mark', undefined, (state) => state.failureMarks.clear(tenantId));
  }

  /** Claim the tenant's forced-renewal slot fleet-wide; when the table cannot answer, the container decides alone. */
  async claimRenewal(tenantId: string, nowMs: number, intervalMs: number): Promise<RenewalClaim> {
    return this.call(tenantId, 'renewal', { claimed: true }, (state) =>
      state.renewals ? state.renewals.tryClaim(tenantId, nowMs, intervalMs) : Promise.resolve({ claimed: true }),
    );
  }

  private async call<T, F>(
    tenantId: string,
    operation: string,
    fallback: F,
    run: (state: SharedState) => Promise<T>,
  ): Promise<T | F> {
    const state = this.state;
    if (!state || this.down || this.deadline.expired()) return fallback;
    const allowanceMs = this.deadline.budgetMs * SHARED_LAYER_BUDGET_SHARE - this.spentMs;
    if (allowanceMs <= 0) {
      this.down = true;
      this.report(tenantId, operation, new SharedLayerShareSpentError(SHARE_SPENT));
      return fallback;
    }
    const started = performance.now();
    try {
      const withinShare = raceTimer(run(state), allowanceMs, () => new SharedLayerShareSpentError(SHARE_SPENT));
      return await this.deadline.race(withinShare, `shared cache ${operation}`);
    } catch (error) {
      if (isTimeout(error)) this.down = true;
      this.report(tenantId, operation, error);
      return fallback;
    } finally {
      this.spentMs += performance.now() - started;
    }
  }

  private report(tenantId: string, operation: string, error: unknown): void {
    this.emit({
      type: 'shared_cache_error',
      tenantId,
      operation,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }
}
