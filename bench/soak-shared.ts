// Names and message shapes shared by the soak's parent (bench/soak.ts) and its workers (bench/soak-worker.ts).

export const SOAK_CALLER = 'arn:aws:iam::123456789012:role/soak';
export const MIN_TTLS = [0, 10, 30, 60] as const;
export const SKEW_SECONDS = 30;

export interface PhaseFigures {
  requests: number;
  ok: number;
  /** Error answers by `error` code. */
  errors: Record<string, number>;
  /** 200s whose token expires sooner than minTtl. */
  belowMinTtl: number;
  /** 200s whose token belongs to another tenant's user, or names another tenant. */
  crossTenant: number;
  /** 503/429 answers without Retry-After. */
  missingRetryAfter: number;
  /** Non-200 answers although this container's memory held a session meeting the request's minTtl + skew. */
  servableButFailed: number;
  /** Milliseconds from the phase start to the last non-200 answer (-1: none). */
  lastErrorMs: number;
  signIns: number;
  refreshes: number;
  upstreamRetries: number;
  leaseWaits: number;
  sharedCacheErrors: number;
  latenciesMs: number[];
}

export type WorkerMessage =
  | { readonly type: 'ready'; readonly pid: number }
  | { readonly type: 'rss'; readonly label: string; readonly rss: number; readonly heapUsed: number }
  | { readonly type: 'done'; readonly phases: Record<string, PhaseFigures> };

export type ParentMessage =
  | { readonly type: 'phase'; readonly name: string }
  | { readonly type: 'rss'; readonly label: string }
  | { readonly type: 'stop' };
