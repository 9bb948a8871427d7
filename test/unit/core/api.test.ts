import { AccessPolicy } from '../../../lambdas/core/access-policy';
import {
  DEFAULT_MIN_TTL_SECONDS,
  parseMinTtl,
  parseRejected,
  parseTenantId,
  queryFromEntries,
  TokenApi,
  type ApiRequest,
} from '../../../lambdas/core/api';
import { TenantNotFoundError } from '../../../lambdas/core/errors';
import type { Session, TenantRecord } from '../../../lambdas/core/ports';
import { parseTenantConfig } from '../../../lambdas/core/tenant-config';
import type { VendResult } from '../../../lambdas/core/vendor';
import { cognitoSecret, FakeClock } from '../../support/fakes';

const caller = 'arn:aws:iam::123456789012:role/platform';
const clock = new FakeClock();
const tenant: TenantRecord = {
  tenantId: 'acme',
  version: 'v1',
  config: parseTenantConfig('acme', JSON.stringify(cognitoSecret)),
};
const session: Session = {
  tenantId: 'acme',
  provider: 'cognito',
  secretVersion: 'v1',
  tokens: { idToken: 'id-1', accessToken: 'access-1' },
  refreshToken: 'refresh-1',
  claims: { 'custom:companyId': 'acme-co' },
  expiresAt: clock.nowSeconds() + 3600,
  issuedAt: clock.nowSeconds(),
};

function setup() {
  const calls: Array<[string, number, string | undefined]> = [];
  const vendor = {
    vend: async (tenantId: string, minTtl: number, rejected?: string): Promise<VendResult> => {
      calls.push([tenantId, minTtl, rejected]);
      if (tenantId === 'ghost') throw new TenantNotFoundError(tenantId);
      return { tenant, session, cacheHit: true, source: 'memory' } as VendResult;
    },
  };
  const api = new TokenApi(vendor, new AccessPolicy([{ principal: caller, tenants: ['*'] }]), clock);
  const request = (path: string, query: ApiRequest['query'] = {}, method = 'GET'): ApiRequest => ({
    method,
    path,
    query,
    callerArn: caller,
    requestId: 'req-1',
  });
  return { api, calls, request };
}

const q = (text: string) => queryFromEntries(new URLSearchParams(text));

describe('queryFromEntries', () => {
  it('keeps every value of a repeated parameter, in order', () => {
    expect({ ...q('minTtl=1&minTtl=2&rejected=x') }).toEqual({ minTtl: ['1', '2'], rejected: ['x'] });
  });

  it('makes inherited names own keys of a null-prototype object', () => {
    const query = q('__proto__=1&constructor=2&toString=3&hasOwnProperty=4');
    expect(Object.getPrototypeOf(query)).toBeNull();
    expect(Object.keys(query).sort()).toEqual(['__proto__', 'constructor', 'hasOwnProperty', 'toString']);
    expect(query['__proto__']).toEqual(['1']);
  });
});

describe('parameter parsing', () => {
  it('minTtl: default, bounds, integers only, at most once', () => {
    expect(parseMinTtl(q(''))).toBe(DEFAULT_MIN_TTL_SECONDS);
    expect(parseMinTtl(q('minTtl=0'))).toBe(0);
    expect(parseMinTtl(q('minTtl=3600'))).toBe(3600);
    for (const bad of ['3601', '-1', '1.5', '', 'abc', '1e3', ' 5']) {
      expect(() => parseMinTtl(q(`minTtl=${encodeURIComponent(bad)}`))).toThrow(/minTtl must be an integer/);
    }
    expect(() => parseMinTtl(q('minTtl=1&minTtl=2'))).toThrow(/at most once/);
  });

  it('minTtl and rejected are never read from the prototype', () => {
    const inherited = Object.create({ minTtl: ['9999'], rejected: ['zz'] }) as ApiRequest['query'];
    expect(parseMinTtl(inherited)).toBe(DEFAULT_MIN_TTL_SECONDS);
    expect(parseRejected(inherited)).toBeUndefined();
  });

  it('rejected: one 16-hex-digit fingerprint', () => {
    expect(parseRejected(q(''))).toBeUndefined();
    expect(parseRejected(q('rejected=0123456789abcdef'))).toBe('0123456789abcdef');
    expect(() => parseRejected(q('rejected=0123456789ABCDEF'))).toThrow(/16-hex-digit/);
    expect(() => parseRejected(q('rejected=0123456789abcdef&rejected=0123456789abcdef'))).toThrow(/once/);
  });

  it('tenantId: percent-decoded, then checked against the pattern', () => {
    expect(parseTenantId('acme-2')).toBe('acme-2');
    expect(parseTenantId('%61cme')).toBe('acme');
    for (const bad of ['', '-acme', 'acme-', 'Acme', 'a_b', '%', '%E0%A4%A', 'a'.repeat(65), '..']) {
      expect(() => parseTenantId(bad)).toThrow(/tenantId must be/);
    }
  });
});

describe('TokenApi', () => {
  it('answers health, and vends with the parsed minTtl and rejected', async () => {
    const { api, calls, request } = setup();
    expect((await api.handle(request('/v1/health'))).response).toMatchObject({ status: 200, body: { status: 'ok' } });
    const outcome = await api.handle(request('/v1/tenants/acme/token', q('minTtl=600&rejected=0123456789abcdef')));
    expect(outcome.response.status).toBe(200);
    expect(outcome.response.headers['Cache-Control']).toBe('no-store');
    expect(outcome.response.body).toMatchObject({ tenantId: 'acme', idToken: 'id-1', expiresIn: 3600 });
    expect(JSON.stringify(outcome.response.body)).not.toContain('refresh-1');
    expect(calls).toEqual([['acme', 600, '0123456789abcdef']]);
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'minttl'])(
    'rejects the unknown parameter %s with 400 before vending',
    async (name) => {
      const { api, calls, request } = setup();
      const { response } = await api.handle(request('/v1/tenants/acme/token', q(`${name}=1`)));
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: { code: 'invalid_request' }, requestId: 'req-1' });
      expect(calls).toEqual([]);
    },
  );

  it('maps routes and methods: 404 unknown route, 405 with Allow', async () => {
    const { api, request } = setup();
    expect((await api.handle(request('/v2/health'))).response).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found' } },
    });
    const post = await api.handle(request('/v1/tenants/acme/token', {}, 'POST'));
    expect(post.response).toMatchObject({ status: 405, headers: { Allow: 'GET' } });
  });

  it('answers odd paths with JSON errors, never throwing', async () => {
    const { api, request } = setup();
    for (const path of [
      '//%/x',
      '//[',
      '/v1/tenants/%/token',
      '/v1/tenants/%E0%A4%A/token',
      '',
      '/v1/tenants//token',
    ]) {
      const { response } = await api.handle(request(path));
      expect([400, 404]).toContain(response.status);
      expect(response.headers['Content-Type']).toBe('application/json');
    }
  });

  it('passes vendor errors through the one mapping, with the request id', async () => {
    const { api, request } = setup();
    const outcome = await api.handle(request('/v1/tenants/ghost/token'));
    expect(outcome.response).toMatchObject({
      status: 404,
      body: { error: { code: 'tenant_not_found' }, requestId: 'req-1' },
    });
    expect(outcome.error).toBeInstanceOf(TenantNotFoundError);
    expect(outcome.tenantId).toBe('ghost');
  });

  it('denies a caller the policy does not know, before vending', async () => {
    const { api, calls, request } = setup();
    const { response } = await api.handle({ ...request('/v1/tenants/acme/token'), callerArn: undefined });
    expect(response.status).toBe(403);
    expect(calls).toEqual([]);
  });
});

describe('health', () => {
  it.each(['__proto__', 'constructor', 'toString', 'x'])(
    'rejects any query parameter, %s included (400)',
    async (name) => {
      const { api, request } = setup();
      const { response } = await api.handle(request('/v1/health', q(`${name}=1`)));
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({
        error: { code: 'invalid_request', message: expect.stringContaining('takes none') },
      });
    },
  );
});
