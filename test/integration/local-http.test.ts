/**
 * Over HTTP against the local server, with the real embedded upstreams:
 * cognito-local for `demo` and the login-endpoint emulator for `demo-rest`.
 * The last test audits every log line this suite produced.
 */
import { request as httpRequest } from 'node:http';

import { JwtVerifier } from 'aws-jwt-verify';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';

import { httpJwksFetcher } from '../../lambdas/adapters/jwt-verifier';
import { MemorySessionCache } from '../../lambdas/adapters/memory-cache';
import { MethodNotAllowedError } from '../../lambdas/core/errors';
import type { Session } from '../../lambdas/core/ports';
import { startLocalService, type LocalService, type LocalServiceOptions } from '../../lambdas/local/local-service';
import { OffsetClock } from '../support/fakes';
import { capturedLogLines, capturedLogRecords } from '../support/log-capture';

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, any>;
}

const vendedTokens = new Set<string>();
const knownSecrets = new Set<string>();
const caches: MemorySessionCache[] = [];
const services: LocalService[] = [];

async function start(
  options: LocalServiceOptions = {},
): Promise<{ service: LocalService; clock: OffsetClock; cache: MemorySessionCache }> {
  const clock = new OffsetClock();
  const cache = new MemorySessionCache();
  const service = await startLocalService({ port: 0, clock, cache, ...options });
  caches.push(cache);
  services.push(service);
  for (const secret of Object.values(service.upstreams?.tenants ?? {})) {
    for (const key of ['password', 'apiKey', 'clientSecret'])
      if (typeof secret[key] === 'string') knownSecrets.add(secret[key] as string);
  }
  return { service, clock, cache };
}

async function get(service: LocalService, path: string, init: RequestInit = {}): Promise<Reply> {
  const response = await fetch(`${service.url}${path}`, init);
  const body = (await response.json()) as Record<string, any>;
  for (const field of ['idToken', 'accessToken', 'token'])
    if (typeof body[field] === 'string') vendedTokens.add(body[field]);
  return { status: response.status, headers: response.headers, body };
}

afterAll(async () => {
  await Promise.all(services.map((service) => service.close()));
});

describe('vending for demo (cognito-local)', () => {
  let service: LocalService;
  let clock: OffsetClock;

  beforeAll(async () => {
    ({ service, clock } = await start());
  });

  it('200 concurrent cold requests make exactly one sign-in and all get the same token', async () => {
    const replies = await Promise.all(
      Array.from({ length: 200 }, () => get(service, '/v1/tenants/demo/token?minTtl=300')),
    );
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(new Set(replies.map((r) => r.body.idToken)).size).toBe(1);
    expect(service.upstreams?.cognito.authFlows.get('USER_PASSWORD_AUTH')).toBe(1);
    expect(service.upstreams?.cognito.count('InitiateAuth')).toBe(1);
  });

  it('returns a JWT that verifies against the emulator keys and lives at least minTtl', async () => {
    const reply = await get(service, '/v1/tenants/demo/token?minTtl=600');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    const secret = service.upstreams?.tenants.demo as Record<string, string>;
    const verifier = JwtVerifier.create(
      { issuer: `${secret.endpoint}/${secret.userPoolId}`, audience: String(secret.clientId) },
      { jwksCache: new SimpleJwksCache({ fetcher: httpJwksFetcher }) },
    );
    const claims = await verifier.verify(reply.body.idToken);
    expect(Number(claims.exp) - Math.floor(clock.now() / 1000)).toBeGreaterThanOrEqual(600);
    expect(reply.body.headers).toEqual({
      authorization: reply.body.idToken,
      'X-Amz-Cognito-Security-Token': reply.body.idToken,
    });
    expect(reply.body.claims).toEqual({
      'custom:identityId': 'ap-southeast-2:00000000-0000-4000-8000-000000000001',
      'custom:companyId': 'company-demo',
      'custom:teamId': 'team-demo',
    });
    expect(reply.body.identityId).toBe('ap-southeast-2:00000000-0000-4000-8000-000000000001');
    expect(JSON.stringify(reply.body)).not.toMatch(/refresh/i);
  });

  it('a second call within lifetime makes no upstream call', async () => {
    const before = service.upstreams?.cognito.count('InitiateAuth');
    const reply = await get(service, '/v1/tenants/demo/token');
    expect(reply.status).toBe(200);
    expect(service.upstreams?.cognito.count('InitiateAuth')).toBe(before);
  });

  it('a minTtl beyond the remaining life renews through the refresh token, not the password', async () => {
    const first = await get(service, '/v1/tenants/demo/token');
    clock.advance(3000); // tokens live 3600 s: about 600 s are left
    const renewed = await get(service, '/v1/tenants/demo/token?minTtl=900');
    expect(renewed.status).toBe(200);
    expect(renewed.body.idToken).not.toBe(first.body.idToken);
    expect(Date.parse(renewed.body.expiresAt) / 1000 - clock.now() / 1000).toBeGreaterThanOrEqual(900);
    expect(service.upstreams?.cognito.authFlows.get('REFRESH_TOKEN_AUTH')).toBe(1);
    expect(service.upstreams?.cognito.authFlows.get('USER_PASSWORD_AUTH')).toBe(1);
  });
});

describe('vending for demo-rest (login endpoint)', () => {
  let service: LocalService;
  let clock: OffsetClock;

  beforeAll(async () => {
    ({ service, clock } = await start());
  });

  it('200 concurrent cold requests make exactly one login and all get the same token', async () => {
    const replies = await Promise.all(Array.from({ length: 200 }, () => get(service, '/v1/tenants/demo-rest/token')));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(new Set(replies.map((r) => r.body.token)).size).toBe(1);
    expect(service.upstreams?.loginEndpoint.count('/auth/login')).toBe(1);
  });

  it('hands out headers that the upstream accepts', async () => {
    const { body } = await get(service, '/v1/tenants/demo-rest/token');
    const user = (service.upstreams?.tenants['demo-rest'] as Record<string, string>).username;
    const response = await fetch(
      `${service.upstreams?.loginEndpoint.baseUrl}/users/${encodeURIComponent(user ?? '')}`,
      { headers: body.headers },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ identityId: body.identityId });
  });

  it('renews through refreshPath when the token gets short', async () => {
    clock.advance(3400);
    const reply = await get(service, '/v1/tenants/demo-rest/token?minTtl=300');
    expect(reply.status).toBe(200);
    expect(service.upstreams?.loginEndpoint.count('/auth/refresh')).toBe(1);
    expect(service.upstreams?.loginEndpoint.count('/auth/login')).toBe(1);
  });

  it('answers 503 with Retry-After when the upstream is down and the cache cannot serve', async () => {
    clock.advance(3500);
    service.upstreams?.loginEndpoint.failNext(20, 503);
    const reply = await get(service, '/v1/tenants/demo-rest/token?minTtl=300');
    expect(reply.status).toBe(503);
    expect(reply.body.error.code).toBe('upstream_unavailable');
    expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(0);
    service.upstreams?.loginEndpoint.failNext(0, 503);
  });
});

describe('wrong password', () => {
  let service: LocalService;

  beforeAll(async () => {
    ({ service } = await start({
      extraTenants: (demo) => ({
        'wrong-password': { ...demo.demo, password: 'Not-The-Password-1!' },
        'wrong-rest': { ...demo['demo-rest'], password: 'Not-The-Password-2!' },
      }),
    }));
    knownSecrets.add('Not-The-Password-1!');
    knownSecrets.add('Not-The-Password-2!');
  });

  it('cognito: the first request gets 502, the next 100 inside the backoff window make no upstream attempt', async () => {
    const first = await get(service, '/v1/tenants/wrong-password/token');
    expect(first.status).toBe(502);
    expect(first.body.error.code).toBe('upstream_auth_failed');
    expect(first.headers.get('retry-after')).toBe('300');
    const attempts = service.upstreams?.cognito.count('InitiateAuth');
    expect(attempts).toBe(1);

    const next = await Promise.all(Array.from({ length: 100 }, () => get(service, '/v1/tenants/wrong-password/token')));
    expect(next.every((r) => r.status === 502 && r.body.error.code === 'upstream_auth_failed')).toBe(true);
    expect(service.upstreams?.cognito.count('InitiateAuth')).toBe(attempts);
  });

  it('login endpoint: the same guard', async () => {
    const first = await get(service, '/v1/tenants/wrong-rest/token');
    expect(first.status).toBe(502);
    for (let i = 0; i < 100; i++) expect((await get(service, '/v1/tenants/wrong-rest/token')).status).toBe(502);
    expect(service.upstreams?.loginEndpoint.count('/auth/login')).toBe(1);
  });
});

describe('bad input over HTTP', () => {
  let service: LocalService;

  beforeAll(async () => {
    ({ service } = await start({
      extraTenants: (demo) => ({ broken: { ...demo.demo, region: 'nowhere', clientSecret: 'Leaky-Client-Secret-9' } }),
    }));
    knownSecrets.add('Leaky-Client-Secret-9');
  });

  it.each([
    ['/v1/tenants/Bad_Tenant/token'],
    ['/v1/tenants/demo/token?minTtl=-1'],
    ['/v1/tenants/demo/token?minTtl=abc'],
    ['/v1/tenants/demo/token?minTtl=99999'],
    ['/v1/tenants/demo/token?foo=bar'],
  ])('%s -> 400 invalid_request', async (path) => {
    const reply = await get(service, path);
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe('invalid_request');
    expect(typeof reply.body.requestId).toBe('string');
  });

  it('unknown tenant -> 404 tenant_not_found (local caller is allowed all tenants)', async () => {
    const reply = await get(service, '/v1/tenants/no-such-tenant/token');
    expect(reply.status).toBe(404);
    expect(reply.body.error.code).toBe('tenant_not_found');
  });

  it('unknown route -> 404 not_found; POST -> 405', async () => {
    expect((await get(service, '/v1/nothing')).body.error.code).toBe('not_found');
    const post = await get(service, '/v1/tenants/demo/token', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
  });

  it('malformed secret -> 500 tenant_misconfigured, no secret value in the body', async () => {
    const reply = await get(service, '/v1/tenants/broken/token');
    expect(reply.status).toBe(500);
    expect(reply.body.error.code).toBe('tenant_misconfigured');
    expect(reply.body.error.message).toContain('region');
    const text = JSON.stringify(reply.body);
    for (const secret of knownSecrets) expect(text).not.toContain(secret);
  });

  it('health check', async () => {
    expect((await get(service, '/v1/health')).body).toEqual({ status: 'ok' });
  });

  it.each([
    '/v1/tenants/no-such-tenant/../demo/token',
    '/v1/tenants/demo/./token',
    '/v1\\tenants\\demo\\token',
    '/v1/tenants/%2e%2e/demo/token',
  ])('does not resolve %s into another path (the deployed API does not): 404, no token', async (target) => {
    // Sent as written: fetch would resolve the dot segments itself.
    const reply = await new Promise<{ status: number; body: Record<string, any> }>((resolve, reject) => {
      const request = httpRequest(`${service.url}`, { path: target }, (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
      });
      request.on('error', reject);
      request.end();
    });
    expect(reply.status).toBe(404);
    expect(reply.body.error.code).toBe('not_found');
    expect(reply.body.token ?? reply.body.idToken).toBeUndefined();
  });

  it('a body over 64 KiB -> 400 at once, without holding it, and the server keeps serving', async () => {
    // 32 MiB streamed: refused after the first 64 KiB; the connection is closed, whatever the client still sends.
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 32) return controller.close();
        sent++;
        controller.enqueue(chunk);
      },
    });
    const rss = process.memoryUsage().rss;
    const reply = await fetch(`${service.url}/v1/health`, { method: 'POST', body, duplex: 'half' } as RequestInit)
      .then(async (response) => ({ status: response.status, body: (await response.json()) as Record<string, any> }))
      .catch((error: unknown) => ({ status: 0, body: { error: String(error) } }));
    // Either the 400 arrived, or the server closed the connection while the client was still sending.
    if (reply.status !== 0) {
      expect(reply.status).toBe(400);
      expect(reply.body.error).toEqual({ code: 'invalid_request', message: expect.stringMatching(/over 65536 bytes/) });
    }
    expect(sent).toBeLessThan(32);
    expect(process.memoryUsage().rss - rss).toBeLessThan(24 * 1024 * 1024);
    expect((await get(service, '/v1/health')).body).toEqual({ status: 'ok' });
  });

  it('quotes at most 80 characters of an unknown path, and 16 of an unknown method', async () => {
    const reply = await get(service, `/v1/${'x'.repeat(10_000)}`);
    expect(reply.status).toBe(404);
    expect(reply.body.error.message).toBe(`No route for GET /v1/${'x'.repeat(76)}....`);
    expect(new MethodNotAllowedError('M'.repeat(100), ['GET']).message).toBe(
      `Method ${'M'.repeat(16)}... is not allowed here; use GET.`,
    );
  });
});

describe('log lines of concurrent requests', () => {
  it('carry their own request id, never the id of a request served meanwhile', async () => {
    const { service } = await start();
    const before = capturedLogRecords().length;
    // Two misses at once (each signs in, logging as it goes) among health checks.
    const replies = await Promise.all([
      fetch(`${service.url}/v1/tenants/demo/token`),
      fetch(`${service.url}/v1/tenants/demo-rest/token`),
      ...Array.from({ length: 10 }, () => fetch(`${service.url}/v1/health`)),
    ]);
    const idOf = new Map<string, string>();
    for (const [index, tenantId] of ['demo', 'demo-rest'].entries()) {
      const reply = replies[index] as Response;
      expect(reply.status).toBe(200);
      idOf.set(tenantId, reply.headers.get('x-request-id') ?? '');
    }
    const records = capturedLogRecords()
      .slice(before)
      .filter((record) => typeof record.tenantId === 'string' && idOf.has(record.tenantId as string));
    // cache_miss, sign_in and the vend line for each tenant at least.
    expect(records.length).toBeGreaterThanOrEqual(6);
    for (const record of records) expect(record.function_request_id).toBe(idOf.get(record.tenantId as string));
  });
});

describe('log audit', () => {
  it('no password, API key, refresh token or JWT appears in any log line of this suite', async () => {
    const lines = capturedLogLines();
    expect(lines.length).toBeGreaterThan(50);
    const refreshTokens = new Set<string>();
    for (const cache of caches) {
      for (const tenantId of ['demo', 'demo-rest']) {
        const session: Session | undefined = await cache.get(tenantId);
        if (session?.refreshToken) refreshTokens.add(session.refreshToken);
      }
    }
    expect(refreshTokens.size).toBeGreaterThan(0);
    expect(vendedTokens.size).toBeGreaterThan(0);
    const forbidden = [...knownSecrets, ...refreshTokens, ...vendedTokens];
    const jwtShape = /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]+/;
    for (const line of lines) {
      expect(jwtShape.test(line)).toBe(false);
      for (const value of forbidden) expect(line.includes(value)).toBe(false);
    }
  });
});
