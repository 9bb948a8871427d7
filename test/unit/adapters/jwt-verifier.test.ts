import { AwsJwtVerifier, checkTimes, cognitoIssuer, jwksUriOf } from '../../../lambdas/adapters/jwt-verifier';
import {
  KeySetUnavailableError,
  toErrorResponse,
  UpstreamTokenInvalidError,
  UpstreamUnavailableError,
} from '../../../lambdas/core/errors';
import { JwksRoute } from '../../support/hostile/jwks';
import { startLoopbackServer, type LoopbackServer } from '../../support/hostile/loopback-server';
import { createTokenMinter } from '../../support/hostile/token-minter';
import { startJwksServer, type JwksServer } from '../../support/jwks-server';

const poolId = 'local_AbC123';
const clientId = 'client-1';
let jwks: JwksServer;
let issuer: string;
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  jwks = await startJwksServer(`/${poolId}/.well-known/jwks.json`);
  issuer = `${jwks.url}/${poolId}`;
});
afterAll(() => jwks.close());

describe('AwsJwtVerifier for a Cognito-compatible endpoint (http JWKS)', () => {
  const idClaims = () => ({ iss: issuer, aud: clientId, token_use: 'id', exp: now() + 600, sub: 'u1' });
  const accessClaims = () => ({ iss: issuer, client_id: clientId, token_use: 'access', exp: now() + 600 });
  const expectation = (tokenUse: 'id' | 'access') => ({ userPoolId: poolId, clientId, tokenUse, issuer });

  it('accepts genuine ID and access tokens and returns their claims', async () => {
    const verifier = new AwsJwtVerifier();
    await expect(verifier.verifyCognito('acme', jwks.sign(idClaims()), expectation('id'))).resolves.toMatchObject({
      sub: 'u1',
    });
    await expect(
      verifier.verifyCognito('acme', jwks.sign(accessClaims()), expectation('access')),
    ).resolves.toMatchObject({ token_use: 'access' });
  });

  const rejections: Array<[string, () => string]> = [
    ['an access token where an ID token is expected', () => jwks.sign(accessClaims())],
    ['a token for another client', () => jwks.sign({ ...idClaims(), aud: 'client-2' })],
    ['a token from another issuer', () => jwks.sign({ ...idClaims(), iss: 'http://evil.example/pool' })],
    ['an expired token', () => jwks.sign({ ...idClaims(), exp: now() - 60 })],
    [
      'a tampered token',
      () => {
        const [header, , signature] = jwks.sign(idClaims()).split('.');
        const forged = Buffer.from(JSON.stringify({ ...idClaims(), sub: 'admin' })).toString('base64url');
        return `${header}.${forged}.${signature}`;
      },
    ],
    ['a token signed with an unknown key', () => jwks.sign(idClaims(), 'other-key')],
  ];

  it.each(rejections)('rejects %s as upstream_token_invalid', async (_name, token) => {
    await expect(new AwsJwtVerifier().verifyCognito('acme', token(), expectation('id'))).rejects.toBeInstanceOf(
      UpstreamTokenInvalidError,
    );
  });
});

describe('AwsJwtVerifier for a login endpoint', () => {
  it('pins issuer and audience', async () => {
    const verifier = new AwsJwtVerifier();
    const expected = { issuer: jwks.url, jwksUri: jwks.jwksUri, audience: 'api' };
    const good = jwks.sign({ iss: jwks.url, aud: 'api', exp: now() + 600 });
    await expect(verifier.verifyJwt('globex', good, expected)).resolves.toMatchObject({ aud: 'api' });
    const wrongAudience = jwks.sign({ iss: jwks.url, aud: 'other', exp: now() + 600 });
    await expect(verifier.verifyJwt('globex', wrongAudience, expected)).rejects.toBeInstanceOf(
      UpstreamTokenInvalidError,
    );
  });

  it('reports unreachable signing keys as upstream_unavailable', async () => {
    const down = await startJwksServer();
    const token = down.sign({ iss: down.url, exp: now() + 600 });
    await down.close();
    const error = await new AwsJwtVerifier({ fetcher: { retryDelayMs: 1 } })
      .verifyJwt('globex', token, { issuer: down.url, jwksUri: down.jwksUri })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
  });
});

describe('time rules', () => {
  const t = 1_800_000_000;
  it('requires exp', () => {
    expect(() => checkTimes({ iat: t }, t, 30, 86_400)).toThrow('no exp');
  });
  it('allows iat up to the clock skew ahead, not beyond', () => {
    expect(() => checkTimes({ iat: t + 30, exp: t + 630 }, t, 30, 86_400)).not.toThrow();
    expect(() => checkTimes({ iat: t + 31, exp: t + 631 }, t, 30, 86_400)).toThrow('future');
  });
  it('caps the lifetime from iat, or from now without iat', () => {
    expect(() => checkTimes({ iat: t, exp: t + 7200 }, t, 30, 7200)).not.toThrow();
    expect(() => checkTimes({ iat: t, exp: t + 7201 }, t, 30, 7200)).toThrow('longer than');
    expect(() => checkTimes({ exp: t + 86_401 }, t, 30)).toThrow('86400');
  });
});

describe('AwsJwtVerifier time rules on real tokens', () => {
  const minter = createTokenMinter('time-key');
  const route = new JwksRoute(minter);
  let server: LoopbackServer;
  beforeAll(async () => {
    server = await startLoopbackServer(() => route.answer());
  });
  afterAll(() => server.close());
  const expected = () => ({ issuer: 'https://idp.example.com', jwksUri: `${server.url}/jwks.json` });

  it.each([
    ['no exp', () => ({})],
    ['nbf in the future', () => ({ nbf: now() + 3600, exp: now() + 7200 })],
    ['iat in the future', () => ({ iat: now() + 3600, exp: now() + 7200 })],
    ['a lifetime over the cap', () => ({ iat: now(), exp: now() + 7201 })],
  ])('refuses a token with %s', async (_name, claims) => {
    const token = minter.sign({ iss: 'https://idp.example.com', ...claims() });
    await expect(
      new AwsJwtVerifier().verifyJwt('globex', token, { ...expected(), maxLifetimeSeconds: 7200 }),
    ).rejects.toBeInstanceOf(UpstreamTokenInvalidError);
  });

  it('refuses a token that names critical header extensions (crit), and accepts the same token without', async () => {
    const claims = { iss: 'https://idp.example.com', iat: now(), exp: now() + 600 };
    const verifier = new AwsJwtVerifier();
    await expect(verifier.verifyJwt('globex', minter.sign(claims), expected())).resolves.toMatchObject(claims);
    const critical = minter.sign(claims, { crit: ['exp-ext'], 'exp-ext': true });
    await expect(verifier.verifyJwt('globex', critical, expected())).rejects.toThrow(/critical header extensions/);
  });
});

describe('AwsJwtVerifier key fetching', () => {
  const minter = createTokenMinter('fetch-key');
  let route: JwksRoute;
  let server: LoopbackServer;
  let target: LoopbackServer;
  beforeEach(async () => {
    route = new JwksRoute(minter);
    server = await startLoopbackServer(() => route.answer());
    target = await startLoopbackServer(() => ({ status: 200, body: minter.jwks }));
  });
  afterEach(async () => {
    await server.close();
    await target.close();
  });
  const expected = () => ({ issuer: 'https://idp.example.com', jwksUri: `${server.url}/jwks.json` });
  const token = () => minter.sign({ iss: 'https://idp.example.com', iat: now(), exp: now() + 600 });
  // A generous timeout so a loaded machine never turns a good fetch into a retry; the hanging case sets a short one.
  const fast = (timeoutMs = 5000) => new AwsJwtVerifier({ fetcher: { retryDelayMs: 1, timeoutMs } });

  it('fetches the key set once for many tokens (ensureKeys, then verification)', async () => {
    const verifier = fast();
    await verifier.ensureKeys('globex', expected());
    await verifier.ensureKeys('globex', expected());
    await verifier.verifyJwt('globex', token(), expected());
    await verifier.verifyJwt('globex', token(), expected());
    expect(route.fetches).toBe(1);
  });

  it('retries a failing key set three times on its own, then KeySetUnavailableError (503, no sign-in retry)', async () => {
    route.mode = { kind: 'fail' };
    const error = await fast()
      .ensureKeys('globex', expected())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeySetUnavailableError);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as KeySetUnavailableError).retrySignIn).toBe(false);
    expect(toErrorResponse(error)).toMatchObject({ status: 503, code: 'upstream_unavailable' });
    expect(toErrorResponse(error).headers['Retry-After']).toBe('10');
    expect(route.fetches).toBe(3);
  });

  it('does not ask a failed key set again during the cooldown', async () => {
    route.mode = { kind: 'fail' };
    let clock = Date.now();
    const verifier = new AwsJwtVerifier({
      clock: { now: () => clock },
      fetcher: { retryDelayMs: 1, timeoutMs: 5000, cooldownSeconds: 10 },
    });
    await expect(verifier.ensureKeys('globex', expected())).rejects.toBeInstanceOf(KeySetUnavailableError);
    await expect(verifier.verifyJwt('globex', token(), expected())).rejects.toBeInstanceOf(KeySetUnavailableError);
    expect(route.fetches).toBe(3);
    route.mode = { kind: 'ok' };
    clock += 10_001;
    await expect(verifier.verifyJwt('globex', token(), expected())).resolves.toMatchObject({
      iss: 'https://idp.example.com',
    });
    expect(route.fetches).toBe(4);
  });

  it('times out a key set that never answers', async () => {
    route.mode = { kind: 'hang' };
    await expect(fast(200).ensureKeys('globex', expected())).rejects.toBeInstanceOf(KeySetUnavailableError);
    expect(route.fetches).toBe(3);
  });

  it('never follows a key set redirect, and does not retry it', async () => {
    route.mode = { kind: 'redirect', location: `${target.url}/jwks.json` };
    const error = await fast()
      .ensureKeys('globex', expected())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeySetUnavailableError);
    expect((error as Error).message).toMatch(/redirect \(HTTP 302\), not followed/);
    expect({ fetches: route.fetches, target: target.requests.length }).toEqual({ fetches: 1, target: 0 });
  });

  it('refuses plain http to anything but a loopback address', async () => {
    const error = await fast()
      .ensureKeys('globex', { issuer: 'https://idp.example.com', jwksUri: 'http://idp.example.com/jwks.json' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeySetUnavailableError);
    expect((error as Error).message).toContain('only https');
  });
});

describe('where Cognito keys come from', () => {
  const base = { userPoolId: 'eu-west-1_AbC', clientId: 'c', tokenUse: 'id' as const };
  it('real Cognito: the pool’s public key set', () => {
    expect(cognitoIssuer('eu-west-1_AbC')).toBe('https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC');
    expect(jwksUriOf(base)).toBe('https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/.well-known/jwks.json');
  });
  it('an emulator: under its issuer; an explicit jwksUri wins over both', () => {
    expect(jwksUriOf({ ...base, issuer: 'http://127.0.0.1:9/eu-west-1_AbC' })).toBe(
      'http://127.0.0.1:9/eu-west-1_AbC/.well-known/jwks.json',
    );
    expect(jwksUriOf({ ...base, jwksUri: 'http://127.0.0.1:9/keys' })).toBe('http://127.0.0.1:9/keys');
  });
});
