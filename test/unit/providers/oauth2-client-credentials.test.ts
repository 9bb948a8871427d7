import { toErrorResponse, UpstreamAuthFailedError, UpstreamTokenInvalidError } from '../../../lambdas/core/errors';
import { parseTenantConfig, type TenantConfig } from '../../../lambdas/core/tenant-config';
import {
  basicAuthorization,
  OAuth2ClientCredentialsProvider,
} from '../../../lambdas/providers/oauth2-client-credentials';
import { fakeJwt, RecordingVerifier } from '../../support/fake-verifier';
import { FakeClock } from '../../support/fakes';

const base = {
  provider: 'oauth2-client-credentials',
  tokenUrl: 'https://auth.example.com/oauth2/token',
  clientId: 'client 1',
  clientSecret: 's3cr:et/+&',
};

function config(overrides: Record<string, unknown> = {}): TenantConfig {
  return parseTenantConfig('m2m', JSON.stringify({ ...base, ...overrides }));
}

interface Sent {
  url: string;
  init: RequestInit;
}

function setup(answer: () => Response) {
  const sent: Sent[] = [];
  const clock = new FakeClock();
  const verifier = new RecordingVerifier();
  const provider = new OAuth2ClientCredentialsProvider(
    verifier,
    async (url, init) => {
      sent.push({ url, init });
      return answer();
    },
    clock,
  );
  return { sent, clock, verifier, provider };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

describe('OAuth2ClientCredentialsProvider requests', () => {
  it('posts the grant with client_secret_basic, scopes, audience and resource, and follows no redirect', async () => {
    const { sent, provider } = setup(() =>
      json(200, { access_token: 'opaque-1', token_type: 'Bearer', expires_in: 600 }),
    );
    await provider.signIn(
      'm2m',
      config({ scopes: ['a.read', 'b.write'], audience: 'api://x', resource: 'https://api.example.com' }),
    );
    const [request] = sent;
    expect(request?.url).toBe(base.tokenUrl);
    expect(request?.init.method).toBe('POST');
    expect(request?.init.redirect).toBe('manual');
    const headers = request?.init.headers as Record<string, string>;
    expect(headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(headers.authorization).toBe(basicAuthorization(base.clientId, base.clientSecret));
    const form = new URLSearchParams(String(request?.init.body));
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'client_credentials',
      scope: 'a.read b.write',
      audience: 'api://x',
      resource: 'https://api.example.com',
    });
  });

  it('form-encodes id and secret before Basic (RFC 6749 §2.3.1)', () => {
    const decoded = Buffer.from(basicAuthorization('client 1', 's3cr:et/+&').slice(6), 'base64').toString();
    expect(decoded).toBe('client+1:s3cr%3Aet%2F%2B%26');
  });

  it('sends id and secret in the body with client_secret_post', async () => {
    const { sent, provider } = setup(() => json(200, { access_token: 'opaque-1', token_type: 'bearer' }));
    await provider.signIn('m2m', config({ clientAuth: 'client_secret_post' }));
    const headers = sent[0]?.init.headers as Record<string, string>;
    expect(headers.authorization).toBeUndefined();
    const form = new URLSearchParams(String(sent[0]?.init.body));
    expect(form.get('client_id')).toBe(base.clientId);
    expect(form.get('client_secret')).toBe(base.clientSecret);
  });

  it('renews with a new grant (there is no refresh token)', async () => {
    const { sent, provider } = setup(() => json(200, { access_token: 'opaque-2', token_type: 'Bearer' }));
    const session = await provider.refresh('m2m', config());
    expect(session.refreshToken).toBeUndefined();
    expect(new URLSearchParams(String(sent[0]?.init.body)).get('grant_type')).toBe('client_credentials');
  });
});

describe('OAuth2ClientCredentialsProvider expiry', () => {
  it('takes an opaque token’s expiry from expires_in, capped at one day', async () => {
    const { provider, clock } = setup(() =>
      json(200, { access_token: 'o', token_type: 'Bearer', expires_in: 10_000_000 }),
    );
    expect((await provider.signIn('m2m', config())).expiresAt).toBe(clock.nowSeconds() + 86_400);
  });

  it('falls back to tokenTtlSeconds without expires_in, and accepts a numeric string', async () => {
    const first = setup(() => json(200, { access_token: 'o', token_type: 'Bearer' }));
    expect((await first.provider.signIn('m2m', config({ tokenTtlSeconds: 900 }))).expiresAt).toBe(
      first.clock.nowSeconds() + 900,
    );
    const second = setup(() => json(200, { access_token: 'o', token_type: 'Bearer', expires_in: '120' }));
    expect((await second.provider.signIn('m2m', config())).expiresAt).toBe(second.clock.nowSeconds() + 120);
  });

  it('verifies a JWT when jwt is configured (keys first), and takes the earlier of exp and expires_in', async () => {
    const { provider, verifier, clock } = setup(() =>
      json(200, {
        access_token: fakeJwt({ exp: clock.nowSeconds() + 7200, scope: 'a' }),
        token_type: 'Bearer',
        expires_in: 3600,
      }),
    );
    const jwt = { issuer: 'https://auth.example.com', jwksUri: 'https://auth.example.com/jwks', audience: 'api' };
    const session = await provider.signIn('m2m', config({ jwt }));
    expect(verifier.ensureKeysCalls).toHaveLength(1);
    expect(verifier.jwtCalls[0]).toEqual({ ...jwt, maxLifetimeSeconds: 86_400 });
    expect(session.expiresAt).toBe(clock.nowSeconds() + 3600);
    expect(session.claims.scope).toBe('a');
  });

  it('refuses an opaque token when jwt is configured', async () => {
    const { provider } = setup(() => json(200, { access_token: 'not-a-jwt', token_type: 'Bearer' }));
    const jwt = { issuer: 'https://auth.example.com', jwksUri: 'https://auth.example.com/jwks' };
    await expect(provider.signIn('m2m', config({ jwt }))).rejects.toBeInstanceOf(UpstreamTokenInvalidError);
  });
});

describe('OAuth2ClientCredentialsProvider hostile answers', () => {
  it.each([
    ['invalid_client', 401, 'not_authorized'],
    ['unauthorized_client', 400, 'client_rejected'],
    ['invalid_scope', 400, 'client_rejected'],
  ])('maps %s to upstream_auth_failed (%s)', async (error, status, reason) => {
    const { provider } = setup(() => json(status, { error, error_description: 'nope' }));
    const thrown = await provider.signIn('m2m', config()).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(UpstreamAuthFailedError);
    expect((thrown as UpstreamAuthFailedError).reason).toBe(reason);
    expect((thrown as Error).message).toContain(error);
    expect((thrown as Error).message).not.toContain(base.clientSecret);
  });

  it.each([
    ['constructor', 401, 'not_authorized'],
    ['__proto__', 401, 'not_authorized'],
    ['toString', 400, 'client_rejected'],
  ])(
    'takes an error code %s named like an Object property by its status (%s), with a known reason',
    async (error, status, reason) => {
      const { provider } = setup(() => json(status, { error }));
      const thrown = await provider.signIn('m2m', config()).catch((e: unknown) => e);
      expect(thrown).toBeInstanceOf(UpstreamAuthFailedError);
      expect((thrown as UpstreamAuthFailedError).reason).toBe(reason);
      expect((thrown as Error).message).not.toContain('undefined');
    },
  );

  it('does not follow a redirect: 302 is an operator error, not a retry', async () => {
    const { provider, sent } = setup(
      () => new Response(null, { status: 302, headers: { location: 'https://evil.example' } }),
    );
    const thrown = await provider.signIn('m2m', config()).catch((e: unknown) => e);
    expect(thrown).toMatchObject({ code: 'upstream_auth_failed', reason: 'client_rejected' });
    expect(sent).toHaveLength(1);
  });

  it('answers 429 and 5xx as upstream_unavailable with the upstream’s Retry-After (capped)', async () => {
    const { provider } = setup(() => json(429, { error: 'slow_down' }, { 'retry-after': '9999' }));
    const thrown = await provider.signIn('m2m', config()).catch((e: unknown) => e);
    expect(toErrorResponse(thrown)).toMatchObject({ status: 503, headers: { 'Retry-After': '300' } });
  });

  it.each([
    ['a non-Bearer token type', { access_token: 'x', token_type: 'mac' }],
    ['no access_token', { token_type: 'Bearer' }],
    ['a negative expires_in', { access_token: 'x', token_type: 'Bearer', expires_in: -5 }],
    ['a fractional expires_in', { access_token: 'x', token_type: 'Bearer', expires_in: 1.5 }],
    ['a body that is not JSON', 'not json'],
    ['an oversized body', { access_token: 'x'.repeat(70_000), token_type: 'Bearer' }],
  ])('refuses %s as upstream_token_invalid', async (_what, body) => {
    const { provider } = setup(() =>
      typeof body === 'string' ? new Response(body, { status: 200 }) : json(200, body),
    );
    await expect(provider.signIn('m2m', config())).rejects.toBeInstanceOf(UpstreamTokenInvalidError);
  });

  // What undici does with `content-encoding: gzip` over bytes that are not gzip, or with a connection closed mid-body.
  const failingBody = (code: string) =>
    new ReadableStream<Uint8Array>({
      start: (c) => c.error(new TypeError('terminated', { cause: Object.assign(new Error(code), { code }) })),
    });

  it('refuses a 200 whose body cannot be decoded as upstream_token_invalid (502), not an outage', async () => {
    const { provider } = setup(
      () => new Response(failingBody('Z_DATA_ERROR'), { status: 200, headers: { 'content-encoding': 'gzip' } }),
    );
    const thrown = await provider.signIn('m2m', config()).catch((e: unknown) => e);
    expect(toErrorResponse(thrown)).toMatchObject({ status: 502, code: 'upstream_token_invalid' });
    expect((thrown as Error).message).toBe(
      "The token endpoint of tenant 'm2m' answered with a body that could not be decoded.",
    );
    expect((thrown as Error).message).not.toContain(base.clientSecret);
  });

  it('keeps the status of a refusal whose body cannot be decoded: a 503 stays an outage', async () => {
    const { provider } = setup(
      () => new Response(failingBody('Z_DATA_ERROR'), { status: 503, headers: { 'content-encoding': 'gzip' } }),
    );
    const thrown = await provider.signIn('m2m', config()).catch((e: unknown) => e);
    expect(toErrorResponse(thrown)).toMatchObject({ status: 503, code: 'upstream_unavailable' });
  });

  it('answers a body broken off by the connection as upstream_unavailable (503)', async () => {
    const { provider } = setup(() => new Response(failingBody('UND_ERR_SOCKET'), { status: 200 }));
    const thrown = await provider.signIn('m2m', config()).catch((e: unknown) => e);
    expect(toErrorResponse(thrown)).toMatchObject({ status: 503, code: 'upstream_unavailable' });
    expect((thrown as Error).message).toBe("The token endpoint of tenant 'm2m' broke off its answer.");
  });

  it('answers a network failure as upstream_unavailable', async () => {
    const verifier = new RecordingVerifier();
    const provider = new OAuth2ClientCredentialsProvider(verifier, async () => {
      throw new TypeError('fetch failed');
    });
    await expect(provider.signIn('m2m', config())).rejects.toMatchObject({ code: 'upstream_unavailable' });
  });
});

describe('oauth2-client-credentials tenant schema', () => {
  it('defaults to client_secret_basic and a Bearer header', () => {
    const parsed = config();
    expect(parsed).toMatchObject({
      clientAuth: 'client_secret_basic',
      scopes: [],
      headers: { Authorization: 'Bearer {accessToken}' },
    });
  });

  it.each([
    ['a plain-http tokenUrl off this machine', { tokenUrl: 'http://auth.example.com/token' }, 'tokenUrl'],
    ['an unknown placeholder', { headers: { Authorization: 'Bearer {idToken}' } }, 'headers.Authorization'],
    ['a scope with a space', { scopes: ['a b'] }, 'scopes.0'],
    ['an unknown client auth', { clientAuth: 'private_key_jwt' }, 'clientAuth'],
  ])('rejects %s naming the field, never the secret', (_what, overrides, field) => {
    const attempt = () => config(overrides);
    expect(attempt).toThrow(new RegExp(`m2m.*${field.replace('.', '\\.')}`));
    try {
      attempt();
    } catch (error) {
      expect((error as Error).message).not.toContain(base.clientSecret);
    }
  });

  it('accepts a loopback http tokenUrl (emulators)', () => {
    expect(config({ tokenUrl: 'http://127.0.0.1:4000/token' }).provider).toBe('oauth2-client-credentials');
  });
});
