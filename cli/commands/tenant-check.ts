import { Command } from 'commander';

import { TenantMisconfiguredError } from '../../lambdas/core/errors';
import { parseTenantConfig, TENANT_ID_PATTERN, type TenantConfig } from '../../lambdas/core/tenant-config';
import type { CliContext } from '../context';
import { colour, EXIT } from '../io';
import { readJson, tenantEntries } from '../options';

/** One line about a tenant's configuration: provider, where it signs in, headers and claims. Never a value. */
export function describeConfig(config: TenantConfig): string {
  const where =
    config.provider === 'cognito'
      ? `${config.region} ${config.userPoolId}${config.endpoint ? ` via ${config.endpoint}` : ''}`
      : config.provider === 'login-endpoint'
        ? config.baseUrl
        : config.tokenUrl;
  return `${config.provider} (${where}); headers: ${Object.keys(config.headers).join(', ') || 'none'}; claims: ${config.claims.join(', ') || 'none'}`;
}

/** `tvm tenant check <file>`: offline validation of a tenant secret or a tenants file. */
export function tenantCheckCommand(ctx: CliContext): Command {
  return new Command('check')
    .description('validate a tenant secret JSON (or a tenants file) offline')
    .argument('<file>', 'a tenant secret, or { "<tenant>": { ...secret } }')
    .addHelpText('after', '\nMakes no network call. Problems name the field, never the value.')
    .action((file: string) => {
      const { io } = ctx;
      const c = colour(io);
      const { single, entries } = tenantEntries(file, readJson(file));
      if (entries.length === 0) {
        io.stderr(`${c.red('invalid')} ${file}: expected a tenant secret or an object of tenant id -> secret\n`);
        ctx.setExitCode(EXIT.invalid);
        return;
      }
      let invalid = 0;
      for (const [tenantId, secret] of entries) {
        try {
          if (!single && !TENANT_ID_PATTERN.test(tenantId))
            throw new TenantMisconfiguredError(tenantId, ['tenant id must be lowercase letters, digits or hyphens']);
          const config = parseTenantConfig(tenantId, JSON.stringify(secret));
          io.stdout(`${c.green('ok')} ${tenantId}: ${describeConfig(config)}\n`);
        } catch (error) {
          invalid++;
          const problems = error instanceof TenantMisconfiguredError ? error.problems : [String(error)];
          io.stderr(`${c.red('invalid')} ${tenantId}:\n${problems.map((p) => `  - ${p}\n`).join('')}`);
        }
      }
      ctx.setExitCode(invalid > 0 ? EXIT.invalid : EXIT.ok);
    });
}
