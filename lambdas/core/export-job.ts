// The definition of one scheduled analytics export job (deployment config `exportJobs[]`), validated with zod.
// A job is GraphQL (query + variables, cursor pagination) or REST (method, path template, window in query or
// body, next-link / cursor / page / offset pagination). Pure: no AWS imports.
import * as z from 'zod/mini';

import { scheduleExpressionProblem } from './schedule-expression';
import { TENANT_ID_PATTERN } from './tenant-config';

import './zod-messages';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** `https:` URLs, or `http:` on a loopback host (local tests and emulators). */
const upstreamUrl = z.url({ protocol: /^https?$/ }).check(
  z.refine((value: string) => {
    // Runs after a failed URL check too: an unparsable value is z.url()'s issue, not a second one (nor a throw).
    if (!URL.canParse(value)) return true;
    const url = new URL(value);
    return url.protocol === 'https:' || LOOPBACK_HOSTS.has(url.hostname);
  }, 'must be an https: URL (http: only on a loopback host)'),
);

/** A dotted path into a JSON answer, e.g. `data.flights.items`; empty for the answer itself. */
const jsonPath = z
  .string()
  .check(
    z.regex(/^$|^[^.\s]+(\.[^.\s]+)*$/, 'must be a dotted path such as data.flights.items (empty: the answer itself)'),
  );
/** A non-empty jsonPath. */
const requiredJsonPath = jsonPath.check(z.minLength(1));

const nonEmptyString = z.string().check(z.minLength(1));
/** An integer in [min, max]. */
const integer = (min: number, max?: number) =>
  z.number().check(z.int(), z.minimum(min), ...(max === undefined ? [] : [z.maximum(max)]));

/** Placeholders a REST path, query value or body string may hold. */
export const WINDOW_PLACEHOLDERS = ['{from}', '{to}', '{fromEpoch}', '{toEpoch}'] as const;

const graphqlPagination = z.strictObject({
  /** Path to the next cursor in the answer (AppSync-style `nextToken`); absent, null or "" ends the window. */
  cursorPath: requiredJsonPath,
  /** Variable the cursor is passed back in. @default "nextToken" */
  cursorVariable: z._default(
    z.string().check(z.regex(/^[_A-Za-z][_0-9A-Za-z]*$/, 'must be a GraphQL variable name')),
    'nextToken',
  ),
});

const restPagination = z.discriminatedUnion('type', [
  z.strictObject({
    /** The answer carries the next page's URL (same origin as `baseUrl`); without `path`, the `Link: <…>; rel="next"` header. */
    type: z.literal('nextLink'),
    path: z.optional(requiredJsonPath),
  }),
  z.strictObject({
    /** The answer carries an opaque cursor, sent back as a query parameter (GET) or body field (POST). */
    type: z.literal('cursor'),
    path: requiredJsonPath,
    param: z._default(nonEmptyString, 'cursor'),
  }),
  z.strictObject({
    /** Numbered pages: `param` = start, start + 1, …, until an empty page (export/rest-pages.ts). */
    type: z.literal('page'),
    param: z._default(nonEmptyString, 'page'),
    start: z._default(integer(0), 1),
    sizeParam: z._default(nonEmptyString, 'limit'),
    size: z._default(integer(1, 10_000), 500),
  }),
  z.strictObject({
    /** Offsets: `param` = 0, then each plus the records received, until an empty page (export/rest-pages.ts). */
    type: z.literal('offset'),
    param: z._default(nonEmptyString, 'offset'),
    sizeParam: z._default(nonEmptyString, 'limit'),
    size: z._default(integer(1, 10_000), 500),
  }),
]);
export type RestPagination = z.infer<typeof restPagination>;

/** Hive column types accepted for the Athena table. */
const columnType = z
  .string()
  .check(
    z.regex(
      /^(string|boolean|tinyint|smallint|int|bigint|float|double|date|timestamp|decimal\(\d+,\s*\d+\)|(array|map|struct)<.+>)$/,
      'must be a Hive type (string, bigint, double, boolean, timestamp, array<…>, struct<…>, …)',
    ),
  );

const common = {
  /** Job name: part of the S3 key, the Glue table name and resource names. */
  name: z
    .string()
    .check(z.regex(/^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/, 'must be 1-40 lowercase letters, digits or hyphens')),
  tenant: z.string().check(z.regex(TENANT_ID_PATTERN, 'must be a tenant id')),
  /** EventBridge Scheduler cron(...) or rate(...) expression. */
  schedule: z.string().check(
    z.superRefine((value: string, ctx) => {
      const problem = scheduleExpressionProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  ),
  /** Length of one export window; divides a day, so windows never cross midnight (UTC). @default 60 */
  windowMinutes: z._default(
    integer(5, 1440).check(
      z.refine((minutes: number) => 1440 % minutes === 0, 'must divide 1440 (a day) evenly, e.g. 15, 60, 360 or 1440'),
    ),
    60,
  ),
  /** Export a window only this long after it ends, once the upstream's data has settled. @default 0 */
  lagMinutes: z._default(integer(0, 10_080), 0),
  /** Windows caught up at most per run after an outage. @default 24 */
  maxWindowsPerRun: z._default(integer(1, 168), 24),
  /** Pages fetched at most per window; more fails the window rather than looping on a hostile cursor. @default 10000 */
  maxPagesPerWindow: z._default(integer(1, 100_000), 10_000),
  /** Largest page answer accepted, in bytes. @default 33554432 (32 MiB) */
  maxPageBytes: z._default(integer(1024, 256 * 1024 * 1024), 32 * 1024 * 1024),
  /** Attempts per page for 429, 5xx and network errors (backoff honours Retry-After). @default 6 */
  maxAttempts: z._default(integer(1, 20), 6),
  /** Timeout of one page request. @default 30000 */
  requestTimeoutMs: z._default(integer(1000, 300_000), 30_000),
  /** Path to the array of records in each answer. */
  itemsPath: jsonPath,
  /** S3 key prefix. @default "exports" */
  prefix: z._default(
    z.string().check(z.regex(/^[\w.-]+(\/[\w.-]+)*$/, 'must be an S3 key prefix without slashes at the ends')),
    'exports',
  ),
  /**
   * Columns of the Athena table (JSON SerDe), in order, e.g. `{"id": "string", "detections": "int"}`.
   * Without it the table has one `record` string column holding each JSON line (query it with `json_extract`).
   */
  columns: z.optional(
    z.record(z.string().check(z.regex(/^[a-z_][a-z0-9_]{0,127}$/, 'must be a lowercase column name')), columnType),
  ),
  /** First day Athena's partition projection covers (yyyy-mm-dd). @default "2020-01-01" */
  partitionsFrom: z._default(z.iso.date(), '2020-01-01'),
};

export const graphqlExportJobSchema = z
  .strictObject({
    ...common,
    kind: z.literal('graphql'),
    /** GraphQL endpoint of the upstream. */
    url: upstreamUrl,
    /** The query; it receives the variables `from` and `to` (ISO 8601), the cursor variable, and `variables`. */
    query: nonEmptyString,
    /** Further variables sent with every page. */
    variables: z._default(z.record(z.string(), z.unknown()), {}),
    itemsPath: requiredJsonPath,
    /** Cursor pagination; without it each window is one request. */
    pagination: z.optional(graphqlPagination),
  })
  .check(
    // The window's `from` and `to`, and the cursor, are the runner's variables: a job's own of the same name would be
    // replaced by them (or replace them) without a word.
    z.superRefine((job, ctx) => {
      const ours = ['from', 'to', ...(job.pagination ? [job.pagination.cursorVariable] : [])];
      if (job.pagination && ['from', 'to'].includes(job.pagination.cursorVariable))
        ctx.addIssue({
          code: 'custom',
          path: ['pagination', 'cursorVariable'],
          message: 'must not be "from" or "to", which hold the window',
        });
      for (const name of Object.keys(job.variables))
        if (ours.includes(name))
          ctx.addIssue({
            code: 'custom',
            path: ['variables', name],
            message: `"${name}" is set by the runner (the window or the cursor); name the variable otherwise`,
          });
    }),
  );

export const restExportJobSchema = z
  .strictObject({
    ...common,
    kind: z.literal('rest'),
    /** The tenant's upstream base URL, e.g. `https://api.example.com`. */
    baseUrl: upstreamUrl,
    /** @default "GET" */
    method: z._default(z.enum(['GET', 'POST']), 'GET'),
    /** Path template on `baseUrl`, e.g. `/v1/flights?from={from}&to={to}` (placeholders URL-encoded). */
    path: z.string().check(z.regex(/^\/[^\s]*$/, 'must start with /')),
    /** Query parameters (values may hold placeholders). */
    query: z._default(z.record(z.string(), z.string()), {}),
    /** JSON body of a POST (strings may hold placeholders). */
    body: z.optional(z.record(z.string(), z.unknown())),
    /** Path to the records in each answer. @default "" (the answer is the array) */
    itemsPath: z._default(jsonPath, ''),
    pagination: z.optional(restPagination),
  })
  .check(
    // The pagination's parameters are the runner's: one that is also a `query` or `body` key, or two of them with one
    // name, would replace the window bounds or each other (`page` = `limit` asked for page 2 every time).
    z.superRefine((job, ctx) => {
      const pagination = job.pagination;
      if (!pagination || pagination.type === 'nextLink') return;
      const params: Array<[string, string]> = [['param', pagination.param]];
      if (pagination.type !== 'cursor') params.push(['sizeParam', pagination.sizeParam]);
      if (params.length === 2 && params[0]?.[1] === params[1]?.[1])
        ctx.addIssue({ code: 'custom', path: ['pagination', 'sizeParam'], message: 'must differ from param' });
      // The page size may repeat a `query` key (the runner's value is sent); the cursor, page or offset may not.
      if (Object.hasOwn(job.query, pagination.param) || Object.hasOwn(job.body ?? {}, pagination.param))
        ctx.addIssue({
          code: 'custom',
          path: ['pagination', 'param'],
          message: `"${pagination.param}" is also a query or body key of the job; the runner sets it for each page`,
        });
    }),
  );

/** A job without `kind` but with `graphqlUrl` is the earlier GraphQL-only shape. */
function upgradeLegacy(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || 'kind' in input || !('graphqlUrl' in input)) return input;
  const { graphqlUrl, ...rest } = input as Record<string, unknown>;
  return { itemsPath: 'data', ...rest, kind: 'graphql', url: graphqlUrl };
}

/** A scheduled analytics export for one tenant: GraphQL or REST, one window at a time. */
export const exportJobSchema = z.pipe(
  z.transform(upgradeLegacy),
  z.discriminatedUnion('kind', [graphqlExportJobSchema, restExportJobSchema]),
);
export type ExportJob = z.infer<typeof exportJobSchema>;
export type GraphqlExportJob = z.infer<typeof graphqlExportJobSchema>;
export type RestExportJob = z.infer<typeof restExportJobSchema>;

/** Glue/Athena table name of a job: its name with `_` for `-`. */
export function tableName(job: Pick<ExportJob, 'name'>): string {
  return job.name.replace(/-/g, '_');
}
