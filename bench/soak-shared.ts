// Names, message shapes and the latency histogram shared by the soak's parent (bench/soak.ts) and its workers
// (bench/soak-worker.ts).

export const SOAK_CALLER = 'arn:aws:iam::123456789012:role/soak';
export const MIN_TTLS = [0, 10, 30, 60] as const;
export const SKEW_SECONDS = 30;

/**
 * Latency histogram of fixed size, whatever the number of requests (the harness must not grow with the load it
 * measures): bucket i counts latencies in [MIN_MS x RATIO^i, MIN_MS x RATIO^(i+1)), so a percentile read from it
 * is within 2% of the true value between 10 us and 100 s (the first and last buckets take what lies outside).
 */
const HISTOGRAM_MIN_MS = 0.01;
const HISTOGRAM_RATIO = 1.02;
export const HISTOGRAM_BUCKETS = Math.ceil(Math.log(100_000 / HISTOGRAM_MIN_MS) / Math.log(HISTOGRAM_RATIO)) + 1;

export function emptyHistogram(): number[] {
  return new Array<number>(HISTOGRAM_BUCKETS).fill(0);
}

export function recordLatency(histogram: number[], ms: number): void {
  const index = ms <= HISTOGRAM_MIN_MS ? 0 : Math.floor(Math.log(ms / HISTOGRAM_MIN_MS) / Math.log(HISTOGRAM_RATIO));
  const bucket = Math.min(HISTOGRAM_BUCKETS - 1, index);
  histogram[bucket] = (histogram[bucket] ?? 0) + 1;
}

/** The p-th percentile (0..100), as the geometric middle of its bucket; 0 for an empty histogram. */
export function histogramPercentile(histogram: readonly number[], p: number): number {
  const total = histogram.reduce((sum, n) => sum + n, 0);
  if (total === 0) return 0;
  const rank = Math.min(total - 1, Math.floor((total * p) / 100));
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i] ?? 0;
    if (seen > rank) return HISTOGRAM_MIN_MS * HISTOGRAM_RATIO ** (i + 0.5);
  }
  return HISTOGRAM_MIN_MS * HISTOGRAM_RATIO ** HISTOGRAM_BUCKETS;
}

/**
 * Why a container renewed, read from the vendor's events for the tenant since its previous renewal or adoption:
 * - `lease`: took the fleet-wide lease and renewed (the one renewal the fleet needs, unless the table did not hold
 *   the previous renewal: see the duplicates in bench/soak.ts);
 * - `lease-call-failed`: the lease call itself failed, so the container renewed alone (degrade, never fail);
 * - `layer-down`: an earlier call of the vend failed with a timeout-like error, the layer was skipped for the rest
 *   of the vend, so the container renewed alone without a lease (and without writing the session to the table);
 * - `shared-read-failed`: the session read failed (not a timeout), the lease was still taken;
 * - `table-stopped`: the table refused connections.
 */
export type RenewalPath = 'lease' | 'lease-call-failed' | 'layer-down' | 'shared-read-failed' | 'table-stopped';

export interface RenewalRecord {
  /** Date.now() of the renewal event. */
  readonly atMs: number;
  readonly tenantId: string;
  readonly phase: string;
  readonly kind: 'sign_in' | 'refresh';
  readonly path: RenewalPath;
}

export interface PhaseFigures {
  requests: number;
  ok: number;
  /** Error answers by `error` code. */
  errors: Record<string, number>;
  /** Error answers by code and message, with names and numbers blanked out. */
  errorReasons: Record<string, number>;
  /** 200s whose token expires sooner than minTtl. */
  belowMinTtl: number;
  /** 200s whose token belongs to another tenant's user, or names another tenant. */
  crossTenant: number;
  /** 503/429 answers without Retry-After. */
  missingRetryAfter: number;
  /** 4xx answers other than 429: every soak request is valid, so each is a wrong answer. */
  clientErrors: number;
  /** Non-200 answers although this container's memory held a session meeting the request's minTtl + skew. */
  servableButFailed: number;
  /** Milliseconds from the phase start to the last non-200 answer (-1: none). */
  lastErrorMs: number;
  signIns: number;
  refreshes: number;
  upstreamRetries: number;
  leaseWaits: number;
  sharedCacheErrors: number;
  /** Shared-cache errors by `operation:kind` (kind: reset, throttled, refused, timeout, other). */
  sharedCacheErrorKinds: Record<string, number>;
  /** Session writes that lost the compare-and-swap: another container had already stored a renewal. */
  casConflicts: number;
  /** Renewals by {@link RenewalPath}. */
  renewalPaths: Record<string, number>;
  /** Requests per tenant (which tenants this container served in the phase). */
  tenantRequests: Record<string, number>;
  /** Fixed-size histogram (see {@link recordLatency}). */
  latencyHistogram: number[];
}

/** A phase's figures before its first request. */
export function emptyPhase(): PhaseFigures {
  return {
    requests: 0,
    ok: 0,
    errors: {},
    errorReasons: {},
    belowMinTtl: 0,
    crossTenant: 0,
    missingRetryAfter: 0,
    clientErrors: 0,
    servableButFailed: 0,
    lastErrorMs: -1,
    signIns: 0,
    refreshes: 0,
    upstreamRetries: 0,
    leaseWaits: 0,
    sharedCacheErrors: 0,
    sharedCacheErrorKinds: {},
    casConflicts: 0,
    renewalPaths: {},
    tenantRequests: {},
    latencyHistogram: emptyHistogram(),
  };
}

export interface MemorySample {
  readonly label: string;
  /** Before the forced full GC. */
  readonly rssRaw: number;
  readonly heapUsedRaw: number;
  /** After `global.gc()` (the workers run with --expose-gc). */
  readonly rss: number;
  readonly heapUsed: number;
  /** After the GC: what V8 has committed for its heap (all spaces), and for its young generation alone. */
  readonly heapTotal: number;
  readonly newSpace: number;
  /** After the GC: memory outside V8's heap that V8 knows of (buffers, sockets' array buffers). */
  readonly external: number;
  /** After the GC: bytes in use per V8 heap space (old_space, code_space, ...), to tell data from compiled code. */
  readonly spaces: Readonly<Record<string, number>>;
}

export type WorkerMessage =
  | { readonly type: 'ready'; readonly pid: number }
  | ({ readonly type: 'rss' } & MemorySample)
  | {
      readonly type: 'done';
      readonly phases: Record<string, PhaseFigures>;
      readonly renewals: readonly RenewalRecord[];
    };

export type ParentMessage =
  | { readonly type: 'phase'; readonly name: string }
  | { readonly type: 'rss'; readonly label: string }
  | { readonly type: 'stop' };
