import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';

import { METRIC } from '../../contract/names';
import { refreshTenants, type RefreshOutcome, type RefreshSources } from '../core/refresher';
import type { Services } from '../runtime/compose';
import type { RuntimeConfig } from '../runtime/config';
import type { Observability } from './observability';
import { withObservability } from './with-observability';

export interface RefreshSummary {
  readonly tenants: number;
  readonly fresh: number;
  readonly renewed: number;
  readonly failed: number;
  /** Due, but left for the next run because this one's time ran out (most urgent were done first). */
  readonly skipped: number;
  /** Tenants whose identity-pool AWS credentials in the shared cache were renewed before they ran out. */
  readonly awsCredentialsRenewed: number;
  readonly results: readonly RefreshOutcome[];
}

export interface RefreshHandlerOptions {
  /** Tenants renewed at the same time. @default 8 */
  readonly concurrency?: number;
  /** No tenant is started with less than this left before the Lambda timeout. @default 20000 */
  readonly reserveMs?: number;
}

/** Failed tenants named in the invocation's error, at most. */
const NAMED_FAILURES = 20;

/**
 * Scheduled refresher: discover the tenants, then renew every session past `refreshAtFraction` of its lifetime
 * before callers need it, most urgent first, within the invocation's time; likewise the identity-pool AWS
 * credentials the shared cache holds (tenants whose callers ask for AWS credentials).
 */
export function createRefreshHandler(
  runtime: Services,
  sources: RefreshSources,
  config: Pick<RuntimeConfig, 'refreshAtFraction'>,
  observability: Observability,
  options: RefreshHandlerOptions = {},
) {
  const { logger, metrics } = observability;
  const refresh = async (_event: unknown, context: Context): Promise<RefreshSummary> => {
    const tenants = await sources.directory.list();
    const results = await refreshTenants(runtime.vendor, tenants, {
      renewAtFraction: config.refreshAtFraction,
      concurrency: options.concurrency ?? 8,
      reserveMs: options.reserveMs ?? 20_000,
      remainingMs: () => context.getRemainingTimeInMillis(),
      clock: runtime.clock,
      ...(sources.schedules ? { schedules: sources.schedules } : {}),
      credentials: runtime.credentials,
    });
    const count = (outcome: RefreshOutcome['outcome']) => results.filter((r) => r.outcome === outcome).length;
    const credentialsSkipped = results.filter((r) => 'awsCredentials' in r && r.awsCredentials === 'skipped');
    const summary: RefreshSummary = {
      tenants: tenants.length,
      fresh: count('fresh'),
      renewed: count('renewed'),
      failed: count('failed'),
      // Tenants whose tokens or credentials were due but did not fit in this run (RefreshSkipped alarms on it).
      skipped: count('skipped') + credentialsSkipped.length,
      awsCredentialsRenewed: results.filter((r) => 'awsCredentials' in r && r.awsCredentials === 'renewed').length,
      results,
    };
    metrics.addMetric(METRIC.refreshTenants, MetricUnit.Count, summary.tenants);
    metrics.addMetric(METRIC.refreshFresh, MetricUnit.Count, summary.fresh);
    metrics.addMetric(METRIC.refreshRenewed, MetricUnit.Count, summary.renewed);
    metrics.addMetric(METRIC.refreshFailed, MetricUnit.Count, summary.failed);
    metrics.addMetric(METRIC.refreshSkipped, MetricUnit.Count, summary.skipped);
    for (const result of results) {
      if (result.outcome === 'failed')
        logger.warn('tenant refresh failed', { tenantId: result.tenantId, code: result.code, error: result.message });
    }
    const { results: _results, ...counts } = summary;
    if (summary.skipped > 0) {
      logger.warn('refresh ran out of time', {
        ...counts,
        skippedTenants: [...results.filter((r) => r.outcome === 'skipped'), ...credentialsSkipped].map(
          (r) => r.tenantId,
        ),
      });
    }
    logger.info('refresh finished', counts);
    if (summary.failed > 0) {
      // After every tenant was tried: fail the invocation so the Errors alarm sees it.
      const failed = results.filter((r) => r.outcome === 'failed').map((r) => r.tenantId);
      const more = failed.length > NAMED_FAILURES ? ` and ${failed.length - NAMED_FAILURES} more` : '';
      throw new Error(
        `Refresh failed for ${summary.failed} of ${results.length} tenants: ${failed.slice(0, NAMED_FAILURES).join(', ')}${more}`,
      );
    }
    return summary;
  };
  return withObservability(refresh, observability);
}
