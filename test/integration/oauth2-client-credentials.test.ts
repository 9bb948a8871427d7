/**
 * The oauth2-client-credentials provider against a real OAuth 2.0 server package (oauth2-mock-server,
 * in-process on 127.0.0.1): grants, JWT verification with aws-jwt-verify over the server's JWKS, expiry,
 * invalid_client pausing the tenant, and one grant for a burst of cold requests.
 */
import { StaticTenantStore } from '../../lambdas/adapters/file-tenant-store';
import type { ApiRequest } from '../../lambdas/core/api';
import { startLocalService } from '../../lambdas/local/local-service';
import { startOAuth2Emulator, type OAuth2Emulator } from '../../lambdas/local/oauth2-emulator';
import { DEMO_OAUTH2_TENANT } from '../../lambdas/local/seed-oauth2';
import { composeRuntime, type Runtime } from '../../lambdas/runtime/compose';
import { loadRuntimeConfig } from '../../lambdas/runtime/config';
import { OffsetClock } from '../support/fakes';

let upstream: OAuth2Emulator;

beforeAll(async () => {
  upstream = await startOAuth2Emulator({ clientId: 'm2m-client', clientSecret: 'm2m secret/with:odd+chars' });
});

afterAll(async () => {
  await upstream.close();
});

function secret(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    provider: 'oauth2-client-credentials',
    tokenUrl: upstream.tokenUrl,
    clientId: upstream.clientId,
    clientSecret: upstream.clientSecret,
    scopes: ['reports.read', 'reports.write'],
    audience: 'https://api.example.com',
    jwt: { issuer: upstream.issuer, jwksUri: upstream.jwksUri, audience: 'https://api.example.com' },
    claims: ['scope', 'client_id'],
    ...overrides,
  };
}

function runtimeFor(secrets: Record<string, unknown>): {
  runtime: Runtime;
  clock: OffsetClock;
  store: StaticTenantStore;
} {
  const clock = new OffsetClock();
  const store = new StaticTenantStore(secrets);
  const config = loadRuntimeConfig({ TVM_CONSUMERS: JSON.stringify([{ principal: 'local', tenants: ['*'] }]) });
  const runtime = composeRuntime(config, { tenants: store, clock, shared: null, vendorOptions: { retryBaseMs: 1 } });
  return { runtime, clock, store };
}

function request(tenantId: string, minTtl = 300): ApiRequest {
  return {
    method: 'GET',
    path: `/v1/tenants/${tenantId}/token`,
    query: { minTtl: [String(minTtl)] },
    callerArn: 'local',
    requestId: 'req-1',
  };
}

async function vend(runtime: Runtime, tenantId: string, minTtl = 300) {
  const outcome = await runtime.api.handle(request(tenantId, minTtl));
  return { ...outcome.response, body: outcome.response.body as Record<string, any> };
}

describe('oauth2-client-credentials against oauth2-mock-server', () => {
  it('signs in with client_secret_basic, verifies the JWT and renders the Bearer header', async () => {
    const { runtime } = runtimeFor({ m2m: secret() });
    const before = upstream.tokenRequests();
    const reply = await vend(runtime, 'm2m');
    expect(reply.status).toBe(200);
    expect(reply.body.provider).toBe('oauth2-client-credentials');
    expect(reply.body.accessToken).toMatch(/^eyJ/);
    expect(reply.body.headers).toEqual({ Authorization: `Bearer ${reply.body.accessToken}` });
    expect(reply.body.claims).toEqual({ scope: 'reports.read reports.write', client_id: 'm2m-client' });
    expect(reply.body.expiresIn).toBeGreaterThan(3500);
    expect(upstream.tokenRequests() - before).toBe(1);
    expect(JSON.stringify(reply.body)).not.toContain(upstream.clientSecret);
  });

  it('signs in with client_secret_post', async () => {
    const { runtime } = runtimeFor({ m2m: secret({ clientAuth: 'client_secret_post' }) });
    expect((await vend(runtime, 'm2m')).status).toBe(200);
  });

  it('treats the token as opaque without jwt: expiry from expires_in', async () => {
    const { runtime } = runtimeFor({ m2m: secret({ jwt: undefined, claims: [] }) });
    const reply = await vend(runtime, 'm2m');
    expect(reply.status).toBe(200);
    expect(reply.body.expiresIn).toBeGreaterThan(3590);
    expect(reply.body.expiresIn).toBeLessThanOrEqual(3600);
  });

  it.each([
    ['another issuer', { issuer: 'https://issuer.example.com' }],
    ['another audience', { audience: 'https://other.example.com' }],
  ])('refuses a token from %s as upstream_token_invalid and never caches it', async (_what, jwt) => {
    const { runtime } = runtimeFor({
      m2m: secret({
        jwt: { issuer: upstream.issuer, jwksUri: upstream.jwksUri, audience: 'https://api.example.com', ...jwt },
      }),
    });
    const before = upstream.tokenRequests();
    expect(await vend(runtime, 'm2m')).toMatchObject({
      status: 502,
      body: { error: { code: 'upstream_token_invalid' } },
    });
    // The second is answered from the sign-in pause (lockout guard): the client secret is not sent again.
    expect(await vend(runtime, 'm2m')).toMatchObject({ status: 502, headers: { 'Retry-After': '30' } });
    expect(upstream.tokenRequests() - before).toBe(1);
  });

  it('serves the cached token until exp - now < minTtl + skew, then makes a new grant', async () => {
    const { runtime, clock } = runtimeFor({ m2m: secret() });
    const before = upstream.tokenRequests();
    const first = await vend(runtime, 'm2m', 0);
    clock.advance(3600 - 330); // 330 s left: minTtl 300 + skew 30 still met
    expect((await vend(runtime, 'm2m', 300)).body.accessToken).toBe(first.body.accessToken);
    expect(upstream.tokenRequests() - before).toBe(1);
    clock.advance(1); // 329 s left
    upstream.setTokenTtl(7200); // the upstream's clock did not move: its next token must outlive ours
    try {
      const renewed = await vend(runtime, 'm2m', 300);
      expect(renewed.status).toBe(200);
      expect(renewed.body.accessToken).not.toBe(first.body.accessToken);
      expect(upstream.tokenRequests() - before).toBe(2);
    } finally {
      upstream.setTokenTtl(3600);
    }
  });

  it('pauses the tenant after invalid_client until the secret changes', async () => {
    const { runtime, store } = runtimeFor({ m2m: secret({ clientSecret: 'wrong-secret' }) });
    const before = upstream.tokenRequests();
    const rejected = await vend(runtime, 'm2m');
    expect(rejected).toMatchObject({ status: 502, body: { error: { code: 'upstream_auth_failed' } } });
    expect(rejected.body.error.message).toMatch(/invalid_client/);
    expect(Number(rejected.headers['Retry-After'])).toBeGreaterThanOrEqual(60);
    const paused = await vend(runtime, 'm2m');
    expect(paused).toMatchObject({ status: 502, body: { error: { code: 'upstream_auth_failed' } } });
    expect(paused.body.error.message).toMatch(/paused/);
    expect(upstream.tokenRequests() - before).toBe(1);

    store.replace({ m2m: secret() }); // the operator stores the right secret: a new version
    expect((await vend(runtime, 'm2m')).status).toBe(200);
    expect(upstream.tokenRequests() - before).toBe(2);
  });

  it('200 concurrent cold requests make exactly one token request', async () => {
    const { runtime } = runtimeFor({ m2m: secret() });
    const before = upstream.tokenRequests();
    const replies = await Promise.all(Array.from({ length: 200 }, () => vend(runtime, 'm2m')));
    expect(replies.every((reply) => reply.status === 200)).toBe(true);
    expect(new Set(replies.map((reply) => reply.body.accessToken)).size).toBe(1);
    expect(upstream.tokenRequests() - before).toBe(1);
  });

  it('answers 503 with Retry-After when the token endpoint keeps failing, after bounded retries', async () => {
    const { runtime } = runtimeFor({ m2m: secret() });
    const before = upstream.tokenRequests();
    upstream.failNext(3, 503, { error: 'temporarily_unavailable' });
    const reply = await vend(runtime, 'm2m');
    expect(reply).toMatchObject({ status: 503, body: { error: { code: 'upstream_unavailable' } } });
    expect(reply.headers['Retry-After']).toBeDefined();
    expect(upstream.tokenRequests() - before).toBe(3);
  });
});

describe('local mode', () => {
  it('serves demo-oauth2 from the embedded OAuth2 server', async () => {
    const service = await startLocalService({ port: 0 });
    try {
      const response = await fetch(`${service.url}/v1/tenants/${DEMO_OAUTH2_TENANT}/token?minTtl=300`);
      const body = (await response.json()) as Record<string, any>;
      expect(response.status).toBe(200);
      expect(body.provider).toBe('oauth2-client-credentials');
      expect(body.headers.Authorization).toBe(`Bearer ${body.accessToken}`);
      expect(body.claims).toEqual({ scope: 'reports.read', client_id: 'demo-m2m-client' });
      expect(service.upstreams?.oauth2.tokenRequests()).toBe(1);
    } finally {
      await service.close();
    }
  });
});
