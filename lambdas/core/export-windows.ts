import * as z from 'zod';

import { TENANT_ID_PATTERN } from './tenant-config';

/** A scheduled analytics export: one GraphQL query per time window, for one tenant. */
export const exportJobSchema = z.strictObject({
  /** Job name: part of the S3 key and of resource names. */
  name: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/, 'must be 1-40 lowercase letters, digits or hyphens'),
  tenant: z.string().regex(TENANT_ID_PATTERN, 'must be a tenant id'),
  /** EventBridge Scheduler cron(...) or rate(...) expression. */
  schedule: z
    .string()
    .regex(
      /^(cron\(.+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$/,
      'must be a cron(...) or rate(...) expression',
    ),
  /** GraphQL endpoint of the upstream. */
  graphqlUrl: z.url({ protocol: /^https?$/ }),
  /** The query; it receives the variables `from` and `to` (ISO 8601). */
  query: z.string().min(1),
  /** Length of one export window. @default 60 */
  windowMinutes: z.number().int().min(5).max(1440).default(60),
  /** Windows caught up at most per run after an outage. @default 24 */
  maxWindowsPerRun: z.number().int().min(1).max(168).default(24),
  /** S3 key prefix. @default "exports" */
  prefix: z
    .string()
    .regex(/^[\w.-]+(\/[\w.-]+)*$/, 'must be an S3 key prefix without slashes at the ends')
    .default('exports'),
});
export type ExportJob = z.infer<typeof exportJobSchema>;

export interface ExportWindow {
  readonly from: Date;
  readonly to: Date;
}

/**
 * The complete windows not exported yet: from the last exported window end (or one window
 * back on the first run) up to the last window that has ended, at most `max` of them, oldest first.
 */
export function pendingWindows(
  nowMs: number,
  windowMinutes: number,
  lastWindowEndMs: number | undefined,
  max: number,
): ExportWindow[] {
  const size = windowMinutes * 60_000;
  const lastComplete = Math.floor(nowMs / size) * size;
  const start = Math.max(lastWindowEndMs ?? lastComplete - size, lastComplete - size * max);
  const windows: ExportWindow[] = [];
  for (let from = Math.floor(start / size) * size; from + size <= lastComplete; from += size) {
    windows.push({ from: new Date(from), to: new Date(from + size) });
  }
  return windows;
}

/** `2026-11-23T09:00:00.000Z` -> `20261123T0900Z` (windows start on whole minutes). */
const compact = (date: Date) => `${date.toISOString().slice(0, 16).replace(/[-:]/g, '')}Z`;

/** `<prefix>/<tenant>/<job>/<yyyy>/<mm>/<dd>/<from>_<to>.json` (dates of the window start, UTC). */
export function windowKey(job: Pick<ExportJob, 'prefix' | 'tenant' | 'name'>, window: ExportWindow): string {
  const iso = window.from.toISOString();
  return `${job.prefix}/${job.tenant}/${job.name}/${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${compact(window.from)}_${compact(window.to)}.json`;
}

export function stateKey(job: Pick<ExportJob, 'prefix' | 'tenant' | 'name'>): string {
  return `${job.prefix}/${job.tenant}/${job.name}/_state.json`;
}
