import { StaticTenantStore } from '../../../lambdas/adapters/file-tenant-store';
import { MemoryFailureMarks, MemorySessionCache } from '../../../lambdas/adapters/memory-cache';
import { UpstreamUnavailableError } from '../../../lambdas/core/errors';
import { refreshTenants } from '../../../lambdas/core/refresher';
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
    providers: { cognito: provider, 'login-endpoint': provider },
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
