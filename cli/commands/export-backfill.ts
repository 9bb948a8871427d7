import { Command } from 'commander';

import { backfill } from '../../lambdas/export/export-runner';
import type { CliContext } from '../context';
import {
  exportDeps,
  loadExportJob,
  parseInstant,
  withExportTargetOptions,
  type ExportTargetOptions,
} from '../export-job';
import { colour, EXIT, withProgress } from '../io';

interface BackfillOptions extends ExportTargetOptions {
  readonly from: Date;
  readonly to: Date;
}

/** `tvm export backfill --job <name> --from <t> --to <t>`: re-export a range, replacing each window's object. */
export function exportBackfillCommand(ctx: CliContext): Command {
  return withExportTargetOptions(
    new Command('backfill')
      .description("re-export a job's windows in a time range, replacing each window's object atomically")
      .requiredOption('--from <time>', 'start of the range (2026-11-01 or 2026-11-01T06:00Z)', parseInstant)
      .requiredOption('--to <time>', 'end of the range, exclusive', parseInstant),
  )
    .addHelpText(
      'after',
      `
Every window overlapping [from, to) is fetched again with the job's query and pagination, streamed to a
new object that replaces the old one in one step, and its manifest rewritten. Scheduled runs are not
affected (their _state.json is left alone). Runs here, with your AWS credentials: your role must be a
consumer of the job's tenant and may write the job's prefix in the export bucket.`,
    )
    .action(async (options: BackfillOptions) => {
      const { io } = ctx;
      const c = colour(io);
      const job = loadExportJob(options.config, options.job);
      const deps = exportDeps(ctx, options);
      const results = await withProgress(io, `Backfilling ${job.name}`, () =>
        backfill(job, { from: options.from, to: options.to }, deps),
      );
      let records = 0;
      for (const result of results) {
        records += result.records ?? 0;
        io.stdout(
          `${c.green(result.outcome)} ${result.window.from} ${result.key} ${result.records ?? 0} records ${result.bytes ?? 0} bytes\n`,
        );
      }
      io.stdout(`${results.length} windows, ${records} records re-exported for ${job.name} (tenant ${job.tenant})\n`);
      // A window paused (the upstream asked to wait longer than a retry waits, or the time ran out): it and the
      // windows after it in the range were not re-exported. Say so, and fail, so a script does not take it as done.
      const paused = results.find((result) => result.outcome === 'paused');
      if (paused) {
        io.stderr(
          `${c.red('incomplete')}: the backfill stopped at the window from ${paused.window.from} (paused); it and the ` +
            `windows after it in the range were not re-exported. Run it again with --from ${paused.window.from}.\n`,
        );
        ctx.setExitCode(EXIT.failed);
      }
    });
}
