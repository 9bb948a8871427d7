import { Command } from 'commander';

import type { CliContext } from '../context';
import { tenantCheckCommand } from './tenant-check';
import { tenantPutCommand } from './tenant-put';
import { tenantStatusCommand } from './tenant-status';
import { tenantTestCommand } from './tenant-test';

/** `tvm tenant <subcommand>`: one tenant's secret. Without a subcommand: help, exit 2. */
export function tenantCommand(ctx: CliContext): Command {
  return new Command('tenant')
    .description('check, store and test tenant secrets; show the state of a tenant')
    .addCommand(tenantCheckCommand(ctx))
    .addCommand(tenantPutCommand(ctx))
    .addCommand(tenantTestCommand(ctx))
    .addCommand(tenantStatusCommand(ctx));
}
