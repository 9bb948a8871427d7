// Powertools instances of one container, and how vendor events become metrics and log lines.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

import { DIMENSION, ENV, METRIC, METRICS_NAMESPACE, SERVICE_NAME, type MetricName } from '../../contract/names';
import type { VendorEvent } from '../core/ports';

/**
 * Powertools instances shared by the handlers of one container. No Powertools Tracer: the functions run with
 * Lambda active tracing, which traces every invocation by itself; the Tracer (the X-Ray SDK, with its async hooks)
 * would add about 25 ms to each cold start and 20 µs to each cache hit for subsegments of the SDK calls, which the
 * EMF metrics and log lines already account for (see README, Performance).
 */
export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface ObservabilityOptions {
  /** Powertools `service` of logs and metrics. @default SERVICE_NAME */
  readonly serviceName?: string;
}

const EMPTY_METRICS_WARNING = 'No application metrics to publish';

/** The `logger` option of Metrics (Powertools' GenericLogger). */
type MetricsDiagnostics = NonNullable<NonNullable<ConstructorParameters<typeof Metrics>[0]>['logger']>;

/**
 * The Metrics utility's own messages, through the Logger (JSON, with the request context). Its warning that an
 * invocation emitted no metrics (health checks, refusals) is routine here: debug, not a warning per request.
 */
function metricsDiagnostics(logger: Logger): MetricsDiagnostics {
  return {
    debug: (...content) => logger.debug(String(content[0]), ...content.slice(1)),
    info: (...content) => logger.info(String(content[0]), ...content.slice(1)),
    warn: (...content) =>
      String(content[0]).startsWith(EMPTY_METRICS_WARNING)
        ? logger.debug(String(content[0]))
        : logger.warn(String(content[0]), ...content.slice(1)),
    error: (...content) => logger.error(String(content[0]), ...content.slice(1)),
  };
}

export function createObservability(options: ObservabilityOptions = {}): Observability {
  const serviceName = options.serviceName ?? SERVICE_NAME;
  const logger = new Logger({ serviceName });
  return {
    logger,
    metrics: new Metrics({
      serviceName,
      namespace: process.env[ENV.powertoolsMetricsNamespace] ?? METRICS_NAMESPACE,
      logger: metricsDiagnostics(logger),
    }),
  };
}

/** The metric each vendor event counts in. */
export const METRIC_BY_EVENT: Readonly<Record<VendorEvent['type'], MetricName>> = {
  cache_hit: METRIC.cacheHit,
  shared_cache_hit: METRIC.sharedCacheHit,
  cache_miss: METRIC.cacheMiss,
  lease_wait: METRIC.leaseWait,
  shared_cache_error: METRIC.sharedCacheError,
  shared_cache_conflict: METRIC.sharedCacheConflict,
  sign_in: METRIC.signIn,
  refresh: METRIC.refresh,
  refresh_rejected: METRIC.refreshRejected,
  upstream_retry: METRIC.upstreamRetry,
  upstream_failure: METRIC.upstreamFailure,
  locked_out: METRIC.lockedOut,
  forced_renewal: METRIC.forcedRenewal,
  renewal_rate_limited: METRIC.renewalRateLimited,
  budget_exceeded: METRIC.budgetExceeded,
};

/** Vendor events become metrics (failures also by error code) and, except cache hits, log lines. None carries a token. */
export function vendorEventSink({ logger, metrics }: Observability): (event: VendorEvent) => void {
  return (event) => {
    metrics.addMetric(METRIC_BY_EVENT[event.type], MetricUnit.Count, 1);
    if (event.type === 'upstream_failure') {
      const single = metrics.singleMetric();
      single.addDimension(DIMENSION.code, event.code);
      single.addMetric(METRIC.upstreamFailureByCode, MetricUnit.Count, 1);
    }
    if (event.type === 'cache_hit') return;
    const level =
      event.type === 'upstream_failure' ||
      event.type === 'locked_out' ||
      event.type === 'shared_cache_error' ||
      event.type === 'budget_exceeded'
        ? 'warn'
        : 'info';
    logger[level](`vendor ${event.type}`, { ...event });
  };
}
