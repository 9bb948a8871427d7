/**
 * The real service over HTTP against upstreams that lie: loopback servers impersonating a login endpoint, a Cognito
 * endpoint (JSON 1.1 InitiateAuth) and their key sets. Every case asserts the status, that a second request does not
 * serve the bad token, and the exact number of upstream calls (sign-ins, refreshes, JWKS fetches).
 */
import {
  GetSecretValueCommand,
  InternalServiceError,
  InvalidRequestException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';

import { fingerprint, primaryToken } from '../../contract/fingerprint';
import { AwsJwtVerifier } from '../../lambdas/adapters/jwt-verifier';
import { MemorySessionCache } from '../../lambdas/adapters/memory-cache';
import { SecretsManagerTenantStore } from '../../lambdas/adapters/secrets-manager-tenant-store';
import {
  COGNITO_SUB,
  startHostileCognitoEndpoint,
  type HostileCognitoEndpoint,
} from '../support/hostile/cognito-endpoint';
import {
  LOGIN_API_KEY,
  LOGIN_PASSWORD,
  startHostileLoginEndpoint,
  type HostileLoginEndpoint,
} from '../support/hostile/login-endpoint';
import { startLoopbackServer, type LoopbackServer } from '../support/hostile/loopback-server';
import { startServiceUnderTest, type ServiceOptions, type ServiceUnderTest } from '../support/hostile/service';
import { nowSeconds } from '../support/hostile/token-minter';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function loginUpstream(): Promise<HostileLoginEndpoint> {
  const upstream = await startHostileLoginEndpoint();
  closers.push(() => upstream.close());
  return upstream;
}

async function cognitoUpstream(): Promise<HostileCognitoEndpoint> {
  const upstream = await startHostileCognitoEndpoint();
  closers.push(() => upstream.close());
  return upstream;
}

/** A server that must never be reached: the target of every redirect. */
async function sink(): Promise<LoopbackServer> {
  const server = await startLoopbackServer(() => ({ status: 200, body: { credentials: { token: 'stolen' } } }));
  closers.push(() => server.close());
  return server;
}

/** The real verifier with fast JWKS retries and short fetch timeouts, so failing cases stay quick. */
function verifier(fetcher: ConstructorParameters<typeof AwsJwtVerifier>[0] = {}): AwsJwtVerifier {
  // A generous timeout so a loaded machine never turns a good fetch into a retry; the hanging case sets a short one.
  return new AwsJwtVerifier({ ...fetcher, fetcher: { retryDelayMs: 1, timeoutMs: 5000, ...fetcher.fetcher } });
}

async function service(options: ServiceOptions): Promise<ServiceUnderTest> {
  const started = await startServiceUnderTest({ verifier: verifier(), ...options });
  closers.push(() => started.close());
  return started;
}

const tokenPath = (tenant: string, query = '') => `/v1/tenants/${tenant}/token${query}`;

/**
 * Both requests are refused with this status and code, and no token is in either body. After a sign-in whose answer
 * is unusable, the second is answered from the sign-in pause (lockout guard) without signing in again.
 */
async function refusedTwice(svc: ServiceUnderTest, tenant: string, status: number, code: string): Promise<void> {
  for (let i = 0; i < 2; i++) {
    const reply = await svc.get(tokenPath(tenant));
    expect({ status: reply.status, code: reply.body.error?.code }).toEqual({ status, code });
    expect(reply.body.token ?? reply.body.idToken).toBeUndefined();
  }
}

describe('1. verification cannot be skipped (login endpoint with jwt)', () => {
  it.each([
    ['an opaque token', (_up: HostileLoginEndpoint) => 'opaque-session-token-123'],
    ['a JWT without alg', (up: HostileLoginEndpoint) => up.minter.signRaw('{"typ":"JWT","kid":"login-key"}', '{}')],
    ['a JWT whose header is not JSON', (up: HostileLoginEndpoint) => up.minter.signRaw('not json', '{"sub":"x"}')],
    ['a two-part token', (up: HostileLoginEndpoint) => up.token().split('.').slice(0, 2).join('.')],
  ])('%s is 502 upstream_token_invalid, never vended', async (_name, bad) => {
    const upstream = await loginUpstream();
    upstream.onLogin = (_request, self) => self.credentials(bad(self));
    const svc = await service({ tenants: { acme: upstream.secret() } });
    await refusedTwice(svc, 'acme', 502, 'upstream_token_invalid');
    expect({ logins: upstream.logins, jwks: upstream.jwks.fetches }).toEqual({ logins: 1, jwks: 1 });
  });

  it('a good token is vended, with one login and one key fetch', async () => {
    const upstream = await loginUpstream();
    const svc = await service({ tenants: { acme: upstream.secret() } });
    expect((await svc.get(tokenPath('acme'))).status).toBe(200);
    expect((await svc.get(tokenPath('acme'))).status).toBe(200);
    expect({ logins: upstream.logins, jwks: upstream.jwks.fetches }).toEqual({ logins: 1, jwks: 1 });
  });
});

describe('2. required and sane times', () => {
  it('a Cognito token without exp is 502, not a NaN expiry', async () => {
    const upstream = await cognitoUpstream();
    upstream.onInitiateAuth = (_request, self) =>
      self.authenticated(self.tokens({ id: { exp: undefined }, access: { exp: undefined } }), 'refresh-1');
    const svc = await service({ tenants: { acme: upstream.secret() } });
    await refusedTwice(svc, 'acme', 502, 'upstream_token_invalid');
    expect({ signIns: upstream.signIns(), jwks: upstream.jwks.fetches }).toEqual({ signIns: 1, jwks: 1 });
  });

  it.each([
    ['iat an hour in the future', () => ({ iat: nowSeconds() + 3600, exp: nowSeconds() + 7200 })],
    ['nbf an hour in the future', () => ({ nbf: nowSeconds() + 3600 })],
    ['a ten-year lifetime', () => ({ exp: nowSeconds() + 10 * 365 * 86_400 })],
  ])('a login token with %s is 502', async (_name, claims) => {
    const upstream = await loginUpstream();
    upstream.onLogin = (_request, self) => self.credentials(self.token(claims()));
    const svc = await service({ tenants: { acme: upstream.secret() } });
    await refusedTwice(svc, 'acme', 502, 'upstream_token_invalid');
    expect({ logins: upstream.logins, jwks: upstream.jwks.fetches }).toEqual({ logins: 1, jwks: 1 });
  });

  it('the lifetime cap is the tenant’s maxTokenLifetimeSeconds', async () => {
    const upstream = await loginUpstream();
    upstream.onLogin = (_request, self) => self.credentials(self.token({ exp: nowSeconds() + 3 * 3600 }));
    const svc = await service({
      tenants: { strict: upstream.secret({ maxTokenLifetimeSeconds: 7200 }), lenient: upstream.secret() },
    });
    expect((await svc.get(tokenPath('strict'))).status).toBe(502);
    expect((await svc.get(tokenPath('lenient'))).status).toBe(200);
    expect(upstream.logins).toBe(2);
  });
});

describe('3. one subject per session', () => {
  it('Cognito ID and access tokens of different subjects are 502', async () => {
    const upstream = await cognitoUpstream();
    upstream.onInitiateAuth = (_request, self) =>
      self.authenticated(self.tokens({ access: { sub: 'someone-else' } }), 'refresh-1');
    const svc = await service({ tenants: { acme: upstream.secret() } });
    await refusedTwice(svc, 'acme', 502, 'upstream_token_invalid');
    expect({ signIns: upstream.signIns(), jwks: upstream.jwks.fetches }).toEqual({ signIns: 1, jwks: 1 });
  });

  it('a Cognito refresh for another subject is 502 and the old session is kept', async () => {
    const upstream = await cognitoUpstream();
    const svc = await service({ tenants: { acme: upstream.secret() } });
    const first = await svc.get(tokenPath('acme'));
    expect(first.status).toBe(200);
    expect(first.body.claims).toEqual({ 'custom:identityId': expect.any(String) });
    upstream.onInitiateAuth = (_request, self) =>
      self.authenticated(self.tokens({ id: { sub: 'x' }, access: { sub: 'x' } }));
    const rejected = fingerprint(primaryToken(first.body));
    const refused = await svc.get(tokenPath('acme', `?rejected=${rejected}`));
    expect({ status: refused.status, code: refused.body.error?.code }).toEqual({
      status: 502,
      code: 'upstream_token_invalid',
    });
    const again = await svc.get(tokenPath('acme'));
    expect(again.status).toBe(200);
    expect(again.body.idToken).toBe(first.body.idToken); // the old, good session
    expect({ signIns: upstream.signIns(), refreshes: upstream.refreshes(), jwks: upstream.jwks.fetches }).toEqual({
      signIns: 1,
      refreshes: 1,
      jwks: 1,
    });
    expect(COGNITO_SUB).not.toBe('x');
  });

  it('a login-endpoint refresh for another identityId is 502 and the old session is kept', async () => {
    const upstream = await loginUpstream();
    const svc = await service({ tenants: { acme: upstream.secret() } });
    const first = await svc.get(tokenPath('acme'));
    expect(first.status).toBe(200);
    upstream.onRefresh = (_request, self) =>
      self.credentials(self.token({ identityId: 'eu-west-1:other' }), { identityId: 'eu-west-1:other' });
    const refused = await svc.get(tokenPath('acme', `?rejected=${fingerprint(first.body.token)}`));
    expect({ status: refused.status, code: refused.body.error?.code }).toEqual({
      status: 502,
      code: 'upstream_token_invalid',
    });
    const again = await svc.get(tokenPath('acme'));
    expect({ status: again.status, token: again.body.token }).toEqual({ status: 200, token: first.body.token });
    expect({ logins: upstream.logins, refreshes: upstream.refreshes, jwks: upstream.jwks.fetches }).toEqual({
      logins: 1,
      refreshes: 1,
      jwks: 1,
    });
  });

  it('a login answer whose identityId is not the token’s is 502', async () => {
    const upstream = await loginUpstream();
    upstream.onLogin = (_request, self) => self.credentials(self.token(), { identityId: 'eu-west-1:not-the-token' });
    const svc = await service({ tenants: { acme: upstream.secret() } });
    await refusedTwice(svc, 'acme', 502, 'upstream_token_invalid');
    expect(upstream.logins).toBe(1);
  });
});

describe('4. no redirects, no plaintext', () => {
  it('a login endpoint redirect is not followed: 502, the API key and password never reach the target', async () => {
    const target = await sink();
    const upstream = await loginUpstream();
    upstream.onLogin = () => ({ status: 307, headers: { location: `${target.url}/steal` } });
    const svc = await service({ tenants: { acme: upstream.secret() } });
    await refusedTwice(svc, 'acme', 502, 'upstream_auth_failed');
    expect(target.requests).toHaveLength(0);
    // The redirect is an operator's problem: sign-in pauses like for a rejected client, no second login.
    expect(upstream.logins).toBe(1);
  });

  it('a Cognito endpoint redirect is not followed by the SDK: 502, the password never reaches the target', async () => {
    const target = await sink();
    const upstream = await cognitoUpstream();
    upstream.onInitiateAuth = () => ({ status: 302, headers: { location: `${target.url}/steal` } });
    const svc = await service({ tenants: { acme: upstream.secret() } });
    await refusedTwice(svc, 'acme', 502, 'upstream_auth_failed');
    expect(target.requests).toHaveLength(0);
    expect(upstream.signIns()).toBe(1);
  });

  it('a JWKS redirect is not followed: 503 before any login, the target sees nothing', async () => {
    const target = await sink();
    const upstream = await loginUpstream();
    upstream.jwks.mode = { kind: 'redirect', location: `${target.url}/.well-known/jwks.json` };
    const svc = await service({ tenants: { acme: upstream.secret() } });
    await refusedTwice(svc, 'acme', 503, 'upstream_unavailable');
    expect(target.requests).toHaveLength(0);
    // A redirect is not retried, and the failed key set is not asked again during its cooldown.
    expect({ logins: upstream.logins, jwks: upstream.jwks.fetches }).toEqual({ logins: 0, jwks: 1 });
  });

  it.each([
    ['baseUrl', { baseUrl: 'http://api.example.com' }],
    ['jwt.jwksUri', { jwt: { issuer: 'https://idp.example.com', jwksUri: 'http://idp.example.com/jwks.json' } }],
  ])('a plain-http %s off this machine is 500 tenant_misconfigured naming the field', async (field, overrides) => {
    const upstream = await loginUpstream();
    const svc = await service({ tenants: { acme: upstream.secret(overrides) } });
    const reply = await svc.get(tokenPath('acme'));
    expect({ status: reply.status, code: reply.body.error.code }).toEqual({
      status: 500,
      code: 'tenant_misconfigured',
    });
    expect(reply.body.error.message).toContain(`${field}: must be an https: URL`);
    expect(upstream.requests).toHaveLength(0);
  });
  it.each([
    ['a backslash', (host: string) => `/\\${host}/steal`],
    ['two backslashes', (host: string) => `/\\\\${host}/steal`],
    ['a tab', (host: string) => `/\t/${host}/steal`],
    ['a line feed', (host: string) => `/\n/${host}/steal`],
  ])(
    'a loginPath with %s that would resolve to another host is 500 tenant_misconfigured: nothing is sent',
    async (_name, loginPath) => {
      const target = await sink();
      const upstream = await loginUpstream();
      const path = loginPath(new URL(target.url).host);
      // What the URL parser makes of it: the password and API key would go to the target.
      expect(new URL(path, upstream.url).origin).toBe(target.url);
      const svc = await service({ tenants: { acme: upstream.secret({ jwt: undefined, loginPath: path }) } });
      const reply = await svc.get(tokenPath('acme'));
      expect({ status: reply.status, code: reply.body.error.code }).toEqual({
        status: 500,
        code: 'tenant_misconfigured',
      });
      expect(reply.body.error.message).toContain('loginPath: must not contain a backslash or control character');
      expect(reply.body.error.message).not.toContain(new URL(target.url).port);
      expect(target.requests).toHaveLength(0);
      expect(upstream.requests).toHaveLength(0);
    },
  );
});

describe('5. safe header values', () => {
  it.each([
    ['a CR LF in the token', { token: 'abc\r\nX-Injected: yes' }],
    ['a NUL in the identityId', { identityId: 'eu-west-1:a\u0000b' }],
    ['a 20 KB token', { token: 'a'.repeat(20_000) }],
    ['a non-ASCII token', { token: 'tökén' }],
  ])('%s is 502 and never cached', async (_name, fields) => {
    const upstream = await loginUpstream();
    upstream.onLogin = () => ({
      status: 200,
      body: { credentials: { identityId: 'eu-west-1:ok', token: 'ok-token', ...fields } },
    });
    const svc = await service({ tenants: { acme: upstream.secret({ jwt: undefined }) } });
    await refusedTwice(svc, 'acme', 502, 'upstream_token_invalid');
    expect(upstream.logins).toBe(1);
  });

  it('a signed Cognito identityId with a line break is 502', async () => {
    const upstream = await cognitoUpstream();
    upstream.onInitiateAuth = (_request, self) =>
      self.authenticated(self.tokens({ id: { 'custom:identityId': 'eu-west-1:x\nSet-Cookie: a=b' } }), 'refresh-1');
    const svc = await service({ tenants: { acme: upstream.secret() } });
    await refusedTwice(svc, 'acme', 502, 'upstream_token_invalid');
    expect(upstream.signIns()).toBe(1);
  });

  it('the API key and password are sent only to the login endpoint, and only the API key is vended', async () => {
    const upstream = await loginUpstream();
    const svc = await service({ tenants: { acme: upstream.secret() } });
    const reply = await svc.get(tokenPath('acme'));
    expect(reply.body.headers['x-api-key']).toBe(LOGIN_API_KEY);
    expect(JSON.stringify(reply.body)).not.toContain(LOGIN_PASSWORD);
    expect(JSON.stringify(reply.body)).not.toMatch(/refresh/i);
  });
});

describe('6. Cognito behind another endpoint with the real issuer', () => {
  it('uses the tenant’s jwksUri, never the public Cognito key set', async () => {
    const upstream = await cognitoUpstream();
    const realIssuer = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Hostile1';
    upstream.onInitiateAuth = (_request, self) =>
      self.authenticated(self.tokens({ id: { iss: realIssuer }, access: { iss: realIssuer } }), 'refresh-1');
    const svc = await service({
      tenants: { acme: upstream.secret({ issuer: realIssuer, jwksUri: upstream.jwksUri }) },
    });
    expect((await svc.get(tokenPath('acme'))).status).toBe(200);
    expect((await svc.get(tokenPath('acme'))).status).toBe(200);
    expect({ signIns: upstream.signIns(), jwks: upstream.jwks.fetches }).toEqual({ signIns: 1, jwks: 1 });
  });
});

describe('7. key fetches are retried on their own, never by signing in again', () => {
  it.each(['fail', 'hang'] as const)('Cognito JWKS that %s: 503, three fetches, no sign-in', async (kind) => {
    const upstream = await cognitoUpstream();
    upstream.jwks.mode = { kind };
    const svc = await service({
      tenants: { acme: upstream.secret() },
      verifier: verifier({ fetcher: { timeoutMs: 300 } }),
    });
    const reply = await svc.get(tokenPath('acme'));
    expect({ status: reply.status, code: reply.body.error.code }).toEqual({
      status: 503,
      code: 'upstream_unavailable',
    });
    expect(reply.headers.get('retry-after')).toMatch(/^\d+$/);
    expect({ signIns: upstream.signIns(), jwks: upstream.jwks.fetches }).toEqual({ signIns: 0, jwks: 3 });
  });

  it('login-endpoint JWKS down: no login; during the cooldown not even a fetch; afterwards it recovers', async () => {
    const upstream = await loginUpstream();
    upstream.jwks.mode = { kind: 'fail' };
    let now = Date.now();
    const clock = { now: () => now };
    const svc = await service({
      tenants: { acme: upstream.secret() },
      verifier: verifier({ clock, fetcher: { cooldownSeconds: 10 } }),
    });
    await refusedTwice(svc, 'acme', 503, 'upstream_unavailable');
    expect({ logins: upstream.logins, jwks: upstream.jwks.fetches }).toEqual({ logins: 0, jwks: 3 });
    upstream.jwks.mode = { kind: 'ok' };
    now += 11_000;
    expect((await svc.get(tokenPath('acme'))).status).toBe(200);
    expect({ logins: upstream.logins, jwks: upstream.jwks.fetches }).toEqual({ logins: 1, jwks: 4 });
  });
});

describe('12. deleted tenants stop', () => {
  const secrets = mockClient(SecretsManagerClient);
  afterAll(() => secrets.restore());

  async function setUp() {
    secrets.reset();
    const upstream = await loginUpstream();
    const good = { SecretString: JSON.stringify(upstream.secret()), VersionId: 'v-1' };
    secrets.on(GetSecretValueCommand).resolves(good);
    const cache = new MemorySessionCache();
    const tenants = new SecretsManagerTenantStore({
      prefix: 'tvm/tenants',
      ttlSeconds: 0, // read on every request: the deletion is seen at once
      client: new SecretsManagerClient({ region: 'eu-west-1' }),
    });
    const svc = await service({ tenants, cache });
    expect((await svc.get(tokenPath('acme'))).status).toBe(200);
    return { upstream, good, cache, svc };
  }

  it.each([
    ['deleted (ResourceNotFoundException)', new ResourceNotFoundException({ message: 'not found', $metadata: {} })],
    [
      'scheduled for deletion (InvalidRequestException)',
      new InvalidRequestException({
        message: "You can't perform this operation on the secret because it was marked for deletion.",
        $metadata: {},
      }),
    ],
  ])('a secret %s is 404 tenant_not_found and the sessions are dropped', async (_name, error) => {
    const { upstream, good, cache, svc } = await setUp();
    secrets.on(GetSecretValueCommand).rejects(error);
    await refusedTwice(svc, 'acme', 404, 'tenant_not_found');
    expect(await cache.get('acme')).toBeUndefined();
    // Restored with the same version: the old session is gone, so it signs in again.
    secrets.on(GetSecretValueCommand).resolves(good);
    expect((await svc.get(tokenPath('acme'))).status).toBe(200);
    expect(upstream.logins).toBe(2);
  });

  it('a Secrets Manager outage still serves the last good copy and the cached session', async () => {
    const { upstream, svc } = await setUp();
    secrets.on(GetSecretValueCommand).rejects(new InternalServiceError({ message: 'down', $metadata: {} }));
    expect((await svc.get(tokenPath('acme'))).status).toBe(200);
    expect((await svc.get(tokenPath('acme'))).status).toBe(200);
    expect(upstream.logins).toBe(1);
  });
});

describe('13. an answer that cannot be decoded is a bad answer, not an outage', () => {
  it('200 with content-encoding: gzip over garbage: 502 upstream_token_invalid after one login, not three', async () => {
    const upstream = await loginUpstream();
    upstream.onLogin = () => ({
      status: 200,
      headers: { 'content-encoding': 'gzip' },
      body: Buffer.from('this is not gzip at all, whatever the header says'),
    });
    const svc = await service({ tenants: { acme: upstream.secret() } });
    const reply = await svc.get(tokenPath('acme'));
    expect({ status: reply.status, code: reply.body.error.code }).toEqual({
      status: 502,
      code: 'upstream_token_invalid',
    });
    expect(reply.body.error.message).toContain('could not be decoded');
    expect(reply.body.error.message).not.toContain('timed out');
    expect(JSON.stringify(reply.body)).not.toContain(LOGIN_PASSWORD);
    expect(upstream.logins).toBe(1);
    await refusedTwice(svc, 'acme', 502, 'upstream_token_invalid');
    expect(upstream.logins).toBe(1);
  });

  it.each([
    ['stalls past the request timeout', 'stall' as const],
    ['breaks off (the connection closes)', 'close' as const],
  ])('a 200 whose body %s is still an outage: 503 with Retry-After, the login retried', async (_name, cut) => {
    const upstream = await loginUpstream();
    upstream.onLogin = () => ({ status: 200, body: '{"credentials":{"token":"', cut });
    // Long enough for the 200's head to arrive first on a loaded machine: a timeout before any answer is not
    // retried (the upstream may have taken the password), which is another case.
    const svc = await service({ tenants: { acme: upstream.secret({ jwt: undefined, timeoutMs: 1000 }) } });
    const reply = await svc.get(tokenPath('acme'));
    expect({ status: reply.status, code: reply.body.error.code }).toEqual({
      status: 503,
      code: 'upstream_unavailable',
    });
    expect(reply.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(upstream.logins).toBeGreaterThan(1);
  });
});

describe('14. a busy upstream is waited for as long as it asks', () => {
  it('429 with Retry-After: 120 costs one login for every request in those two minutes, each answered 503', async () => {
    const upstream = await loginUpstream();
    upstream.onLogin = () => ({ status: 429, headers: { 'retry-after': '120' }, body: { message: 'slow down' } });
    const svc = await service({ tenants: { acme: upstream.secret() } });
    for (let i = 0; i < 5; i++) {
      const reply = await svc.get(tokenPath('acme'));
      expect({ status: reply.status, code: reply.body.error?.code }).toEqual({
        status: 503,
        code: 'upstream_unavailable',
      });
      expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(100);
    }
    expect(upstream.logins).toBe(1);
  });

  it('429 without Retry-After is retried inside the vend as before (three logins), then answered 503', async () => {
    const upstream = await loginUpstream();
    upstream.onLogin = () => ({ status: 429, body: { message: 'slow down' } });
    const svc = await service({ tenants: { acme: upstream.secret() } });
    const reply = await svc.get(tokenPath('acme'));
    expect(reply.status).toBe(503);
    expect(upstream.logins).toBe(3);
  });
});
