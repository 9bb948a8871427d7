import type { ExportJob } from './export-job';

// Export windows and where each lands in S3. Pure: no AWS imports.
//
// Layout under the job's prefix `<prefix>/tenant=<t>/job=<j>/` (Hive-style, for Athena partition projection):
//   dt=<yyyy-mm-dd>/<from>_<to>.ndjson.gz   the window's records (gzip NDJSON), only once complete
//   _manifests/<from>_<to>.json              records, pages, bytes, SHA-256; written after the data object
//   _progress/<from>_<to>.json               checkpoint of a window that ran out of time (cursor + segments)
//   _staging/<from>_<to>/<n>.ndjson.gz       segments of a window in progress
//   _state.json                              the end of the last exported window
// Athena reads only the dt= folders, so the underscore folders never show up in queries.
export {
  exportJobSchema,
  tableName,
  type ExportJob,
  type GraphqlExportJob,
  type RestExportJob,
  type RestPagination,
} from './export-job';

export interface ExportWindow {
  readonly from: Date;
  readonly to: Date;
}

/**
 * The complete windows not exported yet: from the last exported window end (or one window back on the
 * first run) up to the last window that ended at least `lagMinutes` ago, oldest first, at most `max` of them.
 * After an outage the job catches up `max` windows per run from where it stopped, never skipping one: the state
 * only moves past a window once it is exported, so no window is lost however long the job could not run.
 */
export function pendingWindows(
  nowMs: number,
  windowMinutes: number,
  lastWindowEndMs: number | undefined,
  max: number,
  lagMinutes = 0,
): ExportWindow[] {
  const size = windowMinutes * 60_000;
  const lastComplete = Math.floor((nowMs - lagMinutes * 60_000) / size) * size;
  const start = lastWindowEndMs ?? lastComplete - size;
  const windows: ExportWindow[] = [];
  for (let from = Math.floor(start / size) * size; from + size <= lastComplete && windows.length < max; from += size) {
    windows.push({ from: new Date(from), to: new Date(from + size) });
  }
  return windows;
}

/** Every window overlapping `[fromMs, toMs)`, aligned to the window size, oldest first (backfill). */
export function windowsBetween(fromMs: number, toMs: number, windowMinutes: number): ExportWindow[] {
  const size = windowMinutes * 60_000;
  const windows: ExportWindow[] = [];
  for (let from = Math.floor(fromMs / size) * size; from < toMs; from += size) {
    windows.push({ from: new Date(from), to: new Date(from + size) });
  }
  return windows;
}

type JobKeyFields = Pick<ExportJob, 'prefix' | 'tenant' | 'name'>;

/** `2026-11-23T09:00:00.000Z` -> `20261123T0900Z` (windows start on whole minutes). */
const compact = (date: Date) => `${date.toISOString().slice(0, 16).replace(/[-:]/g, '')}Z`;
const windowId = (window: ExportWindow) => `${compact(window.from)}_${compact(window.to)}`;

/** `<prefix>/tenant=<t>/job=<j>/`: everything the job writes, and the Athena table's location. */
export function jobPrefix(job: JobKeyFields): string {
  return `${job.prefix}/tenant=${job.tenant}/job=${job.name}/`;
}

/** The Hive partition value of a window: the UTC day it starts on. */
export function partitionDate(window: ExportWindow): string {
  return window.from.toISOString().slice(0, 10);
}

/** `<jobPrefix>dt=<yyyy-mm-dd>/<from>_<to>.ndjson.gz` */
export function windowKey(job: JobKeyFields, window: ExportWindow): string {
  return `${jobPrefix(job)}dt=${partitionDate(window)}/${windowId(window)}.ndjson.gz`;
}

export function manifestKey(job: JobKeyFields, window: ExportWindow): string {
  return `${jobPrefix(job)}_manifests/${windowId(window)}.json`;
}

export function progressKey(job: JobKeyFields, window: ExportWindow): string {
  return `${jobPrefix(job)}_progress/${windowId(window)}.json`;
}

export function segmentKey(job: JobKeyFields, window: ExportWindow, segment: number): string {
  return `${jobPrefix(job)}_staging/${windowId(window)}/${String(segment).padStart(4, '0')}.ndjson.gz`;
}

export function stateKey(job: JobKeyFields): string {
  return `${jobPrefix(job)}_state.json`;
}
