// A loopback analytics upstream for export tests and the export memory benchmark: GraphQL (AppSync-style
// nextToken) and REST (next link in the body or the Link header, cursor, page, offset) over one deterministic
// data set per window, with faults injected on chosen requests (429 with Retry-After, 503, 401 that revokes
// the token presented, a 200 carrying an error body) and the tenant's headers checked on every call.
// `maxPageSize` caps the page size the way many APIs do: quietly, whatever `limit` asked for.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { status: 429; retryAfter?: string }
  | { status: 401 }
  | { status: 503 }
  | { status: 400 }
  /** HTTP 200 with this body instead of the page (`{"error": "quota exceeded"}`, `{"data": null}`, …). */
  | { status: 200; body: unknown };

export interface ExportUpstreamOptions {
  /** Records in each window. */
  readonly recordsPerWindow: (from: string, to: string) => number;
  /** Builds record `index` of a window. @default {id, seq, at, value} */
  readonly record?: (index: number, from: string, to: string) => unknown;
  /** Page size when the request does not say (GraphQL `limit`, REST `limit`). @default 500 */
  readonly pageSize?: number;
  /** Largest page sent, whatever the request asks (page numbers count in pages of this size). @default none */
  readonly maxPageSize?: number;
  /** Header that must carry a token not revoked. @default "authorization" */
  readonly authHeader?: string;
  /** Further headers every call must carry (any value). */
  readonly requiredHeaders?: readonly string[];
}

export interface ExportUpstream {
  readonly url: string;
  /** Faults by the number of the request (1-based, counting every request). */
  readonly faults: Map<number, Fault>;
  /** Every request: path, status, the token it carried and the names of its headers. */
  readonly log: Array<{ path: string; status: number; token: string; headers: string[] }>;
  /** Bumps the data version: records carry `version` (backfill tests). */
  version: number;
  close(): Promise<void>;
}

const encodeCursor = (offset: number) => Buffer.from(`offset:${offset}`).toString('base64url');
const decodeCursor = (token: unknown) =>
  typeof token === 'string' ? Number(Buffer.from(token, 'base64url').toString('utf8').split(':')[1]) : 0;

export async function startExportUpstream(options: ExportUpstreamOptions): Promise<ExportUpstream> {
  const pageSize = options.pageSize ?? 500;
  const capped = (limit: number) => Math.min(limit, options.maxPageSize ?? Number.POSITIVE_INFINITY);
  const authHeader = options.authHeader ?? 'authorization';
  const revoked = new Set<string>();
  let requests = 0;
  const upstream = {
    url: '',
    faults: new Map<number, Fault>(),
    log: [] as ExportUpstream['log'],
    version: 1,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const record =
    options.record ??
    ((index: number, from: string) => ({
      id: `${from}#${index}`,
      seq: index,
      at: from,
      value: index % 97,
      version: upstream.version,
    }));

  const page = (from: string, to: string, offset: number, limit: number) => {
    const total = options.recordsPerWindow(from, to);
    const items: unknown[] = [];
    for (let i = offset; i < Math.min(total, offset + limit); i++) items.push(record(i, from, to));
    return { items, total, end: offset + items.length };
  };

  const answer = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const number = ++requests;
    const url = new URL(req.url ?? '/', upstream.url);
    const token = String(req.headers[authHeader] ?? '');
    const fault = upstream.faults.get(number);
    const headers = Object.keys(req.headers);
    const log = (status: number) => upstream.log.push({ path: url.pathname, status, token, headers });
    const missing = (options.requiredHeaders ?? []).filter((h) => !req.headers[h.toLowerCase()]);
    if (!token || revoked.has(token) || missing.length > 0) {
      log(401);
      return answer(res, 401, { message: 'Unauthorized' });
    }
    if (fault?.status === 200) {
      log(200);
      return answer(res, 200, fault.body);
    }
    if (fault) {
      log(fault.status);
      if (fault.status === 401) revoked.add(token);
      const headers: Record<string, string> =
        fault.status === 429 && fault.retryAfter ? { 'retry-after': fault.retryAfter } : {};
      return answer(res, fault.status, { message: `injected ${fault.status}` }, headers);
    }
    log(200);
    if (url.pathname === '/graphql') {
      const { variables } = JSON.parse(raw) as { variables: Record<string, unknown> };
      const from = String(variables.from);
      const to = String(variables.to);
      const limit = capped(Number(variables.limit ?? pageSize));
      const { items, total, end } = page(from, to, decodeCursor(variables.nextToken), limit);
      return answer(res, 200, {
        data: { records: { items, nextToken: end < total ? encodeCursor(end) : null } },
      });
    }
    const params =
      req.method === 'POST' ? (JSON.parse(raw) as Record<string, unknown>) : Object.fromEntries(url.searchParams);
    const from = String(params.from);
    const to = String(params.to);
    const limit = capped(Number(params.limit ?? pageSize));
    switch (url.pathname) {
      case '/v1/records/link': {
        const offset = Number(params.offset ?? 0);
        const { items, total, end } = page(from, to, offset, limit);
        const next = new URL(url);
        next.searchParams.set('offset', String(end));
        const more = end < total;
        return answer(res, 200, items, more ? { link: `<${next.pathname}${next.search}>; rel="next"` } : {});
      }
      case '/v1/records/cursor': {
        const { items, total, end } = page(from, to, decodeCursor(params.cursor), limit);
        return answer(res, 200, { data: items, meta: { next: end < total ? encodeCursor(end) : null } });
      }
      case '/v1/records/page': {
        const { items } = page(from, to, (Number(params.page) - 1) * limit, limit);
        return answer(res, 200, { data: items });
      }
      case '/v1/records/offset': {
        const { items } = page(from, to, Number(params.offset), limit);
        return answer(res, 200, { data: items });
      }
      case '/v1/records/away': {
        return answer(res, 200, { data: page(from, to, 0, limit).items, next: 'https://elsewhere.example.com/steal' });
      }
    }
    return answer(res, 404, { message: 'not found' });
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  upstream.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return upstream;
}
