import { ExportFailedError, OutOfTimeError } from '../../../lambdas/export/export-errors';
import { nestsDeeperThan, PageFetcher, type PageFetcherOptions } from '../../../lambdas/export/page-fetcher';

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

function setup(answers: Array<Response | Error>, overrides: Partial<PageFetcherOptions> = {}) {
  const sleeps: number[] = [];
  const sent: Array<Record<string, string>> = [];
  const renewals: unknown[] = [];
  let token = 'token-1';
  const fetcher = new PageFetcher({
    tenant: 'acme',
    tokens: {
      headers: async () => ({ authorization: token }),
      getToken: async (_tenant, options) => {
        renewals.push(options);
        token = 'token-2';
        return { headers: { authorization: token } } as never;
      },
    },
    fetch: async (_url, init) => {
      sent.push(init.headers as Record<string, string>);
      const next = answers.shift();
      if (!next) throw new Error('no more answers');
      if (next instanceof Error) throw next;
      return next;
    },
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
    clock: { now: () => 0 },
    deadline: 600_000,
    maxAttempts: 3,
    requestTimeoutMs: 30_000,
    maxPageBytes: 1024,
    ...overrides,
  });
  return { fetcher, sleeps, sent, renewals };
}

const request = { url: 'https://api.example.com/x', method: 'GET' as const };

it('waits exactly Retry-After after a 429, and a jittered backoff after a 503 or a network error', async () => {
  const { fetcher, sleeps } = setup(
    [json(429, {}, { 'retry-after': '7' }), json(503, {}), new TypeError('fetch failed'), json(200, { ok: true })],
    { maxAttempts: 4 },
  );
  await expect(fetcher.fetchJson(request)).resolves.toMatchObject({ json: { ok: true } });
  expect(sleeps).toEqual([7000, 1000, 2000]);
  expect(fetcher.retries).toBe(3);
});

it('renews the token once on 401 and fails if the renewed token is refused too', async () => {
  const ok = setup([json(401, {}), json(200, [1])]);
  await expect(ok.fetcher.fetchJson(request)).resolves.toMatchObject({ json: [1] });
  expect(ok.renewals).toEqual([{ minTtl: 300, forceRefresh: true }]);
  expect(ok.sent.map((h) => h.authorization)).toEqual(['token-1', 'token-2']);

  const refused = setup([json(401, {}), json(401, {})]);
  await expect(refused.fetcher.fetchJson(request)).rejects.toMatchObject({ code: 'upstream_unauthorized' });
  expect(refused.renewals).toHaveLength(1);
});

it('gives up after maxAttempts with upstream_unavailable', async () => {
  const { fetcher } = setup([json(500, {}), json(502, {}), json(504, {})]);
  await expect(fetcher.fetchJson(request)).rejects.toMatchObject({
    name: 'ExportFailedError',
    code: 'upstream_unavailable',
  });
});

it('refuses answers over maxPageBytes, and answers that are not JSON', async () => {
  await expect(setup([json(200, 'x'.repeat(2000))]).fetcher.fetchJson(request)).rejects.toThrow(/exceeds maxPageBytes/);
  const chunked = new Response(
    new ReadableStream({
      start(controller) {
        for (let i = 0; i < 3; i++) controller.enqueue(new TextEncoder().encode('y'.repeat(500)));
        controller.close();
      },
    }),
  );
  await expect(setup([chunked]).fetcher.fetchJson(request)).rejects.toThrow(/exceeds maxPageBytes/);
  await expect(setup([new Response('<html>')]).fetcher.fetchJson(request)).rejects.toMatchObject({
    code: 'upstream_invalid_answer',
  });
});

it('fails other 4xx at once, without retrying', async () => {
  const { fetcher, sleeps } = setup([json(404, {})]);
  await expect(fetcher.fetchJson(request)).rejects.toBeInstanceOf(ExportFailedError);
  expect(sleeps).toEqual([]);
});

it('stops for the run (OutOfTimeError) when Retry-After reaches past the deadline or the deadline has passed', async () => {
  await expect(
    setup([json(429, {}, { 'retry-after': '120' })], { deadline: 60_000 }).fetcher.fetchJson(request),
  ).rejects.toBeInstanceOf(OutOfTimeError);
  await expect(setup([json(200, {})], { deadline: 0 }).fetcher.fetchJson(request)).rejects.toBeInstanceOf(
    OutOfTimeError,
  );
});

it('stops for the run when the deadline cuts a hung request', async () => {
  const { fetcher } = setup([], {
    clock: { now: () => Date.now() },
    deadline: Date.now() + 50,
    fetch: (_url, init) =>
      new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason))),
  });
  await expect(fetcher.fetchJson(request)).rejects.toBeInstanceOf(OutOfTimeError);
});

describe('hostile answers fail the window at once, never retried as an outage', () => {
  it('a redirect is never followed: upstream_rejected after one request, the token sent nowhere else', async () => {
    const { fetcher, sent, sleeps } = setup([
      new Response(null, { status: 302, headers: { location: 'https://evil.example.com/steal' } }),
    ]);
    const error = await fetcher.fetchJson(request).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'upstream_rejected' });
    expect((error as Error).message).toMatch(/redirect \(HTTP 302\)/);
    expect(sent).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('asks fetch not to follow redirects', async () => {
    let redirect: RequestInit['redirect'];
    const { fetcher } = setup([], {
      fetch: async (_url, init) => {
        redirect = init.redirect;
        return json(200, {});
      },
    });
    await fetcher.fetchJson(request);
    expect(redirect).toBe('manual');
  });

  it('a body its content-encoding cannot decode: upstream_invalid_answer after one request', async () => {
    // A real HTTP answer, so fetch decodes it as it would on the wire.
    const { createServer } = await import('node:http');
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      response.end('this is not gzip');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    let requests = 0;
    try {
      const { fetcher, sleeps } = setup([], {
        fetch: (url, init) => {
          requests++;
          return fetch(url, init);
        },
      });
      const error = await fetcher.fetchJson({ url: `http://127.0.0.1:${port}/x`, method: 'GET' }).catch((e) => e);
      expect(error).toMatchObject({ code: 'upstream_invalid_answer' });
      expect((error as Error).message).toMatch(/could not be decoded/);
      expect({ requests, sleeps }).toEqual({ requests: 1, sleeps: [] });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('JSON nested deeper than any page: upstream_invalid_answer, not a stack overflow later', async () => {
    const deep = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
    const { fetcher } = setup([new Response(deep, { status: 200 })], { maxPageBytes: 1_000_000 });
    const error = await fetcher.fetchJson(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExportFailedError);
    expect(error).toMatchObject({ code: 'upstream_invalid_answer' });
    // The same with a number a double cannot carry as the innermost value: it is a number, no level of its own.
    const exact = (levels: number) =>
      new Response(`${'['.repeat(levels)}12345678901234567891${']'.repeat(levels)}`, { status: 200 });
    await expect(setup([exact(5_000)], { maxPageBytes: 1_000_000 }).fetcher.fetchJson(request)).rejects.toMatchObject({
      code: 'upstream_invalid_answer',
      message: expect.stringMatching(/deeper than 256/),
    });
    await expect(setup([exact(256)], { maxPageBytes: 1_000_000 }).fetcher.fetchJson(request)).resolves.toMatchObject({
      exactNumbers: true,
    });
    expect(nestsDeeperThan(JSON.parse(`${'['.repeat(256)}${']'.repeat(256)}`), 256)).toBe(false);
    expect(nestsDeeperThan({ a: [{ b: [] }] }, 3)).toBe(true);
  });

  it('a long Retry-After on the last attempt still resumes the window next run rather than failing it', async () => {
    const { fetcher } = setup([json(503, {}), json(503, {}), json(429, {}, { 'retry-after': '60' })]);
    await expect(fetcher.fetchJson(request)).rejects.toBeInstanceOf(OutOfTimeError);
  });

  it('a Retry-After longer than a retry waits ends the run for this window (resumed next run), without sleeping', async () => {
    const { fetcher, sleeps } = setup([json(429, {}, { 'retry-after': '3600' })]);
    await expect(fetcher.fetchJson(request)).rejects.toBeInstanceOf(OutOfTimeError);
    expect(sleeps).toEqual([]);
  });
});

describe('header values are kept out of messages', () => {
  it('takes the token an upstream quotes out of the error that fails the window', async () => {
    const { fetcher } = setup([json(200, { errors: [{ message: 'x' }] })], {
      tokens: {
        headers: async () => ({ authorization: 'Bearer SECRET-TOKEN-abc123', 'x-api-key': 'KEY-0123456789' }),
        getToken: async () => ({ headers: {} }) as never,
      },
    });
    await fetcher.fetchJson(request);
    const quoted = new ExportFailedError(
      'upstream_invalid_answer',
      'GraphQL errors: invalid token Bearer SECRET-TOKEN-abc123 for key KEY-0123456789',
    );
    const redacted = fetcher.redacted(quoted) as ExportFailedError;
    expect(redacted.code).toBe('upstream_invalid_answer');
    expect(redacted.message).toBe('GraphQL errors: invalid token [redacted] for key [redacted]');
    const other = new Error('not an export failure');
    expect(fetcher.redacted(other)).toBe(other);
  });
});

describe('text of a page', () => {
  it('refuses bytes that are not UTF-8 (they would be written as U+FFFD), and reads a page after a BOM', async () => {
    const invalid = new Response(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), {
      status: 200,
    });
    const error = await setup([invalid])
      .fetcher.fetchJson(request)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'upstream_invalid_answer' });
    expect((error as Error).message).toMatch(/not UTF-8/);
    const bom = new Response(`\uFEFF${JSON.stringify({ ok: true })}`, { status: 200 });
    expect((await setup([bom]).fetcher.fetchJson(request)).json).toEqual({ ok: true });
  });

  it('says when a page holds numbers a double cannot carry, kept exactly for writing', async () => {
    const plain = await setup([new Response('{"id":1}', { status: 200 })]).fetcher.fetchJson(request);
    expect(plain).toMatchObject({ json: { id: 1 }, exactNumbers: false });
    const exact = await setup([new Response('{"id":12345678901234567891}', { status: 200 })]).fetcher.fetchJson(
      request,
    );
    expect(exact.exactNumbers).toBe(true);
    expect(String((exact.json as { id: unknown }).id)).toBe('12345678901234567891');
  });
});
