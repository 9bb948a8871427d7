/**
 * `tvm export backfill` end to end: the job read from a deployment config, the local token server, the
 * loopback upstream and s3rver. A backfill replaces each window's object and manifest and leaves the
 * scheduled state alone.
 */
import { gunzipSync } from 'node:zlib';

import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

import { EXIT } from '../../cli/io';
import type { LocalService } from '../../lambdas/local/local-service';
import { startExportCliFixture, type ExportCliFixture } from '../support/export-cli-fixture';
import type { ExportUpstream } from '../support/export-upstream';

let fixture: ExportCliFixture;
let service: LocalService;
let s3: S3Client;
let s3Endpoint: string;
let upstream: ExportUpstream;
let configPath: string;

beforeAll(async () => {
  fixture = await startExportCliFixture((from) => (from.startsWith('2026-11-23T09') ? 700 : 300));
  ({ service, s3, s3Endpoint, upstream, configPath } = fixture);
});

afterAll(() => fixture.close());

const tvm = (...argv: string[]) => fixture.tvm(...argv);

const backfillArgs = (from: string, to: string) => [
  'export',
  'backfill',
  '--config',
  configPath,
  '--job',
  'users',
  '--from',
  from,
  '--to',
  to,
  '--bucket',
  'exports',
  '--endpoint',
  service.url,
  '--s3-endpoint',
  s3Endpoint,
];

async function records(key: string): Promise<Array<{ seq: number; version: number }>> {
  const output = await s3.send(new GetObjectCommand({ Bucket: 'exports', Key: key }));
  const bytes = Buffer.from(
    await (output.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
  return gunzipSync(bytes)
    .toString('utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
}

it('re-exports every window of the range, replacing objects, idempotently', async () => {
  const first = await tvm(...backfillArgs('2026-11-23T09:00Z', '2026-11-23T11:00Z'));
  expect(first.stderr).toBe('');
  expect(first.code).toBe(EXIT.ok);
  expect(first.stdout).toMatch(/^written 2026-11-23T09:00:00.000Z \S+ 700 records/m);
  expect(first.stdout).toMatch(/^written 2026-11-23T10:00:00.000Z \S+ 300 records/m);
  expect(first.stdout).toMatch(/2 windows, 1000 records re-exported for users \(tenant demo-rest\)/);
  const key = 'exports/tenant=demo-rest/job=users/dt=2026-11-23/20261123T0900Z_20261123T1000Z.ndjson.gz';
  expect((await records(key)).map((r) => r.version)).toEqual(Array(700).fill(1));

  // The upstream's data changed: the same backfill replaces the objects, nothing is duplicated.
  upstream.version = 2;
  const again = await tvm(...backfillArgs('2026-11-23', '2026-11-23T11:00:00Z'));
  expect(again.code).toBe(EXIT.ok);
  const rows = await records(key);
  expect(rows).toHaveLength(700);
  expect(new Set(rows.map((r) => r.seq)).size).toBe(700);
  expect(new Set(rows.map((r) => r.version))).toEqual(new Set([2]));
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'exports', Prefix: 'exports/tenant=demo-rest/' }));
  const keys = (listed.Contents ?? []).map((o) => o.Key).sort();
  // The second range starts at midnight: 11 windows, one object each; no state, staging or progress is left.
  expect(keys.filter((k) => k?.includes('_state') || k?.includes('_staging') || k?.includes('_progress'))).toEqual([]);
  expect(keys.filter((k) => k?.endsWith('.ndjson.gz'))).toHaveLength(11);
});

it('names the known jobs when --job is unknown, and rejects a time without a zone (usage, exit 2)', async () => {
  const unknown = await tvm(...backfillArgs('2026-11-23', '2026-11-24').map((a) => (a === 'users' ? 'nope' : a)));
  expect(unknown.code).toBe(EXIT.usage);
  expect(unknown.stderr).toMatch(/has no export job 'nope' \(it has: users\)/);
  const zoneless = await tvm(...backfillArgs('2026-11-23T09:00', '2026-11-24'));
  expect(zoneless.code).toBe(EXIT.usage);
  expect(zoneless.stderr).toMatch(/is not a date .* or a time with a zone/);
  // A day the month does not have is no date (JavaScript would read 2026-02-30 as March 2).
  const noSuchDay = await tvm(...backfillArgs('2026-02-30', '2026-03-01'));
  expect(noSuchDay.code).toBe(EXIT.usage);
  expect(noSuchDay.stderr).toMatch(/'2026-02-30' is not a date/);
});

it('refuses a range that has not ended yet, or is too long, before calling the upstream', async () => {
  const before = upstream.log.length;
  const future = await tvm(...backfillArgs('2026-11-23', new Date(Date.now() + 86_400_000).toISOString()));
  expect(future.code).toBe(EXIT.failed);
  expect(future.stderr).toMatch(/has not ended yet/);
  const long = await tvm(...backfillArgs('2020-01-01', '2026-01-01'));
  expect(long.code).toBe(EXIT.failed);
  expect(long.stderr).toMatch(/covers 52608 windows; backfill at most 50000 at a time/);
  expect(upstream.log.length).toBe(before);
});

it('fails (exit 1) naming where to resume when a window pauses: the windows after it are not re-exported', async () => {
  // The next request (the first window's first page) is answered 429 with a wait longer than a retry waits.
  upstream.faults.set(upstream.log.length + 1, { status: 429, retryAfter: '3600' });
  const result = await tvm(...backfillArgs('2026-11-23T09:00Z', '2026-11-23T11:00Z'));
  expect(result.code).toBe(EXIT.failed);
  expect(result.stdout).toMatch(/^paused 2026-11-23T09:00:00.000Z/m);
  expect(result.stderr).toMatch(
    /incomplete.*stopped at the window from 2026-11-23T09:00:00.000Z \(paused\).*--from 2026-11-23T09:00:00.000Z/s,
  );
});
