import { ConfigError, loadRuntimeConfig } from '../../../lambdas/runtime/config';

describe('loadRuntimeConfig', () => {
  it('applies defaults', () => {
    expect(loadRuntimeConfig({})).toEqual({
      secretPrefix: 'tvm/tenants',
      consumers: [],
      clockSkewSeconds: 30,
      secretCacheTtlSeconds: 300,
      upstreamAttempts: 3,
      tenants: [],
      refreshAtFraction: 0.75,
      vendBudgetMs: 20_000,
      forcedRenewalIntervalSeconds: 30,
    });
  });

  it("keeps the vend budget inside API Gateway's 29 s", () => {
    expect(loadRuntimeConfig({ TVM_VEND_BUDGET_MS: '1500' }).vendBudgetMs).toBe(1500);
    expect(() => loadRuntimeConfig({ TVM_VEND_BUDGET_MS: '29000' })).toThrow(/TVM_VEND_BUDGET_MS/);
    expect(() => loadRuntimeConfig({ TVM_FORCED_RENEWAL_INTERVAL_SECONDS: '-1' })).toThrow(
      /TVM_FORCED_RENEWAL_INTERVAL_SECONDS/,
    );
  });

  it('reads consumers and numbers from the environment', () => {
    const config = loadRuntimeConfig({
      TVM_SECRET_PREFIX: 'prod/tvm',
      TVM_CONSUMERS: JSON.stringify([{ principal: 'arn:aws:iam::123456789012:role/export', tenants: ['acme'] }]),
      TVM_CLOCK_SKEW_SECONDS: '10',
    });
    expect(config).toMatchObject({
      secretPrefix: 'prod/tvm',
      clockSkewSeconds: 10,
      consumers: [{ tenants: ['acme'] }],
    });
  });

  it('names the variable and field that are wrong', () => {
    expect(() => loadRuntimeConfig({ TVM_CLOCK_SKEW_SECONDS: 'soon' })).toThrow(/TVM_CLOCK_SKEW_SECONDS/);
    expect(() => loadRuntimeConfig({ TVM_CONSUMERS: 'not json' })).toThrow(ConfigError);
    expect(() => loadRuntimeConfig({ TVM_TENANTS: '["Bad Id"]' })).toThrow(/TVM_TENANTS\.0/);
    expect(() =>
      loadRuntimeConfig({ TVM_CONSUMERS: JSON.stringify([{ principal: 'bob', tenants: ['acme'] }]) }),
    ).toThrow(/TVM_CONSUMERS\.0\.principal/);
  });

  it('requires the KMS key of the session items with the cache table', () => {
    expect(() => loadRuntimeConfig({ TVM_CACHE_TABLE: 'tvm-cache' })).toThrow(
      /TVM_CACHE_KEY_ID: required when TVM_CACHE_TABLE is set/,
    );
    const keyArn = 'arn:aws:kms:ap-southeast-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(loadRuntimeConfig({ TVM_CACHE_TABLE: 'tvm-cache', TVM_CACHE_KEY_ID: keyArn })).toMatchObject({
      cacheTable: 'tvm-cache',
      cacheKeyId: keyArn,
    });
    expect(() => loadRuntimeConfig({ TVM_CACHE_TABLE: 't', TVM_CACHE_KEY_ID: 'key id' })).toThrow(/TVM_CACHE_KEY_ID/);
  });
});
