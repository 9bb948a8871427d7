// The wrapper every Lambda entry point runs in: what Powertools' injectLambdaContext (resetKeys) and logMetrics
// middlewares did, by hand. Metrics are enabled here (test/support/setup.ts disables them for other tests).
import type { Context } from 'aws-lambda';

import { createObservability, type Observability } from '../../../lambdas/handlers/observability';
import { withObservability } from '../../../lambdas/handlers/with-observability';
import { capturedLogRecords } from '../../support/log-capture';

const context = (awsRequestId: string) =>
  ({
    awsRequestId,
    functionName: 'tvm-vend',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:ap-southeast-2:123456789012:function:tvm-vend',
    memoryLimitInMB: '512',
    getRemainingTimeInMillis: () => 10_000,
  }) as unknown as Context;

// Metrics on, and an on-demand container (as Lambda says), for the whole test: single metrics (ColdStart) are
// Metrics instances of their own, created when emitted.
const saved: Record<string, string | undefined> = {};
const environment = { POWERTOOLS_METRICS_DISABLED: 'false', AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand' };
beforeEach(() => {
  for (const [name, value] of Object.entries(environment)) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
});
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

const observabilityWithMetrics = (): Observability => createObservability({ serviceName: 'wrapper-test' });

/** Records written by `run` (log lines and EMF documents). */
async function recordsOf(run: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const before = capturedLogRecords().length;
  await run().catch(() => undefined);
  return capturedLogRecords().slice(before);
}

const emf = (records: Record<string, unknown>[]) => records.filter((record) => '_aws' in record);
const metricNames = (record: Record<string, unknown>) =>
  (record._aws as { CloudWatchMetrics: Array<{ Metrics: Array<{ Name: string }> }> }).CloudWatchMetrics.flatMap(
    (directive) => directive.Metrics.map((metric) => metric.Name),
  );

describe('withObservability', () => {
  it('puts the invocation context on every log line, and drops keys appended during an invocation after it', async () => {
    const { logger, metrics } = observabilityWithMetrics();
    const handler = withObservability(
      async (event: { key?: string }) => {
        if (event.key) logger.appendKeys({ appended: event.key });
        logger.info('inside');
        return 'done';
      },
      { logger, metrics },
    );

    const first = await recordsOf(() => handler({ key: 'secret-ish' }, context('req-1')));
    const second = await recordsOf(() => handler({}, context('req-2')));

    const [inFirst] = first.filter((record) => record.message === 'inside');
    const [inSecond] = second.filter((record) => record.message === 'inside');
    expect(inFirst).toMatchObject({
      service: 'wrapper-test',
      function_request_id: 'req-1',
      function_name: 'tvm-vend',
      function_arn: 'arn:aws:lambda:ap-southeast-2:123456789012:function:tvm-vend',
      function_memory_size: '512',
      appended: 'secret-ish',
    });
    expect(inSecond).toMatchObject({ function_request_id: 'req-2' });
    expect(inSecond).not.toHaveProperty('appended');
  });

  it('flushes the metrics as one EMF document per invocation, and returns what the handler returns', async () => {
    const { logger, metrics } = observabilityWithMetrics();
    const handler = withObservability(
      async () => {
        metrics.addMetric('CacheHit', 'Count', 1);
        metrics.addMetric('Vend', 'Count', 1);
        return { statusCode: 200 };
      },
      { logger, metrics },
    );

    for (const id of ['req-1', 'req-2']) {
      let result: unknown;
      const records = await recordsOf(async () => {
        result = await handler({}, context(id));
      });
      expect(result).toEqual({ statusCode: 200 });
      const documents = emf(records);
      expect(documents).toHaveLength(1);
      expect(metricNames(documents[0] ?? {})).toEqual(['CacheHit', 'Vend']);
      expect(documents[0]).toMatchObject({ service: 'wrapper-test', CacheHit: 1, Vend: 1 });
    }
  });

  it('flushes the metrics and resets the keys also when the handler throws, and rethrows its error', async () => {
    const { logger, metrics } = observabilityWithMetrics();
    const failure = new Error('boom');
    const failing = withObservability(
      async () => {
        logger.appendKeys({ appended: 'x' });
        metrics.addMetric('ServerError', 'Count', 1);
        throw failure;
      },
      { logger, metrics },
    );

    let thrown: unknown;
    const records = await recordsOf(() =>
      failing({}, context('req-1')).catch((error: unknown) => {
        thrown = error;
      }),
    );
    expect(thrown).toBe(failure);
    const documents = emf(records);
    expect(documents).toHaveLength(1);
    expect(metricNames(documents[0] ?? {})).toEqual(['ServerError']);

    const after = withObservability(async () => logger.info('next'), { logger, metrics });
    const next = await recordsOf(() => after({}, context('req-2')));
    expect(next.find((record) => record.message === 'next')).not.toHaveProperty('appended');
    expect(emf(next)).toHaveLength(0); // nothing left over from the failed invocation
  });

  it('emits the ColdStart metric on the first invocation only, when asked', async () => {
    const { logger, metrics } = observabilityWithMetrics();
    const handler = withObservability(async () => 'ok', { logger, metrics }, { captureColdStartMetric: true });

    const first = emf(await recordsOf(() => handler({}, context('req-1'))));
    const second = emf(await recordsOf(() => handler({}, context('req-2'))));

    expect(first).toHaveLength(1);
    expect(metricNames(first[0] ?? {})).toEqual(['ColdStart']);
    expect(first[0]).toMatchObject({ function_name: 'tvm-vend', service: 'wrapper-test', ColdStart: 1 });
    expect(second.flatMap(metricNames)).not.toContain('ColdStart');
  });

  it('emits no ColdStart metric by default', async () => {
    const { logger, metrics } = observabilityWithMetrics();
    const handler = withObservability(async () => 'ok', { logger, metrics });
    const records = await recordsOf(() => handler({}, context('req-1')));
    expect(emf(records).flatMap(metricNames)).not.toContain('ColdStart');
  });
});
