// The analytics export runner. Public API (the Lambda handler and the `tvm export` commands call these):
//
//   runExportWindow(job, window, deps, { deadline?, replace? }) -> WindowResult
//       Exports one window: pages from the upstream (GraphQL or REST, with the tenant's vended headers),
//       streamed as gzip NDJSON into S3, then the manifest. `replace` re-exports a window that is done.
//   runScheduled(job, deps, { deadline? }) -> WindowResult[]
//       What a scheduled run does: every complete window since `_state.json` (after `lagMinutes`), oldest
//       first, at most `maxWindowsPerRun`; stops at the first window that runs out of time.
//   backfill(job, { from, to }, deps, { deadline? }) -> WindowResult[]
//       Re-exports every window overlapping [from, to), replacing each object atomically; `_state.json`
//       is left alone, so scheduled runs carry on as before. Windows after `_state.json` are refused: they
//       are the scheduled runs' (a backfill beside one of them would share its staging objects).
//   new ExportRunner(deps) bundles the three with the same deps.
//
// Time budget and resumption: `deadline` (epoch ms) ends the run before the function's timeout. Records
// fetched so far are kept as a complete staging segment (`_staging/<window>/<n>.ndjson.gz`) and the next
// page's cursor goes to `_progress/<window>.json`; the next run resumes the window from that cursor. When
// the last page is in, the segment (or the segments, concatenated: a multi-member gzip file) becomes the
// window's object under `dt=<day>/` in one atomic step, then the manifest is written and staging deleted.
// A page is written only after it was fetched whole and validated, and a checkpoint only after its
// segment is complete, so every record lands exactly once. On failure the multipart upload is aborted.
import { createHash } from 'node:crypto';

import type { S3Client } from '@aws-sdk/client-s3';

import type { TokenClient } from '../../client/token-client';
import type { ExportJob } from '../core/export-job';
import {
  manifestKey,
  partitionDate,
  pendingWindows,
  progressKey,
  segmentKey,
  stateKey,
  windowKey,
  windowsBetween,
  type ExportWindow,
} from '../core/export-windows';
import { ExportFailedError, OutOfTimeError } from './export-errors';
import { ExportStore } from './export-store';
import { itemsOf } from './json-path';
import { NdjsonUpload } from './ndjson-upload';
import { PageFetcher, type PageAnswer } from './page-fetcher';
import { pageSource, type PageCursor, type PageSource } from './page-source';

export { ExportFailedError, OutOfTimeError } from './export-errors';

export interface ExportDeps {
  /** The token API client: vended headers, and `forceRefresh` after an upstream 401. */
  readonly tokens: Pick<TokenClient, 'headers' | 'getToken'>;
  readonly s3: S3Client;
  readonly bucket: string;
  /** @default global fetch */
  readonly fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** @default Date */
  readonly clock?: { now(): number };
  /** Waits between retries. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
  /** Multipart part size in bytes (minimum 5 MiB). @default 8 MiB */
  readonly partSize?: number;
}

export interface RunOptions {
  /** Epoch ms by which the run stops and checkpoints. @default no deadline */
  readonly deadline?: number;
}

export interface WindowOptions extends RunOptions {
  /** Export even if the window is done (backfill), replacing its object. @default false */
  readonly replace?: boolean;
}

export interface WindowResult {
  /** The window's data object. */
  readonly key: string;
  readonly window: { readonly from: string; readonly to: string };
  /** `paused`: the run ran out of time; the window resumes next run from its checkpoint. */
  readonly outcome: 'written' | 'skipped' | 'paused';
  /** Totals for the window so far (all runs). */
  readonly records?: number;
  readonly pages?: number;
  /** Object size (gzip) and SHA-256, once written. */
  readonly bytes?: number;
  readonly sha256?: string;
  /** This run's upstream retries and token renewals. */
  readonly retries?: number;
  readonly renewals?: number;
}

export interface ExportManifest {
  readonly tenant: string;
  readonly job: string;
  readonly kind: ExportJob['kind'];
  readonly window: { readonly from: string; readonly to: string };
  readonly dt: string;
  readonly key: string;
  readonly format: 'ndjson+gzip';
  readonly records: number;
  readonly pages: number;
  readonly bytes: number;
  readonly uncompressedBytes: number;
  readonly sha256: string;
  /** Runs the window took (staging segments). */
  readonly segments: number;
  readonly exportedAt: string;
}

interface Segment {
  readonly key: string;
  readonly records: number;
  readonly pages: number;
  readonly bytes: number;
  readonly uncompressedBytes: number;
  readonly sha256: string;
}

/** `_progress/<window>.json`: where a window that ran out of time resumes. */
interface Progress {
  readonly window: { readonly from: string; readonly to: string };
  readonly cursor: PageCursor;
  readonly pages: number;
  readonly records: number;
  readonly segments: readonly Segment[];
  readonly updatedAt: string;
}

/** Most windows one backfill may cover (a year of 15-minute windows is 35,040). */
export const MAX_BACKFILL_WINDOWS = 50_000;

const isoWindow = (window: ExportWindow) => ({ from: window.from.toISOString(), to: window.to.toISOString() });

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/**
 * A checkpoint read back from S3, if it is this window's and whole: the window's bounds, counts that are whole
 * numbers, a cursor a page source could have given, and segments that are exactly this window's segment objects in
 * order. Anything else is not used (and no object it names is ever joined or deleted).
 */
function checkpointOf(saved: unknown, job: ExportJob, window: ExportWindow): Progress | undefined {
  if (typeof saved !== 'object' || saved === null || Array.isArray(saved)) return undefined;
  const progress = saved as Partial<Record<keyof Progress, unknown>>;
  const iso = isoWindow(window);
  const bounds = progress.window as { from?: unknown; to?: unknown } | undefined;
  if (bounds?.from !== iso.from || bounds.to !== iso.to) return undefined;
  if (!isCount(progress.pages) || !isCount(progress.records)) return undefined;
  const { cursor } = progress;
  if (!(cursor === undefined || typeof cursor === 'string' || (typeof cursor === 'number' && Number.isFinite(cursor))))
    return undefined;
  if (!Array.isArray(progress.segments)) return undefined;
  const segments = progress.segments as unknown[];
  const whole = segments.every((segment, index) => {
    const s = segment as Partial<Record<keyof Segment, unknown>> | null;
    return (
      typeof s === 'object' &&
      s !== null &&
      s.key === segmentKey(job, window, index + 1) &&
      isCount(s.records) &&
      isCount(s.pages) &&
      isCount(s.bytes) &&
      isCount(s.uncompressedBytes) &&
      typeof s.sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(s.sha256)
    );
  });
  return whole ? (saved as Progress) : undefined;
}
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The records of a page. When there are none to read, the source's own checks speak first (a GraphQL answer with
 * `errors` and `data: null` is reported by its errors, not by the missing items path).
 */
function readItems(
  source: PageSource,
  answer: PageAnswer,
  cursor: PageCursor,
  job: ExportJob,
  page: number,
): unknown[] {
  try {
    return itemsOf(answer.json, job.itemsPath, `${job.name}, page ${page}`);
  } catch (error) {
    source.next(answer, [], cursor);
    throw error;
  }
}

export async function runExportWindow(
  job: ExportJob,
  window: ExportWindow,
  deps: ExportDeps,
  options: WindowOptions = {},
): Promise<WindowResult> {
  const store = new ExportStore(deps.s3, deps.bucket);
  const clock = deps.clock ?? Date;
  const key = windowKey(job, window);
  const iso = isoWindow(window);
  if (!options.replace && (await store.exists(manifestKey(job, window))))
    return { key, window: iso, outcome: 'skipped' };

  // A checkpoint is used only when it is this window's own, whole (see checkpointOf): one that is not (corrupt,
  // another job's, or naming objects outside this window's segments) is ignored, and the window starts afresh.
  let progress = checkpointOf(
    await store.getJson<unknown>(progressKey(job, window)).catch((error: unknown) => {
      // A checkpoint that is not JSON is no checkpoint: the window starts afresh.
      if (error instanceof ExportFailedError) return undefined;
      throw error;
    }),
    job,
    window,
  );
  if (options.replace && progress) {
    // A backfill starts the window afresh. The checkpoint goes first: a backfill that then fails must not leave one
    // naming segments that are gone, which every later run would try to join (NoSuchKey, for ever).
    await store.delete(progressKey(job, window));
    await Promise.all(progress.segments.map((s) => store.delete(s.key)));
    progress = undefined;
  }
  const fetcher = new PageFetcher({
    tenant: job.tenant,
    tokens: deps.tokens,
    fetch: deps.fetch ?? ((url, init) => fetch(url, init)),
    sleep: deps.sleep ?? sleep,
    random: deps.random ?? Math.random,
    clock,
    deadline: options.deadline ?? Number.POSITIVE_INFINITY,
    maxAttempts: job.maxAttempts,
    requestTimeoutMs: job.requestTimeoutMs,
    maxPageBytes: job.maxPageBytes,
  });
  const source = pageSource(job, window);
  const segments = [...(progress?.segments ?? [])];
  const upload = new NdjsonUpload({
    s3: deps.s3,
    bucket: deps.bucket,
    key: segmentKey(job, window, segments.length + 1),
    ...(deps.partSize ? { partSize: deps.partSize } : {}),
  });
  let cursor: PageCursor = progress?.cursor;
  let pages = progress?.pages ?? 0;
  let records = progress?.records ?? 0;
  let runPages = 0;
  let finished = false;
  // Every cursor this run has asked for, by digest (a run may ask for thousands): an upstream that leads back to one
  // (A -> B -> A) would page for ever.
  const digest = (value: PageCursor) =>
    createHash('sha256')
      .update(`${typeof value}:${String(value)}`)
      .digest('base64');
  const asked = new Set<string>(cursor === undefined ? [] : [digest(cursor)]);
  const counters = () => ({ retries: fetcher.retries, renewals: fetcher.renewals });
  // While a page is fetched and read, nothing of it is written yet: a failure there leaves the pages before it whole.
  let fetching = false;
  let failure: unknown;
  try {
    for (;;) {
      // Past maxPagesPerWindow only the empty page that ends numbered or offset pagination is taken: a window of
      // exactly that many pages of records is whole.
      const beyond = pages >= job.maxPagesPerWindow;
      fetching = true;
      const answer = await fetcher.fetchJson(source.request(cursor));
      const items = readItems(source, answer, cursor, job, pages + 1);
      const next = source.next(answer, items, cursor);
      fetching = false;
      if (beyond && !(items.length === 0 && next === null))
        throw new ExportFailedError(
          'too_many_pages',
          `Window ${iso.from}..${iso.to} of ${job.name} has more than maxPagesPerWindow (${job.maxPagesPerWindow}) pages.`,
        );
      await upload.write(items, answer.exactNumbers);
      pages++;
      runPages++;
      records += items.length;
      if (next === null) break;
      if (next === cursor || asked.has(digest(next)))
        throw new ExportFailedError(
          'upstream_invalid_answer',
          `The upstream led back to a page of window ${iso.from}..${iso.to} it had already answered (a cursor cycle).`,
        );
      asked.add(digest(next));
      cursor = next;
    }
    finished = true;
  } catch (thrown) {
    // Never a header value (the tenant's token) in what is thrown and logged, whatever the upstream quoted.
    const error = fetcher.redacted(thrown);
    // Pages this run fetched are kept (segment and checkpoint) when the run runs out of time, and when a later page
    // fails before anything of it was written (the upstream refused it, a token could not be had, its answer was
    // bad): the next run resumes at that page instead of fetching the window again. Otherwise (nothing fetched yet,
    // or the upload itself failed) the segment is dropped.
    if (runPages === 0 || !(error instanceof OutOfTimeError || fetching)) {
      await upload.abort(error);
      if (error instanceof OutOfTimeError)
        return { key, window: iso, outcome: 'paused', records, pages, ...counters() };
      throw error;
    }
    if (!(error instanceof OutOfTimeError)) failure = error;
  }
  const segment = await upload.finish();
  segments.push({ ...segment, pages: runPages });
  if (!finished) {
    const checkpoint: Progress = {
      window: iso,
      cursor,
      pages,
      records,
      segments,
      updatedAt: new Date(clock.now()).toISOString(),
    };
    await store.putJson(progressKey(job, window), checkpoint);
    if (failure !== undefined) throw failure;
    return { key, window: iso, outcome: 'paused', records, pages, ...counters() };
  }

  const object =
    segments.length === 1
      ? await store.copy(segment.key, key).then(() => segment)
      : await store.concatenate(
          segments.map((s) => s.key),
          key,
          records,
        );
  const manifest: ExportManifest = {
    tenant: job.tenant,
    job: job.name,
    kind: job.kind,
    window: iso,
    dt: partitionDate(window),
    key,
    format: 'ndjson+gzip',
    records,
    pages,
    bytes: object.bytes,
    uncompressedBytes: segments.reduce((sum, s) => sum + s.uncompressedBytes, 0),
    sha256: object.sha256,
    segments: segments.length,
    exportedAt: new Date(clock.now()).toISOString(),
  };
  await store.putJson(manifestKey(job, window), manifest);
  await Promise.all([...segments.map((s) => store.delete(s.key)), store.delete(progressKey(job, window))]);
  return {
    key,
    window: iso,
    outcome: 'written',
    records,
    pages,
    bytes: object.bytes,
    sha256: object.sha256,
    ...counters(),
  };
}

/**
 * Where the job's `_state.json` says the last exported window ended (epoch ms; undefined: no state, a first run). A
 * state a run would not have written (not an object, no instant, an instant off the window grid or after the current
 * window) fails the run naming the object, rather than stall the job without an error or export from another time.
 */
async function lastWindowEnd(store: ExportStore, job: ExportJob, nowMs: number): Promise<number | undefined> {
  const state = await store.getJson<unknown>(stateKey(job));
  if (state === undefined || state === null) return undefined;
  const end = typeof state === 'object' ? (state as { lastWindowEnd?: unknown }).lastWindowEnd : undefined;
  const at =
    typeof end === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?Z$/.test(end)
      ? Date.parse(end)
      : NaN;
  const size = job.windowMinutes * 60_000;
  if (Number.isFinite(at) && at % size === 0 && at <= nowMs + size) return at;
  throw new ExportFailedError(
    'invalid_state',
    `The job's ${stateKey(job)} does not hold the end of a window of this job up to now (lastWindowEnd ` +
      `${JSON.stringify(end)?.slice(0, 40) ?? 'missing'}): fix it, or delete it to start from the last complete window.`,
  );
}

export async function runScheduled(
  job: ExportJob,
  deps: ExportDeps,
  options: RunOptions = {},
): Promise<WindowResult[]> {
  const store = new ExportStore(deps.s3, deps.bucket);
  const clock = deps.clock ?? Date;
  const last = await lastWindowEnd(store, job, clock.now());
  const windows = pendingWindows(clock.now(), job.windowMinutes, last, job.maxWindowsPerRun, job.lagMinutes);
  const results: WindowResult[] = [];
  for (const window of windows) {
    const result = await runExportWindow(job, window, deps, options);
    results.push(result);
    if (result.outcome === 'paused') break;
    // Progress is saved per window: a failure later on keeps what is done.
    await store.putJson(stateKey(job), {
      lastWindowEnd: window.to.toISOString(),
      updatedAt: new Date(clock.now()).toISOString(),
    });
  }
  return results;
}

export async function backfill(
  job: ExportJob,
  range: { readonly from: Date; readonly to: Date },
  deps: ExportDeps,
  options: RunOptions = {},
): Promise<WindowResult[]> {
  if (!(range.from.getTime() < range.to.getTime()))
    throw new ExportFailedError('invalid_range', 'The backfill range is empty: --from must be before --to.');
  const size = job.windowMinutes * 60_000;
  const first = Math.floor(range.from.getTime() / size) * size;
  const end = Math.ceil(range.to.getTime() / size) * size;
  if ((end - first) / size > MAX_BACKFILL_WINDOWS)
    throw new ExportFailedError(
      'invalid_range',
      `The range covers ${(end - first) / size} windows; backfill at most ${MAX_BACKFILL_WINDOWS} at a time.`,
    );
  // As the scheduled runs do: a window is exported once it ended lagMinutes ago, when its data has settled (a
  // manifest written earlier would freeze it: the scheduled run skips windows that have one).
  const settled = (deps.clock ?? Date).now() - job.lagMinutes * 60_000;
  if (end > settled)
    throw new ExportFailedError(
      'invalid_range',
      job.lagMinutes > 0
        ? `The window ending ${new Date(end).toISOString()} has not settled yet: the job waits lagMinutes (${job.lagMinutes}) after a window ends.`
        : `The window ending ${new Date(end).toISOString()} has not ended yet.`,
    );
  // Windows the scheduled runs have not exported yet are theirs (they export every one after `_state.json`): a
  // backfill of one could run beside a scheduled run of the same window, the two writing the same staging objects.
  // A job without `_state.json` has had no scheduled run (or none is deployed): every settled window may be backfilled.
  const store = new ExportStore(deps.s3, deps.bucket);
  const last = await lastWindowEnd(store, job, (deps.clock ?? Date).now());
  if (last !== undefined && end > last) {
    const at = new Date(last).toISOString();
    throw new ExportFailedError(
      'invalid_range',
      `Not backfilled: the windows from ${at} on are the scheduled runs' to export (${stateKey(job)}), and a ` +
        'backfill beside a scheduled run would write the same staging objects. ' +
        (first < last ? `Backfill up to --to ${at}; the schedule exports the rest.` : 'The schedule exports them.') +
        ` If the job's schedule was removed, advance or delete ${stateKey(job)} first.`,
    );
  }
  const windows = windowsBetween(range.from.getTime(), range.to.getTime(), job.windowMinutes);
  const results: WindowResult[] = [];
  for (const window of windows) {
    const result = await runExportWindow(job, window, deps, { ...options, replace: true });
    results.push(result);
    if (result.outcome === 'paused') break;
  }
  return results;
}

/** The runner API with its dependencies bound. */
export class ExportRunner {
  constructor(private readonly deps: ExportDeps) {}

  run(job: ExportJob, options?: RunOptions): Promise<WindowResult[]> {
    return runScheduled(job, this.deps, options);
  }

  exportWindow(job: ExportJob, window: ExportWindow, options?: WindowOptions): Promise<WindowResult> {
    return runExportWindow(job, window, this.deps, options);
  }

  backfill(job: ExportJob, range: { from: Date; to: Date }, options?: RunOptions): Promise<WindowResult[]> {
    return backfill(job, range, this.deps, options);
  }
}
