// What the `tvm export` commands share: the options that name a job and where it writes, the job read from
// the deployment config, and the runner's dependencies (token client, S3) built from them.

import { Command, InvalidArgumentError, Option } from 'commander';

import { ENV } from '../contract';
import { exportJobSchema, type ExportJob } from '../lambdas/core/export-windows';
import type { ExportDeps } from '../lambdas/export/export-runner';
import type { CliContext } from './context';
import { UsageError } from './errors';
import { DEFAULT_LOCAL_ENDPOINT, isLoopback, parseEndpoint, readJson, regionOption } from './options';

export interface ExportTargetOptions {
  readonly config: string;
  readonly job: string;
  readonly bucket?: string;
  readonly endpoint?: string;
  readonly region?: string;
  readonly s3Endpoint?: string;
}

/** `2026-11-01` (UTC midnight) or an ISO 8601 time with a zone, e.g. `2026-11-01T06:00Z`. */
export function parseInstant(value: string): Date {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : new Date(value);
  // A day the month does not have (2026-02-30) is no date: JavaScript would roll it over into the next month.
  const [year, month, day] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (
    !/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/.test(value) ||
    Number.isNaN(date.getTime()) ||
    calendar.getUTCMonth() !== month - 1 ||
    calendar.getUTCDate() !== day
  )
    throw new InvalidArgumentError(`'${value}' is not a date (2026-11-01) or a time with a zone (2026-11-01T06:00Z).`);
  return date;
}

/** Adds the options every export command takes. */
export function withExportTargetOptions(command: Command): Command {
  return command
    .requiredOption(
      '--config <file>',
      'the deployment config that defines the job (as for cdk deploy -c config=...), or a JSON file of jobs',
    )
    .requiredOption('--job <name>', 'the export job, by name')
    .addOption(
      new Option(
        '--bucket <name>',
        `export bucket (default: $${ENV.exportBucket}; the stack's ExportBucketName output)`,
      ),
    )
    .addOption(
      new Option(
        '--endpoint <url>',
        `token API base URL (default: $${ENV.endpoint}, else ${DEFAULT_LOCAL_ENDPOINT})`,
      ).argParser(parseEndpoint),
    )
    .addOption(regionOption())
    .addOption(
      new Option('--s3-endpoint <url>', 'S3-compatible endpoint (emulators such as s3rver)').argParser(parseEndpoint),
    );
}

/**
 * The named job from a deployment config (its `exportJobs`), a JSON array of jobs, or one job. Only the job is
 * validated (a loopback upstream is fine here, for trying a job locally); an unknown name is a usage error
 * listing the known ones.
 */
export function loadExportJob(path: string, name: string): ExportJob {
  let json: unknown;
  try {
    json = readJson(path);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${path} is not valid JSON.`);
  }
  const candidates: unknown[] = Array.isArray(json)
    ? json
    : typeof json === 'object' && json !== null && 'exportJobs' in json
      ? [(json as { exportJobs: unknown }).exportJobs].flat()
      : [json];
  const names = candidates.map((c) => (c as { name?: unknown } | null)?.name).filter((n) => typeof n === 'string');
  const index = names.indexOf(name);
  if (index < 0)
    throw new UsageError(`${path} has no export job '${name}'${names.length ? ` (it has: ${names.join(', ')})` : ''}.`);
  const parsed = exportJobSchema.safeParse(candidates[index]);
  if (!parsed.success)
    throw new UsageError(
      `export job '${name}' in ${path} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(job)'}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

/** The runner's dependencies for a command: the token API (SigV4; none needed locally) and the export bucket. */
export function exportDeps(ctx: CliContext, options: ExportTargetOptions): ExportDeps {
  const { io } = ctx;
  const bucket = options.bucket ?? io.env[ENV.exportBucket];
  if (!bucket) throw new UsageError(`Pass --bucket or set ${ENV.exportBucket} (the stack's ExportBucketName output).`);
  const endpoint = options.endpoint ?? io.env[ENV.endpoint] ?? DEFAULT_LOCAL_ENDPOINT;
  const local = isLoopback(endpoint);
  const region = options.region ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION;
  const tokens = ctx.deps.tokenClient({
    endpoint,
    ...(region ? { region } : local ? { region: 'local' } : {}),
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
  const s3 = ctx.deps.s3({
    ...(options.region ? { region: options.region } : {}),
    ...(options.s3Endpoint ? { endpoint: options.s3Endpoint } : {}),
  });
  return { tokens, s3, bucket };
}
