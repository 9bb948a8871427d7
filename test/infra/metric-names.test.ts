// Ties every alarm on a custom metric to what the runtime really emits: the runtime's metric calls are run and
// their EMF output (namespace, metric name, dimensions) is matched against each alarm of the synthesized stack.
// Renaming a metric, a dimension or the namespace on one side only fails here.

import { ERROR_CODES } from '../../contract/error-codes';
import { METRICS_NAMESPACE } from '../../contract/names';
import { StaticTenantStore } from '../../lambdas/adapters/file-tenant-store';
import { exportJobSchema } from '../../lambdas/core/export-job';
import type { VendorEvent } from '../../lambdas/core/ports';
import { createExportHandler } from '../../lambdas/handlers/export-handler';
import { createObservability, METRIC_BY_EVENT, vendorEventSink } from '../../lambdas/handlers/observability';
import { createRefreshHandler } from '../../lambdas/handlers/refresh-handler';
import { composeRuntime, refreshSourcesFor } from '../../lambdas/runtime/compose';
import { loadRuntimeConfig } from '../../lambdas/runtime/config';
import { lambdaContext } from '../support/events';
import { cognitoSecret, FakeClock, FakeProvider } from '../support/fakes';
import { capturedLogRecords } from '../support/log-capture';
import { exampleConfig, synth } from './support';

interface EmittedMetric {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
}

/** EMF records written so far, one entry per metric. */
function emittedMetrics(): EmittedMetric[] {
  return capturedLogRecords().flatMap((record) => {
    const aws = record._aws as
      | { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> }
      | undefined;
    if (!aws) return [];
    return aws.CloudWatchMetrics.flatMap((directive) =>
      directive.Metrics.map((metric) => ({
        namespace: directive.Namespace,
        name: metric.Name,
        dimensions: Object.fromEntries(
          (directive.Dimensions.flat() ?? []).map((dimension) => [dimension, String(record[dimension])]),
        ),
      })),
    );
  });
}

/** Run every metric the runtime can emit, with metrics enabled for real. */
async function emitEverything(): Promise<void> {
  const previous = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  try {
    const observability = createObservability();
    const sink = vendorEventSink(observability);
    for (const type of Object.keys(METRIC_BY_EVENT) as Array<VendorEvent['type']>) {
      const codes = type === 'upstream_failure' ? ERROR_CODES : ['internal_error'];
      for (const code of codes) sink({ type, tenantId: 'acme', code } as unknown as VendorEvent);
    }
    observability.metrics.publishStoredMetrics();

    const clock = new FakeClock();
    const provider = new FakeProvider(clock);
    const config = loadRuntimeConfig({ TVM_TENANTS: '["acme"]' });
    const runtime = composeRuntime(config, {
      tenants: new StaticTenantStore({ acme: cognitoSecret }),
      clock,
      shared: null,
      providers: { cognito: provider, 'login-endpoint': provider },
    });
    await createRefreshHandler(
      runtime,
      refreshSourcesFor(config, runtime),
      config,
      createObservability(),
    )({}, { ...lambdaContext, getRemainingTimeInMillis: () => 300_000 });

    // An export run of each example job whose windows all paused (the no-progress metric's case).
    for (const job of exampleConfig.exportJobs) {
      const window = { from: new Date(0), to: new Date(3_600_000) };
      const runner = { run: async () => [{ outcome: 'paused' as const, key: 'k', window }] } as never;
      await createExportHandler({ job: exportJobSchema.parse(job), runner }, createObservability())(
        {},
        { ...lambdaContext, getRemainingTimeInMillis: () => 300_000 },
      );
    }
  } finally {
    process.env.POWERTOOLS_METRICS_DISABLED = previous;
  }
}

describe('alarm metric names', () => {
  // The service's alarms and the export jobs' no-progress alarms; CloudFormation validation skipped (slow).
  const { template } = synth(exampleConfig);
  const customAlarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm')).filter(
    ([, alarm]) => alarm.Properties.Namespace === METRICS_NAMESPACE,
  );

  it('finds the alarms on the service metrics', () => {
    expect(customAlarms.length).toBeGreaterThanOrEqual(3);
  });

  it('alarms only on metrics the runtime emits, with the same namespace and dimensions', async () => {
    await emitEverything();
    const emitted = emittedMetrics();
    expect(emitted.length).toBeGreaterThan(0);
    for (const [id, alarm] of customAlarms) {
      const wanted = Object.fromEntries(
        ((alarm.Properties.Dimensions ?? []) as Array<{ Name: string; Value: string }>).map((d) => [d.Name, d.Value]),
      );
      const match = emitted.find(
        (metric) =>
          metric.namespace === alarm.Properties.Namespace &&
          metric.name === alarm.Properties.MetricName &&
          Object.entries(wanted).every(([name, value]) => metric.dimensions[name] === value),
      );
      expect({ alarm: id, metric: alarm.Properties.MetricName, dimensions: wanted, emitted: Boolean(match) }).toEqual({
        alarm: id,
        metric: alarm.Properties.MetricName,
        dimensions: wanted,
        emitted: true,
      });
    }
  });
});
