import type { ProviderKind, TenantConfig } from './tenant-config';

// Interfaces the core depends on; adapters and providers implement them at the edges.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export interface TenantRecord {
  readonly tenantId: string;
  /** Changes whenever the credentials change (Secrets Manager VersionId, file hash). */
  readonly version: string;
  readonly config: TenantConfig;
}

export interface TenantStore {
  /** Throws TenantNotFoundError or TenantMisconfiguredError. */
  get(tenantId: string): Promise<TenantRecord>;
  /** Forget any cached copy so the next `get` reads the source again. */
  invalidate(tenantId: string): void;
  /**
   * Whether `get` would answer at once from this container's memory (a record or a refusal), without a call.
   * Absent: assume a call.
   */
  answersFromMemory?(tenantId: string): boolean;
}

/** Tokens a caller may receive. Which are set depends on the provider. */
export interface VendableTokens {
  readonly idToken?: string;
  readonly accessToken?: string;
  readonly token?: string;
}

/** A verified upstream session. `refreshToken` never leaves the service. */
export interface Session {
  readonly tenantId: string;
  readonly provider: ProviderKind;
  readonly secretVersion: string;
  readonly tokens: VendableTokens;
  readonly refreshToken?: string;
  readonly identityId?: string;
  /** Verified claims of the identity token (or the login token when it is a JWT). */
  readonly claims: Readonly<Record<string, unknown>>;
  /** Epoch seconds: the earliest `exp` of the vendable tokens. */
  readonly expiresAt: number;
  /** Epoch seconds when the session was obtained. */
  readonly issuedAt: number;
  /** Write counter of the shared cache item this copy came from (set by the shared cache). */
  readonly revision?: number;
}

/** What a provider returns; the vendor stamps tenant, version and issue time. */
export type ProviderSession = Omit<Session, 'tenantId' | 'secretVersion' | 'issuedAt' | 'provider' | 'revision'>;

/** What the vendor hands a provider with each call. */
export interface UpstreamCall {
  /**
   * Aborts when the vend's time budget is spent: pass it to `fetch` (combined with the per-request timeout,
   * `AbortSignal.any`) and to SDK clients (`client.send(command, { abortSignal })`). The vendor stops waiting
   * at that moment anyway; honouring the signal also stops the request itself.
   */
  readonly signal: AbortSignal;
}

/** One upstream auth flow. Implementations verify every JWT before returning it. */
export interface AuthProvider {
  signIn(tenantId: string, config: TenantConfig, call?: UpstreamCall): Promise<ProviderSession>;
  /** Renew with the refresh token. Throws UpstreamAuthFailedError when the refresh token no longer works. */
  refresh(tenantId: string, config: TenantConfig, session: Session, call?: UpstreamCall): Promise<ProviderSession>;
}

/** Per-tenant session cache. L1 lives in one container's memory. */
export interface SessionCache {
  get(tenantId: string): Promise<Session | undefined>;
  put(session: Session): Promise<void>;
  delete(tenantId: string): Promise<void>;
}

/**
 * L2: one copy per tenant for the whole fleet. Writes are compare-and-swap on the
 * item's revision, so a newer session (and a rotated refresh token) is never
 * overwritten by an older one.
 */
export interface SharedSessionCache {
  get(tenantId: string): Promise<Session | undefined>;
  /**
   * Store `session` if the item is still at `expectedRevision` (undefined: no item yet).
   * Returns the session now in the cache: ours with its new revision, or, on a lost race
   * against a session at least as good, the winner's (`conflict: true`).
   */
  putIfUnchanged(
    session: Session,
    expectedRevision: number | undefined,
  ): Promise<{ readonly stored: Session; readonly conflict: boolean }>;
}

/** One consistent read of a tenant's fleet-wide state: its session, its lockout mark and their generation. */
export interface SharedSnapshot {
  readonly session?: Session;
  readonly mark?: FailureMark;
  /** The renewal lease when one was recorded (it may have expired: compare `until`, epoch ms, with the clock). */
  readonly lease?: { readonly holder: string; readonly until: number };
  /**
   * Moves on whenever the tenant's renewal lease is taken or released or its session stored (0: never). Lockout
   * marks are written under the lease, so an unchanged generation means an unchanged session and mark.
   */
  readonly generation: number;
}

/**
 * The renewal lease kept with the tenant's session (DynamoDB: attributes of the session item), so a miss costs
 * three round trips: one {@link snapshot}, one {@link tryAcquire} that also confirms the snapshot, and the
 * session write, which releases the lease by itself ({@link SharedSessionCache.putIfUnchanged}).
 */
export interface SessionLeases {
  /** The session, the lockout mark and the lease's generation, in one read. */
  snapshot(tenantId: string): Promise<SharedSnapshot>;
  /**
   * True when this holder now has the lease: it was free (or had expired) and, when `seen` is given, its
   * generation has not moved since `seen` was read, so `seen` still shows the latest session and mark; or this
   * holder already had it (an earlier attempt whose answer was lost took it).
   */
  tryAcquire(tenantId: string, holder: string, ttlMs: number, seen?: SharedSnapshot): Promise<boolean>;
  /** Give the lease back without storing a session (the renewal failed). */
  release(tenantId: string, holder: string): Promise<void>;
}

/** Fleet-wide single flight: a short lease per tenant. */
export interface LeaseStore {
  /** True when this holder now has the lease (it was free or had expired). */
  tryAcquire(tenantId: string, holder: string, ttlMs: number): Promise<boolean>;
  release(tenantId: string, holder: string): Promise<void>;
}

/** Lockout guard state for one tenant. */
export interface FailureMark {
  readonly secretVersion: string;
  readonly failures: number;
  /** Epoch milliseconds until which password sign-in is not attempted. */
  readonly blockedUntil: number;
  readonly reason: string;
  /**
   * Epoch milliseconds until which the upstream is not called for the tenant at all (no sign-in, no refresh): it
   * asked to wait (`Retry-After`). Apart from the pause above, which it neither shortens nor replaces.
   */
  readonly busyUntil?: number;
}

export interface FailureMarks {
  get(tenantId: string): Promise<FailureMark | undefined>;
  put(tenantId: string, mark: FailureMark): Promise<void>;
  clear(tenantId: string): Promise<void>;
}

/**
 * Rate limit of forced renewals (`rejected=`): when each tenant was last renewed because a caller reported
 * its current token refused. Memory per container, and a DynamoDB item for the fleet.
 */
export interface RenewalMarks {
  /**
   * Record a forced renewal at `nowMs` unless one was recorded after `nowMs - intervalMs`.
   * Returns whether this caller may renew; otherwise when the recorded one happened.
   */
  tryClaim(tenantId: string, nowMs: number, intervalMs: number): Promise<RenewalClaim>;
}

export type RenewalClaim = { readonly claimed: true } | { readonly claimed: false; readonly lastAt: number };

/** Domain events the vendor reports; the handler turns them into logs and metrics. */
export type VendorEvent =
  | { readonly type: 'cache_hit'; readonly tenantId: string }
  | { readonly type: 'shared_cache_hit'; readonly tenantId: string }
  | {
      readonly type: 'lease_wait';
      readonly tenantId: string;
      readonly waitedMs: number;
      readonly outcome: 'filled' | 'acquired' | 'timeout';
    }
  | {
      readonly type: 'shared_cache_error';
      readonly tenantId: string;
      readonly operation: string;
      readonly error: string;
    }
  | { readonly type: 'shared_cache_conflict'; readonly tenantId: string }
  | { readonly type: 'cache_miss'; readonly tenantId: string; readonly reason: 'empty' | 'stale' | 'secret_rotated' }
  | { readonly type: 'sign_in'; readonly tenantId: string }
  | { readonly type: 'refresh'; readonly tenantId: string }
  | { readonly type: 'refresh_rejected'; readonly tenantId: string }
  | { readonly type: 'upstream_retry'; readonly tenantId: string; readonly attempt: number }
  | { readonly type: 'upstream_failure'; readonly tenantId: string; readonly code: string; readonly reason?: string }
  | { readonly type: 'locked_out'; readonly tenantId: string; readonly retryAfterSeconds: number }
  /** A caller reported the current token refused (`rejected=`) and the session is renewed for it. */
  | { readonly type: 'forced_renewal'; readonly tenantId: string }
  /** A forced renewal was refused: one already ran within the interval. */
  | { readonly type: 'renewal_rate_limited'; readonly tenantId: string; readonly retryAfterSeconds: number }
  /** The vend's time budget ran out while `stage` was under way. */
  | { readonly type: 'budget_exceeded'; readonly tenantId: string; readonly stage: string };
