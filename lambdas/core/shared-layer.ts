// The fleet-wide layer as one vend sees it: every call is bounded by the vend's deadline, and every failure
// degrades to local behaviour (a `shared_cache_error` event, then carry on from L1 and the upstream).
// A call that timed out marks the layer down for the rest of this vend, so a hung table costs one
// timeout per vend rather than one per call.

import type { Deadline } from './deadline';
import type {
  FailureMark,
  FailureMarks,
  LeaseStore,
  RenewalClaim,
  RenewalMarks,
  Session,
  SharedSessionCache,
  VendorEvent,
} from './ports';

/** The fleet-wide layer (DynamoDB in production). Every call may fail: the vendor then carries on without it. */
export interface SharedState {
  readonly cache: SharedSessionCache;
  readonly leases: LeaseStore;
  readonly failureMarks: FailureMarks;
  /** Forced-renewal rate limit (`rejected=`); without it the limit holds per container only. */
  readonly renewals?: RenewalMarks;
  /**
   * The session and the lockout mark in one read (DynamoDB `BatchGetItem`), for the renewal that follows a lease.
   * Without it they are read one after the other.
   */
  readonly readSessionAndMark?: (tenantId: string) => Promise<{ session?: Session; mark?: FailureMark }>;
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'TimeBudgetExceededError');
}

export class SharedLayer {
  private down = false;
  /** Marks read together with the session by {@link getWithMark}, each handed out once by {@link getMark}. */
  private readonly prefetchedMarks = new Map<string, FailureMark | undefined>();

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
    return this.call(tenantId, 'get', undefined, (state) => state.cache.get(tenantId));
  }

  /** Compare-and-swap write; on failure the session is kept as it is (L1 only). */
  async put(session: Session, expectedRevision: number | undefined): Promise<Session> {
    const result = await this.call(session.tenantId, 'put', undefined, (state) =>
      state.cache.putIfUnchanged(session, expectedRevision),
    );
    if (!result) return session;
    if (result.conflict) this.emit({ type: 'shared_cache_conflict', tenantId: session.tenantId });
    return result.stored;
  }

  /** Without the lease table, renew alone rather than not at all. */
  async tryLease(tenantId: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.call(tenantId, 'lease', true, (state) => state.leases.tryAcquire(tenantId, holder, ttlMs));
  }

  /** Always attempted, so others need not wait out the lease; after the deadline it is sent without waiting. */
  async releaseLease(tenantId: string, holder: string): Promise<void> {
    if (this.state && !this.down && this.deadline.expired()) {
      this.state.leases.release(tenantId, holder).catch((error: unknown) => this.report(tenantId, 'release', error));
      return;
    }
    await this.call(tenantId, 'release', undefined, (state) => state.leases.release(tenantId, holder));
  }

  /**
   * The session, with the lockout mark read in the same round trip when the layer can: the next {@link getMark}
   * of this vend answers from it instead of reading again (a miss then costs one DynamoDB round trip less).
   */
  async getWithMark(tenantId: string): Promise<Session | undefined> {
    const state = this.state;
    if (!state?.readSessionAndMark) return this.get(tenantId);
    const both = await this.call(tenantId, 'get', undefined, (s) =>
      (s.readSessionAndMark as NonNullable<SharedState['readSessionAndMark']>)(tenantId),
    );
    if (both) this.prefetchedMarks.set(tenantId, both.mark);
    return both?.session;
  }

  async getMark(tenantId: string): Promise<FailureMark | undefined> {
    if (this.prefetchedMarks.has(tenantId)) {
      const mark = this.prefetchedMarks.get(tenantId);
      this.prefetchedMarks.delete(tenantId);
      return mark;
    }
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
    try {
      return await this.deadline.race(run(state), `shared cache ${operation}`);
    } catch (error) {
      if (isTimeout(error)) this.down = true;
      this.report(tenantId, operation, error);
      return fallback;
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
