import type { Session, TenantRecord } from '../../../lambdas/core/ports';
import { presentToken, renderHeaders, selectClaims } from '../../../lambdas/core/presenter';
import { parseTenantConfig } from '../../../lambdas/core/tenant-config';
import { cognitoSecret, FakeClock, loginEndpointSecret } from '../../support/fakes';

const clock = new FakeClock();
const now = clock.nowSeconds();

const session = (overrides: Partial<Session> = {}): Session => ({
  tenantId: 'acme',
  provider: 'cognito',
  secretVersion: 'v1',
  tokens: { idToken: 'id-1', accessToken: 'access-1' },
  refreshToken: 'refresh-1',
  identityId: 'ap-southeast-2:abc',
  claims: { 'custom:companyId': 'acme-co', sub: 'user-1', email: 'ops@example.com' },
  expiresAt: now + 1800,
  issuedAt: now,
  ...overrides,
});

const record = (tenantId: string, secret: object): TenantRecord => ({
  tenantId,
  version: 'v1',
  config: parseTenantConfig(tenantId, JSON.stringify(secret)),
});

describe('renderHeaders', () => {
  it('fills every placeholder, keeping the text around it', () => {
    expect(
      renderHeaders({ Authorization: 'Bearer {token}', id: '{identityId}' }, { token: 't', identityId: 'i' }),
    ).toEqual({ Authorization: 'Bearer t', id: 'i' });
  });

  it('leaves out a header whose placeholder has no value, rather than sending it half-filled', () => {
    expect(renderHeaders({ a: '{token}', b: 'x-{identityId}', c: 'static' }, { token: 't' })).toEqual({
      a: 't',
      c: 'static',
    });
  });

  it('never takes a value from the prototype of the values object', () => {
    expect(renderHeaders({ a: '{toString}', b: '{constructor}' }, {})).toEqual({});
  });
});

describe('selectClaims', () => {
  it('returns only the wanted claims that exist', () => {
    expect(selectClaims({ a: 1, b: 'x', c: true }, ['a', 'c', 'missing'])).toEqual({ a: 1, c: true });
  });

  it('never returns inherited properties as claims', () => {
    expect(selectClaims({ a: 1 }, ['toString', 'constructor', '__proto__'])).toEqual({});
  });
});

describe('presentToken', () => {
  it('a cognito session: tokens, identity, expiry, default headers, selected claims, no refresh token', () => {
    const body = presentToken(record('acme', cognitoSecret), session(), clock.now());
    expect(body).toEqual({
      tenantId: 'acme',
      provider: 'cognito',
      idToken: 'id-1',
      accessToken: 'access-1',
      identityId: 'ap-southeast-2:abc',
      expiresAt: new Date((now + 1800) * 1000).toISOString(),
      expiresIn: 1800,
      headers: { authorization: 'id-1', 'X-Amz-Cognito-Security-Token': 'id-1' },
      claims: { 'custom:companyId': 'acme-co' },
    });
  });

  it('a login-endpoint session: the api key only through its header template', () => {
    const body = presentToken(
      record('globex', loginEndpointSecret),
      session({ tenantId: 'globex', provider: 'login-endpoint', tokens: { token: 'tok' }, identityId: undefined }),
      clock.now(),
    );
    expect(body.headers).toEqual({ Authorization: 'tok', 'x-api-key': loginEndpointSecret.apiKey });
    expect(body).not.toHaveProperty('identityId');
    expect(JSON.stringify(body)).not.toContain(loginEndpointSecret.password);
  });

  it('expiresIn is never negative', () => {
    const body = presentToken(record('acme', cognitoSecret), session({ expiresAt: now - 10 }), clock.now());
    expect(body.expiresIn).toBe(0);
  });

  it("renders a session's headers once per tenant record: a rotated record with new templates renders again", () => {
    const held = session();
    const first = presentToken(record('acme', cognitoSecret), held, clock.now());
    const again = presentToken(record('acme', cognitoSecret), held, clock.now() + 60_000);
    expect(again.headers).toEqual(first.headers);
    expect(again.expiresIn).toBe(first.expiresIn - 60);
    const rotated = record('acme', { ...cognitoSecret, headers: { 'x-token': 'Bearer {accessToken}' } });
    expect(presentToken(rotated, held, clock.now()).headers).toEqual({ 'x-token': 'Bearer access-1' });
    // The headers handed out are shared between responses of the same session: nobody can change them.
    expect(Object.isFrozen(first.headers)).toBe(true);
  });

  it('renders again when a rotated login-endpoint secret brings a new API key with the same templates', () => {
    const held = session({ tenantId: 'globex', provider: 'login-endpoint', tokens: { token: 'tok' } });
    const before = record('globex', loginEndpointSecret);
    const rotated: TenantRecord = {
      ...before,
      version: 'v2',
      config: { ...before.config, apiKey: 'rotated-key' } as TenantRecord['config'],
    };
    expect(presentToken(before, held, clock.now()).headers['x-api-key']).toBe(loginEndpointSecret.apiKey);
    expect(presentToken(rotated, held, clock.now()).headers['x-api-key']).toBe('rotated-key');
  });

  it('checks every presentation of an unsafe session: a refusal is never remembered as safe', () => {
    const unsafe = session({ tokens: { idToken: 'id-1\r\nx-injected: 1', accessToken: 'access-1' } });
    const tenant = record('acme', cognitoSecret);
    expect(() => presentToken(tenant, unsafe, clock.now())).toThrow();
    expect(() => presentToken(tenant, unsafe, clock.now())).toThrow();
  });
});
