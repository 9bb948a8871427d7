import {
  CreateSecretCommand,
  PutResourcePolicyCommand,
  PutSecretValueCommand,
  ResourceExistsException,
} from '@aws-sdk/client-secrets-manager';
import { Argument, Command, Option } from 'commander';

import { ENV } from '../../contract';
import { tenantSecretPolicy, TenantSecretPolicyError } from '../../lambdas/adapters/tenant-secret-policy';
import { TenantMisconfiguredError } from '../../lambdas/core/errors';
import { parseTenantConfig } from '../../lambdas/core/tenant-config';
import type { CliContext } from '../context';
import { UsageError } from '../errors';
import { colour, EXIT, withProgress } from '../io';
import { parseTenantId, prefixOption, regionOption, secretPrefix, tenantSecretFromFile } from '../options';

interface PutOptions {
  readonly file: string;
  readonly prefix?: string;
  readonly region?: string;
  readonly readerRole?: string[];
  /** False with --no-resource-policy. */
  readonly resourcePolicy: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The roles that may read the secret: --reader-role, else $TVM_SECRET_READER_ROLES (comma-separated). */
function readerRoles(ctx: CliContext, options: PutOptions): string[] {
  const fromEnv = (ctx.io.env[ENV.secretReaderRoles] ?? '')
    .split(',')
    .map((arn) => arn.trim())
    .filter(Boolean);
  return options.readerRole ?? fromEnv;
}

/** `tvm tenant put <tenant> --file F`: validate, then create the secret or add a version. */
export function tenantPutCommand(ctx: CliContext): Command {
  return new Command('put')
    .description('validate, then create or update the tenant secret in Secrets Manager')
    .addArgument(new Argument('<tenant>', 'tenant id').argParser(parseTenantId))
    .requiredOption('--file <file>', 'the tenant secret JSON (or a tenants file holding this tenant)')
    .addOption(
      new Option(
        '--reader-role <arn>',
        `a role that may read the secret (repeat; the stack's VendRoleArn and RefreshRoleArn outputs; default: $${ENV.secretReaderRoles})`,
      ).argParser(collect),
    )
    .option('--no-resource-policy', 'leave the secret without a resource policy (any role with IAM access can read it)')
    .addOption(prefixOption())
    .addOption(regionOption())
    .addHelpText(
      'after',
      '\nCreates <prefix>/<tenant>, or adds a new version if it exists, then attaches a resource policy that denies\n' +
        'reading the value to every principal but the reader roles (operators keep managing the secret).\n' +
        'Prints the name and version only.',
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
      let policy: string | undefined;
      if (options.resourcePolicy) {
        const readers = readerRoles(ctx, options);
        if (readers.length === 0)
          throw new UsageError(
            `Pass --reader-role for the stack's VendRoleArn and RefreshRoleArn outputs (or set ${ENV.secretReaderRoles}), or --no-resource-policy.`,
          );
        try {
          policy = JSON.stringify(tenantSecretPolicy(readers));
        } catch (error) {
          if (error instanceof TenantSecretPolicyError) throw new UsageError(error.message);
          throw error;
        }
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
      if (policy) {
        await withProgress(io, `Attaching the resource policy to ${name}`, () =>
          client.send(
            new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: policy, BlockPublicPolicy: true }),
          ),
        );
        io.stdout(`${c.green('restricted')} ${name}: only the reader roles may read its value\n`);
      }
    });
}
