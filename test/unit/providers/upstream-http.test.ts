import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

import { UpstreamBusyError } from '../../../lambdas/core/errors';
import {
  AnswerUnreadableError,
  askedWaitSeconds,
  isInterruptedAnswer,
  isTransportFailure,
  postWithoutRedirect,
  readBoundedText,
  unavailableAnswer,
} from '../../../lambdas/providers/upstream-http';

/** A body that streams `chunks` chunks of `size` bytes without a content-length, counting what was pulled. */
function streamingBody(chunks: number, size: number) {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= chunks) return controller.close();
      pulled++;
      controller.enqueue(new Uint8Array(size).fill(0x61));
    },
  });
  return { stream, pulled: () => pulled };
}

const target = { tenantId: 'acme', upstream: 'token endpoint', during: '', redirectHint: 'set tokenUrl' };

describe('readBoundedText', () => {
  it('reads an answer within the cap', async () => {
    expect(await readBoundedText(new Response('{"ok":true}'), 100)).toBe('{"ok":true}');
  });

  it('stops reading a streamed answer as soon as it passes the cap, without buffering the rest', async () => {
    const body = streamingBody(10_000, 64 * 1024); // 640 MB if read whole
    await expect(readBoundedText(new Response(body.stream), 1024 * 1024)).rejects.toMatchObject({ kind: 'too_long' });
    expect(body.pulled()).toBeLessThanOrEqual(18);
  });

  it('refuses a declared content-length over the cap without reading', async () => {
    const body = streamingBody(100, 1024);
    const response = new Response(body.stream, { headers: { 'content-length': String(10 * 1024 * 1024) } });
    await expect(readBoundedText(response, 1024)).rejects.toBeInstanceOf(AnswerUnreadableError);
    expect(body.pulled()).toBeLessThanOrEqual(1);
  });

  // undici fails the body stream with `TypeError: terminated` and keeps the reason as its cause.
  const terminated = (cause: Error) => new TypeError('terminated', { cause });
  const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

  it.each([
    ['the request signal fired', new DOMException('aborted', 'AbortError')],
    ['the request timed out', new DOMException('The operation was aborted due to timeout', 'TimeoutError')],
    ['the connection closed mid-body', terminated(withCode('other side closed', 'UND_ERR_SOCKET'))],
    ['the connection was reset', terminated(withCode('read ECONNRESET', 'ECONNRESET'))],
    ['undici’s body timeout fired', terminated(withCode('Body Timeout Error', 'UND_ERR_BODY_TIMEOUT'))],
  ])('reports a body cut off because %s as interrupted (an outage), keeping the cause', async (_case, failure) => {
    let fail: (error: unknown) => void = () => undefined;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"partial":'));
        fail = (error) => c.error(error);
      },
    });
    const reading = readBoundedText(new Response(stream), 1024);
    fail(failure);
    const error = await reading.catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'interrupted' });
    expect((error as Error).cause).toBe(failure);
    expect(isInterruptedAnswer(error, new AbortController().signal)).toBe(true);
  });

  it.each([
    ['gzip over bytes that are not gzip', terminated(withCode('incorrect header check', 'Z_DATA_ERROR'))],
    ['deflate over garbage', terminated(withCode('invalid block type', 'Z_DATA_ERROR'))],
    ['a Brotli error', terminated(withCode('Decompression failed', 'ERR__ERROR_FORMAT_PADDING_1'))],
    ['a stream error of no known transport kind', new TypeError('terminated')],
  ])('reports a body that fails with %s as undecodable (a bad answer, not an outage)', async (_case, failure) => {
    const stream = new ReadableStream<Uint8Array>({ start: (c) => c.error(failure) });
    const error = await readBoundedText(new Response(stream), 1024).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'undecodable', message: 'answer body could not be decoded' });
    expect((error as Error).cause).toBe(failure);
    expect(isInterruptedAnswer(error, new AbortController().signal)).toBe(false);
  });

  it('counts any failure once its signal has fired as interrupted, whatever the reason', async () => {
    const controller = new AbortController();
    controller.abort(new Error('the vend’s budget is spent'));
    const stream = new ReadableStream<Uint8Array>({ start: (c) => c.error(controller.signal.reason) });
    const error = await readBoundedText(new Response(stream), 1024, controller.signal).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'interrupted' });
  });

  it('does not count an over-long answer as interrupted', () => {
    expect(isInterruptedAnswer(new AnswerUnreadableError('too_long'), new AbortController().signal)).toBe(false);
  });
});

describe('readBoundedText over a real connection (undici’s own errors)', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((request, response) => {
      if (request.url === '/gzip-garbage' || request.url === '/deflate-garbage') {
        const encoding = request.url === '/gzip-garbage' ? 'gzip' : 'deflate';
        response.writeHead(200, { 'content-encoding': encoding, 'content-type': 'application/json' });
        response.end(Buffer.from('this is not compressed at all, whatever the header says'));
      } else if (request.url === '/gzip') {
        response.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/json' });
        response.end(gzipSync('{"ok":true}'));
      } else {
        response.writeHead(200, { 'content-length': '1000' });
        response.write('{"credentials":', () => response.socket?.destroy());
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  async function read(path: string): Promise<unknown> {
    const signal = AbortSignal.timeout(5000);
    return readBoundedText(await fetch(`${base}${path}`, { signal }), 1024, signal).catch((e: unknown) => e);
  }

  it('still decodes a compressed answer', async () => {
    expect(await read('/gzip')).toBe('{"ok":true}');
  });

  it.each(['/gzip-garbage', '/deflate-garbage'])('%s: undecodable, not interrupted', async (path) => {
    const error = await read(path);
    expect(error).toMatchObject({ kind: 'undecodable' });
    expect(isInterruptedAnswer(error, new AbortController().signal)).toBe(false);
  });

  it('a connection closed mid-body: interrupted', async () => {
    const error = await read('/cut');
    expect(error).toMatchObject({ kind: 'interrupted' });
    expect(isInterruptedAnswer(error, new AbortController().signal)).toBe(true);
  });
});

describe('isTransportFailure', () => {
  it('looks a few causes deep and cannot be looped by a cycle', () => {
    const inner = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    expect(isTransportFailure(new Error('a', { cause: new Error('b', { cause: inner }) }))).toBe(true);
    const cyclic = new Error('cyclic') as Error & { cause?: unknown };
    cyclic.cause = cyclic;
    expect(isTransportFailure(cyclic)).toBe(false);
    expect(isTransportFailure('ECONNRESET')).toBe(false);
  });
});

describe('postWithoutRedirect', () => {
  it.each([301, 302, 303, 307, 308])(
    'turns HTTP %d into a paused, never-followed upstream_auth_failed',
    async (status) => {
      const calls: RequestInit[] = [];
      const fetchFn = async (_url: string, init: RequestInit) => {
        calls.push(init);
        return new Response(null, { status, headers: { location: 'https://elsewhere.example/steal' } });
      };
      const signal = new AbortController().signal;
      await expect(
        postWithoutRedirect(fetchFn, 'https://auth.example/token', { headers: {}, body: 'x', signal }, target),
      ).rejects.toMatchObject({
        code: 'upstream_auth_failed',
        reason: 'client_rejected',
      });
      expect(calls).toHaveLength(1);
      expect(calls[0]?.redirect).toBe('manual');
    },
  );

  it('turns a network error into upstream_unavailable that keeps the cause', async () => {
    const cause = new TypeError('fetch failed');
    const fetchFn = async () => {
      throw cause;
    };
    const error = await postWithoutRedirect(
      fetchFn,
      'https://auth.example/token',
      { headers: {}, body: '', signal: new AbortController().signal },
      target,
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'upstream_unavailable',
      message: "The token endpoint of tenant 'acme' could not be reached.",
    });
    expect((error as Error).cause).toBe(cause);
  });
});

describe('askedWaitSeconds and unavailableAnswer', () => {
  it.each([
    ['7', 7],
    ['0.2', 1],
    ['100000', 300],
    [' 12 ', 12],
    ['Wed, 21 Oct 2015 07:28:00 GMT', undefined],
    ['-5', undefined],
    ['1e3', undefined],
    ['', undefined],
    [null, undefined],
  ])('Retry-After %p -> %p s', (header, expected) => {
    const headers: Record<string, string> = header === null ? {} : { 'retry-after': header };
    expect(askedWaitSeconds(new Response(null, { status: 503, headers }))).toBe(expected);
  });

  it('is a busy upstream with its own wait when it says how long, else an outage retried after 5 s', () => {
    const busy = unavailableAnswer('busy', new Response(null, { status: 429, headers: { 'retry-after': '120' } }));
    expect(busy).toBeInstanceOf(UpstreamBusyError);
    expect(busy.retryAfterSeconds).toBe(120);
    const down = unavailableAnswer('down', new Response(null, { status: 503 }));
    expect(down).not.toBeInstanceOf(UpstreamBusyError);
    expect(down.retryAfterSeconds).toBe(5);
  });
});
