import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

import type { VendorEvent } from '../core/ports';

/** Powertools instances shared by the handlers of one container. */
export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tracer: Tracer;
}

export function createObservability(serviceName = 'token-vending-machine'): Observability {
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ serviceName, namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'TokenVendingMachine' }),
    tracer: new Tracer({ serviceName }),
  };
}

const METRIC_BY_EVENT: Readonly<Record<VendorEvent['type'], string>> = {
  cache_hit: 'CacheHit',
  shared_cache_hit: 'SharedCacheHit',
  cache_miss: 'CacheMiss',
  lease_wait: 'LeaseWait',
  shared_cache_error: 'SharedCacheError',
  shared_cache_conflict: 'SharedCacheConflict',
  sign_in: 'SignIn',
  refresh: 'Refresh',
  refresh_rejected: 'RefreshRejected',
  upstream_retry: 'UpstreamRetry',
  upstream_failure: 'UpstreamFailure',
  locked_out: 'LockedOut',
};

/** Vendor events become metrics (failures also by error code) and, except cache hits, log lines. None carries a token. */
export function vendorEventSink({ logger, metrics }: Observability): (event: VendorEvent) => void {
  return (event) => {
    metrics.addMetric(METRIC_BY_EVENT[event.type], MetricUnit.Count, 1);
    if (event.type === 'upstream_failure') {
      const single = metrics.singleMetric();
      single.addDimension('code', event.code);
      single.addMetric('UpstreamFailureByCode', MetricUnit.Count, 1);
    }
    if (event.type === 'cache_hit') return;
    const level =
      event.type === 'upstream_failure' || event.type === 'locked_out' || event.type === 'shared_cache_error'
        ? 'warn'
        : 'info';
    logger[level](`vendor ${event.type}`, { ...event });
  };
}
