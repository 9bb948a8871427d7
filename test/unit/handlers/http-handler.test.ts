import type { APIGatewayProxyResult } from 'aws-lambda';

import { StaticTenantStore } from '../../../lambdas/adapters/file-tenant-store';
import { MemorySessionCache } from '../../../lambdas/adapters/memory-cache';
import { UpstreamUnavailableError } from '../../../lambdas/core/errors';
import { fingerprint } from '../../../lambdas/core/fingerprint';
import { createHttpHandler, toApiRequest } from '../../../lambdas/handlers/http-handler';
import { createObservability, vendorEventSink } from '../../../lambdas/handlers/observability';
import { composeRuntime } from '../../../lambdas/runtime/compose';
import { loadRuntimeConfig } from '../../../lambdas/runtime/config';
import { lambdaContext, proxyEvent } from '../../support/events';
import { cognitoSecret, FakeClock, FakeProvider, loginEndpointSecret } from '../../support/fakes';
import { capturedLogLines, capturedLogRecords } from '../../support/log-capture';

const exportRole = 'arn:aws:iam::123456789012:role/analytics-export';
const platformRole = 'arn:aws:iam::123456789012:role/platform';

function setup() {
  const clock = new FakeClock();
  const provider = new FakeProvider(clock);
  const tenants = new StaticTenantStore({
    acme: cognitoSecret,
    globex: { ...loginEndpointSecret },
    broken: { ...cognitoSecret, password: '', clientSecret: 'Leaky-Client-Secret', region: 'not-a-region' },
  });
  const config = loadRuntimeConfig({
    TVM_CONSUMERS: JSON.stringify([
      { principal: exportRole, tenants: ['acme', 'globex', 'broken', 'ghost'] },
      { principal: platformRole, tenants: ['*'] },
    ]),
  });
  const observability = createObservability();
  const runtime = composeRuntime(config, {
    tenants,
    clock,
    providers: { cognito: provider, 'login-endpoint': provider },
    onEvent: vendorEventSink(observability),
  });
  const handler = createHttpHandler(runtime, observability);
  const call = async (...args: Parameters<typeof proxyEvent>) => {
    const result = (await handler(proxyEvent(...args), lambdaContext)) as APIGatewayProxyResult;
    return { ...result, json: JSON.parse(result.body) as Record<string, any> };
  };
  return { call, provider, clock, handler };
}

describe('vend handler: success', () => {
  it('returns the tokens, rendered headers, selected claims and no-store', async () => {
    const { call, clock } = setup();
    const response = await call({ path: '/v1/tenants/acme/token', query: { minTtl: '600' } });
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({ 'Cache-Control': 'no-store', 'Content-Type': 'application/json' });
    const body = response.json;
    expect(body).toMatchObject({ tenantId: 'acme', provider: 'cognito', claims: { 'custom:companyId': 'acme-co' } });
    expect(body.headers).toEqual({ authorization: body.idToken, 'X-Amz-Cognito-Security-Token': body.idToken });
    expect(body.expiresIn).toBe(3600);
    expect(Date.parse(body.expiresAt) / 1000 - clock.nowSeconds()).toBe(3600);
    expect(body).not.toHaveProperty('refreshToken');
    expect(JSON.stringify(body)).not.toContain('refresh-');
    expect(body.claims).not.toHaveProperty('sub');
  });

  it('renders the login-endpoint headers with the api key the upstream requires', async () => {
    const { call } = setup();
    const { json } = await call({ path: '/v1/tenants/globex/token' });
    expect(json.headers['x-api-key']).toBe(loginEndpointSecret.apiKey);
    // The fake provider returns no identityId: the half-filled header is left out.
    expect(json.headers).not.toHaveProperty('identityId');
  });

  it('logs an audit line with a fingerprint, never the token', async () => {
    const { call } = setup();
    const { json } = await call({ path: '/v1/tenants/acme/token' });
    const audit = capturedLogRecords().find((r) => r.message === 'token vended' && r.tenantId === 'acme');
    expect(audit).toMatchObject({
      caller: 'arn:aws:sts::123456789012:assumed-role/analytics-export/run-1',
      tokenFingerprint: fingerprint(json.idToken),
    });
    expect(capturedLogLines().join('\n')).not.toContain(json.idToken);
  });

  it("names each session's own token in the audit line: the same on hits, a new one after a renewal", async () => {
    const { call, clock } = setup();
    const first = await call({ path: '/v1/tenants/acme/token', query: { minTtl: '600' } });
    const hit = await call({ path: '/v1/tenants/acme/token', query: { minTtl: '600' } });
    clock.advance(3600 - 600); // too short for minTtl 600 now: renewed
    const renewed = await call({ path: '/v1/tenants/acme/token', query: { minTtl: '600' } });
    expect(renewed.json.idToken).not.toBe(first.json.idToken);
    const audited = capturedLogRecords()
      .filter((r) => r.message === 'token vended' && r.tenantId === 'acme')
      .map((r) => [r.cache, r.tokenFingerprint])
      .slice(-3);
    expect(audited).toEqual([
      ['upstream', fingerprint(first.json.idToken)],
      ['memory', fingerprint(hit.json.idToken)],
      ['upstream', fingerprint(renewed.json.idToken)],
    ]);
  });

  it('audits a token changed in place under its own fingerprint, not the one remembered for its session', async () => {
    const clock = new FakeClock();
    const cache = new MemorySessionCache();
    const observability = createObservability();
    const runtime = composeRuntime(
      loadRuntimeConfig({ TVM_CONSUMERS: JSON.stringify([{ principal: exportRole, tenants: ['acme'] }]) }),
      {
        tenants: new StaticTenantStore({ acme: cognitoSecret }),
        clock,
        cache,
        providers: { cognito: new FakeProvider(clock) },
        onEvent: vendorEventSink(observability),
      },
    );
    const handler = createHttpHandler(runtime, observability);
    await handler(proxyEvent({ path: '/v1/tenants/acme/token' }), lambdaContext);
    const session = await cache.get('acme');
    (session?.tokens as { idToken?: string }).idToken = 'eyJ.changed.token';
    const hit = (await handler(proxyEvent({ path: '/v1/tenants/acme/token' }), lambdaContext)) as APIGatewayProxyResult;
    expect((JSON.parse(hit.body) as { idToken: string }).idToken).toBe('eyJ.changed.token');
    const audited = capturedLogRecords().filter((r) => r.message === 'token vended' && r.tenantId === 'acme');
    expect(audited.at(-1)?.tokenFingerprint).toBe(fingerprint('eyJ.changed.token'));
  });

  it('answers the health check', async () => {
    const { call } = setup();
    const response = await call({ path: '/v1/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json).toEqual({ status: 'ok' });
  });
});

describe('vend handler: bad input', () => {
  const cases: Array<[string, Parameters<typeof proxyEvent>[0]]> = [
    ['upper-case tenant id', { path: '/v1/tenants/ACME/token' }],
    ['tenant id with underscore', { path: '/v1/tenants/ac_me/token' }],
    ['tenant id ending in a hyphen', { path: '/v1/tenants/acme-/token' }],
    ['empty tenant id', { path: '/v1/tenants//token' }],
    ['minTtl=-1', { path: '/v1/tenants/acme/token', query: { minTtl: '-1' } }],
    ['minTtl=abc', { path: '/v1/tenants/acme/token', query: { minTtl: 'abc' } }],
    ['minTtl=99999', { path: '/v1/tenants/acme/token', query: { minTtl: '99999' } }],
    ['minTtl=1.5', { path: '/v1/tenants/acme/token', query: { minTtl: '1.5' } }],
    ['minTtl twice', { path: '/v1/tenants/acme/token', query: { minTtl: ['1', '2'] } }],
    ['unknown parameter', { path: '/v1/tenants/acme/token', query: { ttl: '5' } }],
    ['rejected that is no fingerprint', { path: '/v1/tenants/acme/token', query: { rejected: 'eyJhbGciOi' } }],
  ];

  it.each(cases)('%s -> 400 invalid_request', async (_name, event) => {
    const { call, provider } = setup();
    const response = await call({ requestId: 'req-400', ...event });
    expect(response.statusCode).toBe(400);
    expect(response.json).toMatchObject({ error: { code: 'invalid_request' }, requestId: 'req-400' });
    expect(response.headers?.['Cache-Control']).toBe('no-store');
    expect(provider.signIns).toBe(0);
  });

  it('unknown route -> 404 not_found', async () => {
    const { call } = setup();
    const response = await call({ path: '/v2/tenants/acme/token' });
    expect(response.statusCode).toBe(404);
    expect(response.json.error.code).toBe('not_found');
  });

  it('routes on the matched resource and its decoded parameters: a custom domain base path in event.path is fine', async () => {
    const { handler } = setup();
    const event = {
      ...proxyEvent({ path: '/tvm/v1/tenants/acme/token' }),
      resource: '/v1/tenants/{tenantId}/token',
      pathParameters: { tenantId: 'acme' },
    };
    const routed = (await handler(event, lambdaContext)) as APIGatewayProxyResult;
    expect(routed.statusCode).toBe(200);
    expect(JSON.parse(routed.body).tenantId).toBe('acme');
    // The catch-all routes on the path as sent.
    const caught = { ...proxyEvent({ path: '/v2/whatever' }), resource: '/{proxy+}', pathParameters: { proxy: 'v2' } };
    expect(((await handler(caught, lambdaContext)) as APIGatewayProxyResult).statusCode).toBe(404);
  });

  it('an invocation that is not an API Gateway event gets an answer, never a TypeError; no method is not GET', async () => {
    const { handler } = setup();
    for (const event of [null, undefined, 42, 'text', {}]) {
      const answer = (await handler(event as never, lambdaContext)) as APIGatewayProxyResult;
      expect([answer.statusCode, JSON.parse(answer.body).error.code]).toEqual([404, 'not_found']);
    }
    const { httpMethod: _method, ...noMethod } = proxyEvent({ path: '/v1/tenants/acme/token' });
    const answer = (await handler(noMethod as never, lambdaContext)) as APIGatewayProxyResult;
    expect(answer.statusCode).toBe(405);
  });

  it('POST -> 405 method_not_allowed with Allow', async () => {
    const { call } = setup();
    const response = await call({ method: 'POST', path: '/v1/tenants/acme/token' });
    expect(response.statusCode).toBe(405);
    expect(response.json.error.code).toBe('method_not_allowed');
    expect(response.headers?.Allow).toBe('GET');
  });
});

describe('vend handler: authorisation and tenants', () => {
  it('unknown tenant -> 404 tenant_not_found for a caller allowed all tenants', async () => {
    const { call } = setup();
    const response = await call({
      path: '/v1/tenants/nobody/token',
      callerArn: `arn:aws:sts::123456789012:assumed-role/platform/s`,
    });
    expect(response.statusCode).toBe(404);
    expect(response.json.error.code).toBe('tenant_not_found');
  });

  it('unknown tenant -> 403 forbidden for a caller allowed only some tenants', async () => {
    const { call } = setup();
    const response = await call({ path: '/v1/tenants/nobody/token' });
    expect(response.statusCode).toBe(403);
    expect(response.json.error.code).toBe('forbidden');
  });

  it('a listed tenant without a secret -> 404 for the caller who may see it', async () => {
    const { call } = setup();
    expect((await call({ path: '/v1/tenants/ghost/token' })).statusCode).toBe(404);
  });

  it('unlisted tenant, unknown caller or no identity -> 403', async () => {
    const { call, provider } = setup();
    expect(
      (await call({ path: '/v1/tenants/acme/token', callerArn: 'arn:aws:iam::123456789012:role/stranger' })).statusCode,
    ).toBe(403);
    expect((await call({ path: '/v1/tenants/acme/token', callerArn: null })).statusCode).toBe(403);
    expect(provider.signIns).toBe(0);
  });

  it('malformed secret -> 500 tenant_misconfigured naming fields, with no secret value in body or logs', async () => {
    const { call } = setup();
    const response = await call({ path: '/v1/tenants/broken/token' });
    expect(response.statusCode).toBe(500);
    expect(response.json.error.code).toBe('tenant_misconfigured');
    expect(response.json.error.message).toMatch(/broken.*region.*password/s);
    const everything = response.body + capturedLogLines().join('\n');
    for (const secret of ['Leaky-Client-Secret', cognitoSecret.password, 'not-a-region']) {
      expect(everything).not.toContain(secret);
    }
  });
});

describe('vend handler: error logging', () => {
  function handlerWithStore(get: () => Promise<never>) {
    const config = loadRuntimeConfig({ TVM_CONSUMERS: JSON.stringify([{ principal: platformRole, tenants: ['*'] }]) });
    const clock = new FakeClock();
    const provider = new FakeProvider(clock);
    const runtime = composeRuntime(config, {
      tenants: { get, invalidate: () => undefined },
      clock,
      providers: { cognito: provider, 'login-endpoint': provider },
    });
    const handler = createHttpHandler(runtime, createObservability());
    return async (tenantId: string) =>
      (await handler(
        proxyEvent({ path: `/v1/tenants/${tenantId}/token`, callerArn: platformRole }),
        lambdaContext,
      )) as APIGatewayProxyResult;
  }

  it('logs a bug as an Error object with its stack and cause; the caller sees only a generic 500', async () => {
    const call = handlerWithStore(async () => {
      throw new TypeError('cannot read properties of undefined', { cause: new Error('root cause here') });
    });
    const response = await call('bugged');
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('root cause');
    const record = capturedLogRecords().find((r) => r.message === 'request failed' && r.tenantId === 'bugged') as any;
    expect(record.error).toMatchObject({ name: 'TypeError', message: 'cannot read properties of undefined' });
    expect(record.error.stack).toContain('TypeError');
    expect(JSON.stringify(record.error.cause)).toContain('root cause here');
  });

  it('logs an expected refusal compactly, with the name and message of its cause', async () => {
    const call = handlerWithStore(async () => {
      throw new UpstreamUnavailableError('Secrets Manager could not be read.', 5, {
        cause: Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }),
      });
    });
    expect((await call('throttled')).statusCode).toBe(503);
    const record = capturedLogRecords().find(
      (r) => r.message === 'request refused' && r.tenantId === 'throttled',
    ) as any;
    expect(record.error).toEqual({
      name: 'UpstreamUnavailableError',
      message: 'Secrets Manager could not be read.',
      cause: { name: 'ThrottlingException', message: 'Rate exceeded' },
    });
  });
});

describe('vend handler: odd query parameter names', () => {
  // Lambda hands the handler JSON.parse(event): "__proto__" arrives as an own property, as here.
  const eventWith = (name: string) =>
    JSON.parse(
      JSON.stringify(proxyEvent({ path: '/v1/tenants/acme/token', callerArn: platformRole })).replace(
        '"queryStringParameters":null,"multiValueQueryStringParameters":null',
        `"queryStringParameters":{"${name}":"1"},"multiValueQueryStringParameters":{"${name}":["1"]}`,
      ),
    );

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])(
    '?%s=1 is an unknown parameter (400)',
    async (name) => {
      const event = eventWith(name);
      expect(Object.keys(event.queryStringParameters)).toEqual([name]);
      const handler = createHttpHandler(
        composeRuntime(
          loadRuntimeConfig({ TVM_CONSUMERS: JSON.stringify([{ principal: platformRole, tenants: ['*'] }]) }),
          {
            tenants: new StaticTenantStore({ acme: cognitoSecret }),
            clock: new FakeClock(),
            providers: {
              cognito: new FakeProvider(new FakeClock()),
              'login-endpoint': new FakeProvider(new FakeClock()),
            },
          },
        ),
        createObservability(),
      );
      const result = (await handler(event, lambdaContext)) as APIGatewayProxyResult;
      expect(result.statusCode).toBe(400);
      expect(JSON.parse(result.body)).toMatchObject({
        error: { code: 'invalid_request', message: expect.stringContaining(name) },
      });
    },
  );
});

describe('vend handler: quiet metrics', () => {
  it('an invocation without metrics (health) logs no "no metrics to publish" warning', async () => {
    const { call } = setup();
    const before = capturedLogLines().length;
    expect((await call({ path: '/v1/health' })).statusCode).toBe(200);
    const lines = capturedLogLines().slice(before);
    expect(lines.join('\n')).not.toMatch(/No application metrics to publish/);
  });
});

describe('toApiRequest on direct invocations of odd shapes', () => {
  const context = { awsRequestId: 'r' };
  const base = { httpMethod: 'GET', path: '/v1/health', requestContext: { identity: { userArn: 'arn:x' } } };

  it.each([
    ['a number', 5],
    ['a string', 'minTtl'],
    ['an array', [['minTtl', '300']]],
    ['null', null],
  ])('multiValueQueryStringParameters as %s is no parameter, and does not throw', (_name, value) => {
    const request = toApiRequest({ ...base, multiValueQueryStringParameters: value } as never, context);
    expect(Object.keys(request.query)).toEqual([]);
  });

  it('takes every value as its text, so it is validated, never dropped: a string in place of a list is one value', () => {
    const request = toApiRequest(
      {
        ...base,
        multiValueQueryStringParameters: { minTtl: '300', rejected: ['abc', 5, { a: 1 }], none: [] },
        queryStringParameters: { extra: 7, none: '9' },
      } as never,
      context,
    );
    expect({ ...request.query }).toEqual({
      minTtl: ['300'],
      rejected: ['abc', '5', '[object]'],
      extra: ['7'],
      none: ['9'],
    });
  });

  it('a minTtl given as a number in a direct invocation is validated (400 out of range), not replaced by the default', async () => {
    const { handler } = setup();
    const event = {
      ...proxyEvent({ path: '/v1/tenants/acme/token' }),
      multiValueQueryStringParameters: { minTtl: [99999] },
      queryStringParameters: null,
    };
    const answer = (await handler(event as never, lambdaContext)) as APIGatewayProxyResult;
    expect(answer.statusCode).toBe(400);
  });

  it('methods are case-sensitive: get is no GET (405), and a requestId that is not a string is the invocation id', () => {
    const request = toApiRequest(
      { ...base, httpMethod: 'get', requestContext: { ...base.requestContext, requestId: 42 } } as never,
      context,
    );
    expect(request.method).toBe('get');
    expect(request.requestId).toBe(context.awsRequestId);
  });

  it('a path parameter that is not well-formed Unicode routes as a bad tenant id instead of throwing', () => {
    const request = toApiRequest(
      { ...base, resource: '/v1/tenants/{tenantId}/token', pathParameters: { tenantId: '\ud800' } } as never,
      context,
    );
    expect(request.path).toBe('/v1/tenants/%EF%BF%BD/token');
  });

  it('queryStringParameters as an array is no parameter; a userArn that is not a string is no caller', () => {
    const request = toApiRequest(
      { ...base, queryStringParameters: ['minTtl'], requestContext: { identity: { userArn: ['arn:x'] } } } as never,
      context,
    );
    expect(Object.keys(request.query)).toEqual([]);
    expect(request.callerArn).toBeUndefined();
  });
});
