// Configuration of one analytics export function, from the environment the stack sets, validated once at start-up.
import * as z from 'zod/mini';

import { ENV } from '../../contract/names';
import { exportJobSchema, type ExportJob } from '../core/export-windows';

import '../core/zod-messages';

import { ConfigError, jsonVariable, problems } from './config';

const envSchema = z.object({
  /** Base URL of the token API the job vends its tenant's headers from. */
  [ENV.endpoint]: z.url({ protocol: /^https?$/ }),
  /** S3 bucket the job writes to. */
  [ENV.exportBucket]: z.string().check(z.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name')),
  /** The job definition (JSON; see `exportJobs[]` in the deployment config). */
  [ENV.exportJob]: z.string().check(z.minLength(1)),
});

export interface ExportConfig {
  readonly endpoint: string;
  readonly bucket: string;
  readonly job: ExportJob;
}

/** Parse and validate the export function's variables; a problem names the variable and field, never a value. */
export function loadExportConfig(env: Record<string, string | undefined>): ExportConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) throw new ConfigError(`Invalid configuration: ${problems('', parsed.error.issues)}`);
  const job = jsonVariable(ENV.exportJob, parsed.data[ENV.exportJob], exportJobSchema, 'a JSON export job');
  return { endpoint: parsed.data[ENV.endpoint], bucket: parsed.data[ENV.exportBucket], job };
}
