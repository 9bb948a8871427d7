// Where `tvm tenants` and `tvm tenant status` read: tenant secrets (ListSecrets, then each secret for its
// provider and validity, values kept in memory only) and the shared cache table (readable attributes only).

import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Option } from 'commander';

import { ENV } from '../contract';
import { DynamoDbTenantStates } from '../lambdas/adapters/dynamodb-tenant-states';
import { SecretsManagerTenantDirectory } from '../lambdas/adapters/secrets-manager-tenant-directory';
import { SecretsManagerTenantStore } from '../lambdas/adapters/secrets-manager-tenant-store';
import { TenantMisconfiguredError, TenantNotFoundError } from '../lambdas/core/errors';
import type { CliContext } from './context';
import type { SecretInfo } from './tenant-states';

export interface SourceOptions {
  readonly prefix: string;
  readonly region?: string;
  readonly table?: string;
  /** Read each secret for its provider and validity (GetSecretValue). */
  readonly secrets: boolean;
}

export const tableOption = () =>
  new Option('--table <name>', `shared cache table (default: $${ENV.cacheTable}; none: secrets only)`);
export const noSecretsOption = () =>
  new Option('--no-secrets', 'do not read secret values (provider and validity are then not shown)');

export function tableName(ctx: CliContext, table: string | undefined): string | undefined {
  return table ?? ctx.io.env[ENV.cacheTable];
}

export function tenantStates(ctx: CliContext, options: SourceOptions): DynamoDbTenantStates | undefined {
  const table = tableName(ctx, options.table);
  return table
    ? new DynamoDbTenantStates({ tableName: table, client: ctx.deps.dynamodb({ region: options.region }) })
    : undefined;
}

/** Provider and validity of one tenant's secret; the value itself never leaves this function. */
export async function readSecret(
  client: SecretsManagerClient,
  prefix: string,
  tenantId: string,
  version?: string,
): Promise<SecretInfo> {
  try {
    const record = await new SecretsManagerTenantStore({ prefix, client }).get(tenantId);
    return { version: record.version, provider: record.config.provider, secret: 'ok' };
  } catch (error) {
    if (error instanceof TenantNotFoundError) return { secret: 'missing' };
    const secret = error instanceof TenantMisconfiguredError ? 'invalid' : 'unreadable';
    return { ...(version ? { version } : {}), secret };
  }
}

/** Every tenant secret under the prefix, each read (8 at a time) unless `secrets` is false. */
export async function listSecrets(
  ctx: CliContext,
  options: SourceOptions,
): Promise<{ readonly secrets: Map<string, SecretInfo>; readonly ignoredNames: readonly string[] }> {
  const client = ctx.deps.secretsManager({ region: options.region });
  const listing = await new SecretsManagerTenantDirectory({ prefix: options.prefix, client }).listing();
  const secrets = new Map<string, SecretInfo>();
  const queue = [...listing.tenants];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const { tenantId, version } = next;
      secrets.set(
        tenantId,
        options.secrets
          ? await readSecret(client, options.prefix, tenantId, version)
          : { ...(version ? { version } : {}), secret: 'not read' },
      );
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return { secrets, ignoredNames: listing.ignoredNames };
}
