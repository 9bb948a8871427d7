// The sign-in code is loaded on first use (lambdas/runtime/compose.ts): once for concurrent callers, and parts whose
// construction failed are built again by the next call instead of failing every miss for the container's life. (A
// module that failed to load stays failed in Node's loader; test/integration/deployed-bundle.test.ts loads the chunk.)
import { ENV } from '../../../contract/names';
import { StaticTenantStore } from '../../../lambdas/adapters/file-tenant-store';
import type { IdentityPool } from '../../../lambdas/core/aws-credentials';
import { composeRuntime } from '../../../lambdas/runtime/compose';
import { ConfigError, loadRuntimeConfig } from '../../../lambdas/runtime/config';
import type { SignInParts } from '../../../lambdas/runtime/sign-in';
import { cognitoSecret, FakeClock, FakeProvider } from '../../support/fakes';

const loads: Array<() => SignInParts> = [];
let calls = 0;

jest.mock('../../../lambdas/runtime/sign-in', () => ({
  signInParts: () => {
    calls++;
    const next = loads.shift();
    if (!next) throw new Error('no sign-in parts prepared');
    return next();
  },
}));

const unusedPool: IdentityPool = { credentials: () => Promise.reject(new Error('not used')) };

function setup() {
  const clock = new FakeClock();
  const provider = new FakeProvider(clock);
  const parts: SignInParts = {
    providers: { cognito: provider, 'login-endpoint': provider, 'oauth2-client-credentials': provider },
    identityPool: unusedPool,
  };
  const runtime = composeRuntime(loadRuntimeConfig({ TVM_CONSUMERS: '[]' }), {
    tenants: new StaticTenantStore({ acme: cognitoSecret, globex: cognitoSecret }),
    shared: null,
    clock,
  });
  return { runtime, provider, parts };
}

beforeEach(() => {
  loads.length = 0;
  calls = 0;
});

describe('sign-in code loaded on first use', () => {
  it('loads once for concurrent misses of different tenants', async () => {
    const { runtime, provider, parts } = setup();
    loads.push(() => parts);
    await Promise.all([runtime.vendor.vend('acme', 300), runtime.vendor.vend('globex', 300)]);
    expect(calls).toBe(1);
    expect(provider.signIns).toBe(2);
  });

  it('builds the sign-in parts again on the next call after a failure', async () => {
    const { runtime, provider, parts } = setup();
    loads.push(() => {
      throw new Error('EMFILE: too many open files');
    });
    loads.push(() => parts);
    await expect(runtime.vendor.vend('acme', 300)).rejects.toThrow('EMFILE');
    expect(provider.signIns).toBe(0);
    const result = await runtime.vendor.vend('acme', 300);
    expect(result.source).toBe('upstream');
    expect(calls).toBe(2);
    expect(provider.signIns).toBe(1);
    // Loaded for good now: later misses do not load again.
    await runtime.vendor.vend('globex', 300);
    expect(calls).toBe(2);
  });
});

describe('tenantStoreFor', () => {
  it('refuses a tenants file in a deployed function, naming the variable (local mode passes its own store)', () => {
    const config = loadRuntimeConfig({ [ENV.consumers]: '[]', [ENV.tenantsFile]: '/var/task/tenants.json' });
    expect(() => composeRuntime(config)).toThrow(ConfigError);
    expect(() => composeRuntime(config)).toThrow(/TVM_TENANTS_FILE is read by local mode only/);
  });
});
