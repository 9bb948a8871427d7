import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';

import { TokenClient } from '../../client/token-client';
import { DIMENSION, ENV, METRIC } from '../../contract/names';
import { exportJobSchema } from '../core/export-windows';
import { ExportRunner } from '../export/export-runner';
import { createObservability } from './observability';

/** Lambda entry point of one analytics export job (EventBridge Scheduler). Configured by TVM_EXPORT_JOB, TVM_ENDPOINT, TVM_EXPORT_BUCKET. */
const observability = createObservability();
const job = exportJobSchema.parse(JSON.parse(process.env[ENV.exportJob] ?? '{}'));
const runner = new ExportRunner({
  tokens: new TokenClient({ endpoint: process.env[ENV.endpoint] ?? '' }),
  s3: new S3Client({}),
  bucket: process.env[ENV.exportBucket] ?? '',
});

const run = async () => {
  const { logger, metrics } = observability;
  metrics.addDimension(DIMENSION.job, job.name);
  try {
    const results = await runner.run(job);
    const written = results.filter((r) => r.outcome === 'written').length;
    metrics.addMetric(METRIC.exportWindowsWritten, MetricUnit.Count, written);
    metrics.addMetric(METRIC.exportWindowsSkipped, MetricUnit.Count, results.length - written);
    logger.info('export finished', {
      job: job.name,
      tenantId: job.tenant,
      written,
      skipped: results.length - written,
      keys: results.map((r) => r.key),
    });
    return results;
  } catch (error) {
    metrics.addMetric(METRIC.exportFailed, MetricUnit.Count, 1);
    logger.error('export failed', {
      job: job.name,
      tenantId: job.tenant,
      error: error instanceof Error ? error.message : String(error),
    });
    throw error;
  }
};

export const handler = middy(run)
  .use(captureLambdaHandler(observability.tracer, { captureResponse: false }))
  .use(injectLambdaContext(observability.logger, { resetKeys: true }))
  .use(logMetrics(observability.metrics));
