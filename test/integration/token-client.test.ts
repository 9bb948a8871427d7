/** TokenClient against the local server over HTTP. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Hash } from '@smithy/core/serde';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

import { regionFromEndpoint, TokenApiError, TokenClient } from '../../client/token-client';
import { startLocalService, type LocalService } from '../../lambdas/local/local-service';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
let service: LocalService;

beforeAll(async () => {
  service = await startLocalService({ port: 0 });
});
afterAll(() => service.close());

function countingFetch() {
  const calls: Array<{ url: string; headers: Record<string, string> }> = [];
  const fetchFn = async (url: string, init: RequestInit) => {
    calls.push({ url, headers: init.headers as Record<string, string> });
    return fetch(url, init);
  };
  return { calls, fetchFn };
}

it('signs every request with a well-formed SigV4 header that re-signing reproduces', async () => {
  const { calls, fetchFn } = countingFetch();
  const client = new TokenClient({ endpoint: service.url, region: 'ap-southeast-2', credentials, fetch: fetchFn });
  const token = await client.getToken('demo', { minTtl: 600 });
  expect(token.idToken).toMatch(/^eyJ/);

  const sent = calls[0]?.headers ?? {};
  expect(sent.authorization).toMatch(
    /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/ap-southeast-2\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
  );
  const amzDate = sent['x-amz-date'] ?? '';
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const url = new URL(calls[0]?.url ?? '');
  const resigned = await new SignatureV4({
    service: 'execute-api',
    region: 'ap-southeast-2',
    credentials,
    sha256: Hash.bind(null, 'sha256'),
  }).sign(
    new HttpRequest({
      method: 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: { minTtl: '600' },
      headers: { host: url.host, accept: 'application/json' },
    }),
    { signingDate },
  );
  expect(resigned.headers.authorization).toBe(sent.authorization);
});

it('serves a second getToken within the lifetime from its cache, without an HTTP call', async () => {
  const { calls, fetchFn } = countingFetch();
  const client = new TokenClient({ endpoint: service.url, region: 'ap-southeast-2', credentials, fetch: fetchFn });
  const first = await client.getToken('demo-rest', { minTtl: 300 });
  const second = await client.getToken('demo-rest', { minTtl: 600 });
  expect(second).toBe(first);
  expect(calls).toHaveLength(1);
  client.invalidate('demo-rest');
  await client.getToken('demo-rest', { minTtl: 300 });
  expect(calls).toHaveLength(2);
});

describe('retries', () => {
  let proxy: Server;
  let proxyUrl: string;
  let failuresLeft = 0;
  let status = 503;

  beforeAll(async () => {
    proxy = createServer((req, res) => {
      if (failuresLeft > 0) {
        failuresLeft--;
        res.writeHead(status, { 'content-type': 'application/json', 'retry-after': '1' });
        res.end(
          JSON.stringify({
            error: { code: status === 503 ? 'upstream_unavailable' : 'forbidden', message: 'injected' },
            requestId: 'r-1',
          }),
        );
        return;
      }
      fetch(`${service.url}${req.url}`).then(async (upstream) => {
        res.writeHead(upstream.status, { 'content-type': 'application/json' });
        res.end(await upstream.text());
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => proxy.close(() => resolve())));

  it('retries a 503 with Retry-After: 1 after about a second, then succeeds', async () => {
    failuresLeft = 1;
    status = 503;
    const waits: number[] = [];
    const client = new TokenClient({
      endpoint: proxyUrl,
      region: 'ap-southeast-2',
      credentials,
      sleep: (ms) => {
        waits.push(ms);
        return new Promise((resolve) => setTimeout(resolve, ms));
      },
    });
    const started = Date.now();
    const token = await client.getToken('demo');
    expect(token.tenantId).toBe('demo');
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(1000);
    expect(waits[0]).toBeLessThanOrEqual(1200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('gives up after the bounded retries with a typed error', async () => {
    failuresLeft = 10;
    status = 503;
    const client = new TokenClient({
      endpoint: proxyUrl,
      region: 'ap-southeast-2',
      credentials,
      maxRetries: 2,
      sleep: async () => undefined,
    });
    const error = await client.getToken('demo').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenApiError);
    expect(error).toMatchObject({ status: 503, code: 'upstream_unavailable', requestId: 'r-1', retryAfterSeconds: 1 });
    expect(failuresLeft).toBe(7);
  });

  it('does not retry other errors', async () => {
    failuresLeft = 1;
    status = 403;
    const client = new TokenClient({
      endpoint: proxyUrl,
      region: 'ap-southeast-2',
      credentials,
      sleep: async () => undefined,
    });
    await expect(client.getToken('demo')).rejects.toMatchObject({ status: 403, code: 'forbidden' });
    expect(failuresLeft).toBe(0);
  });
});

it('reads the region from an execute-api endpoint', () => {
  expect(regionFromEndpoint('https://abc123.execute-api.ap-southeast-2.amazonaws.com/prod/')).toBe('ap-southeast-2');
  expect(regionFromEndpoint('http://127.0.0.1:8787')).toBeUndefined();
});
