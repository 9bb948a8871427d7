// What `tvm tenants` and `tvm tenant status` show: each tenant's secret (Secrets Manager) joined with its items
// in the shared cache table, reduced to one state. Holds no token, refresh token or secret value: only presence,
// versions and times.

import type { TableTenantState } from '../lambdas/adapters/dynamodb-tenant-states';
import { BUSY_MARK } from '../lambdas/core/lockout-guard';

/** One tenant's row. Times are ISO 8601; `*In` fields are seconds from now (negative: in the past). */
export interface TenantState {
  readonly tenantId: string;
  /** `fresh`, `near expiry` (due for renewal), `expired`, `no session`, `locked out`, `secret rotated`, `no secret`. */
  readonly state: TenantStateName;
  readonly provider?: string;
  /** The secret's current version (AWSCURRENT); undefined when no secret exists. */
  readonly secretVersion?: string;
  /** `ok`, `invalid` (fails validation), `unreadable` (access denied, …), `missing`, `not read` (--no-secrets). */
  readonly secret: 'ok' | 'invalid' | 'unreadable' | 'missing' | 'not read';
  readonly session?: {
    readonly expiresAt: string;
    readonly expiresIn: number;
    /** The last sign-in or refresh. */
    readonly renewedAt: string;
    readonly renewedAgo: number;
    /** The secret version the session was obtained with. */
    readonly secretVersion: string;
    /** Whether the session holds a refresh token (its value is never read). Undefined: the item predates the flag. */
    readonly refreshToken?: boolean;
  };
  readonly lockout?: {
    /** The pause applies now: password sign-in is refused until `retryAt`. */
    readonly active: boolean;
    readonly failures: number;
    readonly reason: string;
    readonly retryAt: string;
    readonly retryIn: number;
    /** A new secret version clears the mark: it is for an older version than the current one. */
    readonly clearedByNewVersion: boolean;
  };
  /** The upstream asked to wait (Retry-After): no container signs in or refreshes until `until`. */
  readonly upstreamBusy?: { readonly until: string; readonly in: number };
  /** A container is renewing the tenant right now. */
  readonly renewing?: boolean;
}

export type TenantStateName =
  'fresh' | 'near expiry' | 'expired' | 'no session' | 'locked out' | 'upstream busy' | 'secret rotated' | 'no secret';

/** What Secrets Manager says about a tenant. */
export interface SecretInfo {
  readonly version?: string;
  readonly provider?: string;
  readonly secret: TenantState['secret'];
}

export interface StateOptions {
  readonly nowMs: number;
  /** Share of a session's lifetime after which the refresher renews it. @default 0.75 */
  readonly renewAtFraction?: number;
}

const iso = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString();

export function tenantState(
  tenantId: string,
  secret: SecretInfo,
  table: TableTenantState | undefined,
  options: StateOptions,
): TenantState {
  const now = Math.floor(options.nowMs / 1000);
  const fraction = options.renewAtFraction ?? 0.75;
  const session = table?.session;
  const mark = table?.mark;
  // A mark that only holds an upstream's wait (no pause of sign-in was ever recorded in it) is no lockout.
  const paused = mark !== undefined && !(mark.reason === BUSY_MARK && mark.blockedUntil === 0);
  const busy =
    mark?.busyUntil !== undefined &&
    mark.busyUntil > options.nowMs &&
    (!secret.version || mark.secretVersion === secret.version)
      ? { until: new Date(mark.busyUntil).toISOString(), in: Math.ceil((mark.busyUntil - options.nowMs) / 1000) }
      : undefined;
  const lockout = paused && {
    active: mark.blockedUntil > options.nowMs && (!secret.version || mark.secretVersion === secret.version),
    failures: mark.failures,
    reason: mark.reason,
    retryAt: new Date(mark.blockedUntil).toISOString(),
    retryIn: Math.ceil((mark.blockedUntil - options.nowMs) / 1000),
    clearedByNewVersion: Boolean(secret.version && mark.secretVersion !== secret.version),
  };
  let state: TenantStateName;
  if (secret.secret === 'missing') state = 'no secret';
  else if (lockout && lockout.active) state = 'locked out';
  else if (busy) state = 'upstream busy';
  else if (!session) state = 'no session';
  else if (secret.version && session.secretVersion !== secret.version) state = 'secret rotated';
  else if (session.expiresAt <= now) state = 'expired';
  else if (now >= session.issuedAt + fraction * (session.expiresAt - session.issuedAt)) state = 'near expiry';
  else state = 'fresh';
  return {
    tenantId,
    state,
    ...(secret.provider ? { provider: secret.provider } : {}),
    ...(secret.version ? { secretVersion: secret.version } : {}),
    secret: secret.secret,
    ...(session
      ? {
          session: {
            expiresAt: iso(session.expiresAt),
            expiresIn: session.expiresAt - now,
            renewedAt: iso(session.issuedAt),
            renewedAgo: now - session.issuedAt,
            secretVersion: session.secretVersion,
            ...(session.hasRefreshToken === undefined ? {} : { refreshToken: session.hasRefreshToken }),
          },
        }
      : {}),
    ...(lockout ? { lockout } : {}),
    ...(busy ? { upstreamBusy: busy } : {}),
    ...(table?.leaseUntil !== undefined && table.leaseUntil > options.nowMs ? { renewing: true } : {}),
  };
}

/** `3725` -> `1h 2m`; negative values read as "… ago" by the caller. */
export function duration(seconds: number): string {
  const s = Math.abs(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

const short = (version: string | undefined) => (version ? version.slice(0, 8) : '-');

/** The columns of `tvm tenants`. */
export function tableRow(row: TenantState): string[] {
  const session = row.session;
  return [
    row.tenantId,
    row.state,
    row.provider ?? (row.secret === 'ok' ? '-' : row.secret),
    short(row.secretVersion),
    session
      ? session.expiresIn > 0
        ? `in ${duration(session.expiresIn)}`
        : `${duration(session.expiresIn)} ago`
      : '-',
    session ? `${duration(session.renewedAgo)} ago` : '-',
    row.lockout
      ? row.lockout.active
        ? `until ${row.lockout.retryAt.slice(11, 19)}Z (${row.lockout.failures}x ${row.lockout.reason})`
        : `no (${row.lockout.failures} past)`
      : 'no',
    session?.refreshToken === undefined ? '-' : session.refreshToken ? 'yes' : 'no',
  ];
}

export const TABLE_HEADER = [
  'TENANT',
  'STATE',
  'PROVIDER',
  'VERSION',
  'EXPIRES',
  'RENEWED',
  'LOCKOUT',
  'REFRESH TOKEN',
];

/** Left-aligned columns separated by two spaces. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
