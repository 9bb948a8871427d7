// The analytics export job's handler: run the job's pending windows, count and log the outcome.
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';

import { DIMENSION, METRIC } from '../../contract/names';
import type { ExportJob } from '../core/export-windows';
import type { ExportRunner, WindowResult } from '../export/export-runner';
import type { Observability } from './observability';
import { withObservability } from './with-observability';

export interface ExportHandlerDeps {
  /** The job this function runs (one function per job). */
  readonly job: ExportJob;
  /** Runs the job's pending windows. */
  readonly runner: Pick<ExportRunner, 'run'>;
  /**
   * Time kept back from the function's timeout to finish the current segment and checkpoint: the run's
   * deadline is the remaining time minus this (at most a fifth of the remaining time).
   * @default 90000
   */
  readonly reserveMs?: number;
  /** @default Date */
  readonly clock?: { now(): number };
}

/** Scheduled export: run the job, count written and skipped windows; a failure is counted, logged and rethrown. */
export function createExportHandler(
  { job, runner, reserveMs = 90_000, clock = Date }: ExportHandlerDeps,
  observability: Observability,
) {
  const { logger, metrics } = observability;
  const run = async (_event: unknown, context: Context): Promise<WindowResult[]> => {
    metrics.addDimension(DIMENSION.job, job.name);
    const remaining = context.getRemainingTimeInMillis();
    // The run stops here, checkpoints, and the next run resumes the window (see export-runner.ts).
    const deadline = clock.now() + remaining - Math.min(reserveMs, remaining / 5);
    try {
      const results = await runner.run(job, { deadline });
      const written = results.filter((r) => r.outcome === 'written').length;
      const skipped = results.filter((r) => r.outcome === 'skipped').length;
      const paused = results.filter((r) => r.outcome === 'paused').length;
      metrics.addMetric(METRIC.exportWindowsWritten, MetricUnit.Count, written);
      metrics.addMetric(METRIC.exportWindowsSkipped, MetricUnit.Count, skipped);
      metrics.addMetric(METRIC.exportWindowsPaused, MetricUnit.Count, paused);
      // No window exported although some were pending: a run after run of these alarms (Export-<job>NoProgress).
      metrics.addMetric(METRIC.exportNoProgress, MetricUnit.Count, paused > 0 && written === 0 ? 1 : 0);
      logger.info('export finished', {
        job: job.name,
        tenantId: job.tenant,
        written,
        skipped,
        paused,
        records: results.reduce((sum, r) => sum + (r.outcome === 'written' ? (r.records ?? 0) : 0), 0),
        keys: results.map((r) => r.key),
      });
      return results;
    } catch (error) {
      metrics.addMetric(METRIC.exportFailed, MetricUnit.Count, 1);
      // The Error object itself, so the logger formats name, message, stack and cause.
      logger.error('export failed', { job: job.name, tenantId: job.tenant, error: error as Error });
      throw error;
    }
  };
  return withObservability(run, observability);
}
