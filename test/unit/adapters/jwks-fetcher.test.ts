import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, globalAgent } from 'node:https';
import type { AddressInfo } from 'node:net';

import { FetchError, NonRetryableFetchError } from 'aws-jwt-verify/error';

import { RetryingJwksFetcher } from '../../../lambdas/adapters/jwks-fetcher';
import { AwsJwtVerifier } from '../../../lambdas/adapters/jwt-verifier';
import { KeySetUnavailableError, toErrorResponse } from '../../../lambdas/core/errors';
import { createTokenMinter } from '../../support/hostile/token-minter';

// A self-signed certificate for 127.0.0.1 and localhost (EC P-256, valid 2000-2100), for these tests only.
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBZzCCAQ2gAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAkxMjcuMC4w
LjEwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBQxEjAQBgNVBAMM
CTEyNy4wLjAuMTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABDvQICP200bhN/9O
BPC5KFMtCK//d55Zhsb7/RTFTsKX17FBC7bAZGDz/IbnH+7iUtXzf5T4G/pWnuMF
0KCDBmGjTjBMMBoGA1UdEQQTMBGHBH8AAAGCCWxvY2FsaG9zdDAPBgNVHRMBAf8E
BTADAQH/MB0GA1UdDgQWBBRtOUSt6uMjFa3n4H0k84pZ44rccDAKBggqhkjOPQQD
AgNIADBFAiBXcVTYqRA0ZHtdvmFVeItWCMAor5jc6tEe1c7avGPQlAIhAIbmmmcB
Rto4zkHcS5haKybMEmBe/HO1GVO3rrLyDMZL
-----END CERTIFICATE-----
`;
const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgOPIH51LIpfLKsEN4
aozX94ZNOqUzbfvKW+FAA+X2cOShRANCAAQ70CAj9tNG4Tf/TgTwuShTLQiv/3ee
WYbG+/0UxU7Cl9exQQu2wGRg8/yG5x/u4lLV83+U+Bv6Vp7jBdCggwZh
-----END PRIVATE KEY-----
`;

const MiB = 1024 * 1024;
const minter = createTokenMinter('bounded-key');

/** What the server saw of one answer: bytes it handed to the socket, and whether the client hung up first. */
interface Sent {
  written: number;
  finished: boolean;
  /** Resolves when the connection closed (by either side). */
  readonly closed: Promise<void>;
}

type Handler = (response: ServerResponse, sent: Sent) => void;

interface TestServer {
  readonly url: string;
  readonly answers: Sent[];
  close(): Promise<void>;
}

async function startServer(handler: Handler, tls = false): Promise<TestServer> {
  const answers: Sent[] = [];
  const onRequest = (_request: IncomingMessage, response: ServerResponse) => {
    let closed!: () => void;
    const sent: Sent = { written: 0, finished: false, closed: new Promise<void>((resolve) => (closed = resolve)) };
    response.on('finish', () => (sent.finished = true));
    response.on('close', () => closed());
    answers.push(sent);
    handler(response, sent);
  };
  const server: Server = tls
    ? createHttpsServer({ cert: TEST_CERT, key: TEST_KEY }, onRequest)
    : createHttpServer(onRequest);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    answers,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Streams `total` bytes of a key set that never closes its array, 64 KiB at a time, honouring backpressure. */
function streamKeySet(total: number): Handler {
  return (response, sent) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.write('{"keys":[');
    const chunk = Buffer.alloc(64 * 1024, ' ');
    const pump = () => {
      while (!response.destroyed) {
        if (sent.written >= total) {
          response.end();
          return;
        }
        sent.written += chunk.byteLength;
        if (!response.write(chunk)) {
          response.once('drain', pump);
          return;
        }
      }
    };
    pump();
  };
}

const serveKeys: Handler = (response) => {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify(minter.jwks));
};

/** The refusal names the limit (and nothing of the body). */
const tooLarge = (limit: number) => new RegExp(`larger than .*\\b${limit} bytes`);

/** Runs `test` with the test certificate trusted by https requests on the global agent (the fetcher's). */
async function trustingTestCert(test: () => Promise<void>): Promise<void> {
  const saved = globalAgent.options.ca;
  globalAgent.options.ca = TEST_CERT;
  try {
    await test();
  } finally {
    globalAgent.options.ca = saved;
  }
}

const once = (options: { timeoutMs?: number; maxBytes?: number } = {}) =>
  new RetryingJwksFetcher({ attempts: 1, cooldownSeconds: 0, timeoutMs: 5000, ...options });

async function failure(promise: Promise<unknown>): Promise<{ error: Error; ms: number }> {
  const start = Date.now();
  const error = await promise.then(
    () => new Error('the fetch succeeded'),
    (e: unknown) => e as Error,
  );
  return { error, ms: Date.now() - start };
}

describe('RetryingJwksFetcher: one bounded GET for every key set', () => {
  const servers: TestServer[] = [];
  const serve = async (handler: Handler, tls = false) => {
    const server = await startServer(handler, tls);
    servers.push(server);
    return server;
  };

  /**
   * A key set streamed far past maxBytes (64 MiB against 1 MiB) is refused as soon as it passes the limit: the client
   * hangs up, so the server never gets to the end and hands the socket little more than the limit (plus what the
   * loopback socket buffers hold: a few MiB).
   */
  async function expectCutOff(tls: boolean): Promise<void> {
    const server = await serve(streamKeySet(64 * MiB), tls);
    const { error, ms } = await failure(once({ maxBytes: MiB, timeoutMs: 10_000 }).fetch(server.url));
    expect(error).toBeInstanceOf(NonRetryableFetchError);
    expect(error.message).toMatch(tooLarge(MiB));
    expect(ms).toBeLessThan(5000);
    const [sent] = server.answers;
    await sent!.closed;
    expect(sent!.finished).toBe(false);
    expect(sent!.written).toBeLessThan(16 * MiB);
  }
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  it('hands back a normal key set', async () => {
    const server = await serve(serveKeys);
    const body = await once().fetch(server.url);
    expect(JSON.parse(Buffer.from(body).toString('utf8'))).toEqual(minter.jwks);
  });

  it('cuts off a key set streamed far past maxBytes as soon as it passes the limit, without buffering it', async () => {
    await expectCutOff(false);
  });

  it('refuses a declared content-length over maxBytes without reading the body', async () => {
    const server = await serve((response, sent) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(50 * MiB) });
      sent.written = 9;
      response.write('{"keys":['); // then nothing: a client that waits for the body waits for its timeout
    });
    const { error, ms } = await failure(once({ maxBytes: MiB, timeoutMs: 10_000 }).fetch(server.url));
    expect(error).toBeInstanceOf(NonRetryableFetchError);
    expect(error.message).toMatch(tooLarge(MiB));
    expect(ms).toBeLessThan(5000);
    await server.answers[0]!.closed;
  });

  it('cuts a key set that drips in slower than the timeout off at the timeout', async () => {
    const server = await serve((response, sent) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"keys":[');
      const drip = setInterval(() => {
        sent.written += 1;
        response.write(' ');
      }, 50);
      response.on('close', () => clearInterval(drip));
    });
    const { error, ms } = await failure(once({ timeoutMs: 500 }).fetch(server.url));
    expect(error).toBeInstanceOf(FetchError); // a key-set failure, not an error of the token
    expect(error.message).toContain('500 ms');
    expect(error).not.toBeInstanceOf(NonRetryableFetchError); // a timeout is worth another attempt
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(3000);
    await server.answers[0]!.closed;
    expect(server.answers[0]!.finished).toBe(false);
  });

  it('does not follow a 3xx, and does not retry it', async () => {
    const target = await serve(serveKeys);
    const server = await serve((response) => {
      response.writeHead(302, { location: target.url });
      response.end();
    });
    const fetcher = new RetryingJwksFetcher({ retryDelayMs: 1, timeoutMs: 5000 });
    const { error } = await failure(fetcher.fetch(server.url));
    expect(error).toBeInstanceOf(NonRetryableFetchError);
    expect(error.message).toContain('redirect (HTTP 302), not followed');
    expect({ asked: server.answers.length, target: target.answers.length }).toEqual({ asked: 1, target: 0 });
  });

  it('refuses a 200 that is not JSON, without echoing the body', async () => {
    const server = await serve((response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>secret-looking page</html>');
    });
    const { error } = await failure(once().fetch(server.url));
    expect(error).toBeInstanceOf(NonRetryableFetchError);
    expect(error.message).toContain('not UTF-8 JSON');
    expect(error.message).not.toContain('secret-looking');
  });

  describe('over https', () => {
    it('verifies the certificate: a self-signed one is refused', async () => {
      const server = await serve(serveKeys, true);
      const { error } = await failure(once().fetch(server.url));
      expect(error.message).toMatch(/self[- ]signed/i);
    });

    it('applies the same cap: an oversized key set is cut off', () =>
      trustingTestCert(async () => {
        const good = await serve(serveKeys, true);
        await expect(once().fetch(good.url)).resolves.toBeInstanceOf(ArrayBuffer);
        await expectCutOff(true);
      }));
  });
});

describe('AwsJwtVerifier with an oversized https key set', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(streamKeySet(64 * MiB), true);
  });
  afterAll(() => server.close());

  it('answers 503 with Retry-After (a key-set failure, never a sign-in), naming the limit, not the body', () =>
    trustingTestCert(async () => {
      const limit = 256 * 1024;
      const verifier = new AwsJwtVerifier({ fetcher: { retryDelayMs: 1, timeoutMs: 10_000, maxBytes: limit } });
      const error = await verifier
        .ensureKeys('globex', { issuer: 'https://idp.example.com', jwksUri: server.url })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeySetUnavailableError);
      expect((error as KeySetUnavailableError).retrySignIn).toBe(false);
      expect(toErrorResponse(error)).toMatchObject({ status: 503, code: 'upstream_unavailable' });
      expect(toErrorResponse(error).headers['Retry-After']).toBe('10');
      expect((error as Error).message).toMatch(tooLarge(limit));
      expect((error as Error).message).not.toContain('{"keys"');
      expect(server.answers).toHaveLength(1); // too large is not retried
      await server.answers[0]!.closed;
      expect(server.answers[0]!.finished).toBe(false);
      expect(server.answers[0]!.written).toBeLessThan(16 * MiB);
    }));
});
