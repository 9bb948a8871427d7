import { StaticTenantStore } from '../../../lambdas/adapters/file-tenant-store';
import { UpstreamAuthFailedError } from '../../../lambdas/core/errors';
import { createObservability } from '../../../lambdas/handlers/observability';
import { createRefreshHandler, type RefreshSummary } from '../../../lambdas/handlers/refresh-handler';
import { composeRuntime } from '../../../lambdas/runtime/compose';
import { loadRuntimeConfig } from '../../../lambdas/runtime/config';
import { lambdaContext } from '../../support/events';
import { cognitoSecret, FakeClock, FakeProvider } from '../../support/fakes';
import { capturedLogRecords } from '../../support/log-capture';

function setup(tenants: string[]) {
  const clock = new FakeClock();
  const provider = new FakeProvider(clock);
  const config = loadRuntimeConfig({ TVM_TENANTS: JSON.stringify(tenants) });
  const runtime = composeRuntime(config, {
    tenants: new StaticTenantStore({ acme: cognitoSecret, globex: cognitoSecret }),
    clock,
    shared: null,
    providers: { cognito: provider, 'login-endpoint': provider },
  });
  return { handler: createRefreshHandler(runtime, config, createObservability()), provider, runtime };
}

describe('refresh handler', () => {
  it('renews every configured tenant and reports the counts', async () => {
    const { handler, provider } = setup(['acme', 'globex']);
    const summary = (await handler({}, lambdaContext)) as RefreshSummary;
    expect(summary).toMatchObject({ renewed: 2, fresh: 0, failed: 0 });
    expect(provider.signIns).toBe(2);
    const again = (await handler({}, lambdaContext)) as RefreshSummary;
    expect(again).toMatchObject({ renewed: 0, fresh: 2 });
  });

  it('tries every tenant, then fails the invocation naming the failed ones (for the Errors alarm)', async () => {
    const { handler, provider } = setup(['acme', 'ghost', 'globex']);
    provider.signInSteps.push(() => {
      throw new UpstreamAuthFailedError('rejected', 'not_authorized');
    });
    await expect(handler({}, lambdaContext)).rejects.toThrow(/2 of 3 tenants: acme, ghost/);
    expect(provider.signIns).toBe(2); // globex was still renewed after acme failed
    const failures = capturedLogRecords()
      .filter((r) => r.message === 'tenant refresh failed')
      .map((r) => [r.tenantId, r.code]);
    expect(failures).toEqual([
      ['acme', 'upstream_auth_failed'],
      ['ghost', 'tenant_not_found'],
    ]);
  });
});
