/**
 * AWS credentials through the whole runtime (API route, access policy, CredentialsVendor, TokenVendor for the
 * ID token) with the real CognitoIdentityPool adapter over aws-sdk-client-mock and a fake user pool provider.
 */
import {
  CognitoIdentityClient,
  GetCredentialsForIdentityCommand,
  GetIdCommand,
  TooManyRequestsException,
  type GetCredentialsForIdentityCommandInput,
} from '@aws-sdk/client-cognito-identity';
import { mockClient } from 'aws-sdk-client-mock';

import 'aws-sdk-client-mock-jest';

import { MemoryCredentialsCache } from '../../../lambdas/adapters/credentials-cache';
import { StaticTenantStore } from '../../../lambdas/adapters/file-tenant-store';
import type { ApiRequest } from '../../../lambdas/core/api';
import {
  CredentialsVendor,
  type CredentialsSession,
  type IdentityPool,
} from '../../../lambdas/core/credentials-vendor';
import { toErrorResponse } from '../../../lambdas/core/errors';
import type { LeaseStore } from '../../../lambdas/core/ports';
import type { VendResult } from '../../../lambdas/core/vendor';
import { CognitoIdentityPool } from '../../../lambdas/providers/identity-pool';
import { composeRuntime, type Runtime } from '../../../lambdas/runtime/compose';
import { loadRuntimeConfig } from '../../../lambdas/runtime/config';
import { cognitoSecret, FakeClock, FakeProvider, loginEndpointSecret } from '../../support/fakes';

const identity = mockClient(CognitoIdentityClient);
const POOL_ID = 'ap-southeast-2:11111111-2222-4333-8444-555555555555';
const IDENTITY_ID = 'ap-southeast-2:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const CREDENTIALS_LIFETIME = 3600;

let clock: FakeClock;
let provider: FakeProvider;
let issued: number;

/** GetCredentialsForIdentity answers fresh keys valid for an hour of the fake clock. */
function serveIdentityPool() {
  identity.on(GetIdCommand).resolves({ IdentityId: IDENTITY_ID });
  identity.on(GetCredentialsForIdentityCommand).callsFake((input: GetCredentialsForIdentityCommandInput) => {
    issued++;
    return {
      IdentityId: input.IdentityId,
      Credentials: {
        AccessKeyId: `ASIAEXAMPLE${String(issued).padStart(10, '0')}`,
        SecretKey: `secret-${issued}`,
        SessionToken: `session-token-${issued}`,
        Expiration: new Date(clock.now() + CREDENTIALS_LIFETIME * 1000),
      },
    };
  });
}

function setup(consumers = [{ principal: 'arn:aws:iam::123456789012:role/app', tenants: ['*'] }]) {
  const config = loadRuntimeConfig({ TVM_CONSUMERS: JSON.stringify(consumers) });
  return composeRuntime(config, {
    tenants: new StaticTenantStore({
      acme: { ...cognitoSecret, identityPoolId: POOL_ID },
      plain: cognitoSecret,
      rest: loginEndpointSecret,
    }),
    clock,
    shared: null,
    providers: { cognito: provider },
    vendorOptions: { retryBaseMs: 1, retryCapMs: 2 },
  });
}

function request(path: string, query: Record<string, string[]> = {}): ApiRequest {
  return { method: 'GET', path, query, callerArn: 'arn:aws:iam::123456789012:role/app', requestId: 'r-1' };
}

async function credentials(runtime: Runtime, minTtl?: number, tenant = 'acme') {
  const outcome = await runtime.api.handle(
    request(`/v1/tenants/${tenant}/aws-credentials`, minTtl === undefined ? {} : { minTtl: [String(minTtl)] }),
  );
  return { ...outcome, body: outcome.response.body as Record<string, any> };
}

beforeEach(() => {
  identity.reset();
  clock = new FakeClock();
  provider = new FakeProvider(clock);
  issued = 0;
  serveIdentityPool();
});

describe('GET /v1/tenants/{tenantId}/aws-credentials', () => {
  it('answers the credentials and identity id, and presents the ID token to the identity pool', async () => {
    const runtime = setup();
    const reply = await credentials(runtime);
    expect(reply.response.status).toBe(200);
    expect(reply.response.headers['Cache-Control']).toBe('no-store');
    expect(reply.body).toEqual({
      accessKeyId: 'ASIAEXAMPLE0000000001',
      secretAccessKey: 'secret-1',
      sessionToken: 'session-token-1',
      expiration: new Date(clock.now() + CREDENTIALS_LIFETIME * 1000).toISOString(),
      identityId: IDENTITY_ID,
    });
    const idToken = (await runtime.vendor.vend('acme', 0)).session.tokens.idToken;
    expect(identity).toHaveReceivedCommandWith(GetIdCommand, {
      IdentityPoolId: POOL_ID,
      Logins: { 'cognito-idp.ap-southeast-2.amazonaws.com/ap-southeast-2_AbC123': idToken },
    });
  });

  it('serves cached credentials while expiration - now >= minTtl + skew, then renews without GetId', async () => {
    const runtime = setup();
    await credentials(runtime, 0);
    clock.advance(CREDENTIALS_LIFETIME - 330); // 330 s left = minTtl 300 + skew 30
    expect((await credentials(runtime, 300)).body.accessKeyId).toBe('ASIAEXAMPLE0000000001');
    expect(identity).toHaveReceivedCommandTimes(GetCredentialsForIdentityCommand, 1);
    clock.advance(1);
    const renewed = await credentials(runtime, 300);
    expect(renewed.credentials?.source).toBe('upstream');
    expect(renewed.body.accessKeyId).toBe('ASIAEXAMPLE0000000002');
    expect(identity).toHaveReceivedCommandTimes(GetCredentialsForIdentityCommand, 2);
    expect(identity).toHaveReceivedCommandTimes(GetIdCommand, 1); // the identity id is stable: cached
  });

  it('200 concurrent cold requests make one sign-in and one GetCredentialsForIdentity', async () => {
    const runtime = setup();
    const replies = await Promise.all(Array.from({ length: 200 }, () => credentials(runtime)));
    expect(replies.every((reply) => reply.response.status === 200)).toBe(true);
    expect(new Set(replies.map((reply) => reply.body.sessionToken)).size).toBe(1);
    expect(identity).toHaveReceivedCommandTimes(GetCredentialsForIdentityCommand, 1);
    expect(identity).toHaveReceivedCommandTimes(GetIdCommand, 1);
    expect(provider.signIns).toBe(1);
  });

  it('retries throttling within bounds, then answers 503 with Retry-After; a cached set is still served', async () => {
    const runtime = setup();
    await credentials(runtime, 0);
    identity
      .on(GetCredentialsForIdentityCommand)
      .rejects(new TooManyRequestsException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } }));
    expect((await credentials(runtime, 1200)).response.status).toBe(200); // 3600 s left: still served
    clock.advance(CREDENTIALS_LIFETIME - 100);
    const reply = await credentials(runtime, 300);
    expect(reply.response.status).toBe(503);
    expect(reply.body.error.code).toBe('upstream_unavailable');
    expect(reply.response.headers['Retry-After']).toBeDefined();
    expect(identity).toHaveReceivedCommandTimes(GetCredentialsForIdentityCommand, 1 + 3);
  });

  it('does not believe an expiry beyond the hour GetCredentialsForIdentity issues', async () => {
    identity.on(GetCredentialsForIdentityCommand).resolves({
      IdentityId: IDENTITY_ID,
      Credentials: {
        AccessKeyId: 'ASIAEXAMPLE0000000009',
        SecretKey: 'secret',
        SessionToken: 'token',
        Expiration: new Date(clock.now() + 10 * 24 * 3600 * 1000),
      },
    });
    const reply = await credentials(setup(), 0);
    expect(reply.body.expiration).toBe(new Date(clock.now() + CREDENTIALS_LIFETIME * 1000).toISOString());
  });

  it.each([3570, 3600])(
    'refuses minTtl=%d, which credentials can never meet, without calling upstream',
    async (minTtl) => {
      const reply = await credentials(setup(), minTtl);
      expect(reply.response.status).toBe(400);
      expect(reply.body.error.code).toBe('invalid_request');
      expect(identity.calls()).toHaveLength(0);
      expect(provider.signIns).toBe(0);
    },
  );

  it('answers 400 for a tenant without an identity pool, and for rejected=', async () => {
    const runtime = setup();
    expect((await credentials(runtime, 300, 'plain')).body.error.code).toBe('invalid_request');
    expect((await credentials(runtime, 300, 'rest')).body.error.code).toBe('invalid_request');
    const rejected = await runtime.api.handle(
      request('/v1/tenants/acme/aws-credentials', { rejected: ['0123456789abcdef'] }),
    );
    expect(rejected.response.status).toBe(400);
    expect(identity.calls()).toHaveLength(0);
  });

  it('applies the access policy: a caller not allowed the tenant gets 403 and nothing is fetched', async () => {
    const runtime = setup([{ principal: 'arn:aws:iam::123456789012:role/app', tenants: ['other'] }]);
    const reply = await credentials(runtime);
    expect(reply.response.status).toBe(403);
    expect(identity.calls()).toHaveLength(0);
    expect(provider.signIns).toBe(0);
  });
});

describe('CredentialsVendor layers', () => {
  const tenants = () => new StaticTenantStore({ acme: { ...cognitoSecret, identityPoolId: POOL_ID } });
  const tokens = { vend: async () => ({ session: { tokens: { idToken: 'id-token' } } }) as unknown as VendResult };

  function session(overrides: Partial<CredentialsSession> = {}): CredentialsSession {
    return {
      tenantId: 'acme',
      secretVersion: 'unused',
      identityPoolId: POOL_ID,
      identityId: IDENTITY_ID,
      credentials: {
        accessKeyId: 'ASIASHARED0000000000',
        secretAccessKey: 's',
        sessionToken: 't',
        expiresAt: clock.nowSeconds() + 3000,
      },
      issuedAt: clock.nowSeconds(),
      ...overrides,
    };
  }

  it('takes L2 before the upstream and fills L1; drops a copy of an older secret version', async () => {
    const store = tenants();
    const version = (await store.get('acme')).version;
    const shared = new MemoryCredentialsCache();
    const cache = new MemoryCredentialsCache();
    const vendor = new CredentialsVendor({
      tenants: store,
      tokens,
      identityPool: new CognitoIdentityPool(),
      cache,
      shared,
      clock,
    });
    await shared.put(session({ secretVersion: version }));
    const fromShared = await vendor.vend('acme', 300);
    expect(fromShared.source).toBe('shared');
    expect((await cache.get('acme'))?.credentials.accessKeyId).toBe('ASIASHARED0000000000');
    expect(identity.calls()).toHaveLength(0);

    const rotated = new MemoryCredentialsCache();
    await rotated.put(session({ secretVersion: 'older-version' }));
    const fresh = new CredentialsVendor({
      tenants: store,
      tokens,
      identityPool: new CognitoIdentityPool(),
      cache: rotated,
      clock,
    });
    expect((await fresh.vend('acme', 300)).session.credentials.accessKeyId).toBe('ASIAEXAMPLE0000000001');
    // A new secret may name another user: its identity is looked up again.
    expect(identity).toHaveReceivedCommandTimes(GetIdCommand, 1);
  });

  it('answers 503 with Retry-After when the identity pool hangs past the budget', async () => {
    const vendor = new CredentialsVendor({
      tenants: tenants(),
      tokens,
      identityPool: { credentials: () => new Promise(() => undefined) },
      cache: new MemoryCredentialsCache(),
      clock,
      options: { budgetMs: 50 },
    });
    const error = await vendor.vend('acme', 300).catch((e: unknown) => e);
    expect(toErrorResponse(error)).toMatchObject({ status: 503, code: 'upstream_unavailable' });
    expect(toErrorResponse(error).headers['Retry-After']).toBeDefined();
  });

  it('fleet-wide: 4 containers x 50 concurrent cold requests make one identity pool call (lease + L2)', async () => {
    const leases = new Map<string, { holder: string; until: number }>();
    const leaseStore: LeaseStore = {
      tryAcquire: async (key, holder, ttlMs) => {
        const current = leases.get(key);
        if (current && current.until > Date.now()) return false;
        leases.set(key, { holder, until: Date.now() + ttlMs });
        return true;
      },
      release: async (key, holder) => {
        if (leases.get(key)?.holder === holder) leases.delete(key);
      },
    };
    let calls = 0;
    const slowPool: IdentityPool = {
      credentials: async () => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 30));
        return { identityId: IDENTITY_ID, credentials: session().credentials };
      },
    };
    const shared = new MemoryCredentialsCache();
    const store = tenants();
    const containers = Array.from(
      { length: 4 },
      () =>
        new CredentialsVendor({
          tenants: store,
          tokens,
          identityPool: slowPool,
          cache: new MemoryCredentialsCache(),
          shared,
          leases: leaseStore,
          clock,
          sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 5))),
        }),
    );
    const results = await Promise.all(
      containers.flatMap((vendor) => Array.from({ length: 50 }, () => vendor.vend('acme', 300))),
    );
    expect(calls).toBe(1);
    expect(new Set(results.map((result) => result.session.credentials.accessKeyId)).size).toBe(1);
    expect(results.filter((result) => result.source === 'shared').length).toBeGreaterThan(0);
    expect(leases.size).toBe(0); // released
  });

  it('degrades when L2 fails: vends from the upstream and reports shared_cache_error', async () => {
    const events: string[] = [];
    const broken = {
      get: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
      put: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
    };
    const vendor = new CredentialsVendor({
      tenants: tenants(),
      tokens,
      identityPool: new CognitoIdentityPool(),
      cache: new MemoryCredentialsCache(),
      shared: broken,
      clock,
      onEvent: (event) => events.push(event.type),
    });
    expect((await vendor.vend('acme', 300)).source).toBe('upstream');
    expect(events.filter((type) => type === 'shared_cache_error')).toHaveLength(2);
  });
});

describe('CredentialsVendor.refreshIfDue (the scheduled refresher)', () => {
  it('renews credentials that are missing or past the fraction of their lifetime, and leaves the others', async () => {
    const runtime = setup();
    expect(await runtime.credentials.refreshIfDue('acme', 0.75)).toBe('renewed');
    expect(await runtime.credentials.refreshIfDue('acme', 0.75)).toBe('fresh');
    clock.advance(0.74 * CREDENTIALS_LIFETIME);
    expect(await runtime.credentials.refreshIfDue('acme', 0.75)).toBe('fresh');
    expect(identity).toHaveReceivedCommandTimes(GetCredentialsForIdentityCommand, 1);
    clock.advance(0.02 * CREDENTIALS_LIFETIME);
    expect(await runtime.credentials.refreshIfDue('acme', 0.75)).toBe('renewed');
    expect(identity).toHaveReceivedCommandTimes(GetCredentialsForIdentityCommand, 2);
    expect(identity).toHaveReceivedCommandTimes(GetIdCommand, 1); // the identity id is reused
    // A caller then asking for the longest minTtl possible is served from memory, without an upstream call.
    const reply = await credentials(runtime, CREDENTIALS_LIFETIME - 31);
    expect(reply.response.status).toBe(200);
    expect(reply.credentials?.source).toBe('memory');
    expect(identity).toHaveReceivedCommandTimes(GetCredentialsForIdentityCommand, 2);
  });

  it('has nothing to do for a tenant without an identity pool (none), and calls nothing for it', async () => {
    const runtime = setup();
    expect(await runtime.credentials.refreshIfDue('plain', 0.75)).toBe('none');
    expect(await runtime.credentials.refreshIfDue('rest', 0.75)).toBe('none');
    expect(identity.calls()).toHaveLength(0);
    expect(provider.signIns).toBe(0);
  });

  it('takes the fleet-wide lease like a vend: credentials another container renewed in L2 are fresh', async () => {
    const shared = new MemoryCredentialsCache();
    const make = () =>
      composeRuntime(loadRuntimeConfig({ TVM_CONSUMERS: '[]' }), {
        tenants: new StaticTenantStore({ acme: { ...cognitoSecret, identityPoolId: POOL_ID } }),
        clock,
        shared: null,
        sharedCredentials: shared,
        providers: { cognito: provider },
      });
    const first = make();
    const second = make();
    expect(await first.credentials.refreshIfDue('acme', 0.75)).toBe('renewed');
    expect(await second.credentials.refreshIfDue('acme', 0.75)).toBe('fresh');
    expect(identity).toHaveReceivedCommandTimes(GetCredentialsForIdentityCommand, 1);
  });
});
