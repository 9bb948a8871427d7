import { toErrorResponse } from './errors';
import type { Clock } from './ports';
import type { TokenVendor } from './vendor';

/** A tenant found by a {@link TenantDirectory}; `version` is its current secret version when the directory knows it. */
export interface DiscoveredTenant {
  readonly tenantId: string;
  readonly version?: string;
}

/** Which tenants exist now (Secrets Manager in Lambda: secrets under the prefix; a file or fixed list locally). */
export interface TenantDirectory {
  list(): Promise<readonly DiscoveredTenant[]>;
}

/** A directory over a fixed list of tenant ids. */
export function staticDirectory(tenantIds: readonly string[]): TenantDirectory {
  return { list: async () => tenantIds.map((tenantId) => ({ tenantId })) };
}

/** The readable part of a shared-cache session: enough to decide whether it is due, without opening it. */
export interface SessionSchedule {
  readonly secretVersion: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
  /** Epoch seconds. */
  readonly issuedAt: number;
}

/** Reads many sessions' schedules at once (DynamoDB `BatchGetItem` in Lambda). */
export interface SessionScheduleSource {
  schedules(tenantIds: readonly string[]): Promise<ReadonlyMap<string, SessionSchedule>>;
}

/** Where the refresher finds its tenants and, with the shared cache, their sessions' schedules. */
export interface RefreshSources {
  readonly directory: TenantDirectory;
  readonly schedules?: SessionScheduleSource;
}

export type RefreshOutcome =
  | { readonly tenantId: string; readonly outcome: 'fresh' | 'renewed' }
  | { readonly tenantId: string; readonly outcome: 'failed'; readonly code: string; readonly message: string }
  /** Due, but the run's time ran out first: the next run starts with it (most urgent first). */
  | { readonly tenantId: string; readonly outcome: 'skipped' };

export interface RefreshOptions {
  /** Renew once a session has used this share of its lifetime. @default 0.75 */
  readonly renewAtFraction?: number;
  /** Tenants refreshed at the same time. @default 4 */
  readonly concurrency?: number;
  /**
   * Milliseconds left in this run (Lambda's `getRemainingTimeInMillis`). No tenant is started with less than
   * `reserveMs` left; the rest are reported `skipped`. @default unlimited
   */
  readonly remainingMs?: () => number;
  /** Time kept free for a tenant already started and for the summary. @default 20000 */
  readonly reserveMs?: number;
  /**
   * Schedules of the shared cache's sessions: tenants whose session is current and not yet due are reported
   * `fresh` without any call, and the due ones are ordered most urgent first. Without it every tenant is asked.
   */
  readonly schedules?: SessionScheduleSource;
  /** Needed with `schedules`. */
  readonly clock?: Clock;
}

interface Candidate {
  readonly index: number;
  readonly tenantId: string;
  /** Lower is more urgent. */
  readonly urgency: number;
}

/**
 * One refresher run: renew every due tenant with bounded concurrency, most urgent first, stop starting new ones
 * before the run's time is up, and never let one tenant's failure stop the others. Results keep the input order.
 *
 * Urgency: a session still served but about to expire comes first (by expiry), since callers hit it now; then
 * tenants with no usable session (none yet, expired, or from an older secret version), whose callers renew on
 * demand anyway.
 */
export async function refreshTenants(
  vendor: TokenVendor,
  tenants: readonly (string | DiscoveredTenant)[],
  options: RefreshOptions = {},
): Promise<RefreshOutcome[]> {
  const fraction = options.renewAtFraction ?? 0.75;
  const listed = tenants.map((t) => (typeof t === 'string' ? { tenantId: t } : t));
  const results: RefreshOutcome[] = new Array(listed.length);
  const candidates = await plan(listed, fraction, options, results);

  const remaining = options.remainingMs ?? (() => Number.POSITIVE_INFINITY);
  const reserve = options.reserveMs ?? 20_000;
  let next = 0;
  const worker = async () => {
    while (next < candidates.length) {
      const { index, tenantId } = candidates[next++] as Candidate;
      if (remaining() < reserve) {
        results[index] = { tenantId, outcome: 'skipped' };
        continue;
      }
      try {
        results[index] = { tenantId, outcome: await vendor.refreshIfDue(tenantId, fraction) };
      } catch (error) {
        const mapped = toErrorResponse(error);
        results[index] = { tenantId, outcome: 'failed', code: mapped.code, message: mapped.message };
      }
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? 4, candidates.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}

/** Marks the tenants known to be fresh, and returns the others most urgent first. */
async function plan(
  listed: readonly DiscoveredTenant[],
  fraction: number,
  options: RefreshOptions,
  results: RefreshOutcome[],
): Promise<Candidate[]> {
  let schedules: ReadonlyMap<string, SessionSchedule> = new Map();
  if (options.schedules && options.clock) {
    try {
      schedules = await options.schedules.schedules(listed.map((t) => t.tenantId));
    } catch {
      // Without schedules every tenant is asked, in listing order: slower, still correct.
    }
  }
  const nowSeconds = (options.clock?.now() ?? 0) / 1000;
  const candidates: Candidate[] = [];
  listed.forEach(({ tenantId, version }, index) => {
    const schedule = schedules.get(tenantId);
    if (!schedule) {
      candidates.push({ index, tenantId, urgency: schedules.size > 0 ? Number.MAX_SAFE_INTEGER : index });
      return;
    }
    const current = version === undefined || schedule.secretVersion === version;
    const dueAt = schedule.issuedAt + (schedule.expiresAt - schedule.issuedAt) * fraction;
    const served = current && schedule.expiresAt > nowSeconds;
    // Only a session known to be of the current secret version and not yet due is skipped without asking.
    if (version !== undefined && current && nowSeconds < dueAt) {
      results[index] = { tenantId, outcome: 'fresh' };
      return;
    }
    candidates.push({ index, tenantId, urgency: served ? schedule.expiresAt : Number.MAX_SAFE_INTEGER });
  });
  // Stable: equal urgency keeps listing order.
  return candidates.sort((a, b) => a.urgency - b.urgency || a.index - b.index);
}
