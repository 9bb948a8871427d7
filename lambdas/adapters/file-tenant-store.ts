import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

import { TenantNotFoundError } from '../core/errors';
import type { TenantRecord, TenantStore } from '../core/ports';
import { parseTenantConfig, TENANT_ID_PATTERN } from '../core/tenant-config';

/** Raw tenant secrets keyed by tenant id, validated lazily so one bad tenant does not hide the others. */
export class StaticTenantStore implements TenantStore {
  private records = new Map<string, TenantRecord | Error>();
  private raw: Record<string, unknown> = {};

  constructor(secrets: Record<string, unknown> = {}) {
    this.replace(secrets);
  }

  replace(secrets: Record<string, unknown>): void {
    for (const tenantId of Object.keys(secrets)) {
      if (!TENANT_ID_PATTERN.test(tenantId)) {
        throw new Error(`Tenant id '${tenantId}' is not valid: use 1-64 lowercase letters, digits or hyphens.`);
      }
    }
    this.raw = { ...secrets };
    this.records = new Map();
  }

  tenantIds(): string[] {
    return Object.keys(this.raw);
  }

  async get(tenantId: string): Promise<TenantRecord> {
    let record = this.records.get(tenantId);
    if (!record) {
      if (!Object.hasOwn(this.raw, tenantId)) throw new TenantNotFoundError(tenantId);
      const text = JSON.stringify(this.raw[tenantId]);
      const version = createHash('sha256').update(text).digest('hex').slice(0, 16);
      try {
        record = { tenantId, version, config: parseTenantConfig(tenantId, text) };
      } catch (error) {
        record = error as Error;
      }
      this.records.set(tenantId, record);
    }
    if (record instanceof Error) throw record;
    return record;
  }

  invalidate(_tenantId: string): void {
    // Nothing cached beyond the parsed form of the secrets held here.
  }
}

/**
 * Tenant secrets from a local JSON file (`TVM_TENANTS_FILE`): `{ "<tenantId>": { ...secret } }`.
 * The file is read again when it changes, so edits take effect without a restart.
 */
export class FileTenantStore implements TenantStore {
  private readonly inner = new StaticTenantStore();
  private loadedMtimeMs = -1;
  private checkedAt = 0;

  constructor(
    private readonly path: string,
    private readonly clock: { now(): number } = Date,
  ) {
    this.reloadIfChanged(true);
  }

  tenantIds(): string[] {
    return this.inner.tenantIds();
  }

  async get(tenantId: string): Promise<TenantRecord> {
    this.reloadIfChanged(false);
    return this.inner.get(tenantId);
  }

  invalidate(_tenantId: string): void {
    this.checkedAt = 0;
  }

  private reloadIfChanged(force: boolean): void {
    const now = this.clock.now();
    if (!force && now - this.checkedAt < 1000) return;
    this.checkedAt = now;
    const mtimeMs = statSync(this.path).mtimeMs;
    if (!force && mtimeMs === this.loadedMtimeMs) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (error) {
      throw new Error(`Tenants file ${this.path} is not valid JSON: ${(error as Error).message.replace(/".*"/, '')}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error(`Tenants file ${this.path} must hold an object of tenant id -> secret.`);
    }
    this.inner.replace(parsed as Record<string, unknown>);
    this.loadedMtimeMs = mtimeMs;
  }
}
