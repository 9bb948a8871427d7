import { renewalDueAt } from './cache-policy';
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
  /**
   * The same for the identity-pool AWS credentials the fleet holds (their shared-cache items): only tenants that
   * have some, that is whose callers have asked for AWS credentials, are kept warm.
   */
  credentialsSchedules?(tenantIds: readonly string[]): Promise<ReadonlyMap<string, SessionSchedule>>;
}

/** Renews a tenant's identity-pool AWS credentials when due (`CredentialsVendor`); `none`: it has no pool. */
export interface CredentialsRefresher {
  refreshIfDue(tenantId: string, renewAtFraction: number): Promise<'fresh' | 'renewed' | 'none'>;
}

/** Where the refresher finds its tenants and, with the shared cache, their sessions' schedules. */
export interface RefreshSources {
  readonly directory: TenantDirectory;
  readonly schedules?: SessionScheduleSource;
}

export type RefreshOutcome =
  | {
      readonly tenantId: string;
      /** The user pool session (tokens). */
      readonly outcome: 'fresh' | 'renewed';
      /**
       * The identity-pool AWS credentials, when the fleet holds some for the tenant and they were due; `skipped` when
       * the run's time ran out after the tokens (done first next run).
       */
      readonly awsCredentials?: 'fresh' | 'renewed' | 'skipped';
    }
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
  /**
   * Keeps the identity-pool AWS credentials warm too: with `schedules` that read them, the tenants whose
   * credentials in the shared cache are due (or of an older secret version) are renewed after their tokens.
   */
  readonly credentials?: CredentialsRefresher;
}

interface Candidate {
  readonly index: number;
  readonly tenantId: string;
  /** Lower is more urgent. */
  readonly urgency: number;
  /** The user pool session may be due: ask the vendor. */
  readonly tokens: boolean;
  /** The AWS credentials in the shared cache may be due: ask the credentials refresher. */
  readonly credentials: boolean;
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
      const candidate = candidates[next++] as Candidate;
      const { index, tenantId } = candidate;
      if (remaining() < reserve) {
        results[index] = { tenantId, outcome: 'skipped' };
        continue;
      }
      let part = 'tokens';
      try {
        const outcome = candidate.tokens ? await vendor.refreshIfDue(tenantId, fraction) : 'fresh';
        part = 'AWS credentials';
        // The tokens may have taken a whole budget: the credentials start only with the reserve still left.
        const credentials =
          candidate.credentials && options.credentials
            ? remaining() < reserve
              ? 'skipped'
              : await options.credentials.refreshIfDue(tenantId, fraction)
            : 'none';
        results[index] = { tenantId, outcome, ...(credentials === 'none' ? {} : { awsCredentials: credentials }) };
      } catch (error) {
        const mapped = toErrorResponse(error);
        const message = part === 'tokens' ? mapped.message : `${part}: ${mapped.message}`;
        results[index] = { tenantId, outcome: 'failed', code: mapped.code, message };
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
  const ids = listed.map((t) => t.tenantId);
  // Without schedules every tenant is asked, in listing order: slower, still correct.
  const read = async (
    source: () => Promise<ReadonlyMap<string, SessionSchedule>> | undefined,
  ): Promise<ReadonlyMap<string, SessionSchedule>> => {
    if (!options.clock) return new Map();
    try {
      return (await source()) ?? new Map();
    } catch {
      return new Map();
    }
  };
  const schedules = await read(() => options.schedules?.schedules(ids));
  // Credentials are kept warm only where the shared cache shows some: no schedules, no identity pool calls.
  const credentialsSchedules = options.credentials
    ? await read(() => options.schedules?.credentialsSchedules?.(ids))
    : new Map<string, SessionSchedule>();
  const nowSeconds = (options.clock?.now() ?? 0) / 1000;
  const current = (schedule: SessionSchedule, version: string | undefined) =>
    version === undefined || schedule.secretVersion === version;
  // Only a schedule known to be of the current secret version and not yet due is skipped without asking.
  const notDue = (schedule: SessionSchedule | undefined, version: string | undefined) =>
    schedule !== undefined &&
    version !== undefined &&
    current(schedule, version) &&
    nowSeconds < renewalDueAt(schedule, fraction);
  const candidates: Candidate[] = [];
  listed.forEach(({ tenantId, version }, index) => {
    const schedule = schedules.get(tenantId);
    const credentials = credentialsSchedules.get(tenantId);
    const tokens = !notDue(schedule, version);
    const credentialsDue = credentials !== undefined && !notDue(credentials, version);
    if (!tokens && !credentialsDue) {
      results[index] = { tenantId, outcome: 'fresh' };
      return;
    }
    // A session still served but about to expire first (by expiry), then the rest in listing order.
    const servedUntil = (item: SessionSchedule | undefined) =>
      item && current(item, version) && item.expiresAt > nowSeconds ? item.expiresAt : Number.MAX_SAFE_INTEGER;
    const urgency = Math.min(
      tokens ? (schedule ? servedUntil(schedule) : schedules.size > 0 ? Number.MAX_SAFE_INTEGER : index) : Infinity,
      credentialsDue ? servedUntil(credentials) : Infinity,
    );
    candidates.push({ index, tenantId, urgency, tokens, credentials: credentialsDue });
  });
  // Stable: equal urgency keeps listing order.
  return candidates.sort((a, b) => a.urgency - b.urgency || a.index - b.index);
}
