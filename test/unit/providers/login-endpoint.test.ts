import {
  KeySetUnavailableError,
  TenantMisconfiguredError,
  toErrorResponse,
  UpstreamAuthFailedError,
  UpstreamTokenInvalidError,
  UpstreamUnavailableError,
} from '../../../lambdas/core/errors';
import type { Session } from '../../../lambdas/core/ports';
import { parseTenantConfig, type TenantConfig } from '../../../lambdas/core/tenant-config';
import { decodeJwtPayload, LoginEndpointProvider, type FetchLike } from '../../../lambdas/providers/login-endpoint';
import { fakeJwt, RecordingVerifier } from '../../support/fake-verifier';
import { FakeClock, loginEndpointSecret } from '../../support/fakes';

interface Call {
  url: string;
  init: RequestInit;
}

function fetchAnswering(...responses: Array<Response | Error>): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    fetch: async (url, init) => {
      calls.push({ url, init });
      const next = responses.shift();
      if (!next) throw new Error('no more responses');
      if (next instanceof Error) throw next;
      return next;
    },
  };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

function config(overrides: Record<string, unknown> = {}): TenantConfig {
  return parseTenantConfig('globex', JSON.stringify({ ...loginEndpointSecret, ...overrides }));
}

const clock = new FakeClock();

describe('LoginEndpointProvider sign-in', () => {
  it('treats an answer whose connection breaks mid-body as an outage (503, retried), not a bad token', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"credentials":{"token":"nkiOi'));
        // undici's shape: `TypeError: terminated`, the socket error as its cause.
        c.error(
          new TypeError('terminated', {
            cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
          }),
        );
      },
    });
    const { fetch } = fetchAnswering(new Response(body, { status: 200 }));
    const error = await new LoginEndpointProvider(new RecordingVerifier(), fetch, clock)
      .signIn('globex', config())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect(toErrorResponse(error)).toMatchObject({ status: 503, headers: { 'Retry-After': expect.any(String) } });
  });

  it('treats an answer whose body cannot be decoded as a bad answer (502), not an outage', async () => {
    // What undici does with `content-encoding: gzip` over bytes that are not gzip.
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.error(
          new TypeError('terminated', {
            cause: Object.assign(new Error('incorrect header check'), { code: 'Z_DATA_ERROR' }),
          }),
        );
      },
    });
    const { fetch } = fetchAnswering(new Response(body, { status: 200, headers: { 'content-encoding': 'gzip' } }));
    const error = await new LoginEndpointProvider(new RecordingVerifier(), fetch, clock)
      .signIn('globex', config())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamTokenInvalidError);
    expect(toErrorResponse(error)).toMatchObject({ status: 502, code: 'upstream_token_invalid' });
    expect((error as Error).message).toBe(
      "The login endpoint of tenant 'globex' answered sign-in with a body that could not be decoded.",
    );
    expect((error as Error).message).not.toContain(loginEndpointSecret.password);
  });

  it('posts {userName, password} with x-api-key and reads credentials', async () => {
    const { fetch, calls } = fetchAnswering(
      json(200, {
        credentials: { identityId: 'eu-west-1:72ty', token: 'nkiOiJNeSIsImN1c3Rvb', refreshToken: 'DnTY4m2l' },
      }),
    );
    const session = await new LoginEndpointProvider(new RecordingVerifier(), fetch, clock).signIn('globex', config());
    expect(calls[0]?.url).toBe('https://api.example.com/auth/login');
    expect(calls[0]?.init.method).toBe('POST');
    expect(calls[0]?.init.headers).toMatchObject({
      'x-api-key': loginEndpointSecret.apiKey,
      'content-type': 'application/json',
    });
    expect(JSON.parse(String(calls[0]?.init.body))).toEqual({
      userName: loginEndpointSecret.username,
      password: loginEndpointSecret.password,
    });
    expect(session.tokens).toEqual({ token: 'nkiOiJNeSIsImN1c3Rvb' });
    expect(session.identityId).toBe('eu-west-1:72ty');
    // Opaque token: lives tokenTtlSeconds. No refresh path: the refresh token is not kept.
    expect(session.expiresAt).toBe(clock.nowSeconds() + 3600);
    expect(session.refreshToken).toBeUndefined();
  });

  it('verifies a JWT token when the tenant configures jwt, and takes exp from it', async () => {
    const token = fakeJwt({ iss: 'https://idp.example.com', exp: clock.nowSeconds() + 900 });
    const { fetch } = fetchAnswering(json(200, { credentials: { token } }));
    const verifier = new RecordingVerifier();
    const session = await new LoginEndpointProvider(verifier, fetch, clock).signIn(
      'globex',
      config({ jwt: { issuer: 'https://idp.example.com', jwksUri: 'https://idp.example.com/jwks.json' } }),
    );
    expect(verifier.jwtCalls).toEqual([
      { issuer: 'https://idp.example.com', jwksUri: 'https://idp.example.com/jwks.json', maxLifetimeSeconds: 86400 },
    ]);
    expect(session.expiresAt).toBe(clock.nowSeconds() + 900);
  });

  it('refuses a JWT that fails verification', async () => {
    const { fetch } = fetchAnswering(json(200, { credentials: { token: fakeJwt({ exp: clock.nowSeconds() + 900 }) } }));
    const verifier = new RecordingVerifier();
    verifier.reject = true;
    const provider = new LoginEndpointProvider(verifier, fetch, clock);
    await expect(
      provider.signIn('globex', config({ jwt: { issuer: 'i', jwksUri: 'https://i/jwks' } })),
    ).rejects.toBeInstanceOf(UpstreamTokenInvalidError);
  });

  it('never trusts an unverified JWT beyond its own exp', async () => {
    const { fetch } = fetchAnswering(json(200, { credentials: { token: fakeJwt({ exp: clock.nowSeconds() + 120 }) } }));
    const session = await new LoginEndpointProvider(new RecordingVerifier(), fetch, clock).signIn('globex', config());
    expect(session.expiresAt).toBe(clock.nowSeconds() + 120);
    expect(session.claims).toEqual({});
  });

  const failures: Array<[string, () => Response | Error, string, number]> = [
    ['401', () => json(401, { message: 'Unauthorized' }), 'upstream_auth_failed', 502],
    ['403', () => json(403, { message: 'Forbidden' }), 'upstream_auth_failed', 502],
    ['404', () => json(404, {}), 'upstream_auth_failed', 502],
    ['429', () => json(429, {}, { 'retry-after': '12' }), 'upstream_unavailable', 503],
    ['500', () => json(500, {}), 'upstream_unavailable', 503],
    ['a timeout', () => Object.assign(new Error('aborted'), { name: 'TimeoutError' }), 'upstream_unavailable', 503],
    ['a refused connection', () => new TypeError('fetch failed'), 'upstream_unavailable', 503],
    ['a body without credentials', () => json(200, { ok: true }), 'upstream_token_invalid', 502],
  ];

  it.each(failures)('HTTP %s -> %s (%d)', async (_name, answer, code, status) => {
    const { fetch } = fetchAnswering(answer());
    const error = await new LoginEndpointProvider(new RecordingVerifier(), fetch, clock)
      .signIn('globex', config())
      .catch((e: unknown) => e);
    expect(toErrorResponse(error)).toMatchObject({ code, status });
    expect((error as Error).message).not.toContain(loginEndpointSecret.password);
  });

  it('passes on the upstream Retry-After', async () => {
    const { fetch } = fetchAnswering(json(429, {}, { 'retry-after': '12' }));
    const error = await new LoginEndpointProvider(new RecordingVerifier(), fetch, clock)
      .signIn('globex', config())
      .catch((e: unknown) => e);
    expect((error as UpstreamUnavailableError).retryAfterSeconds).toBe(12);
  });

  it('classifies 401 as not_authorized so the lockout guard engages', async () => {
    const { fetch } = fetchAnswering(json(401, {}));
    const error = await new LoginEndpointProvider(new RecordingVerifier(), fetch, clock)
      .signIn('globex', config())
      .catch((e: unknown) => e);
    expect((error as UpstreamAuthFailedError).reason).toBe('not_authorized');
  });

  it.each([401, 403, 404, 429, 503])('releases the unread body of a %d at once', async (status) => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new TextEncoder().encode('{"message":"no"}'));
      },
      cancel() {
        cancelled = true;
      },
    });
    const { fetch } = fetchAnswering(new Response(body, { status }));
    await new LoginEndpointProvider(new RecordingVerifier(), fetch, clock).signIn('globex', config()).catch(() => 0);
    expect(cancelled).toBe(true);
  });
});

/** A session with a refresh token and identity id, as the vendor hands it to refresh. */
const session: Session = {
  tenantId: 'globex',
  provider: 'login-endpoint',
  secretVersion: 'v1',
  tokens: { token: 'old' },
  refreshToken: 'DnTY4m2l',
  identityId: 'eu-west-1:72ty',
  claims: {},
  expiresAt: 0,
  issuedAt: 0,
};

describe('LoginEndpointProvider refresh', () => {
  it('posts the refresh token to refreshPath and keeps identity and refresh token', async () => {
    const { fetch, calls } = fetchAnswering(json(200, { credentials: { token: 'new-token' } }));
    const renewed = await new LoginEndpointProvider(new RecordingVerifier(), fetch, clock).refresh(
      'globex',
      config({ refreshPath: '/auth/refresh' }),
      session,
    );
    expect(calls[0]?.url).toBe('https://api.example.com/auth/refresh');
    expect(JSON.parse(String(calls[0]?.init.body))).toEqual({ refreshToken: 'DnTY4m2l', identityId: 'eu-west-1:72ty' });
    expect(renewed).toMatchObject({
      tokens: { token: 'new-token' },
      refreshToken: 'DnTY4m2l',
      identityId: 'eu-west-1:72ty',
    });
  });

  it('without a refreshPath, reports that refresh is impossible so the vendor signs in', async () => {
    const { fetch, calls } = fetchAnswering();
    await expect(
      new LoginEndpointProvider(new RecordingVerifier(), fetch, clock).refresh('globex', config(), session),
    ).rejects.toBeInstanceOf(UpstreamAuthFailedError);
    expect(calls).toHaveLength(0);
  });
});

describe('LoginEndpointProvider sends credentials to baseUrl’s origin only', () => {
  // Each resolves, against http://localhost:9, to http://127.0.0.2:8443: the URL parser reads `\` as `/` and drops
  // tab and line feed. A config handed over without the schema must still not send anything there.
  const leaving = [
    '/\\127.0.0.2:8443/steal',
    '/\\\\127.0.0.2:8443/steal',
    '/\t/127.0.0.2:8443/steal',
    '/\n/127.0.0.2:8443/steal',
  ];
  const unchecked = (overrides: Record<string, unknown>): TenantConfig =>
    ({ ...config(), baseUrl: 'http://localhost:9', ...overrides }) as TenantConfig;

  /** The provider's refusal of `call` (tenant_misconfigured) and its message; asserts nothing was sent. */
  async function refusedWithoutSending(call: (provider: LoginEndpointProvider) => Promise<unknown>): Promise<string> {
    const { fetch, calls } = fetchAnswering(json(200, { credentials: { token: 'stolen' } }));
    const error = await call(new LoginEndpointProvider(new RecordingVerifier(), fetch, clock)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TenantMisconfiguredError);
    expect(calls).toHaveLength(0);
    return (error as Error).message;
  }

  it.each(leaving)('refuses to sign in with loginPath %j: tenant_misconfigured, nothing sent', async (loginPath) => {
    expect(new URL(loginPath, 'http://localhost:9').origin).toBe('http://127.0.0.2:8443');
    const message = await refusedWithoutSending((provider) => provider.signIn('globex', unchecked({ loginPath })));
    expect(message).toContain("Tenant 'globex' is misconfigured: loginPath: must not contain");
    expect(message).not.toContain('127.0.0.2');
  });

  it.each(leaving)(
    'refuses to refresh with refreshPath %j: tenant_misconfigured, nothing sent',
    async (refreshPath) => {
      const message = await refusedWithoutSending((provider) =>
        provider.refresh('globex', unchecked({ refreshPath }), session),
      );
      expect(message).toContain('refreshPath: must not contain');
    },
  );

  it('refuses a URL that is not https or loopback, checked on the URL it builds', async () => {
    const message = await refusedWithoutSending((provider) =>
      provider.signIn('globex', unchecked({ baseUrl: 'http://api.example.com' })),
    );
    expect(message).toContain('loginPath: must be an https: URL');
  });

  it('posts to the path on baseUrl’s origin, replacing any path baseUrl has', async () => {
    const { fetch, calls } = fetchAnswering(json(200, { credentials: { token: 'ok' } }));
    await new LoginEndpointProvider(new RecordingVerifier(), fetch, clock).signIn(
      'globex',
      unchecked({ baseUrl: 'http://localhost:9/v1/', loginPath: '/auth/login?tenant=a' }),
    );
    expect(calls.map((call) => call.url)).toEqual(['http://localhost:9/auth/login?tenant=a']);
  });
});

describe('decodeJwtPayload', () => {
  it('tells JWTs from opaque tokens', () => {
    expect(decodeJwtPayload(fakeJwt({ exp: 5 }))).toEqual({ exp: 5 });
    expect(decodeJwtPayload('nkiOiJNeSIsImN1c3Rvb')).toBeUndefined();
    expect(decodeJwtPayload('a.b.c')).toBeUndefined();
  });
});

describe('LoginEndpointProvider integrity', () => {
  const jwt = { jwt: { issuer: 'https://idp.example.com', jwksUri: 'https://idp.example.com/jwks.json' } };
  /** The refresh session, its token a verified JWT that named its subject. */
  const previous: Session = { ...session, claims: { sub: 'ops' } };

  it('with jwt configured, hands an opaque token to the verifier instead of vending it unverified', async () => {
    const { fetch } = fetchAnswering(json(200, { credentials: { token: 'opaque-token' } }));
    const verifier = new RecordingVerifier();
    verifier.reject = true;
    await expect(
      new LoginEndpointProvider(verifier, fetch, clock).signIn('globex', config(jwt)),
    ).rejects.toBeInstanceOf(UpstreamTokenInvalidError);
    expect(verifier.jwtCalls).toHaveLength(1);
  });

  it('does not send the password when the signing keys cannot be fetched', async () => {
    const { fetch, calls } = fetchAnswering();
    const verifier = new RecordingVerifier();
    verifier.keysUnavailable = true;
    await expect(
      new LoginEndpointProvider(verifier, fetch, clock).signIn('globex', config(jwt)),
    ).rejects.toBeInstanceOf(KeySetUnavailableError);
    expect(calls).toHaveLength(0);
  });

  it.each([301, 302, 307, 308])('never follows a redirect: HTTP %d is a rejected client', async (status) => {
    const { fetch, calls } = fetchAnswering(
      new Response(null, { status, headers: { location: 'https://evil.example/' } }),
    );
    const error = await new LoginEndpointProvider(new RecordingVerifier(), fetch, clock)
      .signIn('globex', config())
      .catch((e: unknown) => e);
    expect(calls[0]?.init.redirect).toBe('manual');
    expect(toErrorResponse(error)).toMatchObject({ status: 502, code: 'upstream_auth_failed' });
    expect((error as UpstreamAuthFailedError).reason).toBe('client_rejected');
  });

  it.each([
    ['a CR LF in the token', { token: 'abc\r\nX-Injected: 1' }],
    ['a control character in the identityId', { token: 'ok', identityId: 'eu-west-1:\u0007' }],
    ['an oversized token', { token: 'a'.repeat(16_385) }],
  ])('refuses %s', async (_name, credentials) => {
    const { fetch } = fetchAnswering(json(200, { credentials }));
    const error = await new LoginEndpointProvider(new RecordingVerifier(), fetch, clock)
      .signIn('globex', config())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamTokenInvalidError);
    expect((error as Error).message).not.toContain('X-Injected');
  });

  it('refuses an answer larger than 1 MiB', async () => {
    const { fetch } = fetchAnswering(json(200, { credentials: { token: 'ok' }, padding: 'x'.repeat(1024 * 1024) }));
    await expect(
      new LoginEndpointProvider(new RecordingVerifier(), fetch, clock).signIn('globex', config()),
    ).rejects.toBeInstanceOf(UpstreamTokenInvalidError);
  });

  it.each([
    ['another identityId', { token: fakeJwt({ sub: 'ops', exp: 2_000_000_000 }), identityId: 'eu-west-1:other' }],
    ['a token of another sub', { token: fakeJwt({ sub: 'intruder', exp: 2_000_000_000 }) }],
    ['a token without sub (the session’s named one)', { token: fakeJwt({ exp: 2_000_000_000 }) }],
  ])('refuses a refresh for %s', async (_name, credentials) => {
    const { fetch } = fetchAnswering(json(200, { credentials }));
    const error = await new LoginEndpointProvider(new RecordingVerifier(), fetch, clock)
      .refresh('globex', config({ ...jwt, refreshPath: '/auth/refresh' }), previous)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamTokenInvalidError);
    expect((error as Error).message).toContain('another identity');
  });

  it('refuses an answer whose identityId is not the token’s', async () => {
    const token = fakeJwt({ sub: 'ops', identityId: 'eu-west-1:72ty', exp: 2_000_000_000 });
    const { fetch } = fetchAnswering(json(200, { credentials: { token, identityId: 'eu-west-1:other' } }));
    await expect(
      new LoginEndpointProvider(new RecordingVerifier(), fetch, clock).signIn('globex', config(jwt)),
    ).rejects.toBeInstanceOf(UpstreamTokenInvalidError);
  });
});
