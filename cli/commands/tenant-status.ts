import { Argument, Command, Option } from 'commander';

import type { CliContext } from '../context';
import { colour, withProgress } from '../io';
import { parseTenantId, prefixOption, regionOption, secretPrefix } from '../options';
import { noSecretsOption, readSecret, tableOption, tenantStates } from '../tenant-sources';
import { duration, tenantState, type TenantState } from '../tenant-states';

interface StatusOptions {
  readonly prefix?: string;
  readonly region?: string;
  readonly table?: string;
  readonly secrets: boolean;
  readonly json?: boolean;
}

function describe(row: TenantState): string[] {
  const session = row.session;
  const lockout = row.lockout;
  return [
    `${row.tenantId}: ${row.state}${row.renewing ? ' (renewing now)' : ''}`,
    `  secret: ${row.secret}${row.provider ? `, provider ${row.provider}` : ''}${row.secretVersion ? `, version ${row.secretVersion}` : ''}`,
    session
      ? `  session: expires ${session.expiresAt} (${session.expiresIn > 0 ? `in ${duration(session.expiresIn)}` : `${duration(session.expiresIn)} ago`}), ` +
        `renewed ${session.renewedAt} (${duration(session.renewedAgo)} ago), secret version ${session.secretVersion}, ` +
        `refresh token ${session.refreshToken === undefined ? 'unknown' : session.refreshToken ? 'present' : 'none'}`
      : '  session: none in the shared cache',
    lockout
      ? `  recent failures: ${lockout.failures} (${lockout.reason}); ` +
        (lockout.active
          ? `password sign-in paused until ${lockout.retryAt} (in ${duration(lockout.retryIn)})`
          : lockout.clearedByNewVersion
            ? 'cleared by a new secret version'
            : `pause ended ${lockout.retryAt}`)
      : '  recent failures: none',
    ...(row.upstreamBusy
      ? [
          `  upstream busy: it asked to wait; no sign-in or refresh until ${row.upstreamBusy.until} (in ${duration(row.upstreamBusy.in)})`,
        ]
      : []),
  ];
}

/** `tvm tenant status <tenant>`: one tenant's state and its recent failures. */
export function tenantStatusCommand(ctx: CliContext): Command {
  return new Command('status')
    .description("show one tenant's state: secret, session, lockout and recent failures")
    .addArgument(new Argument('<tenant>', 'tenant id').argParser(parseTenantId))
    .addOption(prefixOption())
    .addOption(tableOption())
    .addOption(regionOption())
    .addOption(noSecretsOption())
    .addOption(new Option('--json', 'print JSON for scripts'))
    .action(async (tenantId: string, options: StatusOptions) => {
      const { io } = ctx;
      const c = colour(io);
      const prefix = secretPrefix(io, options.prefix);
      const states = tenantStates(ctx, { ...options, prefix });
      const client = ctx.deps.secretsManager({ region: options.region });
      const [secret, table] = await withProgress(io, `Reading ${tenantId}`, () =>
        Promise.all([
          options.secrets ? readSecret(client, prefix, tenantId) : Promise.resolve({ secret: 'not read' as const }),
          states?.get(tenantId),
        ]),
      );
      const row = tenantState(tenantId, secret, table, { nowMs: ctx.deps.clock.now() });
      if (options.json) io.stdout(`${JSON.stringify(row, null, 2)}\n`);
      else io.stdout(`${describe(row).join('\n')}\n`);
      if (!states) io.stderr(c.dim('note: no cache table (--table or TVM_CACHE_TABLE): session state unknown\n'));
    });
}
