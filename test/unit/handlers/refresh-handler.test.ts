import {
  GetSecretValueCommand,
  ListSecretsCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  type SecretListEntry,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';

import { StaticTenantStore } from '../../../lambdas/adapters/file-tenant-store';
import { UpstreamAuthFailedError } from '../../../lambdas/core/errors';
import { staticDirectory } from '../../../lambdas/core/refresher';
import { createObservability } from '../../../lambdas/handlers/observability';
import { createRefreshHandler, type RefreshSummary } from '../../../lambdas/handlers/refresh-handler';
import { composeRuntime, refreshSourcesFor } from '../../../lambdas/runtime/compose';
import { loadRuntimeConfig } from '../../../lambdas/runtime/config';
import { lambdaContext as vendContext } from '../../support/events';
import { cognitoSecret, FakeClock, FakeProvider } from '../../support/fakes';
import { capturedLogRecords } from '../../support/log-capture';

/** A scheduled invocation with five minutes left. */
const lambdaContext = { ...vendContext, functionName: 'refresh', getRemainingTimeInMillis: () => 300_000 };

function setup(tenants: string[]) {
  const clock = new FakeClock();
  const provider = new FakeProvider(clock);
  const config = loadRuntimeConfig({});
  const runtime = composeRuntime(config, {
    tenants: new StaticTenantStore({ acme: cognitoSecret, globex: cognitoSecret }),
    clock,
    shared: null,
    providers: { cognito: provider, 'login-endpoint': provider },
  });
  const handler = createRefreshHandler(runtime, { directory: staticDirectory(tenants) }, config, createObservability());
  return { handler, provider, runtime };
}

describe('refresh handler', () => {
  it('renews every listed tenant and reports the counts', async () => {
    const { handler, provider } = setup(['acme', 'globex']);
    const summary = (await handler({}, lambdaContext)) as RefreshSummary;
    expect(summary).toMatchObject({ tenants: 2, renewed: 2, fresh: 0, failed: 0, skipped: 0 });
    expect(provider.signIns).toBe(2);
    const again = (await handler({}, lambdaContext)) as RefreshSummary;
    expect(again).toMatchObject({ renewed: 0, fresh: 2 });
  });

  it('tries every tenant, then fails the invocation naming the failed ones (for the Errors alarm)', async () => {
    const { handler, provider } = setup(['acme', 'ghost', 'globex']);
    provider.signInSteps.push(() => {
      throw new UpstreamAuthFailedError('rejected', 'not_authorized');
    });
    await expect(handler({}, lambdaContext)).rejects.toThrow(/2 of 3 tenants: acme, ghost$/);
    expect(provider.signIns).toBe(2); // globex was still renewed after acme failed
    const failures = capturedLogRecords()
      .filter((r) => r.message === 'tenant refresh failed')
      .map((r) => [r.tenantId, r.code]);
    expect(failures).toEqual([
      ['acme', 'upstream_auth_failed'],
      ['ghost', 'tenant_not_found'],
    ]);
  });

  it('starts no tenant when the invocation has less than the reserve left, and reports them skipped', async () => {
    const { handler, provider } = setup(['acme', 'globex']);
    const summary = (await handler({}, { ...lambdaContext, getRemainingTimeInMillis: () => 5_000 })) as RefreshSummary;
    expect(summary).toMatchObject({ renewed: 0, skipped: 2, failed: 0 });
    expect(provider.signIns).toBe(0);
    const warning = capturedLogRecords().find((r) => r.message === 'refresh ran out of time');
    expect(warning).toMatchObject({ skipped: 2, skippedTenants: ['acme', 'globex'] });
  });
});

describe('refresher tenant discovery (Secrets Manager)', () => {
  const secretsManager = mockClient(SecretsManagerClient);
  afterAll(() => secretsManager.restore());

  /** The account's secrets: name -> current version, with a deleted one and a foreign one. */
  const stored = new Map<string, { version: string; deleted?: boolean }>();
  const entry = (name: string): SecretListEntry => {
    const secret = stored.get(name) as { version: string; deleted?: boolean };
    return {
      Name: name,
      SecretVersionsToStages: { [secret.version]: ['AWSCURRENT'], older: ['AWSPREVIOUS'] },
      ...(secret.deleted ? { DeletedDate: new Date() } : {}),
    };
  };

  beforeEach(() => {
    secretsManager.reset();
    stored.clear();
    // ListSecrets: name filter is a case-sensitive prefix; two entries per page to exercise pagination.
    secretsManager
      .on(ListSecretsCommand)
      .callsFake((input: { Filters?: { Values?: string[] }[]; NextToken?: string }) => {
        const prefix = input.Filters?.[0]?.Values?.[0] ?? '';
        const names = [...stored.keys()].filter((name) => name.startsWith(prefix)).sort();
        const start = Number(input.NextToken ?? 0);
        const next = start + 2 < names.length ? { NextToken: String(start + 2) } : {};
        return { SecretList: names.slice(start, start + 2).map(entry), ...next };
      });
    secretsManager.on(GetSecretValueCommand).callsFake((input: { SecretId?: string }) => {
      const secret = stored.get(input.SecretId ?? '');
      if (!secret || secret.deleted)
        throw new ResourceNotFoundException({
          message: 'Secrets Manager can’t find the specified secret.',
          $metadata: {},
        });
      return { Name: input.SecretId, VersionId: secret.version, SecretString: JSON.stringify(cognitoSecret) };
    });
  });

  function deployed() {
    const clock = new FakeClock();
    const provider = new FakeProvider(clock);
    // As deployed: no tenant list anywhere in the configuration.
    const config = loadRuntimeConfig({ TVM_SECRET_PREFIX: 'tvm/tenants' });
    const runtime = composeRuntime(config, {
      clock,
      shared: null,
      providers: { cognito: provider, 'login-endpoint': provider },
    });
    const handler = createRefreshHandler(runtime, refreshSourcesFor(config, runtime), config, createObservability());
    return { handler, provider, runtime, clock };
  }

  it('discovers a tenant secret created after deploy and keeps it warm, without a config change', async () => {
    stored.set('tvm/tenants/acme', { version: 'a1' });
    stored.set('tvm/tenants/beta', { version: 'b1' });
    stored.set('tvm/tenants/gone', { version: 'g1', deleted: true });
    stored.set('tvm/tenants/Not_A_Tenant', { version: 'x1' });
    stored.set('tvm/other/acme', { version: 'o1' });
    const { handler, provider, runtime, clock } = deployed();

    const first = (await handler({}, lambdaContext)) as RefreshSummary;
    expect(first.results.map((r) => [r.tenantId, r.outcome])).toEqual([
      ['acme', 'renewed'],
      ['beta', 'renewed'],
    ]);

    // An operator creates a new tenant's secret; nothing is redeployed.
    stored.set('tvm/tenants/globex', { version: 'g1' });
    const second = (await handler({}, lambdaContext)) as RefreshSummary;
    expect(second.results.map((r) => [r.tenantId, r.outcome])).toEqual([
      ['acme', 'fresh'],
      ['beta', 'fresh'],
      ['globex', 'renewed'],
    ]);
    expect(provider.signIns).toBe(3);
    // Callers of the new tenant find its token already in the cache.
    expect((await runtime.vendor.vend('globex', 600)).cacheHit).toBe(true);

    // Kept warm: past 75% of its lifetime the next run renews it with the refresh token.
    clock.advance(2800);
    const third = (await handler({}, lambdaContext)) as RefreshSummary;
    expect(third).toMatchObject({ tenants: 3, renewed: 3, failed: 0 });
    expect(provider.refreshes).toBe(3);
    expect(secretsManager.commandCalls(ListSecretsCommand)[0]?.args[0].input).toMatchObject({
      Filters: [{ Key: 'name', Values: ['tvm/tenants/'] }],
      IncludePlannedDeletion: false,
      MaxResults: 100,
    });
  });

  it('keeps the last listing when ListSecrets fails, and fails the run when it never worked', async () => {
    stored.set('tvm/tenants/acme', { version: 'a1' });
    const { handler } = deployed();
    await handler({}, lambdaContext);
    secretsManager
      .on(ListSecretsCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    expect(((await handler({}, lambdaContext)) as RefreshSummary).results).toEqual([
      { tenantId: 'acme', outcome: 'fresh' },
    ]);
    await expect(deployed().handler({}, lambdaContext)).rejects.toThrow('Rate exceeded');
  });
});
