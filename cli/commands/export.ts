import { Command } from 'commander';

import type { CliContext } from '../context';
import { exportBackfillCommand } from './export-backfill';
import { exportRunCommand } from './export-run';

/** `tvm export <subcommand>`: analytics export jobs. Without a subcommand: help, exit 2. */
export function exportCommand(ctx: CliContext): Command {
  return new Command('export')
    .description('run and backfill analytics export jobs')
    .addCommand(exportRunCommand(ctx))
    .addCommand(exportBackfillCommand(ctx));
}
