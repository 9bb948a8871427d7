// Which tenants exist: every secret named `<prefix>/<tenantId>`, found with `ListSecrets` (name filter, paginated),
// so adding a tenant is creating its secret, with no redeploy. `ListSecrets` cannot be scoped to a resource: the
// refresh role gets `secretsmanager:ListSecrets` on `*`, which lists names and metadata, never values.
import { paginateListSecrets, SecretsManagerClient, type SecretListEntry } from '@aws-sdk/client-secrets-manager';

import type { DiscoveredTenant, TenantDirectory } from '../core/refresher';
import { TENANT_ID_PATTERN } from '../core/tenant-config';
import { awsClientOptions } from './aws-client-options';

export interface SecretsManagerTenantDirectoryOptions {
  /** Secret names are `<prefix>/<tenantId>`. */
  readonly prefix: string;
  readonly client?: SecretsManagerClient;
}

/** What one listing found: the tenants, and secret names under the prefix that are not a tenant id (reported). */
export interface TenantListing {
  readonly tenants: readonly DiscoveredTenant[];
  readonly ignoredNames: readonly string[];
}

export class SecretsManagerTenantDirectory implements TenantDirectory {
  private readonly client: SecretsManagerClient;
  private readonly prefix: string;
  /** The last complete listing: used when Secrets Manager fails, so one outage does not stop the refresher. */
  private lastGood?: readonly DiscoveredTenant[];

  constructor(options: SecretsManagerTenantDirectoryOptions) {
    this.client = options.client ?? new SecretsManagerClient({ ...awsClientOptions('secretsManager') });
    this.prefix = `${options.prefix.replace(/\/$/, '')}/`;
  }

  async list(): Promise<readonly DiscoveredTenant[]> {
    try {
      this.lastGood = (await this.listing()).tenants;
    } catch (error) {
      if (!this.lastGood) throw error;
    }
    return this.lastGood;
  }

  /** Every page of `ListSecrets` under the prefix; secrets scheduled for deletion are left out. */
  async listing(): Promise<TenantListing> {
    const tenants: DiscoveredTenant[] = [];
    const ignoredNames: string[] = [];
    const pages = paginateListSecrets(
      { client: this.client, pageSize: 100 },
      { Filters: [{ Key: 'name', Values: [this.prefix] }], IncludePlannedDeletion: false },
    );
    for await (const page of pages) {
      for (const entry of page.SecretList ?? []) {
        if (entry.DeletedDate || !entry.Name?.startsWith(this.prefix)) continue;
        const tenantId = entry.Name.slice(this.prefix.length);
        if (!TENANT_ID_PATTERN.test(tenantId)) {
          ignoredNames.push(entry.Name);
          continue;
        }
        const version = currentVersion(entry);
        tenants.push(version ? { tenantId, version } : { tenantId });
      }
    }
    return { tenants, ignoredNames };
  }
}

/** The VersionId staged AWSCURRENT: what `GetSecretValue` returns, hence the tenant version the vendor sees. */
function currentVersion(entry: SecretListEntry): string | undefined {
  return Object.entries(entry.SecretVersionsToStages ?? {}).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
}
