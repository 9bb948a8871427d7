import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

import { TenantMisconfiguredError, TenantNotFoundError, UpstreamUnavailableError } from '../core/errors';
import type { TenantRecord, TenantStore } from '../core/ports';
import { parseTenantConfig } from '../core/tenant-config';
import { awsClientOptions } from './aws-client-options';

export interface SecretsManagerTenantStoreOptions {
  /** Secret names are `<prefix>/<tenantId>`. */
  readonly prefix: string;
  /** How long a secret is reused before it is read again (and a new version noticed). @default 300 */
  readonly ttlSeconds?: number;
  /** How long a missing or malformed secret is remembered, to spare Secrets Manager from retries. @default 30 */
  readonly negativeTtlSeconds?: number;
  readonly client?: SecretsManagerClient;
  readonly clock?: { now(): number };
}

/** What an operator checks when the functions may not read or decrypt a tenant's secret. */
const ACCESS_PROBLEMS = {
  AccessDeniedException:
    "the functions may not read its secret (AccessDeniedException): check the secret's resource policy and its KMS key policy",
  DecryptionFailure:
    "its secret cannot be decrypted (DecryptionFailure): the functions need kms:Decrypt on the secret's KMS key",
} as const;

interface Entry {
  readonly expiresAt: number;
  readonly record?: TenantRecord;
  readonly error?: Error;
}

/**
 * Tenant credentials from Secrets Manager, cached per container. The secret's
 * VersionId is the tenant version, so a rotation is noticed within one TTL.
 * Concurrent reads of one tenant share a single GetSecretValue call; when
 * Secrets Manager fails, the last good copy keeps being used.
 */
export class SecretsManagerTenantStore implements TenantStore {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<TenantRecord>>();
  private readonly client: SecretsManagerClient;
  private readonly clock: { now(): number };
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;

  constructor(private readonly options: SecretsManagerTenantStoreOptions) {
    this.client = options.client ?? new SecretsManagerClient({ ...awsClientOptions('secretsManager') });
    this.clock = options.clock ?? Date;
    this.ttlMs = (options.ttlSeconds ?? 300) * 1000;
    this.negativeTtlMs = Math.min(this.ttlMs, (options.negativeTtlSeconds ?? 30) * 1000);
  }

  secretName(tenantId: string): string {
    return `${this.options.prefix.replace(/\/$/, '')}/${tenantId}`;
  }

  async get(tenantId: string): Promise<TenantRecord> {
    const entry = this.entries.get(tenantId);
    if (entry && entry.expiresAt > this.clock.now()) {
      if (entry.error) throw entry.error;
      if (entry.record) return entry.record;
    }
    let pending = this.loading.get(tenantId);
    if (!pending) {
      pending = this.load(tenantId, entry?.record).finally(() => this.loading.delete(tenantId));
      this.loading.set(tenantId, pending);
    }
    return pending;
  }

  answersFromMemory(tenantId: string): boolean {
    const entry = this.entries.get(tenantId);
    return entry !== undefined && entry.expiresAt > this.clock.now();
  }

  invalidate(tenantId: string): void {
    const entry = this.entries.get(tenantId);
    // Keep the last good record as a fallback, but make the next get read again.
    if (entry) this.entries.set(tenantId, { ...entry, expiresAt: 0 });
  }

  private async load(tenantId: string, lastGood: TenantRecord | undefined): Promise<TenantRecord> {
    let output;
    try {
      output = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretName(tenantId) }));
    } catch (error) {
      const name = (error as { name?: string }).name;
      // A deleted secret (ResourceNotFoundException) or one scheduled for deletion (InvalidRequestException: the only
      // cause GetSecretValue documents for it) means the tenant is gone: forget the last good copy and answer 404.
      if (name === 'ResourceNotFoundException' || name === 'InvalidRequestException') {
        return this.remember(tenantId, new TenantNotFoundError(tenantId));
      }
      if (lastGood) return this.rememberRecord(lastGood, this.negativeTtlMs);
      // Not an outage: an operator must grant access (the secret's resource policy, its KMS key's policy). Answered
      // as the tenant's misconfiguration, and remembered like one, so every request does not ask again.
      if (name === 'AccessDeniedException' || name === 'DecryptionFailure') {
        return this.remember(tenantId, new TenantMisconfiguredError(tenantId, [ACCESS_PROBLEMS[name]]));
      }
      // The SDK error names the service's answer, never the secret: keep it as the cause for the logs.
      throw new UpstreamUnavailableError(
        `Secrets Manager could not be read for tenant '${tenantId}' (${name ?? 'error'}).`,
        undefined,
        { cause: error },
      );
    }
    if (output.SecretString === undefined) {
      return this.remember(
        tenantId,
        new TenantMisconfiguredError(tenantId, ['secret must be a JSON string, not binary']),
      );
    }
    let record: TenantRecord;
    try {
      record = {
        tenantId,
        version: output.VersionId ?? 'unversioned',
        config: parseTenantConfig(tenantId, output.SecretString),
      };
    } catch (error) {
      return this.remember(tenantId, error as Error);
    }
    return this.rememberRecord(record, this.ttlMs);
  }

  private rememberRecord(record: TenantRecord, ttlMs: number): TenantRecord {
    this.entries.set(record.tenantId, { record, expiresAt: this.clock.now() + ttlMs });
    return record;
  }

  private remember(tenantId: string, error: Error): never {
    this.entries.set(tenantId, { error, expiresAt: this.clock.now() + this.negativeTtlMs });
    throw error;
  }
}
