import { MetricUnit } from '@aws-lambda-powertools/metrics';

import { METRIC } from '../../contract/names';
import { refreshTenants, type RefreshOutcome } from '../core/refresher';
import type { Runtime } from '../runtime/compose';
import type { RuntimeConfig } from '../runtime/config';
import type { Observability } from './observability';
import { withObservability } from './with-observability';

export interface RefreshSummary {
  readonly fresh: number;
  readonly renewed: number;
  readonly failed: number;
  readonly results: readonly RefreshOutcome[];
}

/** Scheduled refresher: renew every configured tenant's session before callers need it. */
export function createRefreshHandler(
  runtime: Runtime,
  config: Pick<RuntimeConfig, 'tenants' | 'refreshAtFraction'>,
  observability: Observability,
) {
  const { logger, metrics } = observability;
  const refresh = async (): Promise<RefreshSummary> => {
    const results = await refreshTenants(runtime.vendor, config.tenants, { renewAtFraction: config.refreshAtFraction });
    const count = (outcome: RefreshOutcome['outcome']) => results.filter((r) => r.outcome === outcome).length;
    const summary = { fresh: count('fresh'), renewed: count('renewed'), failed: count('failed'), results };
    metrics.addMetric(METRIC.refreshFresh, MetricUnit.Count, summary.fresh);
    metrics.addMetric(METRIC.refreshRenewed, MetricUnit.Count, summary.renewed);
    metrics.addMetric(METRIC.refreshFailed, MetricUnit.Count, summary.failed);
    for (const result of results) {
      if (result.outcome === 'failed')
        logger.warn('tenant refresh failed', { tenantId: result.tenantId, code: result.code, error: result.message });
    }
    logger.info('refresh finished', { fresh: summary.fresh, renewed: summary.renewed, failed: summary.failed });
    if (summary.failed > 0) {
      // After every tenant was tried: fail the invocation so the Errors alarm sees it.
      throw new Error(
        `Refresh failed for ${summary.failed} of ${results.length} tenants: ${results
          .filter((r) => r.outcome === 'failed')
          .map((r) => r.tenantId)
          .join(', ')}`,
      );
    }
    return summary;
  };
  return withObservability(refresh, observability);
}
