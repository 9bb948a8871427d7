import {
  AnswerUnreadableError,
  isInterruptedAnswer,
  postWithoutRedirect,
  readBoundedText,
  retryAfterSeconds,
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

  it.each([
    ['the request signal fired', new DOMException('aborted', 'AbortError')],
    ['the connection closed mid-body', new TypeError('terminated')],
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

  it('does not count an over-long answer as interrupted', () => {
    expect(isInterruptedAnswer(new AnswerUnreadableError('too_long'), new AbortController().signal)).toBe(false);
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

describe('retryAfterSeconds', () => {
  it.each([
    ['7', 7],
    ['0.2', 1],
    ['100000', 300],
    ['Wed, 21 Oct 2015 07:28:00 GMT', 5],
    [null, 5],
  ])('Retry-After %p -> %p s', (header, expected) => {
    const headers: Record<string, string> = header === null ? {} : { 'retry-after': header };
    expect(retryAfterSeconds(new Response(null, { status: 503, headers }))).toBe(expected);
  });
});
