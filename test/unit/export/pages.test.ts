import { exportJobSchema, type RestExportJob } from '../../../lambdas/core/export-windows';
import { ExportFailedError } from '../../../lambdas/export/export-errors';
import { graphqlPages } from '../../../lambdas/export/graphql-pages';
import { cursorAt, itemsOf, valueAt } from '../../../lambdas/export/json-path';
import { retryAfterMs } from '../../../lambdas/export/page-fetcher';
import { nextFromLinkHeader, restPages } from '../../../lambdas/export/rest-pages';

const window = { from: new Date('2026-11-23T09:00:00Z'), to: new Date('2026-11-23T10:00:00Z') };
const answer = (json: unknown, headers: Record<string, string> = {}) => ({ json, headers: new Headers(headers) });
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

  it('takes an array of records, none for null, one for an object, and refuses anything else', () => {
    expect(itemsOf({ d: [1, 2] }, 'd')).toEqual([1, 2]);
    expect(itemsOf({ d: null }, 'd')).toEqual([]);
    expect(itemsOf({ d: { x: 1 } }, 'd')).toEqual([{ x: 1 }]);
    expect(() => itemsOf({ d: 'oops' }, 'd')).toThrow(ExportFailedError);
  });

  it('reads a cursor: a string or number continues; null, "" or missing ends; anything else is refused', () => {
    expect(cursorAt({ n: 'abc' }, 'n')).toBe('abc');
    expect(cursorAt({ n: 7 }, 'n')).toBe(7);
    expect(cursorAt({ n: '' }, 'n')).toBeNull();
    expect(cursorAt({}, 'n')).toBeNull();
    expect(() => cursorAt({ n: { evil: true } }, 'n')).toThrow(/not a cursor/);
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates', () => {
    const now = Date.parse('2026-11-23T10:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs('Mon, 23 Nov 2026 10:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
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
      /GraphQL errors for g: x{300}$/,
    );
  });
});

describe('REST pages', () => {
  it('puts the window into path, query and POST body; keeps the base path', () => {
    const job = rest({ method: 'POST', query: { since: '{fromEpoch}' }, body: { range: { to: '{to}' }, n: 1 } });
    const request = restPages(job, window).request(undefined);
    expect(request.url).toBe('https://api.example.com/base/v1/2026-11-23T09%3A00%3A00.000Z/flights?since=1795424400');
    expect(JSON.parse(request.body ?? '')).toEqual({ range: { to: '2026-11-23T10:00:00.000Z' }, n: 1 });
  });

  it('pages by number and by offset until a short page', () => {
    const byPage = restPages(rest({ pagination: { type: 'page', size: 2 } }), window);
    expect(new URL(byPage.request(undefined).url).searchParams.get('page')).toBe('1');
    expect(byPage.next(answer([]), [1, 2], undefined)).toBe(2);
    expect(byPage.next(answer([]), [1], 2)).toBeNull();
    const byOffset = restPages(rest({ pagination: { type: 'offset', size: 2 } }), window);
    expect(byOffset.next(answer([]), [1, 2], 4)).toBe(6);
    expect(new URL(byOffset.request(6).url).searchParams.get('limit')).toBe('2');
  });

  it('follows a next link from the body or the Link header, only on the same origin', () => {
    const body = restPages(rest({ pagination: { type: 'nextLink', path: 'links.next' } }), window);
    expect(body.next(answer({ links: { next: '/base/v1/flights?page=2' } }), [], undefined)).toBe(
      'https://api.example.com/base/v1/flights?page=2',
    );
    expect(() => body.next(answer({ links: { next: 'https://evil.example.com/x' } }), [], undefined)).toThrow(
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
