// REST pages: `method` on `baseUrl` + `path`, the window in `{from}`/`{to}` placeholders (path, query
// values, body strings), and next-link, cursor, page or offset pagination. A next link must stay on the
// upstream's origin: the tenant's headers are never sent anywhere else. Every answer must hold an array at
// `itemsPath` (an error body with HTTP 200 fails the window); page and offset pagination end at an empty page.
import type { RestExportJob } from '../core/export-job';
import type { ExportWindow } from '../core/export-windows';
import { ExportFailedError } from './export-errors';
import { cursorAt, pageNamer, recordsAt, valueAt } from './json-path';
import type { PageRequest } from './page-fetcher';
import type { PageCursor, PageSource } from './page-source';

type Render = (template: string, encode?: (value: string) => string) => string;

function renderer(window: ExportWindow): Render {
  const values: Record<string, string> = {
    '{from}': window.from.toISOString(),
    '{to}': window.to.toISOString(),
    '{fromEpoch}': String(window.from.getTime() / 1000),
    '{toEpoch}': String(window.to.getTime() / 1000),
  };
  return (template, encode = (v) => v) =>
    template.replace(/\{(from|to|fromEpoch|toEpoch)\}/g, (placeholder) => encode(values[placeholder] ?? placeholder));
}

function renderBody(value: unknown, render: Render): unknown {
  if (typeof value === 'string') return render(value);
  if (Array.isArray(value)) return value.map((v) => renderBody(v, render));
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderBody(v, render)]));
  return value;
}

/** The `rel="next"` target of an RFC 8288 Link header. */
export function nextFromLinkHeader(header: string | null): string | undefined {
  for (const part of header?.split(/,(?=\s*<)/) ?? []) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (match && /;\s*rel="?(?:[^";]*\s)?next(?:\s[^";]*)?"?\s*(;|$)/i.test(match[2] ?? '')) return match[1];
  }
  return undefined;
}

export function restPages(job: RestExportJob, window: ExportWindow): PageSource {
  const render = renderer(window);
  const origin = new URL(job.baseUrl).origin;
  const first = new URL(job.baseUrl.replace(/\/+$/, '') + render(job.path, encodeURIComponent));
  for (const [name, value] of Object.entries(job.query)) first.searchParams.set(name, render(value));
  const body = job.body === undefined ? undefined : (renderBody(job.body, render) as Record<string, unknown>);
  const pagination = job.pagination;
  const pageName = pageNamer(job.name);
  // Some APIs answer the last page again for page numbers (or offsets) past the end, where most answer an empty
  // page: with pages read until an empty one, such an API would be paged to maxPagesPerWindow, its last page
  // written each time. A page the same as the one before (count, first and last record) fails the window first.
  let previous: string | undefined;
  const repeatedPage = (items: readonly unknown[], where: string): void => {
    const signature =
      items.length === 0 ? undefined : `${items.length}:${JSON.stringify(items[0])}:${JSON.stringify(items.at(-1))}`;
    if (signature !== undefined && signature === previous)
      throw new ExportFailedError(
        'upstream_invalid_answer',
        `${where}: the upstream answered the previous page again (an API that repeats its last page past the end?); the window is not exported.`,
      );
    previous = signature;
  };

  /** The first request with these extra parameters: query string for GET, body fields for POST. */
  const withParams = (params: Record<string, string | number>): PageRequest => {
    const url = new URL(first);
    if (job.method === 'GET') {
      for (const [name, value] of Object.entries(params)) url.searchParams.set(name, String(value));
      return { url: url.href, method: 'GET' };
    }
    return { url: url.href, method: 'POST', body: JSON.stringify({ ...body, ...params }) };
  };

  return {
    request(cursor: PageCursor): PageRequest {
      switch (pagination?.type) {
        case undefined:
          return withParams({});
        case 'nextLink':
          return cursor === undefined
            ? withParams({})
            : { url: String(cursor), method: job.method, ...(body ? { body: JSON.stringify(body) } : {}) };
        case 'cursor':
          return withParams(cursor === undefined ? {} : { [pagination.param]: cursor });
        case 'page':
          return withParams({
            [pagination.param]: cursor ?? pagination.start,
            [pagination.sizeParam]: pagination.size,
          });
        case 'offset':
          return withParams({ [pagination.param]: cursor ?? 0, [pagination.sizeParam]: pagination.size });
      }
    },

    next(answer, items, cursor): PageCursor | null {
      // Every page's records must be an array. The runner's itemsOf refused anything else already, except an
      // object at "data", which it reads as one record for GraphQL's sake: never a REST answer's.
      const where = pageName(cursor);
      recordsAt(answer.json, job.itemsPath, where);
      switch (pagination?.type) {
        case undefined:
          return null;
        case 'nextLink': {
          const link = pagination.path
            ? valueAt(answer.json, pagination.path)
            : nextFromLinkHeader(answer.headers.get('link'));
          if (link === undefined || link === null || link === '') return null;
          if (typeof link !== 'string')
            throw new ExportFailedError('upstream_invalid_answer', 'The next link in the answer is not a string.');
          let next: URL;
          try {
            next = new URL(link, cursor === undefined ? first : String(cursor));
          } catch (error) {
            throw new ExportFailedError('upstream_invalid_answer', 'The next link is not a URL.', { cause: error });
          }
          if (next.origin !== origin)
            throw new ExportFailedError(
              'upstream_invalid_answer',
              `The next link leaves the upstream (${next.origin}); the tenant's headers go only to ${origin}.`,
            );
          return next.href;
        }
        case 'cursor':
          return cursorAt(answer.json, pagination.path);
        // Numbered pages and offsets end at the first empty page, not at a page shorter than `size`: many
        // APIs quietly cap the page size (asked for 500, they send 100), and a short page would end the window
        // with the rest of its records lost. This costs one more request per window (the empty page). Offsets
        // advance by the records received, not by `size`, for the same reason.
        case 'page':
          repeatedPage(items, where);
          return items.length === 0 ? null : Number(cursor ?? pagination.start) + 1;
        case 'offset':
          repeatedPage(items, where);
          return items.length === 0 ? null : Number(cursor ?? 0) + items.length;
      }
    },
  };
}
