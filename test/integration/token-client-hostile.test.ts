/**
 * TokenClient against a hostile loopback endpoint: answers that are not the API's JSON (proxies, broken
 * gateways) become typed errors and are never cached, and an endpoint that stalls is given up on in time.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { MAX_ANSWER_BYTES, TokenApiError, TokenClient, type TokenClientOptions } from '../../client/token-client';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let endpoint: string;
let handler: Handler;
let requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    // No keep-alive: a socket reused after afterEach dropped it would fail the next test's first attempt.
    res.setHeader('connection', 'close');
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
beforeEach(() => {
  requests = [];
});
// Stalled answers keep their sockets open: drop them after each test, and let the client see them go (a
// pooled socket reused as it closes fails the next test's first attempt).
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => setTimeout(resolve, 20));
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

function client(options: Partial<TokenClientOptions> = {}): TokenClient {
  return new TokenClient({ endpoint, region: 'eu-west-1', credentials, random: () => 0, ...options });
}

function answer(status: number, body: string, contentType = 'application/json'): Handler {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': contentType });
    res.end(body);
  };
}

const json = (status: number, body: unknown) => answer(status, JSON.stringify(body));

/** Accepts the request and never answers. */
const stall: Handler = () => undefined;

function validToken(): Record<string, unknown> {
  return {
    tenantId: 'acme',
    provider: 'login-endpoint',
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    expiresIn: 3600,
    headers: { authorization: 'Bearer t-1' },
    claims: {},
    token: 't-1',
  };
}

function validCredentials(): Record<string, unknown> {
  return {
    accessKeyId: 'ASIAEXAMPLE',
    secretAccessKey: 'secret',
    sessionToken: 'session',
    expiration: new Date(Date.now() + 3_600_000).toISOString(),
    identityId: 'eu-west-1:0000',
  };
}

async function failure(promise: Promise<unknown>): Promise<TokenApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenApiError);
  return error as TokenApiError;
}

describe('error answers that are not the API JSON', () => {
  it('a 500 with body null is an http_error with the status, not a TypeError', async () => {
    handler = answer(500, 'null');
    const error = await failure(client({ maxRetries: 0 }).getToken('acme'));
    expect(error).toMatchObject({ status: 500, code: 'http_error', message: 'HTTP 500' });
  });

  it.each([
    ['an array', '[1,2]'],
    ['a string', '"boom"'],
    ['a number', '42'],
    ['an HTML page', '<html><body>Bad gateway</body></html>'],
  ])('a 502 whose body is %s is an http_error', async (_name, body) => {
    handler = answer(502, body, body.startsWith('<') ? 'text/html' : 'application/json');
    const error = await failure(client({ maxRetries: 0 }).getToken('acme'));
    expect(error).toMatchObject({ status: 502, code: 'http_error', message: 'HTTP 502' });
  });

  it('a 400 whose error.message is an object keeps the code and falls back to the status, not [object Object]', async () => {
    handler = json(400, { error: { code: 'invalid_request', message: { nested: true } }, requestId: { id: 1 } });
    const error = await failure(client().getToken('acme'));
    expect(error).toMatchObject({ status: 400, code: 'invalid_request', message: 'HTTP 400' });
    expect(error.requestId).toBeUndefined();
  });

  it('a code that is not a string, or not one of the API codes, is an http_error', async () => {
    handler = json(409, { error: { code: { evil: true }, message: 'conflict' } });
    expect(await failure(client().getToken('acme'))).toMatchObject({ code: 'http_error', message: 'conflict' });
    handler = json(409, { error: { code: 'made_up', message: 'conflict' } });
    expect(await failure(client().getToken('acme'))).toMatchObject({ code: 'http_error', message: 'conflict' });
  });

  it('bounds a huge message and strips control characters', async () => {
    handler = json(400, { error: { code: 'invalid_request', message: `\u001b[31m${'x'.repeat(10_000)}` } });
    const error = await failure(client().getToken('acme'));
    expect(error.message.length).toBeLessThanOrEqual(501);
    expect(error.message).not.toContain('\u001b');
  });

  it("still reads API Gateway's own { message } body", async () => {
    handler = json(403, { message: 'Missing Authentication Token' });
    const error = await failure(client().getToken('acme'));
    expect(error).toMatchObject({ status: 403, code: 'forbidden', message: 'Missing Authentication Token' });
  });
});

describe('200 answers that are not the API JSON', () => {
  it('an HTML page from a proxy is invalid_response naming the endpoint, not a SyntaxError', async () => {
    handler = answer(200, '<!doctype html><html><body>Sign in to the proxy</body></html>', 'text/html');
    const error = await failure(client().getToken('acme'));
    expect(error).toMatchObject({ status: 200, code: 'invalid_response' });
    expect(error.message).toContain(`GET ${endpoint}/v1/tenants/acme/token`);
    expect(error.message).toContain('text/html');
    expect(requests).toHaveLength(1); // not retried
  });

  it('a body null is invalid_response and is not cached: headers() fails the same way, and asks again', async () => {
    handler = answer(200, 'null');
    const tokens = client();
    expect(await failure(tokens.getToken('acme'))).toMatchObject({ status: 200, code: 'invalid_response' });
    expect(await failure(tokens.headers('acme'))).toMatchObject({ status: 200, code: 'invalid_response' });
    expect(requests).toHaveLength(2);

    handler = json(200, validToken());
    expect(await tokens.headers('acme')).toEqual({ authorization: 'Bearer t-1' });
    expect(requests).toHaveLength(3);
  });

  const broken: Array<[string, (body: Record<string, unknown>) => void]> = [
    ['expiresAt is not a date', (b) => (b.expiresAt = 'soon')],
    ['expiresAt is missing', (b) => delete b.expiresAt],
    ['headers is not an object of strings', (b) => (b.headers = { authorization: 42 })],
    ['headers is an array', (b) => (b.headers = ['authorization'])],
    ['tenantId is not a string', (b) => (b.tenantId = 7)],
    ['no token', (b) => delete b.token],
    ['a token that is not a string', (b) => (b.idToken = { jwt: 'x' })],
    ['a header value with CR LF', (b) => (b.headers = { authorization: 'Bearer t\r\nX-Injected: 1' })],
    ['a header value with a NUL', (b) => (b.headers = { authorization: 'Bearer t\u0000' })],
    ['a header value outside ASCII', (b) => (b.headers = { authorization: 'Bearer tök' })],
    ['a header name that is none', (b) => (b.headers = { 'x injected': 'a' })],
    ['a token with a line break', (b) => (b.token = 'a\nb')],
  ];
  it.each(broken)('a token body where %s is invalid_response', async (_name, breakIt) => {
    const body = validToken();
    breakIt(body);
    handler = json(200, body);
    const error = await failure(client().getToken('acme'));
    expect(error).toMatchObject({ status: 200, code: 'invalid_response' });
  });

  it.each(['Acme', 'acme/../globex', '', '-acme', 'a'.repeat(65), 'acme\r\n'])(
    'refuses the tenant id %j before its cache or any request',
    async (tenantId) => {
      const tokens = client();
      await expect(tokens.getToken(tenantId)).rejects.toThrow(RangeError);
      await expect(tokens.getAwsCredentials(tenantId)).rejects.toThrow(RangeError);
      expect(requests).toHaveLength(0);
    },
  );

  it('a well-formed token body is returned and cached', async () => {
    handler = json(200, validToken());
    const tokens = client();
    expect(await tokens.getToken('acme')).toMatchObject({ tenantId: 'acme', token: 't-1' });
    await tokens.getToken('acme');
    expect(requests).toHaveLength(1);
  });

  it.each([
    ['sessionToken is missing', (b: Record<string, unknown>) => delete b.sessionToken],
    ['expiration is not a date', (b: Record<string, unknown>) => (b.expiration = 'later')],
    ['accessKeyId is not a string', (b: Record<string, unknown>) => (b.accessKeyId = null)],
  ])('an aws-credentials body where %s is invalid_response, from the SDK provider too', async (_name, breakIt) => {
    const body = validCredentials();
    breakIt(body);
    handler = json(200, body);
    const tokens = client();
    expect(await failure(tokens.getAwsCredentials('acme'))).toMatchObject({ code: 'invalid_response' });
    expect(await failure(tokens.awsCredentials('acme')())).toMatchObject({ code: 'invalid_response' });
    expect(requests).toHaveLength(2); // nothing cached
  });

  it('a well-formed aws-credentials body is returned', async () => {
    handler = json(200, validCredentials());
    const credentials = await client().awsCredentials('acme')();
    expect(credentials).toMatchObject({ accessKeyId: 'ASIAEXAMPLE', sessionToken: 'session' });
  });
});

describe('timeouts', () => {
  it('gives up on an endpoint that never answers after timeoutMs, with a typed timeout error', async () => {
    handler = stall;
    const started = performance.now();
    const error = await failure(client({ maxRetries: 0, timeoutMs: 200 }).getToken('acme'));
    expect(performance.now() - started).toBeLessThan(1500);
    expect(error).toMatchObject({ status: 0, code: 'timeout' });
    expect(error.message).toContain(`GET ${endpoint}/v1/tenants/acme/token`);
    expect(error.message).toContain('200 ms');
  }, 5000);

  it('gives up on an answer whose body never ends', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"tenantId":');
    };
    const error = await failure(client({ maxRetries: 0, timeoutMs: 200 }).getToken('acme'));
    expect(error).toMatchObject({ status: 0, code: 'timeout' });
  }, 5000);

  it('retries a timed-out attempt like a network error', async () => {
    let calls = 0;
    handler = (req, res) => (++calls === 1 ? stall(req, res) : json(200, validToken())(req, res));
    const token = await client({ timeoutMs: 200 }).getToken('acme');
    expect(token.token).toBe('t-1');
    expect(requests).toHaveLength(2);
  }, 5000);

  it('stops retrying at totalTimeoutMs, whatever maxRetries says', async () => {
    handler = stall;
    const started = performance.now();
    const error = await failure(client({ maxRetries: 50, timeoutMs: 200, totalTimeoutMs: 500 }).getToken('acme'));
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(1500);
    expect(error).toMatchObject({ status: 0, code: 'timeout' });
    expect(error.message).toContain('500 ms totalTimeoutMs');
    expect(requests.length).toBeGreaterThanOrEqual(3);
    expect(requests.length).toBeLessThanOrEqual(4);
  }, 5000);

  it('does not wait out a Retry-After that would end past totalTimeoutMs: the 503 is thrown at once', async () => {
    handler = (_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' });
      res.end(JSON.stringify({ error: { code: 'upstream_unavailable', message: 'busy' } }));
    };
    const sleeps: number[] = [];
    const tokens = client({ totalTimeoutMs: 2000, sleep: async (ms) => void sleeps.push(ms) });
    const error = await failure(tokens.getToken('acme'));
    expect(error).toMatchObject({ status: 503, code: 'upstream_unavailable', retryAfterSeconds: 5 });
    expect(sleeps).toEqual([]);
    expect(requests).toHaveLength(1);
  }, 5000);

  it('reads a Retry-After given as an HTTP date (a 503 asking for 5 s is not retried at once)', async () => {
    handler = (_req, res) => {
      res.writeHead(503, {
        'content-type': 'application/json',
        'retry-after': new Date(Date.now() + 5_000).toUTCString(),
      });
      res.end(JSON.stringify({ error: { code: 'upstream_unavailable', message: 'busy' } }));
    };
    const tokens = client({ totalTimeoutMs: 2000, sleep: async () => undefined });
    const error = await failure(tokens.getToken('acme'));
    expect((error as { retryAfterSeconds?: number }).retryAfterSeconds).toBeGreaterThanOrEqual(4);
    expect(requests).toHaveLength(1);
  }, 5000);

  it('times out a custom fetch that ignores the abort signal', async () => {
    const seen: Array<AbortSignal | null | undefined> = [];
    const tokens = client({
      maxRetries: 0,
      timeoutMs: 200,
      fetch: (_url, init) => {
        seen.push(init.signal);
        return new Promise<Response>(() => undefined);
      },
    });
    expect(await failure(tokens.getToken('acme'))).toMatchObject({ status: 0, code: 'timeout' });
    expect(seen[0]).toBeInstanceOf(AbortSignal);
  }, 5000);

  it('applies a timeout by default', async () => {
    const seen: Array<AbortSignal | null | undefined> = [];
    handler = json(200, validToken());
    await client({
      fetch: (url, init) => {
        seen.push(init.signal);
        return fetch(url, init);
      },
    }).getToken('acme');
    expect(seen[0]).toBeInstanceOf(AbortSignal);
    expect(seen[0]?.aborted).toBe(false);
  });
});

it.each([
  ['timeoutMs', 0],
  ['timeoutMs', -1],
  ['totalTimeoutMs', Number.NaN],
  ['totalTimeoutMs', Infinity],
  ['maxRetryDelayMs', -1],
  ['maxRenewalWaitMs', Number.NaN],
])('refuses %s %p with a clear error', (name, value) => {
  expect(() => client({ [name]: value })).toThrow(`TokenClient: ${name} must be a number of milliseconds`);
});

it.each([
  ['maxRetries', Number.NaN, 'a whole number, 0 or more'],
  ['maxRetries', 1.5, 'a whole number, 0 or more'],
  ['maxRetries', -1, 'a whole number, 0 or more'],
  ['maxRetries', '3', 'a whole number, 0 or more'],
  ['clockSkewSeconds', -30, 'a number of seconds from 0 to 300'],
  ['clockSkewSeconds', 301, 'a number of seconds from 0 to 300'],
  ['clockSkewSeconds', Number.NaN, 'a number of seconds from 0 to 300'],
])('refuses %s %p, which would quietly change what the client does', (name, value, what) => {
  expect(() => client({ [name]: value })).toThrow(`TokenClient: ${name} must be ${what}`);
});

it('takes the edges of each range, and Infinity where only totalTimeoutMs is to limit', () => {
  expect(() => client({ maxRetries: 0, clockSkewSeconds: 0, maxRetryDelayMs: 0, maxRenewalWaitMs: 0 })).not.toThrow();
  expect(() => client({ maxRetries: 1000, clockSkewSeconds: 300 })).not.toThrow();
  expect(() => client({ maxRetries: Infinity, maxRetryDelayMs: Infinity, maxRenewalWaitMs: Infinity })).not.toThrow();
});

describe('redirects', () => {
  let other: Server;
  let otherUrl: string;
  let stolen: IncomingMessage['headers'][];
  beforeAll(async () => {
    other = createServer((req, res) => {
      stolen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify(validToken()));
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    stolen = [];
  });
  afterAll(() => new Promise<void>((resolve) => other.close(() => resolve())));

  it.each([301, 302, 303, 307, 308])(
    'a %i is an http_error naming where it points; the signed request goes nowhere else',
    async (status) => {
      handler = (_req, res) => {
        res.writeHead(status, { location: `${otherUrl}/steal` });
        res.end();
      };
      const c = client({ credentials: { ...credentials, sessionToken: 'SESSION-TOKEN' }, maxRetries: 2 });
      const error = await failure(c.getToken('acme'));
      expect(error).toMatchObject({ status, code: 'http_error' });
      expect(error.message).toContain(`a redirect to ${otherUrl}`);
      expect(error.message).toContain('does not follow redirects');
      expect(stolen).toEqual([]);
      expect(requests).toHaveLength(1);
    },
  );
});

describe('answers too big to read', () => {
  it('a body over the cap is refused as invalid_response without being read whole, and not retried', async () => {
    let written = 0;
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        // Stops once the client has gone: at most the cap and what the socket buffers, not 50 MB.
        while (written < 50_000_000 && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => undefined);
      pump();
    };
    const error = await failure(client({ maxRetries: 2 }).getToken('acme'));
    expect(error).toMatchObject({ status: 200, code: 'invalid_response' });
    expect(error.message).toContain(`over ${MAX_ANSWER_BYTES} bytes`);
    expect(requests).toHaveLength(1);
    expect(written).toBeLessThan(20_000_000);
  });

  it('a declared Content-Length over the cap is refused before the body', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(MAX_ANSWER_BYTES + 1) });
      res.write('{');
    };
    const error = await failure(client({ maxRetries: 0 }).getToken('acme'));
    expect(error).toMatchObject({ code: 'invalid_response' });
  });

  it('an error body over the cap is refused alike', async () => {
    handler = answer(500, ' '.repeat(MAX_ANSWER_BYTES + 10));
    const error = await failure(client({ maxRetries: 0 }).getToken('acme'));
    expect(error).toMatchObject({ status: 500, code: 'invalid_response' });
  });
});

describe('answers that are not for the request', () => {
  it("another tenant's token is refused and not cached", async () => {
    handler = json(200, { ...validToken(), tenantId: 'globex' });
    const c = client({ maxRetries: 0 });
    const error = await failure(c.getToken('acme'));
    expect(error).toMatchObject({ status: 200, code: 'invalid_response' });
    expect(error.message).toContain("for tenant 'globex', not 'acme'");
    handler = json(200, validToken());
    expect((await c.getToken('acme')).tenantId).toBe('acme');
    expect(requests).toHaveLength(2);
  });

  it('a token or credentials shorter-lived than minTtl (beyond the clock skew) are refused', async () => {
    handler = json(200, { ...validToken(), expiresAt: new Date(Date.now() - 3_600_000).toISOString() });
    expect(await failure(client({ maxRetries: 0 }).getToken('acme'))).toMatchObject({ code: 'invalid_response' });
    handler = json(200, { ...validToken(), expiresAt: new Date(Date.now() + 100_000).toISOString() });
    expect(await failure(client({ maxRetries: 0 }).getToken('acme', { minTtl: 300 }))).toMatchObject({
      code: 'invalid_response',
    });
    // Within the skew: the API's clock may be ahead of this one.
    handler = json(200, { ...validToken(), expiresAt: new Date(Date.now() + 290_000).toISOString() });
    expect((await client({ maxRetries: 0 }).getToken('acme', { minTtl: 300 })).tenantId).toBe('acme');
    handler = json(200, { ...validCredentials(), expiration: new Date(Date.now() - 1000).toISOString() });
    expect(await failure(client({ maxRetries: 0 }).getAwsCredentials('acme'))).toMatchObject({
      code: 'invalid_response',
    });
  });
});

describe('minTtl out of range', () => {
  it.each([-1, -100_000, 0.5, 3601, Number.NaN, Infinity])(
    'minTtl %p is a RangeError before the cache or the network, for tokens and credentials',
    async (minTtl) => {
      handler = json(200, validToken());
      const c = client({ maxRetries: 0 });
      await c.getToken('acme');
      await expect(c.getToken('acme', { minTtl })).rejects.toThrow(
        'TokenClient: minTtl must be an integer number of seconds from 0 to 3600.',
      );
      await expect(c.getAwsCredentials('acme', { minTtl })).rejects.toThrow(RangeError);
      expect(requests).toHaveLength(1);
    },
  );
});

describe('a forced renewal and an answer that arrives after it', () => {
  it('an answer to a request sent before the renewal does not put the refused token back in the cache', async () => {
    const body = (token: string, minutes: number) =>
      JSON.stringify({
        ...validToken(),
        token,
        headers: { authorization: `Bearer ${token}` },
        expiresAt: new Date(Date.now() + minutes * 60_000).toISOString(),
      });
    const answers: Array<(response: Response) => void> = [];
    /** The answer of the next request the client sends, once it has sent it. */
    const nextRequest = async () => {
      while (answers.length === 0) await new Promise((resolve) => setImmediate(resolve));
      return answers.shift() as (response: Response) => void;
    };
    const tokens = client({ fetch: () => new Promise<Response>((resolve) => answers.push(resolve)) });
    // OLD is cached.
    const first = tokens.getToken('acme', { minTtl: 60 });
    (await nextRequest())(new Response(body('old', 20), { status: 200 }));
    expect((await first).token).toBe('old');
    // A caller needing a longer minTtl asks (its answer is slow); then another reports OLD refused.
    const slow = tokens.getToken('acme', { minTtl: 1800 });
    const slowAnswer = await nextRequest();
    const forced = tokens.getToken('acme', { forceRefresh: true });
    (await nextRequest())(new Response(body('new', 60), { status: 200 }));
    expect((await forced).token).toBe('new');
    slowAnswer(new Response(body('old', 60), { status: 200 }));
    expect((await slow).token).toBe('old');
    // The cache still holds the renewed token.
    expect((await tokens.getToken('acme', { minTtl: 60 })).token).toBe('new');
  });
});
