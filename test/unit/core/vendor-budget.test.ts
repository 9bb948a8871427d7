// The vendor's upstream budget (issue 18, items 7-11): an unsatisfiable minTtl costs nothing, forced renewals
// are rate-limited fleet-wide, operator-action failures pause sign-in, every wait ends with the vend's time
// budget, and a key-set outage never repeats a sign-in. Each case counts the upstream calls exactly.
import { StaticTenantStore } from '../../../lambdas/adapters/file-tenant-store';
import { MemoryFailureMarks, MemorySessionCache } from '../../../lambdas/adapters/memory-cache';
import {
  InvalidRequestError,
  KeySetUnavailableError,
  RenewalRateLimitedError,
  TimeBudgetExceededError,
  toErrorResponse,
  UpstreamAuthFailedError,
  UpstreamUnavailableError,
} from '../../../lambdas/core/errors';
import { fingerprint, primaryToken } from '../../../lambdas/core/fingerprint';
import type {
  FailureMark,
  LeaseStore,
  Session,
  SessionLeases,
  SharedSessionCache,
  TenantStore,
  UpstreamCall,
  VendorEvent,
} from '../../../lambdas/core/ports';
import { MemoryRenewalMarks } from '../../../lambdas/core/renewal-limit';
import { EARLY_READ_MAX_AGE_MS, TokenVendor, type SharedState, type VendorOptions } from '../../../lambdas/core/vendor';
import { cognitoSecret, FakeClock, FakeProvider } from '../../support/fakes';

/** The fleet-wide layer in memory, with the same compare-and-swap contract as the DynamoDB adapter. */
class MemorySharedCache implements SharedSessionCache {
  session: Session | undefined;
  async get(): Promise<Session | undefined> {
    return this.session;
  }
  async putIfUnchanged(session: Session, expected: number | undefined) {
    if ((this.session?.revision ?? undefined) !== expected && this.session) {
      return { stored: this.session, conflict: true };
    }
    this.session = { ...session, revision: (expected ?? 0) + 1 };
    return { stored: this.session, conflict: false };
  }
}

class MemoryLeases implements LeaseStore {
  readonly ttls: number[] = [];
  heldBy: string | undefined;
  async tryAcquire(_tenantId: string, holder: string, ttlMs: number): Promise<boolean> {
    this.ttls.push(ttlMs);
    if (this.heldBy && this.heldBy !== holder) return false;
    this.heldBy = holder;
    return true;
  }
  async release(_tenantId: string, holder: string): Promise<void> {
    if (this.heldBy === holder) this.heldBy = undefined;
  }
}

function fleetLayer(): SharedState & { cache: MemorySharedCache; leases: MemoryLeases } {
  const marks = new Map<string, FailureMark>();
  return {
    cache: new MemorySharedCache(),
    leases: new MemoryLeases(),
    failureMarks: {
      get: async (tenantId) => marks.get(tenantId),
      put: async (tenantId, mark) => void marks.set(tenantId, mark),
      clear: async (tenantId) => void marks.delete(tenantId),
    },
    renewals: new MemoryRenewalMarks(),
  };
}

interface Container {
  readonly vendor: TokenVendor;
  readonly events: VendorEvent[];
  readonly sleeps: number[];
}

function setup(options: VendorOptions = {}) {
  const clock = new FakeClock();
  const provider = new FakeProvider(clock);
  const tenants = new StaticTenantStore({ acme: cognitoSecret });
  /** One container; those sharing `shared` form a fleet. Sleeping moves the fake clock. */
  const container = (
    shared?: SharedState,
    store: TenantStore = tenants,
    extra: { cache?: MemorySessionCache; onEvent?: (event: VendorEvent) => void } = {},
  ): Container => {
    const events: VendorEvent[] = [];
    const sleeps: number[] = [];
    const vendor = new TokenVendor({
      tenants: store,
      providers: { cognito: provider, 'login-endpoint': provider, 'oauth2-client-credentials': provider },
      cache: extra.cache ?? new MemorySessionCache(),
      failureMarks: new MemoryFailureMarks(),
      ...(shared ? { shared } : {}),
      clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock.advance(ms / 1000);
      },
      random: () => 0.5,
      onEvent: (event) => {
        events.push(event);
        extra.onEvent?.(event);
      },
      options,
    });
    return { vendor, events, sleeps };
  };
  const calls = () => provider.signIns + provider.refreshes;
  return { clock, provider, tenants, container, calls };
}

const refused = (session: Session) => fingerprint(primaryToken(session.tokens));
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe('an unsatisfiable minTtl costs nothing (item 8)', () => {
  it('answers 400 without any upstream call once the tenant token lifetime is known', async () => {
    const { provider, container, calls } = setup();
    provider.lifetimeSeconds = 600;
    const { vendor } = container();
    await vendor.vend('acme', 0);
    expect(calls()).toBe(1);
    for (let i = 0; i < 10; i++) {
      const error = await failure(vendor.vend('acme', 3600));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect((error as Error).message).toContain('valid for 600 s');
    }
    expect(calls()).toBe(1);
    // A minTtl the tokens can meet is still served from the cache.
    await expect(vendor.vend('acme', 500)).resolves.toMatchObject({ cacheHit: true });
  });

  it('learns the lifetime from the shared session in a container that has never renewed', async () => {
    const { provider, container, calls } = setup();
    provider.lifetimeSeconds = 600;
    const shared = fleetLayer();
    await container(shared).vendor.vend('acme', 0);
    const cold = container(shared).vendor;
    await expect(cold.vend('acme', 3600)).rejects.toBeInstanceOf(InvalidRequestError);
    expect(calls()).toBe(1);
  });

  it('costs one renewal while the lifetime is unknown, and asks again after a secret rotation', async () => {
    const { provider, container, calls, tenants } = setup();
    provider.lifetimeSeconds = 600;
    const { vendor } = container();
    await expect(vendor.vend('acme', 3600)).rejects.toBeInstanceOf(InvalidRequestError);
    expect(calls()).toBe(1);
    tenants.replace({ acme: { ...cognitoSecret, password: 'Rotated-Pa55!' } });
    provider.lifetimeSeconds = 7200;
    await expect(vendor.vend('acme', 3600)).resolves.toMatchObject({ source: 'upstream' });
    expect(calls()).toBe(2);
  });
});

describe('rejected= is rate-limited per tenant, fleet-wide (item 9)', () => {
  it('renews once per interval; reports of the current token inside it get 429 with Retry-After', async () => {
    const { clock, container, calls } = setup({ forcedRenewalIntervalMs: 30_000 });
    const { vendor, events } = container();
    let current = (await vendor.vend('acme', 300)).session;
    const renewed = await vendor.vend('acme', 300, refused(current));
    expect(refused(renewed.session)).not.toBe(refused(current));
    current = renewed.session;
    expect(calls()).toBe(2);

    clock.advance(10);
    const limited: unknown[] = [];
    for (let i = 0; i < 10; i++) limited.push(await failure(vendor.vend('acme', 300, refused(current))));
    expect(calls()).toBe(2);
    expect(limited.every((error) => error instanceof RenewalRateLimitedError)).toBe(true);
    const answer = toErrorResponse(limited[0]);
    expect(answer).toMatchObject({ status: 429, code: 'renewal_rate_limited', headers: { 'Retry-After': '20' } });
    expect(events.filter((event) => event.type === 'forced_renewal')).toHaveLength(1);
    expect(events.filter((event) => event.type === 'renewal_rate_limited')).toHaveLength(10);

    clock.advance(20);
    await expect(vendor.vend('acme', 300, refused(current))).resolves.toMatchObject({ source: 'upstream' });
    expect(calls()).toBe(3);
  });

  it('hands callers whose report is out of date the renewed session without an upstream call', async () => {
    const { container, calls } = setup();
    const { vendor } = container();
    const first = (await vendor.vend('acme', 300)).session;
    await vendor.vend('acme', 300, refused(first));
    const late = await Promise.all(Array.from({ length: 20 }, () => vendor.vend('acme', 300, refused(first))));
    expect(calls()).toBe(2);
    expect(late.every((result) => result.cacheHit && refused(result.session) !== refused(first))).toBe(true);
  });

  it('holds across containers: another container adopts the renewed session, then answers 429 for it', async () => {
    const { clock, container, calls } = setup();
    const shared = fleetLayer();
    const a = container(shared).vendor;
    const b = container(shared).vendor;
    const first = (await a.vend('acme', 300)).session;
    await b.vend('acme', 300); // b holds the same token in its memory
    const renewed = (await a.vend('acme', 300, refused(first))).session;
    expect(calls()).toBe(2);

    const adopted = await b.vend('acme', 300, refused(first));
    expect(adopted.source).toBe('shared');
    expect(adopted.session.tokens).toEqual(renewed.tokens);
    clock.advance(5);
    const error = await failure(b.vend('acme', 300, refused(renewed)));
    expect(error).toBeInstanceOf(RenewalRateLimitedError);
    expect((error as RenewalRateLimitedError).retryAfterSeconds).toBe(25);
    expect(calls()).toBe(2);
  });

  it('does not rate-limit renewals that are due anyway', async () => {
    const { clock, container, calls } = setup();
    const { vendor } = container();
    const first = (await vendor.vend('acme', 300)).session;
    await vendor.vend('acme', 300, refused(first));
    clock.advance(3400); // the renewed token now has 200 s left: too short for minTtl 300
    await expect(vendor.vend('acme', 300)).resolves.toMatchObject({ source: 'upstream' });
    expect(calls()).toBe(3);
  });
});

describe('operator-action failures pause sign-in (item 10)', () => {
  it('pauses after the app client rejects the request: one sign-in for 10 requests, with Retry-After', async () => {
    const { provider, container } = setup();
    const { vendor } = container();
    provider.signInSteps.push(() => {
      throw new UpstreamAuthFailedError(
        'ResourceNotFoundException: User pool client x does not exist.',
        'client_rejected',
      );
    });
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(toErrorResponse(await failure(vendor.vend('acme', 300))));
    expect(provider.signIns).toBe(1);
    expect(answers[0]).toMatchObject({ status: 502, code: 'upstream_auth_failed', headers: { 'Retry-After': '300' } });
    expect(answers.slice(1).every((answer) => answer.status === 502 && answer.headers['Retry-After'])).toBe(true);
  });
});

describe('a pause of sign-in leaves refreshes alone, fleet-wide', () => {
  it("a container waiting for another's refresh takes its session, not the pause's 502", async () => {
    const { clock, provider, container } = setup();
    const shared = fleetLayer();
    const a = container(shared).vendor;
    const b = container(shared).vendor;
    await a.vend('acme', 0);
    // The password was rejected since (the secret is wrong now), but the refresh token still renews.
    await shared.failureMarks.put('acme', {
      secretVersion: (await new StaticTenantStore({ acme: cognitoSecret }).get('acme')).version,
      failures: 1,
      blockedUntil: clock.now() + 3_600_000,
      reason: 'not_authorized',
    });
    clock.advance(3600 - 100);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    provider.refreshSteps.push(async (_tenant, _config, session) => {
      await gate;
      return provider.issue('refresh', session?.refreshToken);
    });
    const holder = a.vend('acme', 300);
    const waiter = b.vend('acme', 300);
    release();
    const [held, waited] = await Promise.all([holder, failure(waiter).then((e) => e ?? waiter)]);
    expect(held.source).toBe('upstream');
    expect(waited).toMatchObject({ source: 'shared', session: { tokens: held.session.tokens } });
    expect({ refreshes: provider.refreshes, signIns: provider.signIns }).toEqual({ refreshes: 1, signIns: 1 });
  });
});

describe('one time budget per vend (item 11)', () => {
  it('stops retrying when the next backoff would end after the budget, with the outage Retry-After', async () => {
    const { provider, container } = setup({ budgetMs: 1500, maxUpstreamAttempts: 5, retryBaseMs: 400 });
    const { vendor, sleeps } = container();
    for (let i = 0; i < 5; i++) {
      provider.signInSteps.push(() => {
        throw new UpstreamUnavailableError('down', 7);
      });
    }
    const error = await failure(vendor.vend('acme', 300));
    expect(toErrorResponse(error)).toMatchObject({ status: 503, headers: { 'Retry-After': '7' } });
    expect(sleeps).toEqual([400, 800]); // a third wait (1000 ms) no longer fits the 300 ms left
    expect(provider.signIns).toBe(3);
  });

  it('ends the wait for another container renewal with the budget: 503, no upstream call', async () => {
    const { container, calls } = setup({ budgetMs: 2000 });
    const shared = fleetLayer();
    shared.leases.heldBy = 'another-container';
    const { vendor, events } = container(shared);
    const error = await failure(vendor.vend('acme', 300));
    expect(error).toBeInstanceOf(TimeBudgetExceededError);
    expect(toErrorResponse(error)).toMatchObject({ status: 503, headers: { 'Retry-After': '5' } });
    expect(calls()).toBe(0);
    expect(events).toContainEqual(expect.objectContaining({ type: 'lease_wait', outcome: 'timeout' }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'budget_exceeded' }));
  });

  it('takes a lease that outlasts the longest renewal the budget allows', async () => {
    const { container } = setup({ budgetMs: 20_000, leaseTtlMs: 1000 });
    const shared = fleetLayer();
    await container(shared).vendor.vend('acme', 300);
    expect(shared.leases.ttls).toEqual([25_000]);
  });

  it('answers 503 when the upstream never answers, and aborts the provider call', async () => {
    let signal: AbortSignal | undefined;
    const hanging = {
      signIn: (_tenantId: string, _config: unknown, call?: UpstreamCall) => {
        signal = call?.signal;
        return new Promise<never>(() => undefined);
      },
      refresh: () => new Promise<never>(() => undefined),
    };
    const vendor = new TokenVendor({
      tenants: new StaticTenantStore({ acme: cognitoSecret }),
      providers: { cognito: hanging, 'login-endpoint': hanging, 'oauth2-client-credentials': hanging },
      cache: new MemorySessionCache(),
      failureMarks: new MemoryFailureMarks(),
      clock: { now: () => Date.now() },
      options: { budgetMs: 50 },
    });
    const error = await failure(vendor.vend('acme', 300));
    expect(toErrorResponse(error)).toMatchObject({ status: 503, code: 'upstream_unavailable' });
    expect(signal?.aborted).toBe(true);
  });

  it('answers 503 when the tenant store never answers', async () => {
    const { container } = setup({ budgetMs: 50 });
    const hung: TenantStore = { get: () => new Promise(() => undefined), invalidate: () => undefined };
    const { vendor } = container(undefined, hung);
    // The fake clock does not move: only the real-time signal can end this wait.
    await expect(vendor.vend('acme', 300)).rejects.toBeInstanceOf(TimeBudgetExceededError);
  });
});

describe('a key-set outage never repeats a sign-in (item 7, vendor side)', () => {
  it('makes one sign-in although attempts remain', async () => {
    const { provider, container } = setup({ maxUpstreamAttempts: 3 });
    const { vendor } = container();
    provider.signInSteps.push(() => {
      throw new KeySetUnavailableError('keys unreachable', 5);
    });
    await expect(vendor.vend('acme', 300)).rejects.toBeInstanceOf(KeySetUnavailableError);
    expect(provider.signIns).toBe(1);
  });
});

describe('waiting for the lease kept with the session', () => {
  it('does not ask for a lease the snapshot shows in another container, and takes its session when stored', async () => {
    const { container, clock, calls } = setup();
    const holder = container();
    const shared = fleetLayer();
    // Another container holds the lease; its session appears on the third read.
    let reads = 0;
    let leaseCalls = 0;
    const sessionLeases: SessionLeases = {
      snapshot: async () => {
        reads++;
        if (reads < 3) return { generation: 1, lease: { holder: 'elsewhere', until: clock.now() + 60_000 } };
        return { session: shared.cache.session as Session, generation: 2 };
      },
      tryAcquire: async () => {
        leaseCalls++;
        return false;
      },
      release: async () => undefined,
    };
    // The session the other container stores (made by a fleet-less container, so no call counts for this one).
    const stored = (await holder.vendor.vend('acme', 300)).session;
    shared.cache.session = { ...stored, revision: 1 };
    const before = calls();
    const waiter = container({ ...shared, sessionLeases });
    const result = await waiter.vendor.vend('acme', 300);
    expect(result).toMatchObject({ source: 'shared' });
    expect(leaseCalls).toBe(0);
    expect(reads).toBe(3);
    expect(calls()).toBe(before);
    expect(waiter.events).toContainEqual(expect.objectContaining({ type: 'lease_wait', outcome: 'filled' }));
  });
});

describe('a compare-and-swap conflict at the session write', () => {
  it("serves this caller's own renewal when the session another container wrote first is too short for its minTtl", async () => {
    const { clock, provider, container, calls } = setup();
    provider.lifetimeSeconds = 600;
    const shared = fleetLayer();
    const { vendor } = container(shared);
    await vendor.vend('acme', 0);
    clock.advance(500); // 100 s left: a renewal is due for minTtl 540 (540 + 30 s skew)
    // Another container writes its own renewal just before this one's write (its lease had run out): the table
    // keeps that session, which holds the newest refresh token and lives 50 s less than this caller's.
    const write = shared.cache.putIfUnchanged.bind(shared.cache);
    shared.cache.putIfUnchanged = async (session, expected) => {
      const winner = { ...session, tokens: { idToken: 'theirs' }, expiresAt: session.expiresAt - 50 };
      shared.cache.session = { ...winner, revision: (shared.cache.session?.revision ?? 0) + 1 };
      return write(session, expected);
    };
    const result = await vendor.vend('acme', 540);
    expect(calls()).toBe(2);
    expect(result.source).toBe('upstream');
    expect(result.session.expiresAt - clock.nowSeconds()).toBeGreaterThanOrEqual(570);
    // The table and this container's memory keep the winner (its refresh token is the newest).
    expect(shared.cache.session?.tokens.idToken).toBe('theirs');
  });
});

describe('a cold container reads the shared layer while it reads the tenant secret', () => {
  /** A tenant store whose answers wait until `answer()`; `pending` counts the reads waiting for it. */
  function slowStore(store: TenantStore) {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const state = { pending: 0, answered: false };
    const slow: TenantStore = {
      get: async (tenantId) => {
        state.pending++;
        await gate;
        state.pending--;
        return store.get(tenantId);
      },
      invalidate: (tenantId) => store.invalidate(tenantId),
    };
    const answer = () => {
      state.answered = true;
      release();
    };
    return { slow, state, answer };
  }

  /** Counts the shared layer's reads, and how many of them started before the secret answered. */
  function countedReads(shared: ReturnType<typeof fleetLayer>, secretAnswered: () => boolean) {
    const counts = { reads: 0, beforeSecret: 0 };
    const get = shared.cache.get.bind(shared.cache);
    shared.cache.get = async () => {
      counts.reads++;
      if (!secretAnswered()) counts.beforeSecret++;
      return get();
    };
    return counts;
  }

  /**
   * Another container's session is in the table; a new container's first request has started its early read and
   * waits for the secret (`answer()` gives it).
   */
  async function coldRequestWaitingForTheSecret() {
    const { tenants, container, calls, clock } = setup();
    const shared = fleetLayer();
    const { vendor: other } = container(shared);
    await other.vend('acme', 300);
    const { slow, state, answer } = slowStore(tenants);
    const counts = countedReads(shared, () => state.answered);
    const { vendor } = container(shared, slow);
    const result = vendor.vend('acme', 300);
    await new Promise((resolve) => setImmediate(resolve));
    return { shared, state, answer, counts, result, calls, clock };
  }

  it('starts the shared read before the secret answers, and the flight uses it', async () => {
    const { state, answer, counts, result, calls } = await coldRequestWaitingForTheSecret();
    expect(state.pending).toBe(1);
    expect(counts).toEqual({ reads: 1, beforeSecret: 1 });
    answer();
    await expect(result).resolves.toMatchObject({ source: 'shared', cacheHit: false });
    // The read made before the secret answered decided it: no second read.
    expect(counts.reads).toBe(1);
    expect(calls()).toBe(1);
  });

  it('reads again when the early read started more than EARLY_READ_MAX_AGE_MS before the flight', async () => {
    const { shared, answer, counts, result, calls, clock } = await coldRequestWaitingForTheSecret();
    expect(counts).toEqual({ reads: 1, beforeSecret: 1 });
    // While the secret read is slow, another container stores a newer session (say, after a refused token).
    const older = shared.cache.session as Session;
    shared.cache.session = { ...older, tokens: { idToken: 'newer' }, revision: (older.revision ?? 0) + 1 };
    clock.advance(EARLY_READ_MAX_AGE_MS / 1000 + 1);
    answer();
    const served = await result;
    expect(served.source).toBe('shared');
    expect(served.session.tokens.idToken).toBe('newer');
    expect(counts.reads).toBe(2);
    expect(calls()).toBe(1);
  });

  it('leaves no unhandled rejection when reporting a failed early read throws, and serves the request', async () => {
    const { tenants, container } = setup();
    const shared = fleetLayer();
    shared.cache.get = async () => {
      throw new Error('table unavailable');
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { slow, answer } = slowStore(tenants);
      let reports = 0;
      const { vendor } = container(shared, slow, {
        // The metrics sink fails the first time it is told the table failed: that is the early read's report.
        onEvent: (event) => {
          if (event.type === 'shared_cache_error' && reports++ === 0) throw new Error('metrics sink failed');
        },
      });
      const result = vendor.vend('acme', 300);
      await new Promise((resolve) => setImmediate(resolve));
      answer();
      await expect(result).resolves.toMatchObject({ source: 'upstream' });
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('reads memory once for a hit', async () => {
    const { container } = setup();
    const cache = new MemorySessionCache();
    const { vendor } = container(undefined, undefined, { cache });
    await vendor.vend('acme', 300);
    let reads = 0;
    const get = cache.get.bind(cache);
    cache.get = async (tenantId) => {
      reads++;
      return get(tenantId);
    };
    await expect(vendor.vend('acme', 300)).resolves.toMatchObject({ cacheHit: true });
    expect(reads).toBe(1);
  });

  it('reads memory again after the secret when what it held at first will not do (a rotated secret)', async () => {
    const { tenants, container, calls } = setup();
    const cache = new MemorySessionCache();
    const rotated = new StaticTenantStore({ acme: { ...cognitoSecret, password: 'Rotated-1!' } });
    let store: TenantStore = tenants;
    const switching: TenantStore = {
      get: (tenantId) => store.get(tenantId),
      invalidate: (tenantId) => store.invalidate(tenantId),
    };
    const { vendor } = container(undefined, switching, { cache });
    const before = await vendor.vend('acme', 300);
    store = rotated;
    const after = await vendor.vend('acme', 300);
    expect(after.cacheHit).toBe(false);
    expect(after.session.secretVersion).not.toBe(before.session.secretVersion);
    expect(calls()).toBe(2);
    // And the next request is served from memory again, with the new version.
    await expect(vendor.vend('acme', 300)).resolves.toMatchObject({ cacheHit: true });
  });

  it('reads the shared layer once, not once per request, for a burst of cold requests in one container', async () => {
    const { tenants, container, calls } = setup();
    const shared = fleetLayer();
    const { slow, state, answer } = slowStore(tenants);
    const counts = countedReads(shared, () => state.answered);
    const { vendor } = container(shared, slow);
    const burst = Array.from({ length: 50 }, () => vendor.vend('acme', 300));
    await new Promise((resolve) => setImmediate(resolve));
    expect(state.pending).toBe(50);
    expect(counts.beforeSecret).toBe(1);
    answer();
    const results = await Promise.all(burst);
    expect(results.every((r) => r.session.tokens.idToken === results[0]?.session.tokens.idToken)).toBe(true);
    expect(calls()).toBe(1);
    // The early read, and the read after the lease (this lease store does not confirm a snapshot).
    expect(counts.reads).toBe(2);
  });

  /** The tenants, from a store that never says it answers from memory (as one that calls its source would). */
  function calledStore(store: TenantStore): TenantStore {
    return { get: (tenantId) => store.get(tenantId), invalidate: (tenantId) => store.invalidate(tenantId) };
  }

  it('does not read the shared layer for a request served from memory', async () => {
    const { tenants, container } = setup();
    const shared = fleetLayer();
    const { vendor } = container(shared, calledStore(tenants));
    await vendor.vend('acme', 300);
    const counts = countedReads(shared, () => true);
    await expect(vendor.vend('acme', 300)).resolves.toMatchObject({ cacheHit: true });
    expect(counts.reads).toBe(0);
  });

  it('does not read early when the secret store answers from memory: nothing to overlap', async () => {
    const { container } = setup();
    const shared = fleetLayer();
    const counts = countedReads(shared, () => true);
    // StaticTenantStore answers from memory; an unknown tenant fails as before, at no cost to the table.
    const { vendor } = container(shared);
    await expect(vendor.vend('globex', 300)).rejects.toMatchObject({ code: 'tenant_not_found' });
    expect(counts.reads).toBe(0);
  });

  it('reads early for an unknown tenant only until its secret store remembers the answer', async () => {
    const { tenants, container } = setup();
    const shared = fleetLayer();
    const counts = countedReads(shared, () => true);
    // As SecretsManagerTenantStore: the first answer (here: no such secret) is remembered for a while.
    const asked = new Set<string>();
    const remembering: TenantStore = {
      get: async (tenantId) => {
        asked.add(tenantId);
        return tenants.get(tenantId);
      },
      invalidate: (tenantId) => asked.delete(tenantId),
      answersFromMemory: (tenantId) => asked.has(tenantId),
    };
    const { vendor } = container(shared, remembering);
    for (let i = 0; i < 5; i++) {
      await expect(vendor.vend('globex', 300)).rejects.toMatchObject({ code: 'tenant_not_found' });
    }
    expect(counts.reads).toBe(1);
  });

  it('starts no second early read while the first is still out, even when its secret read failed', async () => {
    const { tenants, container } = setup();
    const shared = fleetLayer();
    let releaseRead: () => void = () => undefined;
    const readGate = new Promise<void>((resolve) => (releaseRead = resolve));
    let reads = 0;
    const get = shared.cache.get.bind(shared.cache);
    shared.cache.get = async () => {
      reads++;
      await readGate;
      return get();
    };
    let failSecret = true;
    const flaky: TenantStore = {
      get: async (tenantId) => {
        if (failSecret) throw new UpstreamUnavailableError('Secrets Manager could not be read (ThrottlingException).');
        return tenants.get(tenantId);
      },
      invalidate: () => undefined,
    };
    const { vendor } = container(shared, flaky);
    await expect(vendor.vend('acme', 300)).rejects.toMatchObject({ code: 'upstream_unavailable' });
    await expect(vendor.vend('acme', 300)).rejects.toMatchObject({ code: 'upstream_unavailable' });
    // The first early read has not answered: the second request started none of its own.
    expect(reads).toBe(1);
    releaseRead();
    await new Promise((resolve) => setImmediate(resolve));
    failSecret = false;
    await expect(vendor.vend('acme', 300)).resolves.toMatchObject({ source: 'upstream' });
    // Once it ended, the next cold request could read early again (and the flight read after its lease).
    expect(reads).toBeGreaterThan(1);
  });
});
