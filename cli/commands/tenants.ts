import { Command, Option } from 'commander';

import type { TableTenantState } from '../../lambdas/adapters/dynamodb-tenant-states';
import type { CliContext } from '../context';
import { colour, withProgress } from '../io';
import { integerIn, prefixOption, regionOption, secretPrefix } from '../options';
import { listSecrets, noSecretsOption, tableOption, tenantStates } from '../tenant-sources';
import { formatTable, TABLE_HEADER, tableRow, tenantState, type TenantState } from '../tenant-states';

interface TenantsOptions {
  readonly prefix?: string;
  readonly region?: string;
  readonly table?: string;
  readonly secrets: boolean;
  readonly json?: boolean;
  readonly maxItems: number;
}

/** `tvm tenants`: every tenant's state, from Secrets Manager and the shared cache table. */
export function tenantsCommand(ctx: CliContext): Command {
  return new Command('tenants')
    .description('show every tenant: provider, secret version, session expiry, last renewal, lockout, refresh token')
    .addOption(prefixOption())
    .addOption(tableOption())
    .addOption(regionOption())
    .addOption(noSecretsOption())
    .addOption(new Option('--json', 'print JSON (an array of tenants) for scripts'))
    .addOption(
      new Option('--max-items <n>', 'read at most this many table items')
        .argParser(integerIn(1, 1_000_000))
        .default(30_000),
    )
    .addHelpText(
      'after',
      `
Tenants are the secrets named <prefix>/<tenant> (ListSecrets) and the tenants with items in the cache table.
States: fresh, near expiry (due for renewal), expired, no session, locked out, secret rotated, no secret.
Never prints a token, a refresh token or a secret value: only their presence, versions and times.`,
    )
    .action(async (options: TenantsOptions) => {
      const { io } = ctx;
      const c = colour(io);
      const source = { ...options, prefix: secretPrefix(io, options.prefix) };
      const states = tenantStates(ctx, source);
      const [{ secrets, ignoredNames }, scan] = await withProgress(io, 'Reading tenants', () =>
        Promise.all([listSecrets(ctx, source), states?.scan()]),
      );
      const nowMs = ctx.deps.clock.now();
      const ids = [...new Set([...secrets.keys(), ...(scan?.tenants.keys() ?? [])])].sort();
      const rows: TenantState[] = ids.map((id) =>
        tenantState(id, secrets.get(id) ?? { secret: 'missing' }, scan?.tenants.get(id) as TableTenantState, {
          nowMs,
        }),
      );
      if (options.json) {
        io.stdout(`${JSON.stringify(rows, null, 2)}\n`);
      } else {
        io.stdout(`${formatTable(TABLE_HEADER, rows.map(tableRow))}\n`);
      }
      if (!states) io.stderr(c.dim('note: no cache table (--table or TVM_CACHE_TABLE): session columns are empty\n'));
      if (scan?.truncated) io.stderr(c.yellow(`note: stopped after ${options.maxItems} table items (--max-items)\n`));
      for (const name of ignoredNames) io.stderr(c.dim(`note: ${name} is not a valid tenant id, ignored\n`));
    });
}
