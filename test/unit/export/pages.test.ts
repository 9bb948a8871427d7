import { retryAfterMs } from '../../../contract/retry-after';
import type { ExportJob, GraphqlExportJob } from '../../../lambdas/core/export-job';
import { exportJobSchema, type RestExportJob } from '../../../lambdas/core/export-windows';
import { ExportFailedError } from '../../../lambdas/export/export-errors';
import { graphqlPages } from '../../../lambdas/export/graphql-pages';
import { cursorAt, itemsOf, keysExcerpt, recordsAt, valueAt } from '../../../lambdas/export/json-path';
import { parsePageJson } from '../../../lambdas/export/page-json';
import { pageSource, type PageCursor } from '../../../lambdas/export/page-source';
import { nextFromLinkHeader, restPages } from '../../../lambdas/export/rest-pages';

const window = { from: new Date('2026-11-23T09:00:00Z'), to: new Date('2026-11-23T10:00:00Z') };
const answer = (json: unknown, headers: Record<string, string> = {}) => ({ json, headers: new Headers(headers) });
/** One page as the runner reads it: its records (itemsOf), then the next cursor (or the failure). */
const page = (job: ExportJob, json: unknown, cursor?: PageCursor) => {
  const items = itemsOf(json, job.itemsPath);
  return { items, next: pageSource(job, window).next(answer(json), items, cursor) };
};
const rest = (fields: Record<string, unknown>) =>
  exportJobSchema.parse({
    name: 'r',
    tenant: 'acme',
    schedule: 'rate(1 hour)',
    kind: 'rest',
    baseUrl: 'https://api.example.com/base/',
    path: '/v1/{from}/flights',
    ...fields,
  }) as RestExportJob;

describe('reading answers', () => {
  it('follows dotted paths only through own properties', () => {
    expect(valueAt({ a: { b: [1, 2] } }, 'a.b.1')).toBe(2);
    expect(valueAt({ a: 1 }, 'a.b')).toBeUndefined();
    expect(valueAt({}, 'constructor')).toBeUndefined();
    expect(valueAt([3], '')).toEqual([3]);
  });

  it('takes the array at itemsPath; an empty array is an empty page', () => {
    expect(itemsOf({ d: [1, 2] }, 'd')).toEqual([1, 2]);
    expect(itemsOf({ d: [] }, 'd')).toEqual([]);
    expect(itemsOf([{ x: 1 }], '')).toEqual([{ x: 1 }]);
    expect(itemsOf({ a: { b: [3] } }, 'a.b')).toEqual([3]);
  });

  it.each([
    [
      'missing',
      { error: 'quota exceeded, try later' },
      'd',
      /answer's d is missing, not an array of records \(keys: error\)/,
    ],
    ['null', { d: null }, 'd', /answer's d is null, not an array/],
    ['an object', { d: { error: 'quota exceeded' } }, 'd', /answer's d is an object, not an array/],
    ['a string', { d: 'quota exceeded' }, 'd', /answer's d is a string, not an array/],
    ['a number', { d: 0 }, 'd', /answer's d is a number, not an array/],
    ['an object body (itemsPath "")', { error: 'quota exceeded' }, '', /answer's body is an object, not an array/],
    [
      'a string body',
      'quota exceeded',
      '',
      /answer's body is a string, not an array of records \(the answer is a string\)/,
    ],
    ['under a null step', { data: null }, 'data.x.items', /data\.x\.items is missing \(data is null\)/],
    ['under a missing step', { message: 'no' }, 'data.x.items', /data\.x\.items is missing \(data is missing\)/],
  ])('refuses items that are %s as an invalid answer, quoting no value', (_label, answer, path, message) => {
    let error: unknown;
    try {
      itemsOf(answer, path);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ExportFailedError);
    expect(error).toMatchObject({ code: 'upstream_invalid_answer', message: expect.stringMatching(message) });
    expect((error as Error).message).not.toMatch(/quota|no\b/);
  });

  it('names the job and page when told, and quotes at most a few cut, plain keys', () => {
    const keys = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}${'\n<x>'.repeat(20)}`, i]));
    const message = (() => {
      try {
        return itemsOf(keys, 'd', 'users, page 3');
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(message).toMatch(/^users, page 3: the answer's d is missing/);
    expect(message).toContain('(keys: k0??x???x???x???x???x???, k1??x???x???x???x???x???, k2');
    expect(message).toContain(', … (9))');
    expect(message).not.toContain('k5');
    expect(message).not.toMatch(/[\n<>]/);
    expect(keysExcerpt({})).toBe('the answer has no keys');
  });

  it('reads an object at "data" as one record (the earlier GraphQL job shape); recordsAt never does', () => {
    expect(itemsOf({ data: { analytics: [1] } }, 'data')).toEqual([{ analytics: [1] }]);
    expect(() => itemsOf({ data: null }, 'data')).toThrow(/data is null, not an array/);
    expect(() => itemsOf({ error: 'x' }, 'data')).toThrow(/data is missing/);
    expect(() => recordsAt({ data: { analytics: [1] } }, 'data')).toThrow(/data is an object, not an array/);
  });

  it('reads a cursor: a string or number continues; null, "" or missing ends; anything else is refused', () => {
    expect(cursorAt({ n: 'abc' }, 'n')).toBe('abc');
    expect(cursorAt({ n: 7 }, 'n')).toBe(7);
    expect(cursorAt({ n: '' }, 'n')).toBeNull();
    expect(cursorAt({}, 'n')).toBeNull();
    expect(() => cursorAt({ n: { evil: true } }, 'n')).toThrow(/not a cursor/);
    // A number a double would round asks for another page than the one named: refused, never rounded.
    const big = parsePageJson('{"n":12345678901234567891}').json;
    expect(() => cursorAt(big, 'n')).toThrow(/number of 20 characters that a JSON number cannot carry exactly/);
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates', () => {
    const now = Date.parse('2026-11-23T10:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs('Mon, 23 Nov 2026 10:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
    // Fractions round up; what is neither form (a negative number, a bare year) is no wait, not a date in the past.
    expect(retryAfterMs('1.5', now)).toBe(2000);
    expect(retryAfterMs('-5', now)).toBeUndefined();
    expect(retryAfterMs('2001', now)).toBe(2_001_000);
    expect(retryAfterMs('Mon, 23 Nov 2026 09:00:00 GMT', now)).toBe(0);
  });
});

describe('GraphQL pages', () => {
  const job = exportJobSchema.parse({
    name: 'g',
    tenant: 'acme',
    schedule: 'rate(1 hour)',
    kind: 'graphql',
    url: 'https://api.example.com/graphql',
    query: 'query { x }',
    variables: { site: 'north' },
    itemsPath: 'data.x.items',
    pagination: { cursorPath: 'data.x.next', cursorVariable: 'after' },
  });
  if (job.kind !== 'graphql') throw new Error('unreachable');
  const pages = graphqlPages(job, window);

  it('sends the window, the job variables and the cursor', () => {
    const request = pages.request('c1');
    expect(request).toMatchObject({ url: 'https://api.example.com/graphql', method: 'POST' });
    expect(JSON.parse(request.body ?? '')).toEqual({
      query: 'query { x }',
      variables: { site: 'north', from: '2026-11-23T09:00:00.000Z', to: '2026-11-23T10:00:00.000Z', after: 'c1' },
    });
    expect(JSON.parse(pages.request(undefined).body ?? '').variables.after).toBeNull();
  });

  it('fails on GraphQL errors with a bounded message', () => {
    expect(() => pages.next(answer({ errors: [{ message: 'x'.repeat(1000) }] }), [], undefined)).toThrow(
      /GraphQL errors for g, page 1: x{300}$/,
    );
  });

  const ok = { data: { x: { items: [{ id: 1 }], next: 'c2' } } };

  it('reads a page with data, and errors absent or an empty array', () => {
    expect(page(job, ok)).toEqual({ items: [{ id: 1 }], next: 'c2' });
    expect(page(job, { ...ok, errors: [] })).toEqual({ items: [{ id: 1 }], next: 'c2' });
    expect(page(job, { data: { x: { items: [], next: null } } })).toEqual({ items: [], next: null });
  });

  it.each([
    ['data null without errors', { data: null }, /answer's data\.x\.items is missing \(data is null\)/],
    ['no data', { message: 'Too many requests' }, /answer's data\.x\.items is missing \(data is missing\)/],
    ['errors as an object', { ...ok, errors: { message: 'denied' } }, /g, page 1: the GraphQL errors .* an object/],
    ['errors as a string', { ...ok, errors: 'denied' }, /GraphQL errors of the answer are a string/],
    ['errors null', { ...ok, errors: null }, /GraphQL errors of the answer are null/],
    ['errors beside data', { ...ok, errors: [{ message: 'partial' }] }, /GraphQL errors for g, page 1: partial$/],
    [
      'error messages that are no strings',
      { ...ok, errors: [{ message: { toString: 'not callable' } }, { message: ['a'] }, null, 7] },
      /page 1: \(a message that is an object\); \(a message that is an array\); unknown; unknown$/,
    ],
    ['items that are an object', { data: { x: { items: { id: 1 } } } }, /data\.x\.items is an object, not an array/],
    [
      'an array for an answer',
      [{ id: 1 }],
      /answer's data\.x\.items is missing \(data is missing\).*\(the answer is an array\)/,
    ],
  ])('fails the page on %s', (_label, json, message) => {
    expect(() => page(job, json)).toThrow(ExportFailedError);
    expect(() => page(job, json)).toThrow(expect.objectContaining({ code: 'upstream_invalid_answer' }));
    expect(() => page(job, json)).toThrow(message);
  });

  it('fails on data null even when no items path runs through it (itemsPath "data")', () => {
    const whole = exportJobSchema.parse({ ...job, itemsPath: 'data', pagination: undefined });
    expect(() => graphqlPages(whole as GraphqlExportJob, window).next(answer({ data: null }), [], undefined)).toThrow(
      /g, page 1: the GraphQL answer's data is null \(keys: data\)/,
    );
  });

  it("reads the earlier job shape's data as its one record, and still fails on errors", () => {
    const legacy = exportJobSchema.parse({
      name: 'legacy',
      tenant: 'acme',
      schedule: 'rate(1 hour)',
      graphqlUrl: 'https://api.example.com/graphql',
      query: '{ analytics { sessionId } }',
    });
    const data = { analytics: [{ sessionId: 's1' }] };
    expect(page(legacy, { data })).toEqual({ items: [data], next: null });
    expect(() => page(legacy, { data, errors: [{ message: 'no' }] })).toThrow(/GraphQL errors for legacy/);
    expect(() => page(legacy, { data: null })).toThrow(/data is null/);
  });

  it('names the page it failed on', () => {
    const source = graphqlPages(job, window);
    source.next(answer(ok), [], undefined);
    expect(() => source.next(answer({ data: null }), [], 'c2')).toThrow(/^g, page 2: /);
    const resumed = graphqlPages(job, window);
    expect(() => resumed.next(answer({ data: null }), [], 'c7')).toThrow(/^g, page 1 since the run resumed: /);
  });
});

describe('REST pages', () => {
  it('puts the window into path, query and POST body; keeps the base path', () => {
    const job = rest({ method: 'POST', query: { since: '{fromEpoch}' }, body: { range: { to: '{to}' }, n: 1 } });
    const request = restPages(job, window).request(undefined);
    expect(request.url).toBe('https://api.example.com/base/v1/2026-11-23T09%3A00%3A00.000Z/flights?since=1795424400');
    expect(JSON.parse(request.body ?? '')).toEqual({ range: { to: '2026-11-23T10:00:00.000Z' }, n: 1 });
  });

  it('pages by number and by offset until an empty page, past short pages (a quietly capped size)', () => {
    const records = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ seq: from + i }));
    const byPage = restPages(rest({ pagination: { type: 'page', size: 500 } }), window);
    expect(new URL(byPage.request(undefined).url).searchParams.get('page')).toBe('1');
    expect(byPage.next(answer(records(0, 100)), records(0, 100), undefined)).toBe(2);
    expect(byPage.next(answer(records(100, 1)), records(100, 1), 2)).toBe(3);
    expect(byPage.next(answer([]), [], 3)).toBeNull();
    const byOffset = restPages(rest({ pagination: { type: 'offset', size: 500 } }), window);
    // Offsets advance by the records received (100 of the 500 asked for), not by the size asked for.
    expect(byOffset.next(answer(records(0, 100)), records(0, 100), undefined)).toBe(100);
    expect(byOffset.next(answer(records(200, 100)), records(200, 100), 200)).toBe(300);
    expect(byOffset.next(answer([]), [], 300)).toBeNull();
    expect(new URL(byOffset.request(300).url).searchParams.get('offset')).toBe('300');
    expect(new URL(byOffset.request(300).url).searchParams.get('limit')).toBe('500');
  });

  it.each([
    ['page numbers', { type: 'page', size: 2 }],
    ['offsets', { type: 'offset', size: 2 }],
  ])('fails a window of %s whose API answers its last page again past the end', (_label, pagination) => {
    const source = restPages(rest({ pagination }), window);
    const last = [{ seq: 7 }, { seq: 8 }];
    const first = source.next(answer(last), last, undefined);
    expect(() => source.next(answer(last), last, first ?? undefined)).toThrow(/answered the previous page again/);
  });

  it.each([
    ['page numbers', { type: 'page', size: 2 }, 2, ''],
    ['offsets', { type: 'offset', size: 2 }, 2, ''],
    ['page numbers (itemsPath data)', { type: 'page', size: 2 }, 2, 'data'],
    ['offsets (itemsPath data)', { type: 'offset', size: 2 }, 2, 'data'],
  ])('fails a window of %s whose last page is an error body with HTTP 200', (_label, pagination, cursor, itemsPath) => {
    const job = rest({ pagination, itemsPath });
    const quota = { error: 'quota exceeded, try later' };
    let failure: unknown;
    try {
      page(job, quota, cursor);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(ExportFailedError);
    expect(failure).toMatchObject({ code: 'upstream_invalid_answer' });
    expect((failure as Error).message).toContain(`answer's ${itemsPath || 'body'} is`);
    expect((failure as Error).message).toContain('(keys: error)');
    expect((failure as Error).message).not.toContain('quota');
  });

  it('fails a cursor window whose second page is a message with HTTP 200', () => {
    const job = rest({ pagination: { type: 'cursor', path: 'meta.next' }, itemsPath: 'data' });
    expect(page(job, { data: [{ id: 1 }], meta: { next: 'c2' } })).toEqual({ items: [{ id: 1 }], next: 'c2' });
    expect(() => page(job, { message: 'Internal error, retry later' }, 'c2')).toThrow(
      expect.objectContaining({ code: 'upstream_invalid_answer' }),
    );
  });

  it('refuses an object where the records should be, even at "data", naming the job and page', () => {
    const job = rest({ pagination: { type: 'page', size: 2 }, itemsPath: 'data' });
    const source = restPages(job, window);
    source.next(answer({ data: [1, 2] }), [1, 2], undefined);
    const json = { data: { error: 'quota exceeded' } };
    expect(() => source.next(answer(json), itemsOf(json, 'data'), 2)).toThrow(
      /^r, page 2: the answer's data is an object, not an array of records \(keys: data\)\.$/,
    );
    expect(() => page(rest({}), { id: 1 })).toThrow(/answer's body is an object/);
    expect(() => page(rest({ itemsPath: 'data' }), { data: null })).toThrow(/answer's data is null/);
  });

  it('follows a next link from the body or the Link header, only on the same origin', () => {
    const body = restPages(rest({ pagination: { type: 'nextLink', path: 'links.next' }, itemsPath: 'data' }), window);
    expect(body.next(answer({ data: [], links: { next: '/base/v1/flights?page=2' } }), [], undefined)).toBe(
      'https://api.example.com/base/v1/flights?page=2',
    );
    expect(() => body.next(answer({ data: [], links: { next: 'https://evil.example.com/x' } }), [], undefined)).toThrow(
      /leaves the upstream/,
    );
    const header = restPages(rest({ pagination: { type: 'nextLink' } }), window);
    expect(
      header.next(
        answer([], {
          link: '<https://api.example.com/x?p=1>; rel="prev", <https://api.example.com/x?p=3>; rel="next"',
        }),
        [],
        undefined,
      ),
    ).toBe('https://api.example.com/x?p=3');
    expect(header.next(answer([]), [], undefined)).toBeNull();
  });

  it('reads the rel="next" target among several Link values', () => {
    expect(nextFromLinkHeader('<a>; rel="first", <b>; rel="next last"')).toBe('b');
    expect(nextFromLinkHeader('<a>; rel="nextish"')).toBeUndefined();
  });
});
