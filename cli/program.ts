// The `tvm` command tree: every command is a module under ./commands, registered here.

import { Command } from 'commander';

import { credentialsCommand } from './commands/credentials';
import { exportCommand } from './commands/export';
import { serveCommand } from './commands/serve';
import { tenantCommand } from './commands/tenant';
import { tenantsCommand } from './commands/tenants';
import { tokenCommand } from './commands/token';
import type { CliContext } from './context';
import { packageVersion } from './version';

const EXIT_CODES_HELP = `
Exit codes: 0 success, 1 the operation failed, 2 usage error, 3 invalid tenant secret.
Colour and progress lines only on a terminal (NO_COLOR respected).`;

/** Settings commander does not pass on through addCommand(): output, exit override, help after errors. */
function configure(command: Command, ctx: CliContext): void {
  command
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({ writeOut: (text) => ctx.io.stdout(text), writeErr: (text) => ctx.io.stderr(text) });
  for (const sub of command.commands) configure(sub, ctx);
}

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('tvm')
    .description('token-vending-machine: vend upstream tokens, run the service locally, manage tenants')
    .version(packageVersion(), '-V, --version', 'print the version')
    .addCommand(serveCommand(ctx))
    .addCommand(tokenCommand(ctx))
    .addCommand(credentialsCommand(ctx))
    .addCommand(tenantCommand(ctx))
    .addCommand(tenantsCommand(ctx))
    .addCommand(exportCommand(ctx))
    .addHelpText('after', EXIT_CODES_HELP);
  configure(program, ctx);
  return program;
}
