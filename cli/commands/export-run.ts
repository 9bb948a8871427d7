import { relative } from 'node:path';

import { Command, Option } from 'commander';

import type { ExportJob } from '../../lambdas/core/export-job';
import { jobPrefix, pendingWindows, windowsBetween, type ExportWindow } from '../../lambdas/core/export-windows';
import { runExportWindow } from '../../lambdas/export/export-runner';
import type { CliContext } from '../context';
import { UsageError } from '../errors';
import {
  exportDeps,
  loadExportJob,
  parseInstant,
  withExportTargetOptions,
  type ExportTargetOptions,
} from '../export-job';
import { colour, withProgress } from '../io';
import { LOCAL_BUCKET, startLocalS3, type LocalS3 } from '../local-s3';

interface RunOptions extends ExportTargetOptions {
  readonly window?: Date;
  readonly out?: string;
  readonly replace?: boolean;
}

/** The window holding `at`, else the last complete one (honouring the job's lag), as a scheduled run would. */
function chooseWindow(job: ExportJob, at: Date | undefined, nowMs: number): ExportWindow {
  const window = at
    ? windowsBetween(at.getTime(), at.getTime() + 1, job.windowMinutes)[0]
    : pendingWindows(nowMs, job.windowMinutes, undefined, 1, job.lagMinutes)[0];
  if (!window) throw new UsageError('No complete window to export yet; pass --window.');
  if (window.to.getTime() > nowMs) throw new UsageError(`The window ${window.from.toISOString()} has not ended yet.`);
  return window;
}

/** `tvm export run --job <name> --config <file>`: one window, to S3 (or an emulator) or to a folder. */
export function exportRunCommand(ctx: CliContext): Command {
  return withExportTargetOptions(
    new Command('run')
      .description('export one window of a job now, to the export bucket, an S3 emulator or a folder, to try it')
      .option('--window <time>', 'a time inside the window to export (default: the last complete window)', parseInstant)
      .addOption(
        new Option(
          '--out <folder>',
          'write the objects into this folder (through an in-process S3 emulator)',
        ).conflicts(['bucket', 's3Endpoint']),
      )
      .option('--replace', 'export the window again even if it was exported already'),
  )
    .addHelpText(
      'after',
      `
Runs the job's query (GraphQL or REST, with its pagination) for one window with a token from --endpoint
(the local server by default), and writes <prefix>/tenant=<t>/job=<j>/dt=<day>/<window>.ndjson.gz and
its manifest (_manifests/<window>.json). Try a job before deploying it:
  tvm export run --config config/example.json --job flight-analytics --out ./exports`,
    )
    .action(async (options: RunOptions) => {
      const { io } = ctx;
      const c = colour(io);
      const job = loadExportJob(options.config, options.job);
      const window = chooseWindow(job, options.window, Date.now());
      let local: LocalS3 | undefined;
      try {
        if (options.out) local = await startLocalS3();
        const deps = local
          ? { ...exportDeps(ctx, { ...options, bucket: LOCAL_BUCKET }), s3: local.client }
          : exportDeps(ctx, options);
        const result = await withProgress(io, `Exporting ${job.name} ${window.from.toISOString()}`, () =>
          runExportWindow(job, window, deps, { replace: options.replace ?? false }),
        );
        io.stdout(
          `${c.green(result.outcome)} ${job.name} (tenant ${job.tenant}) ${result.window.from}..${result.window.to}: ` +
            `${result.records ?? 0} records, ${result.pages ?? 0} pages, ${result.bytes ?? 0} bytes\n`,
        );
        if (result.outcome === 'skipped') io.stdout('  already exported; --replace exports it again\n');
        if (local && options.out) {
          const files = await local.download(jobPrefix(job), options.out);
          for (const file of files) io.stdout(`  ${relative(process.cwd(), file)}\n`);
        } else {
          io.stdout(`  s3://${deps.bucket}/${result.key}\n`);
        }
      } finally {
        await local?.close();
      }
    });
}
