import { StaticTenantStore } from '../../../lambdas/adapters/file-tenant-store';
import { MemoryFailureMarks, MemorySessionCache } from '../../../lambdas/adapters/memory-cache';
import { UpstreamUnavailableError } from '../../../lambdas/core/errors';
import { refreshTenants, type SessionSchedule, type SessionScheduleSource } from '../../../lambdas/core/refresher';
import { TokenVendor } from '../../../lambdas/core/vendor';
import { cognitoSecret, FakeClock, FakeProvider } from '../../support/fakes';

function setup() {
  const clock = new FakeClock();
  const provider = new FakeProvider(clock);
  const vendor = new TokenVendor({
    tenants: new StaticTenantStore({
      near: cognitoSecret,
      fresh: cognitoSecret,
      broken: cognitoSecret,
      cold: cognitoSecret,
    }),
    providers: { cognito: provider, 'login-endpoint': provider, 'oauth2-client-credentials': provider },
    cache: new MemorySessionCache(),
    failureMarks: new MemoryFailureMarks(),
    clock,
    sleep: async () => undefined,
    options: { maxUpstreamAttempts: 1 },
  });
  return { clock, provider, vendor };
}

describe('refreshTenants', () => {
  it('renews sessions past 75% of their lifetime, leaves fresh ones and keeps going past a failing tenant', async () => {
    const { clock, provider, vendor } = setup();
    await vendor.vend('near', 0);
    await vendor.vend('broken', 0);
    clock.advance(2800); // 78% of 3600 s
    await vendor.vend('fresh', 0);
    const before = provider.refreshes;
    provider.refreshSteps.push(() => provider.issue('refresh')); // near (first in order)
    provider.refreshSteps.push(() => {
      throw new UpstreamUnavailableError('down');
    }); // broken
    const results = await refreshTenants(vendor, ['near', 'broken', 'fresh', 'cold'], { concurrency: 1 });
    expect(results).toEqual([
      { tenantId: 'near', outcome: 'renewed' },
      { tenantId: 'broken', outcome: 'failed', code: 'upstream_unavailable', message: 'down' },
      { tenantId: 'fresh', outcome: 'fresh' },
      { tenantId: 'cold', outcome: 'renewed' },
    ]);
    expect(provider.refreshes - before).toBe(2);
    const near = await vendor.vend('near', 3000);
    expect(near.cacheHit).toBe(true);
  });

  it('reports an unknown tenant as failed without stopping', async () => {
    const { vendor } = setup();
    const results = await refreshTenants(vendor, ['ghost', 'cold']);
    expect(results.map((r) => r.outcome)).toEqual(['failed', 'renewed']);
  });
});

/** Schedules as the shared table would give them, counting reads. */
function schedulesOf(entries: Record<string, SessionSchedule>): SessionScheduleSource & { reads: number } {
  const source = {
    reads: 0,
    schedules: async (ids: readonly string[]) => {
      source.reads++;
      return new Map(ids.filter((id) => entries[id]).map((id) => [id, entries[id] as SessionSchedule]));
    },
  };
  return source;
}

describe('refreshTenants at scale', () => {
  function many(count: number) {
    const clock = new FakeClock();
    const provider = new FakeProvider(clock);
    const secrets = Object.fromEntries(Array.from({ length: count }, (_, i) => [`t${i}`, cognitoSecret]));
    const tenants = new StaticTenantStore(secrets);
    const vendor = new TokenVendor({
      tenants,
      providers: { cognito: provider, 'login-endpoint': provider, 'oauth2-client-credentials': provider },
      cache: new MemorySessionCache(),
      failureMarks: new MemoryFailureMarks(),
      clock,
      sleep: async () => undefined,
    });
    return { clock, provider, vendor, tenants };
  }

  it('5,000 tenants: not-due ones cost no call, due ones go most urgent first, the rest wait for the next run', async () => {
    const { clock, provider, vendor, tenants } = many(5000);
    const version = (await tenants.get('t0')).version;
    const now = clock.nowSeconds();
    const entries: Record<string, SessionSchedule> = {};
    for (let i = 0; i < 5000; i++) {
      // Every 10th tenant is due (issued 50 min ago, expiring within the next 10 min, sooner for higher i);
      // every 100th has none; the others were issued 10 min ago.
      if (i % 100 === 0) continue;
      entries[`t${i}`] =
        i % 10 === 0
          ? { secretVersion: version, issuedAt: now - 3000, expiresAt: now + 600 - Math.floor(i / 10) }
          : { secretVersion: version, issuedAt: now - 600, expiresAt: now + 3000 };
    }
    const schedules = schedulesOf(entries);
    // The run's time: each upstream call "takes" 1 s of a 300 s invocation; 20 s are kept in reserve.
    let remaining = 300_000;
    const tick = provider.issue.bind(provider);
    provider.issue = (via, token) => {
      remaining -= 1000;
      return tick(via, token);
    };
    const discovered = Array.from({ length: 5000 }, (_, i) => ({ tenantId: `t${i}`, version }));
    const results = await refreshTenants(vendor, discovered, {
      schedules,
      clock,
      concurrency: 8,
      remainingMs: () => remaining,
      reserveMs: 20_000,
    });
    const by = (outcome: string) => results.filter((r) => r.outcome === outcome).map((r) => r.tenantId);
    expect(schedules.reads).toBe(1);
    expect(by('fresh')).toHaveLength(4500);
    expect(by('failed')).toEqual([]);
    const renewed = by('renewed');
    // 280 s of budget at 1 s per call, plus the workers already running when it ran out.
    expect(renewed.length).toBeGreaterThanOrEqual(280);
    expect(renewed.length).toBeLessThanOrEqual(288);
    expect(provider.signIns).toBe(renewed.length);
    expect(by('skipped')).toHaveLength(500 - renewed.length);
    // Most urgent first: exactly the due sessions expiring soonest (highest i) were renewed.
    const byUrgency = Array.from({ length: 5000 }, (_, i) => 4999 - i)
      .filter((i) => i % 10 === 0 && i % 100 !== 0)
      .map((i) => `t${i}`);
    expect(new Set(renewed)).toEqual(new Set(byUrgency.slice(0, renewed.length)));
    expect(renewed.some((id) => entries[id] === undefined)).toBe(false); // no-session tenants come last
  });

  it('asks the vendor for every tenant when the directory does not know versions or schedules fail', async () => {
    const { clock, provider, vendor } = many(3);
    const failing = {
      schedules: async () => {
        throw new Error('table down');
      },
    };
    const results = await refreshTenants(vendor, ['t0', 't1', 't2'], { schedules: failing, clock });
    expect(results.map((r) => r.outcome)).toEqual(['renewed', 'renewed', 'renewed']);
    expect(provider.signIns).toBe(3);
  });

  it('asks the vendor about a session the table shows under an older secret version, even if not due', async () => {
    const { clock, vendor, tenants } = many(2);
    await vendor.vend('t0', 0);
    await vendor.vend('t1', 0);
    const now = clock.nowSeconds();
    const version = (await tenants.get('t0')).version;
    const schedules = schedulesOf({
      t0: { secretVersion: 'older', issuedAt: now, expiresAt: now + 3600 },
      t1: { secretVersion: version, issuedAt: now, expiresAt: now + 3600 },
    });
    const results = await refreshTenants(
      vendor,
      [
        { tenantId: 't0', version },
        { tenantId: 't1', version },
      ],
      { schedules, clock },
    );
    // t0 is asked (the vendor then sees its own session is current); t1 is known fresh without asking.
    expect(results).toEqual([
      { tenantId: 't0', outcome: 'fresh' },
      { tenantId: 't1', outcome: 'fresh' },
    ]);
  });
});

describe('refreshTenants and identity-pool AWS credentials', () => {
  /** Records which tenants' credentials it was asked to refresh; `down` fails them. */
  function credentialsRefresher(down: readonly string[] = []) {
    const asked: string[] = [];
    return {
      asked,
      refreshIfDue: async (tenantId: string) => {
        asked.push(tenantId);
        if (down.includes(tenantId)) throw new UpstreamUnavailableError('identity pool down');
        return tenantId === 'gone' ? ('none' as const) : ('renewed' as const);
      },
    };
  }

  it('renews the credentials the shared cache shows due, even where the tokens are not, and only those', async () => {
    const { clock, vendor } = setup();
    const now = clock.nowSeconds();
    const version = 'v1';
    const fresh = { secretVersion: version, issuedAt: now - 600, expiresAt: now + 3000 };
    const due = { secretVersion: version, issuedAt: now - 3000, expiresAt: now + 600 };
    const sessions = schedulesOf({ near: fresh, fresh, broken: fresh, gone: fresh });
    const source = {
      schedules: sessions.schedules,
      credentialsReads: 0,
      credentialsSchedules: async (ids: readonly string[]) => {
        source.credentialsReads++;
        const entries: Record<string, SessionSchedule> = {
          near: due,
          fresh,
          broken: due,
          gone: { ...fresh, secretVersion: 'older' },
        };
        return new Map(ids.filter((id) => entries[id]).map((id) => [id, entries[id] as SessionSchedule]));
      },
    };
    const credentials = credentialsRefresher(['broken']);
    const listed = ['near', 'fresh', 'broken', 'gone'].map((tenantId) => ({ tenantId, version }));
    const results = await refreshTenants(vendor, listed, { schedules: source, clock, credentials, concurrency: 1 });
    expect(results).toEqual([
      { tenantId: 'near', outcome: 'fresh', awsCredentials: 'renewed' },
      { tenantId: 'fresh', outcome: 'fresh' },
      {
        tenantId: 'broken',
        outcome: 'failed',
        code: 'upstream_unavailable',
        message: 'AWS credentials: identity pool down',
      },
      // Credentials of an older secret version are asked about; the tenant no longer has a pool.
      { tenantId: 'gone', outcome: 'fresh' },
    ]);
    // Tokens were not due anywhere: only the credentials were asked about, the most urgent first.
    expect(credentials.asked).toEqual(['near', 'broken', 'gone']);
    expect(sessions.reads).toBe(1);
    expect(source.credentialsReads).toBe(1);
  });

  it('leaves the credentials for the next run when the tokens used up the time the run had left', async () => {
    const { clock, vendor } = setup();
    const now = clock.nowSeconds();
    const due = { secretVersion: 'v1', issuedAt: now - 3000, expiresAt: now + 600 };
    const source = {
      schedules: async () => new Map([['near', due]]),
      credentialsSchedules: async () => new Map([['near', due]]),
    };
    const credentials = credentialsRefresher();
    // 30 s left when the tenant starts; its token renewal "takes" 15 s: less than the 20 s reserve is left.
    const left = [30_000, 15_000];
    const results = await refreshTenants(vendor, [{ tenantId: 'near', version: 'v1' }], {
      schedules: source,
      clock,
      credentials,
      remainingMs: () => left.shift() ?? 0,
      reserveMs: 20_000,
    });
    expect(results).toEqual([{ tenantId: 'near', outcome: 'renewed', awsCredentials: 'skipped' }]);
    expect(credentials.asked).toEqual([]);
  });

  it('reads no credentials schedules and asks nothing without a credentials refresher, or when they fail', async () => {
    const { clock, vendor } = setup();
    const now = clock.nowSeconds();
    const fresh = { secretVersion: 'v1', issuedAt: now, expiresAt: now + 3600 };
    const unreadable = {
      schedules: schedulesOf({ near: fresh }).schedules,
      credentialsSchedules: async (): Promise<ReadonlyMap<string, SessionSchedule>> => {
        throw new Error('ProvisionedThroughputExceededException');
      },
    };
    const credentials = credentialsRefresher();
    const near = [{ tenantId: 'near', version: 'v1' }];
    expect(await refreshTenants(vendor, near, { schedules: unreadable, clock })).toEqual([
      { tenantId: 'near', outcome: 'fresh' },
    ]);
    expect(await refreshTenants(vendor, near, { schedules: unreadable, clock, credentials })).toEqual([
      { tenantId: 'near', outcome: 'fresh' },
    ]);
    expect(credentials.asked).toEqual([]);
  });
});
