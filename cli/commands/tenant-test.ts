import { Argument, Command } from 'commander';

import { SecretsManagerTenantStore } from '../../lambdas/adapters/secrets-manager-tenant-store';
import { selectClaims } from '../../lambdas/core/presenter';
import { parseTenantConfig, type TenantConfig } from '../../lambdas/core/tenant-config';
import type { CliContext } from '../context';
import { colour, withProgress } from '../io';
import { parseTenantId, prefixOption, regionOption, secretPrefix, tenantSecretFromFile } from '../options';
import { describeConfig } from './tenant-check';

interface TestOptions {
  readonly file?: string;
  readonly prefix?: string;
  readonly region?: string;
}

/** `tvm tenant test <tenant>`: one sign-in with the stored (or given) credentials. Never prints tokens. */
export function tenantTestCommand(ctx: CliContext): Command {
  return new Command('test')
    .description("sign in once with the tenant's credentials and report the result")
    .addArgument(new Argument('<tenant>', 'tenant id').argParser(parseTenantId))
    .option('--file <file>', 'use this secret (or tenants file) instead of Secrets Manager')
    .addOption(prefixOption())
    .addOption(regionOption())
    .addHelpText('after', '\nReports the provider, the selected claims and the expiry. Never prints tokens.')
    .action(async (tenantId: string, options: TestOptions) => {
      const { io } = ctx;
      const c = colour(io);
      let config: TenantConfig;
      if (options.file) {
        config = parseTenantConfig(tenantId, JSON.stringify(tenantSecretFromFile(options.file, tenantId)));
      } else {
        const client = ctx.deps.secretsManager({ region: options.region });
        const store = new SecretsManagerTenantStore({ prefix: secretPrefix(io, options.prefix), client });
        config = (await store.get(tenantId)).config;
      }
      const provider = ctx.deps.provider(config.provider);
      const session = await withProgress(io, `Signing in for ${tenantId}`, () => provider.signIn(tenantId, config));
      const lines = [
        `${c.green('ok')} ${tenantId}: signed in to ${describeConfig(config)}`,
        `  expires: ${new Date(session.expiresAt * 1000).toISOString()} (in ${session.expiresAt - Math.floor(Date.now() / 1000)} s)`,
        `  refresh token: ${session.refreshToken ? 'received' : 'none'}`,
        ...(session.identityId ? [`  identityId: ${session.identityId}`] : []),
        `  claims: ${JSON.stringify(selectClaims(session.claims, config.claims))}`,
      ];
      io.stdout(`${lines.join('\n')}\n`);
    });
}
