/**
 * Analytics exports end to end: the local token server (cognito-local and the login endpoint behind it), a
 * loopback upstream serving GraphQL and REST pages with injected 429, 503 and 401 answers, and S3 emulated
 * by s3rver. Every record must land exactly once, as gzip NDJSON matching its manifest.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { TokenClient } from '../../client/token-client';
import { exportJobSchema, type ExportJob } from '../../lambdas/core/export-windows';
import {
  backfill,
  ExportFailedError,
  runExportWindow,
  runScheduled,
  type ExportDeps,
  type ExportManifest,
} from '../../lambdas/export/export-runner';
import { startLocalService, type LocalService } from '../../lambdas/local/local-service';
import { startExportUpstream, type ExportUpstream } from '../support/export-upstream';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
};

const BUCKET = 'exports';
const WINDOW = { from: new Date('2026-11-23T09:00:00Z'), to: new Date('2026-11-23T10:00:00Z') };
let service: LocalService;
let s3rver: { close(): Promise<void> };
let s3: S3Client;
let upstream: ExportUpstream;
const s3Commands: string[] = [];
const sleeps: number[] = [];
let records = 20_000;

const s3Client = (endpoint: string) =>
  new S3Client({
    endpoint,
    region: 'ap-southeast-2',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });

beforeAll(async () => {
  service = await startLocalService({ port: 0 });
  upstream = await startExportUpstream({
    recordsPerWindow: () => records,
    requiredHeaders: [],
  });
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: mkdtempSync(join(tmpdir(), 'tvm-s3-')),
    configureBuckets: [{ name: BUCKET }],
  });
  const address = await server.run();
  s3rver = server;
  s3 = s3Client(`http://127.0.0.1:${address.port}`);
  s3.middlewareStack.add(
    (next, context) => (args) => {
      s3Commands.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
});

afterAll(async () => {
  await service.close();
  await s3rver.close();
  await upstream.close();
});

function deps(clock: { now(): number } = { now: () => Date.parse('2026-11-23T10:05:00Z') }): ExportDeps {
  const tokens = new TokenClient({
    endpoint: service.url,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return { tokens, s3, bucket: BUCKET, clock, random: () => 0.5, sleep: async (ms) => void sleeps.push(ms) };
}

const graphqlJob = (overrides: Record<string, unknown> = {}): ExportJob =>
  exportJobSchema.parse({
    name: 'flights-gql',
    tenant: 'demo',
    schedule: 'cron(5 * * * ? *)',
    kind: 'graphql',
    url: `${upstream.url}/graphql`,
    query: 'query R($from: String!, $to: String!, $nextToken: String, $limit: Int) { records { items nextToken } }',
    variables: { limit: 400 },
    itemsPath: 'data.records.items',
    pagination: { cursorPath: 'data.records.nextToken' },
    ...overrides,
  });

const restJob = (pagination: unknown, path: string, overrides: Record<string, unknown> = {}): ExportJob =>
  exportJobSchema.parse({
    name: `flights-rest-${path}`,
    tenant: 'demo-rest',
    schedule: 'rate(1 hour)',
    kind: 'rest',
    baseUrl: upstream.url,
    path: `/v1/records/${path}`,
    query: { from: '{from}', to: '{to}', limit: '400' },
    itemsPath: path === 'link' ? '' : 'data',
    pagination,
    ...overrides,
  });

/** Deps whose clock starts at `start` and moves a minute with every page request. */
function minutePerPage(start: number): ExportDeps {
  let now = start;
  return {
    ...deps({ now: () => now }),
    fetch: (url, init) => {
      now += 60_000;
      return fetch(url, init);
    },
  };
}

async function readObject(key: string): Promise<Buffer> {
  const output = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await (output.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

async function manifestOf(job: ExportJob): Promise<ExportManifest> {
  const key = `exports/tenant=${job.tenant}/job=${job.name}/_manifests/20261123T0900Z_20261123T1000Z.json`;
  return JSON.parse((await readObject(key)).toString('utf8')) as ExportManifest;
}

/** Reads the window's object back: every line one record; checks it against the manifest. */
async function exported(job: ExportJob): Promise<Array<{ id: string; seq: number; version: number }>> {
  const manifest = await manifestOf(job);
  const object = await readObject(manifest.key);
  expect(manifest.bytes).toBe(object.length);
  expect(manifest.sha256).toBe(createHash('sha256').update(object).digest('hex'));
  const lines = gunzipSync(object).toString('utf8').split('\n');
  expect(lines.pop()).toBe('');
  expect(lines).toHaveLength(manifest.records);
  return lines.map((line) => JSON.parse(line));
}

function expectExactlyOnce(rows: Array<{ seq: number }>, total: number) {
  expect(rows).toHaveLength(total);
  expect(new Set(rows.map((r) => r.seq)).size).toBe(total);
  expect(Math.max(...rows.map((r) => r.seq))).toBe(total - 1);
}

async function listKeys(prefix: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key ?? '').sort();
}

/** Faults on the 3rd, 9th and 15th request after now (429 with Retry-After, 503, 401). */
function injectFaults() {
  const base = upstream.log.length;
  upstream.faults.set(base + 3, { status: 429, retryAfter: '2' });
  upstream.faults.set(base + 9, { status: 503 });
  upstream.faults.set(base + 15, { status: 401 });
  return base;
}

it('GraphQL: 20,000 records over 50 pages through 429, 503 and 401 land exactly once, matching the manifest', async () => {
  records = 20_000;
  sleeps.length = 0;
  const job = graphqlJob();
  const base = injectFaults();
  const [result] = await runScheduled(job, deps());
  expect(result).toMatchObject({ outcome: 'written', records: 20_000, pages: 50, retries: 2, renewals: 1 });
  expect(result?.key).toBe('exports/tenant=demo/job=flights-gql/dt=2026-11-23/20261123T0900Z_20261123T1000Z.ndjson.gz');
  const statuses = upstream.log.slice(base).map((l) => l.status);
  expect(statuses.filter((s) => s === 200)).toHaveLength(50);
  expect(statuses.filter((s) => s !== 200)).toEqual([429, 503, 401]);
  // Retry-After: 2 was honoured; the 503 waited a jittered backoff; the 401 got a different token.
  expect(sleeps[0]).toBe(2000);
  expect(sleeps).toHaveLength(2);
  const after401 = upstream.log.slice(base)[15];
  expect(after401?.status).toBe(200);
  expect(after401?.token).not.toBe(upstream.log.slice(base)[14]?.token);

  const rows = await exported(job);
  expectExactlyOnce(rows, 20_000);
  expect(await manifestOf(job)).toMatchObject({ records: 20_000, pages: 50, segments: 1, dt: '2026-11-23' });
  // Staging and progress are gone; the state marks the window done.
  expect(await listKeys('exports/tenant=demo/job=flights-gql/')).toEqual([
    'exports/tenant=demo/job=flights-gql/_manifests/20261123T0900Z_20261123T1000Z.json',
    'exports/tenant=demo/job=flights-gql/_state.json',
    'exports/tenant=demo/job=flights-gql/dt=2026-11-23/20261123T0900Z_20261123T1000Z.ndjson.gz',
  ]);
});

it('REST with a cursor: 20,000 records over 50 pages through 429, 503 and 401 land exactly once', async () => {
  records = 20_000;
  const job = restJob({ type: 'cursor', path: 'meta.next' }, 'cursor');
  const base = injectFaults();
  const result = await runExportWindow(job, WINDOW, deps());
  expect(result).toMatchObject({ outcome: 'written', records: 20_000, pages: 50, retries: 2, renewals: 1 });
  expect(upstream.log.slice(base).filter((l) => l.status !== 200)).toHaveLength(3);
  // The login-endpoint tenant's vended headers, on every page.
  for (const entry of upstream.log.slice(base))
    expect(entry.headers).toEqual(expect.arrayContaining(['identityid', 'x-api-key']));
  expectExactlyOnce(await exported(job), 20_000);
});

it.each([
  // Page numbers and offsets end at an empty page: one request more than the records need.
  ['next link (Link header)', { type: 'nextLink' }, 'link', 6],
  ['page numbers', { type: 'page', size: 400 }, 'page', 7],
  ['offsets', { type: 'offset', size: 400 }, 'offset', 7],
])('REST with %s pages through every record once', async (_label, pagination, path, pages) => {
  records = 2_001;
  const job = restJob(pagination, path);
  const result = await runExportWindow(job, WINDOW, deps());
  expect(result).toMatchObject({ outcome: 'written', records: 2_001, pages });
  expectExactlyOnce(await exported(job), 2_001);
});

it.each([
  ['page numbers', { type: 'page', size: 400 }, 'page'],
  ['offsets', { type: 'offset', size: 400 }, 'offset'],
])(
  'REST with %s: a window of exactly maxPagesPerWindow pages of records is whole',
  async (_label, pagination, path) => {
    records = 2_001; // six pages of records, then the empty page that ends the window
    const exact = restJob(pagination, path, { name: `exact-${path}`, maxPagesPerWindow: 6 });
    expect(await runExportWindow(exact, WINDOW, deps())).toMatchObject({ outcome: 'written', records: 2_001 });
    const fewer = restJob(pagination, path, { name: `fewer-${path}`, maxPagesPerWindow: 5 });
    await expect(runExportWindow(fewer, WINDOW, deps())).rejects.toMatchObject({ code: 'too_many_pages' });
  },
);

it.each([
  ['page', { type: 'page', size: 500 }],
  ['offset', { type: 'offset', size: 500 }],
])(
  'REST %s pagination goes on past short pages when the upstream quietly caps the page size',
  async (path, pagination) => {
    // 300 records; the job asks for 500 a page, the upstream sends at most 100.
    const capped = await startExportUpstream({ recordsPerWindow: () => 300, maxPageSize: 100 });
    try {
      const job = restJob(pagination, path, {
        name: `capped-${path}`,
        baseUrl: capped.url,
        query: { from: '{from}', to: '{to}' },
      });
      const result = await runExportWindow(job, WINDOW, deps());
      // Three pages of 100, then the empty page that ends the window.
      expect(result).toMatchObject({ outcome: 'written', records: 300, pages: 4 });
      expect(capped.log.map((l) => l.status)).toEqual([200, 200, 200, 200]);
      expectExactlyOnce(await exported(job), 300);
    } finally {
      await capped.close();
    }
  },
);

const quota = { error: 'quota exceeded, try later' };
const gqlPage = { data: { records: { items: [{ id: 'x', seq: 0 }], nextToken: null } } };
it.each([
  ['REST page numbers, the last page', () => restJob({ type: 'page', size: 400 }, 'page'), 3, quota],
  // The bare-array endpoint, read with itemsPath "": the error object itself used to become a record.
  ['REST offsets, the last page', () => restJob({ type: 'offset', size: 400 }, 'link', { itemsPath: '' }), 3, quota],
  [
    'REST cursor, page 2',
    () => restJob({ type: 'cursor', path: 'meta.next' }, 'cursor'),
    2,
    { message: 'Internal error' },
  ],
  ['GraphQL data null, page 2', () => graphqlJob(), 2, { data: null }],
  ['GraphQL errors as an object, page 2', () => graphqlJob(), 2, { ...gqlPage, errors: { message: 'denied' } }],
  ['GraphQL errors beside data, page 2', () => graphqlJob(), 2, { ...gqlPage, errors: [{ message: 'partial' }] }],
])(
  '%s answered with an error body and HTTP 200 fails the window; nothing is written or marked done',
  async (label, makeJob, at, body) => {
    records = 1_000; // 3 pages of 400 (REST), 3 of 400 (GraphQL)
    const base = makeJob();
    const job = exportJobSchema.parse({
      ...base,
      name: `bad-${label
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .slice(0, 30)}`,
    });
    upstream.faults.set(upstream.log.length + at, { status: 200, body });
    const failure = runScheduled(job, deps());
    await expect(failure).rejects.toBeInstanceOf(ExportFailedError);
    await expect(failure).rejects.toMatchObject({ code: 'upstream_invalid_answer' });
    await expect(failure).rejects.not.toThrow(/quota|Internal error/);
    // No object, no manifest, no _state.json: the window is not done. A checkpoint of the pages before the bad
    // one (_staging/, _progress/) may stay for the next run to resume from; it holds nothing of the bad page.
    const prefix = `exports/tenant=${job.tenant}/job=${job.name}/`;
    const keys = await listKeys(prefix);
    expect(keys.filter((k) => !/\/_(staging|progress)\//.test(k))).toEqual([]);
    if (keys.length > 0) {
      const progress = JSON.parse(
        (await readObject(`${prefix}_progress/20261123T0900Z_20261123T1000Z.json`)).toString(),
      );
      expect(progress).toMatchObject({ pages: at - 1, records: (at - 1) * 400 });
    }
  },
);

it('skips a window whose manifest exists; a backfill replaces it and leaves the state alone', async () => {
  records = 1_000;
  const job = graphqlJob({ name: 'backfilled' });
  await runScheduled(job, deps());
  const before = upstream.log.length;
  expect((await runExportWindow(job, WINDOW, deps())).outcome).toBe('skipped');
  expect(upstream.log.length).toBe(before);
  const state = await readObject('exports/tenant=demo/job=backfilled/_state.json');

  upstream.version = 2;
  records = 1_200;
  const results = await backfill(job, { from: new Date('2026-11-23T09:10:00Z'), to: WINDOW.to }, deps());
  expect(results.map((r) => [r.window.from, r.outcome])).toEqual([['2026-11-23T09:00:00.000Z', 'written']]);
  const rows = await exported(job);
  expectExactlyOnce(rows, 1_200);
  expect(new Set(rows.map((r) => r.version))).toEqual(new Set([2]));
  expect(await readObject('exports/tenant=demo/job=backfilled/_state.json')).toEqual(state);
  upstream.version = 1;

  // The next window has settled, but the scheduled runs have not exported it yet: it is theirs, not a backfill's.
  const later = { now: () => Date.parse('2026-11-23T11:05:00Z') };
  const asked = upstream.log.length;
  await expect(backfill(job, { from: WINDOW.from, to: new Date('2026-11-23T11:00:00Z') }, deps(later))).rejects.toThrow(
    /windows from 2026-11-23T10:00:00.000Z on are the scheduled runs' to export .*Backfill up to --to 2026-11-23T10:00:00.000Z/,
  );
  // A range that starts there is not told to end there (an empty range): the schedule exports it.
  await expect(backfill(job, { from: WINDOW.to, to: new Date('2026-11-23T11:00:00Z') }, deps(later))).rejects.toThrow(
    /The schedule exports them\. If the job's schedule was removed, advance or delete/,
  );
  expect(upstream.log.length).toBe(asked);
  await expect(backfill(job, WINDOW, deps(later))).resolves.toMatchObject([{ outcome: 'written' }]);
});

it('a window that outlives the run budget is checkpointed and resumed, still exactly once', async () => {
  records = 5_000;
  const job = graphqlJob({ name: 'resumed' });
  // Every page request takes "a minute": the first run's five-minute budget ends after 5 pages.
  const start = Date.parse('2026-11-23T10:05:00Z');
  const slow = minutePerPage(start);
  const first = await runScheduled(job, slow, { deadline: start + 5 * 60_000 });
  expect(first).toMatchObject([{ outcome: 'paused', records: 2_000, pages: 5 }]);
  const prefix = 'exports/tenant=demo/job=resumed/';
  expect(await listKeys(prefix)).toEqual([
    `${prefix}_progress/20261123T0900Z_20261123T1000Z.json`,
    `${prefix}_staging/20261123T0900Z_20261123T1000Z/0001.ndjson.gz`,
  ]);

  const second = await runScheduled(job, deps());
  expect(second).toMatchObject([{ outcome: 'written', records: 5_000, pages: 13 }]);
  expectExactlyOnce(await exported(job), 5_000);
  expect(await manifestOf(job)).toMatchObject({ segments: 2, records: 5_000 });
  expect((await listKeys(prefix)).filter((k) => k.includes('_staging') || k.includes('_progress'))).toEqual([]);
});

/** An upstream of ~1 KB records that compress poorly, so a window's upload is multipart after a few pages. */
async function noisyUpstream() {
  return startExportUpstream({
    recordsPerWindow: () => 12_000,
    pageSize: 1000,
    record: (i) => ({ seq: i, noise: randomBytes(600).toString('base64') }),
  });
}

it('a window whose upload fails leaves no object and aborts its multipart upload', async () => {
  records = 12_000;
  const noisy = await noisyUpstream();
  const job = graphqlJob({ name: 'failing', variables: { limit: 1000 }, url: `${noisy.url}/graphql` });
  // S3 fails the second part of the upload.
  const endpoint = await s3.config.endpoint?.();
  const failingS3 = s3Client(`${endpoint?.protocol}//${endpoint?.hostname}:${endpoint?.port}`);
  let parts = 0;
  const commands: string[] = [];
  failingS3.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(String(context.commandName));
      if (context.commandName === 'UploadPartCommand' && ++parts === 2) throw new Error('InternalError');
      return next(args);
    },
    { step: 'initialize', name: 'failSecondPart' },
  );
  // InternalError, or s3rver's refusal of lib-storage's abort (s3rver implements no AbortMultipartUpload).
  await expect(runExportWindow(job, WINDOW, { ...deps(), s3: failingS3, partSize: 5 * 1024 * 1024 })).rejects.toThrow();
  await noisy.close();
  expect(commands).toContain('CreateMultipartUploadCommand');
  expect(commands).toContain('AbortMultipartUploadCommand');
  expect(commands).not.toContain('CompleteMultipartUploadCommand');
  expect(await listKeys('exports/tenant=demo/job=failing/')).toEqual([]);
});

it('a window that fails at a later page keeps the pages before it; the next run resumes there, exactly once', async () => {
  records = 12_000;
  const noisy = await noisyUpstream();
  const job = graphqlJob({ name: 'resumed-after-failure', variables: { limit: 1000 }, url: `${noisy.url}/graphql` });
  noisy.faults.set(11, { status: 400 });
  await expect(runExportWindow(job, WINDOW, { ...deps(), partSize: 5 * 1024 * 1024 })).rejects.toMatchObject({
    name: 'ExportFailedError',
    code: 'upstream_rejected',
  });
  const prefix = 'exports/tenant=demo/job=resumed-after-failure/';
  expect(await listKeys(prefix)).toEqual([
    `${prefix}_progress/20261123T0900Z_20261123T1000Z.json`,
    `${prefix}_staging/20261123T0900Z_20261123T1000Z/0001.ndjson.gz`,
  ]);
  const requests = noisy.log.length;
  const resumed = await runExportWindow(job, WINDOW, deps());
  await noisy.close();
  expect(resumed).toMatchObject({ outcome: 'written', records: 12_000 });
  // The second run asked only for the pages from the failed one on (and the empty end), not for the first ten.
  expect(noisy.log.length - requests).toBeLessThanOrEqual(3);
  expectExactlyOnce(await exported(job), 12_000);
});

it("never follows a next link off the upstream's origin with the tenant's headers", async () => {
  records = 10;
  const job = restJob({ type: 'nextLink', path: 'next' }, 'away');
  const before = upstream.log.length;
  const failure = runExportWindow(job, WINDOW, deps());
  await expect(failure).rejects.toBeInstanceOf(ExportFailedError);
  await expect(failure).rejects.toThrow(/leaves the upstream \(https:\/\/elsewhere\.example\.com\)/);
  expect(upstream.log.length).toBe(before + 1);
  expect(await listKeys('exports/tenant=demo-rest/job=flights-rest-away/')).toEqual([]);
});

it('writes numbers a double cannot carry (ids past 2^53, long decimals) exactly as the upstream sent them', async () => {
  const job = restJob(undefined, 'exact-numbers');
  const rows = [
    '{"id":12345678901234567891,"amount":0.12345678901234567891,"overflow":1e400,"seq":0}',
    '{"id":9007199254740993,"amount":1.5,"note":"fine","seq":1}',
  ];
  const exact: ExportDeps = {
    ...deps(),
    fetch: async () => new Response(`{"data":[${rows.join(',')}]}`, { status: 200 }),
  };
  await expect(runExportWindow(job, WINDOW, exact)).resolves.toMatchObject({ outcome: 'written', records: 2 });
  const manifest = await manifestOf(job);
  expect(gunzipSync(await readObject(manifest.key)).toString('utf8')).toBe(`${rows.join('\n')}\n`);
});

it('stops at the first cursor the upstream leads back to (A -> B -> A), not after maxPagesPerWindow pages', async () => {
  const job = restJob({ type: 'cursor', path: 'meta.next' }, 'cycle');
  const cursors = ['A', 'B', 'A', 'B'];
  let requests = 0;
  const cycling: ExportDeps = {
    ...deps(),
    fetch: async () => {
      const next = cursors[requests++] ?? null;
      return new Response(JSON.stringify({ data: [{ seq: requests }], meta: { next } }), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      });
    },
  };
  await expect(runExportWindow(job, WINDOW, cycling)).rejects.toMatchObject({
    code: 'upstream_invalid_answer',
    message: expect.stringMatching(/cursor cycle/),
  });
  expect(requests).toBe(3);
  expect(await listKeys('exports/tenant=demo-rest/job=flights-rest-cycle/')).toEqual([]);
});

it('a backfill that fails after replacing a paused window leaves no checkpoint behind: the next run starts afresh', async () => {
  records = 3_000;
  const job = graphqlJob({ name: 'replaced' });
  const start = Date.parse('2026-11-23T10:05:00Z');
  const slow = minutePerPage(start);
  // A scheduled run pauses with a checkpoint and a segment.
  expect(await runScheduled(job, slow, { deadline: start + 2 * 60_000 })).toMatchObject([{ outcome: 'paused' }]);
  const prefix = 'exports/tenant=demo/job=replaced/';
  expect((await listKeys(prefix)).some((k) => k.includes('_progress/'))).toBe(true);
  // A backfill of that window fails at once (the upstream refuses): the checkpoint and its segments are gone.
  const refusing: ExportDeps = { ...deps(), fetch: async () => new Response('{}', { status: 400 }) };
  await expect(backfill(job, WINDOW, refusing)).rejects.toBeInstanceOf(ExportFailedError);
  expect(await listKeys(prefix)).toEqual([]);
  // The next scheduled run exports the window whole.
  expect(await runScheduled(job, deps())).toMatchObject([{ outcome: 'written', records: 3_000 }]);
  expectExactlyOnce(await exported(job), 3_000);
});

it('refuses to backfill a window that has not settled for lagMinutes, as the scheduled runs wait', async () => {
  const job = graphqlJob({ name: 'lagging', lagMinutes: 60 });
  // 10:05: the 09:00-10:00 window ended 5 minutes ago, so it settles at 11:00.
  await expect(backfill(job, WINDOW, deps())).rejects.toMatchObject({
    code: 'invalid_range',
    message: expect.stringMatching(/has not settled yet: the job waits lagMinutes \(60\)/),
  });
  const later = deps({ now: () => Date.parse('2026-11-23T11:00:00Z') });
  records = 10;
  expect(await backfill(job, WINDOW, later)).toMatchObject([{ outcome: 'written', records: 10 }]);
});

it('reports a GraphQL answer with errors and no data by its errors, not by the missing items', async () => {
  const job = graphqlJob({ name: 'gql-errors' });
  const erring: ExportDeps = {
    ...deps(),
    fetch: async () =>
      new Response(JSON.stringify({ data: null, errors: [{ message: 'Rate limit exceeded for analytics' }] }), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      }),
  };
  await expect(runExportWindow(job, WINDOW, erring)).rejects.toMatchObject({
    code: 'upstream_invalid_answer',
    message: expect.stringContaining('Rate limit exceeded for analytics'),
  });
});

describe('bookkeeping objects a run would not have written', () => {
  const put = (key: string, body: string) =>
    s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentType: 'application/json' }));

  it.each([
    ['not JSON', '{"lastWindowEnd": '],
    ['a number for the instant', '{"lastWindowEnd": 12}'],
    ['garbage for the instant', '{"lastWindowEnd": "garbage"}'],
    ['an instant after now', '{"lastWindowEnd": "2030-01-01T00:00:00.000Z"}'],
    ['an instant off the window grid', '{"lastWindowEnd": "2026-11-23T09:17:00.000Z"}'],
    ['an array', '[]'],
  ])('a _state.json holding %s fails the run (invalid_state), exporting nothing', async (_what, body) => {
    const job = graphqlJob({ name: `bad-state-${randomBytes(3).toString('hex')}` });
    await put(`exports/tenant=demo/job=${job.name}/_state.json`, body);
    const before = upstream.log.length;
    await expect(runScheduled(job, deps())).rejects.toMatchObject({ code: 'invalid_state' });
    expect(upstream.log.length).toBe(before);
  });

  it("a checkpoint naming another tenant's object is not used: that object is neither joined nor deleted", async () => {
    records = 1_000;
    const job = graphqlJob({ name: 'foreign-checkpoint' });
    const foreign = 'exports/tenant=other/job=x/dt=2026-11-23/20261123T0900Z_20261123T1000Z.ndjson.gz';
    await put(foreign, 'theirs');
    await put(
      `exports/tenant=demo/job=${job.name}/_progress/20261123T0900Z_20261123T1000Z.json`,
      JSON.stringify({
        window: { from: '2026-11-23T09:00:00.000Z', to: '2026-11-23T10:00:00.000Z' },
        cursor: 'c',
        pages: 1,
        records: 1,
        segments: [{ key: foreign, records: 1, pages: 1, bytes: 6, uncompressedBytes: 6, sha256: '0'.repeat(64) }],
      }),
    );
    await backfill(job, { from: WINDOW.from, to: WINDOW.to }, deps());
    expectExactlyOnce(await exported(job), 1_000);
    expect((await readObject(foreign)).toString()).toBe('theirs');
  });
});
