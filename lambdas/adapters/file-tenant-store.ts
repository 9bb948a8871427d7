import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

import { TenantNotFoundError } from '../core/errors';
import type { TenantRecord, TenantStore } from '../core/ports';
import { parseTenantConfig, TENANT_ID_PATTERN } from '../core/tenant-config';

// Tenant stores that hold the secrets themselves: StaticTenantStore (a map, for local mode and tests) and
// FileTenantStore (the local tenants file, `TVM_TENANTS_FILE`).

/** A tenants file (or map) that cannot be used as a whole: not JSON, not an object, a bad tenant id, unreadable. */
export class TenantsFileError extends Error {
  override readonly name = 'TenantsFileError';
}

/** Raw tenant secrets keyed by tenant id, validated lazily so one bad tenant does not hide the others. */
export class StaticTenantStore implements TenantStore {
  private records = new Map<string, TenantRecord | Error>();
  private raw: Record<string, unknown> = Object.create(null) as Record<string, unknown>;

  constructor(secrets: Record<string, unknown> = {}) {
    this.replace(secrets);
  }

  replace(secrets: Record<string, unknown>): void {
    for (const tenantId of Object.keys(secrets)) {
      if (!TENANT_ID_PATTERN.test(tenantId)) {
        throw new TenantsFileError(
          `Tenant id '${tenantId.slice(0, 80)}' is not valid: use 1-64 lowercase letters, digits or hyphens.`,
        );
      }
    }
    this.raw = Object.assign(Object.create(null) as Record<string, unknown>, secrets);
    this.records = new Map();
  }

  tenantIds(): string[] {
    return Object.keys(this.raw);
  }

  /** Every tenant whose secret is invalid, with the problem (names tenant and fields, never a value). */
  problems(): { tenantId: string; message: string }[] {
    return this.tenantIds().flatMap((tenantId) => {
      const record = this.record(tenantId);
      return record instanceof Error ? [{ tenantId, message: record.message }] : [];
    });
  }

  async get(tenantId: string): Promise<TenantRecord> {
    if (!Object.hasOwn(this.raw, tenantId)) throw new TenantNotFoundError(tenantId);
    const record = this.record(tenantId);
    if (record instanceof Error) throw record;
    return record;
  }

  invalidate(_tenantId: string): void {
    // Nothing cached beyond the parsed form of the secrets held here.
  }

  answersFromMemory(_tenantId: string): boolean {
    return true;
  }

  private record(tenantId: string): TenantRecord | Error {
    let record = this.records.get(tenantId);
    if (!record) {
      const text = JSON.stringify(this.raw[tenantId]);
      const version = createHash('sha256').update(text).digest('hex').slice(0, 16);
      try {
        record = { tenantId, version, config: parseTenantConfig(tenantId, text) };
      } catch (error) {
        record = error as Error;
      }
      this.records.set(tenantId, record);
    }
    return record;
  }
}

export interface FileTenantStoreOptions {
  /** Time source for the re-read interval. @default Date */
  readonly clock?: { now(): number };
  /**
   * Told once per distinct problem met while serving: the file became unreadable or invalid (the last good copy
   * stays in use until it is valid again), or a reloaded file has a tenant with an invalid secret. @default ignore
   */
  readonly warn?: (message: string) => void;
  /** Least time between two looks at the file's modification time. @default 1000 */
  readonly checkIntervalMs?: number;
}

/**
 * Tenant secrets from a local JSON file (`TVM_TENANTS_FILE`): `{ "<tenantId>": { ...secret } }`.
 * The file is read again when it changes, so edits take effect without a restart. One behaviour for every request:
 * if the file disappears or stops being valid while serving, the last good copy keeps serving and `warn` is told
 * once; the first valid version after that is used again. A file that cannot be used at start is an error.
 */

/** The file is missing or cannot be read: an error naming it and the system's code. */
function unreadable(path: string, error: unknown): TenantsFileError {
  const code = (error as NodeJS.ErrnoException).code;
  return new TenantsFileError(
    code === 'ENOENT' ? `Tenants file ${path} does not exist.` : `Tenants file ${path} cannot be read (${code}).`,
    { cause: error },
  );
}

export class FileTenantStore implements TenantStore {
  private readonly inner = new StaticTenantStore();
  private readonly clock: { now(): number };
  private readonly warn: (message: string) => void;
  private readonly checkIntervalMs: number;
  private loadedMtimeMs = -1;
  private checkedAt = 0;
  private lastProblem: string | undefined;

  constructor(
    private readonly path: string,
    clockOrOptions: { now(): number } | FileTenantStoreOptions = {},
  ) {
    const options: FileTenantStoreOptions =
      'now' in clockOrOptions && typeof clockOrOptions.now === 'function'
        ? { clock: clockOrOptions as { now(): number } }
        : (clockOrOptions as FileTenantStoreOptions);
    this.clock = options.clock ?? Date;
    this.warn = options.warn ?? (() => undefined);
    this.checkIntervalMs = options.checkIntervalMs ?? 1000;
    this.checkedAt = this.clock.now();
    this.load(this.read());
  }

  tenantIds(): string[] {
    return this.inner.tenantIds();
  }

  /** Tenants of the current copy whose secrets are invalid (report them at start, not on first use). */
  problems(): { tenantId: string; message: string }[] {
    return this.inner.problems();
  }

  async get(tenantId: string): Promise<TenantRecord> {
    this.reloadIfChanged();
    return this.inner.get(tenantId);
  }

  invalidate(_tenantId: string): void {
    this.checkedAt = 0;
  }

  /** The file is read synchronously, when it changed: `get` never waits for a call. */
  answersFromMemory(tenantId: string): boolean {
    return this.inner.answersFromMemory(tenantId);
  }

  private reloadIfChanged(): void {
    const now = this.clock.now();
    if (now - this.checkedAt < this.checkIntervalMs) return;
    this.checkedAt = now;
    let content: { mtimeMs: number; secrets: Record<string, unknown> };
    try {
      if (this.mtimeMs() === this.loadedMtimeMs) return;
      content = this.read();
      const before = new Set(this.inner.problems().map((p) => p.message));
      this.load(content);
      this.lastProblem = undefined;
      for (const problem of this.inner.problems()) {
        if (!before.has(problem.message)) this.warn(`Tenants file ${this.path}: ${problem.message}`);
      }
    } catch (error) {
      const message = `${(error as Error).message} Serving the last good copy (${this.inner.tenantIds().length} tenants) until it is fixed.`;
      if (message !== this.lastProblem) this.warn(message);
      this.lastProblem = message;
    }
  }

  private mtimeMs(): number {
    try {
      return statSync(this.path).mtimeMs;
    } catch (error) {
      throw unreadable(this.path, error);
    }
  }

  /** Read and check the whole file; throws TenantsFileError naming the file, never quoting its content. */
  private read(): { mtimeMs: number; secrets: Record<string, unknown> } {
    const mtimeMs = this.mtimeMs();
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      throw unreadable(this.path, error);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      // JSON.parse may quote the text around the error, which could be a password: drop quoted parts.
      throw new TenantsFileError(
        `Tenants file ${this.path} is not valid JSON: ${(error as Error).message.replace(/".*"/, '').trim()}.`,
      );
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new TenantsFileError(`Tenants file ${this.path} must hold an object of tenant id -> secret.`);
    }
    return { mtimeMs, secrets: parsed as Record<string, unknown> };
  }

  private load(content: { mtimeMs: number; secrets: Record<string, unknown> }): void {
    try {
      this.inner.replace(content.secrets);
    } catch (error) {
      throw new TenantsFileError(`Tenants file ${this.path}: ${(error as Error).message}`);
    }
    this.loadedMtimeMs = content.mtimeMs;
  }
}
