// The local server as a careless or hostile client meets it: odd query names, odd paths, bytes Node's HTTP parser
// rejects, a tenants file that breaks while serving. Every request gets an answer in the API's error shape and the
// server keeps answering /v1/health afterwards.
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { APIGatewayProxyResult } from 'aws-lambda';

import { serveHandler, type LocalHttpServer } from '../../lambdas/local/http-adapter';
import { startLocalService, type LocalService } from '../../lambdas/local/local-service';
import { startLoginEndpointEmulator, type LoginEndpointEmulator } from '../../lambdas/local/login-endpoint-emulator';

/** Send raw bytes and read the whole answer (the server closes or answers with a Content-Length). */
function rawRequest(port: number, bytes: string | Buffer): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const finish = () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const body = rest.join('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body });
      socket.destroy();
    };
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const text = Buffer.concat(chunks).toString('utf8');
      const length = /content-length: (\d+)/i.exec(text)?.[1];
      const split = text.indexOf('\r\n\r\n');
      if (length !== undefined && split >= 0 && Buffer.byteLength(text.slice(split + 4)) >= Number(length)) finish();
    });
    socket.on('end', finish);
    socket.on('error', reject);
    socket.write(bytes);
  });
}

const get = (port: number, target: string) =>
  rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);

function expectApiError(reply: { status: number; headers: string; body: string }, status: number, code: string) {
  expect(reply.status).toBe(status);
  expect(reply.headers).toMatch(/content-type: application\/json/i);
  expect(reply.headers).toMatch(/cache-control: no-store/i);
  expect(JSON.parse(reply.body)).toEqual({
    error: { code, message: expect.any(String) },
    requestId: expect.any(String),
  });
}

describe('local server robustness', () => {
  let upstream: LoginEndpointEmulator;
  let service: LocalService;
  let dir: string;
  let file: string;
  const warnings: string[] = [];
  let mtime = Date.now();
  const write = (content: unknown) => {
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    mtime += 10_000;
    utimesSync(file, new Date(), new Date(mtime));
  };
  let secret: Record<string, unknown>;

  beforeAll(async () => {
    upstream = await startLoginEndpointEmulator({ users: { 'ops@example.com': 'Pa55-word!' }, apiKey: 'local-key' });
    secret = {
      provider: 'login-endpoint',
      baseUrl: upstream.baseUrl,
      apiKey: 'local-key',
      username: 'ops@example.com',
      password: 'Pa55-word!',
      jwt: { issuer: upstream.issuer, jwksUri: upstream.jwksUri },
    };
    dir = mkdtempSync(join(tmpdir(), 'tvm-local-server-'));
    file = join(dir, 'tenants.json');
    write({ acme: secret, broken: { ...secret, apiKey: '' } });
    service = await startLocalService({ port: 0, tenantsFile: file, warn: (message) => warnings.push(message) });
  });

  afterAll(async () => {
    await service?.close();
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports a tenant with an invalid secret at start', () => {
    expect(service.tenantProblems).toEqual([{ tenantId: 'broken', message: expect.stringMatching(/broken.*apiKey/) }]);
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', '__proto__[x]'])(
    '?%s=1 is an unknown parameter on every route (400)',
    async (name) => {
      for (const path of ['/v1/health', '/v1/tenants/acme/token']) {
        expectApiError(await get(service.port, `${path}?${encodeURIComponent(name)}=1`), 400, 'invalid_request');
      }
    },
  );

  it.each(['//%/x', '//[', '/%', '/v1/tenants/%/token', '/v1/tenants/%E0%A4%A/token', '/%00', '//', '/..%2f..%2f'])(
    'answers the path %s in the error shape',
    async (path) => {
      const reply = await get(service.port, path);
      expect([400, 404]).toContain(reply.status);
      expectApiError(reply, reply.status, reply.status === 400 ? 'invalid_request' : 'not_found');
    },
  );

  it.each(['*', 'http://example.com/v1/health', 'v1/health'])(
    'answers the request target %s with 400',
    async (target) => {
      expectApiError(await get(service.port, target), 400, 'invalid_request');
    },
  );

  it('answers requests the HTTP parser rejects with 400, the status of invalid_request: huge headers, bad bytes', async () => {
    const huge = await rawRequest(
      service.port,
      `GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expectApiError(huge, 400, 'invalid_request');
    expect(huge.body).toContain('Request headers are too large.');
    const badHeader = await rawRequest(service.port, 'GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n\r\n');
    expectApiError(badHeader, 400, 'invalid_request');
    const badLine = await rawRequest(
      service.port,
      Buffer.from([0x47, 0x45, 0x54, 0x20, 0x00, 0xff, 0x0d, 0x0a, 0x0d, 0x0a]),
    );
    expectApiError(badLine, 400, 'invalid_request');
  });

  it('answers a request pipelined before one the parser rejects first, then the 400, then closes', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect(service.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      socket.on('error', reject);
      // The token request takes a sign-in: its answer is still under way when the parser rejects the next bytes.
      socket.write(
        'GET /v1/tenants/acme/token HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /v1/health HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n\r\n',
      );
    });
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((match) => match[1]);
    expect(statuses).toEqual(['200', '400']);
    expect(text).toContain('"token"');
    expect(text.indexOf('"token"')).toBeLessThan(text.indexOf('invalid_request'));
  });

  it('answers a chunked body the parser rejects at once with 400 (its request never completes)', async () => {
    const started = performance.now();
    const reply = await rawRequest(
      service.port,
      'POST /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n',
    );
    expectApiError(reply, 400, 'invalid_request');
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it.each(['attacker.example', 'attacker.example:8787', '127.0.0.1.nip.io', 'a@127.0.0.1', '127.0.0.1/x', '[::2]'])(
    'refuses a request whose Host names %s (DNS rebinding) with 403, before it reaches any tenant',
    async (host) => {
      const reply = await rawRequest(
        service.port,
        `GET /v1/tenants/acme/token HTTP/1.1\r\nHost: ${host}\r\nOrigin: http://${host}\r\nConnection: close\r\n\r\n`,
      );
      expectApiError(reply, 403, 'forbidden');
      expect(reply.body).not.toContain('Token');
    },
  );

  it.each(['localhost', `localhost:PORT`, '127.0.0.1:PORT', '[::1]:PORT', 'LOCALHOST'])(
    'serves a request whose Host is %s',
    async (host) => {
      const reply = await rawRequest(
        service.port,
        `GET /v1/health HTTP/1.1\r\nHost: ${host.replace('PORT', String(service.port))}\r\nConnection: close\r\n\r\n`,
      );
      expect(reply.status).toBe(200);
    },
  );

  it('serves a request with an Expect other than 100-continue as API Gateway does, not with a bare 417', async () => {
    const reply = await rawRequest(
      service.port,
      'GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: something-else\r\nConnection: close\r\n\r\n',
    );
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ status: 'ok' });
  });

  it('answers HTTP/1.1 without Host, and CONNECT, in the error shape', async () => {
    const noHost = await rawRequest(service.port, 'GET /v1/health HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(noHost.status).toBe(200);
    expect(JSON.parse(noHost.body)).toEqual({ status: 'ok' });
    const tunnel = await rawRequest(service.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expectApiError(tunnel, 405, 'method_not_allowed');
  });

  it('still answers /v1/health and vends after all of the above', async () => {
    const health = await fetch(`${service.url}/v1/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect((await fetch(`${service.url}/v1/tenants/acme/token`)).status).toBe(200);
  });

  it('keeps serving the last good tenants file when it turns invalid or disappears, warning once', async () => {
    warnings.length = 0;
    const statuses = async () => {
      const seen = new Set<number>();
      // Spread over more than the file store's re-read interval (1 s).
      for (let i = 0; i < 12; i++) {
        seen.add((await fetch(`${service.url}/v1/tenants/acme/token`)).status);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return [...seen];
    };
    write('{"acme": {"password": "half-written');
    expect(await statuses()).toEqual([200]);
    rmSync(file);
    expect(await statuses()).toEqual([200]);
    expect(warnings).toEqual([
      expect.stringMatching(/not valid JSON.*last good copy/),
      expect.stringMatching(/does not exist.*last good copy/),
    ]);
    expect(warnings.join()).not.toContain('half-written');
  });
});

describe('serveHandler', () => {
  let server: LocalHttpServer;
  const errors: unknown[] = [];
  let calls = 0;

  beforeAll(async () => {
    server = await serveHandler(
      async (event): Promise<APIGatewayProxyResult> => {
        calls++;
        if (event.path === '/throw') throw new Error('handler bug');
        if (event.path === '/bad-header') return { statusCode: 200, headers: { 'x-bad': 'a\nb' }, body: '{}' };
        return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: '{"status":"ok"}' };
      },
      { host: '127.0.0.1', port: 0, callerArn: 'local', onError: (error) => errors.push(error) },
    );
  });

  afterAll(() => server.close());

  it('turns a handler that throws, or answers with an unsendable header, into a JSON 500 and keeps serving', async () => {
    expectApiError(await get(server.port, '/throw'), 500, 'internal_error');
    expectApiError(await get(server.port, '/bad-header'), 500, 'internal_error');
    expect(errors).toHaveLength(2);
    expect((await get(server.port, '/ok')).status).toBe(200);
    expect(calls).toBe(3);
  });

  it('builds null-prototype query maps for the handler', async () => {
    let seen: unknown;
    const probe = await serveHandler(
      async (event) => {
        seen = event.multiValueQueryStringParameters;
        return { statusCode: 204, body: '' };
      },
      { host: '127.0.0.1', port: 0, callerArn: 'local' },
    );
    try {
      await get(probe.port, '/x?__proto__=1&__proto__=2&constructor=3');
      expect(Object.getPrototypeOf(seen)).toBeNull();
      expect(Object.entries(seen as object)).toEqual([
        ['__proto__', ['1', '2']],
        ['constructor', ['3']],
      ]);
    } finally {
      await probe.close();
    }
  });
});
