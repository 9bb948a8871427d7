import { CreateSecretCommand, PutSecretValueCommand, ResourceExistsException } from '@aws-sdk/client-secrets-manager';
import { Argument, Command } from 'commander';

import { TenantMisconfiguredError } from '../../lambdas/core/errors';
import { parseTenantConfig } from '../../lambdas/core/tenant-config';
import type { CliContext } from '../context';
import { colour, EXIT, withProgress } from '../io';
import { parseTenantId, prefixOption, regionOption, secretPrefix, tenantSecretFromFile } from '../options';

interface PutOptions {
  readonly file: string;
  readonly prefix?: string;
  readonly region?: string;
}

/** `tvm tenant put <tenant> --file F`: validate, then create the secret or add a version. */
export function tenantPutCommand(ctx: CliContext): Command {
  return new Command('put')
    .description('validate, then create or update the tenant secret in Secrets Manager')
    .addArgument(new Argument('<tenant>', 'tenant id').argParser(parseTenantId))
    .requiredOption('--file <file>', 'the tenant secret JSON (or a tenants file holding this tenant)')
    .addOption(prefixOption())
    .addOption(regionOption())
    .addHelpText(
      'after',
      '\nCreates <prefix>/<tenant>, or adds a new version if it exists. Prints the name and version only.',
    )
    .action(async (tenantId: string, options: PutOptions) => {
      const { io } = ctx;
      const c = colour(io);
      const text = JSON.stringify(tenantSecretFromFile(options.file, tenantId));
      try {
        parseTenantConfig(tenantId, text);
      } catch (error) {
        if (!(error instanceof TenantMisconfiguredError)) throw error;
        io.stderr(
          `${c.red('invalid')} ${tenantId}:\n${error.problems.map((p) => `  - ${p}\n`).join('')}Nothing was sent.\n`,
        );
        ctx.setExitCode(EXIT.invalid);
        return;
      }
      const name = `${secretPrefix(io, options.prefix)}/${tenantId}`;
      const client = ctx.deps.secretsManager({ region: options.region });
      const result = await withProgress(io, `Writing ${name}`, async () => {
        try {
          const created = await client.send(
            new CreateSecretCommand({
              Name: name,
              SecretString: text,
              Description: `token-vending-machine tenant ${tenantId}`,
            }),
          );
          return { action: 'created', versionId: created.VersionId };
        } catch (error) {
          if (!(error instanceof ResourceExistsException)) throw error;
          const updated = await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: text }));
          return { action: 'updated', versionId: updated.VersionId };
        }
      });
      io.stdout(`${c.green(result.action)} ${name} (version ${result.versionId ?? 'unknown'})\n`);
    });
}
