import { exportJobSchema } from '../../../lambdas/core/export-windows';
import type { WindowResult } from '../../../lambdas/export/export-runner';
import { createExportHandler } from '../../../lambdas/handlers/export-handler';
import { createObservability } from '../../../lambdas/handlers/observability';
import { lambdaContext } from '../../support/events';
import { capturedLogRecords } from '../../support/log-capture';

const job = exportJobSchema.parse({
  name: 'flight-analytics',
  tenant: 'acme',
  schedule: 'cron(15 * * * ? *)',
  graphqlUrl: 'https://api.example.com/graphql',
  query: 'query Analytics($from: String!, $to: String!) { analytics(from: $from, to: $to) { id } }',
  windowMinutes: 60,
});

const result = (key: string, outcome: WindowResult['outcome']): WindowResult => ({
  key,
  outcome,
  window: { from: '2026-11-24T00:00:00.000Z', to: '2026-11-24T01:00:00.000Z' },
});

describe('export handler', () => {
  it('runs the job and reports written and skipped windows', async () => {
    const runs: string[] = [];
    const runner = {
      run: async (j: typeof job) => {
        runs.push(j.name);
        return [result('a', 'written'), result('b', 'skipped'), result('c', 'written')];
      },
    };
    const handler = createExportHandler({ job, runner }, createObservability());
    const results = await handler({}, lambdaContext);
    expect(runs).toEqual(['flight-analytics']);
    expect(results.map((r) => r.key)).toEqual(['a', 'b', 'c']);
    const finished = capturedLogRecords().find((r) => r.message === 'export finished');
    expect(finished).toMatchObject({ job: 'flight-analytics', tenantId: 'acme', written: 2, skipped: 1 });
    expect(finished?.function_request_id).toBe(lambdaContext.awsRequestId);
  });

  it('logs a failure with the error object (name, message, cause) and fails the invocation', async () => {
    const cause = new Error('socket hang up');
    const runner = {
      run: async (): Promise<WindowResult[]> => {
        throw new Error('GraphQL call failed', { cause });
      },
    };
    const handler = createExportHandler({ job, runner }, createObservability());
    await expect(handler({}, lambdaContext)).rejects.toThrow('GraphQL call failed');
    const failed = capturedLogRecords().find((r) => r.message === 'export failed') as Record<string, any>;
    expect(failed).toMatchObject({ job: 'flight-analytics', tenantId: 'acme', level: 'ERROR' });
    expect(failed.error).toMatchObject({ name: 'Error', message: 'GraphQL call failed' });
    expect(JSON.stringify(failed.error)).toContain('socket hang up');
  });

  it('gives the runner a deadline before the function times out, and reports paused windows', async () => {
    const deadlines: Array<number | undefined> = [];
    const runner = {
      run: async (_job: typeof job, options?: { deadline?: number }) => {
        deadlines.push(options?.deadline);
        return [result('a', 'written'), result('b', 'paused')];
      },
    };
    const clock = { now: () => 1_000_000 };
    const handler = createExportHandler({ job, runner, clock, reserveMs: 1_000 }, createObservability());
    await handler({}, lambdaContext); // 10 s remaining
    expect(deadlines).toEqual([1_000_000 + 10_000 - 1_000]);
    const finished = capturedLogRecords()
      .filter((r) => r.message === 'export finished')
      .at(-1);
    expect(finished).toMatchObject({ written: 1, paused: 1 });
  });
});

describe('export handler metrics', () => {
  const emitted = (name: string) =>
    capturedLogRecords()
      .filter((r) => r._aws !== undefined && name in r)
      .map((r) => r[name]);

  it('counts paused windows, and marks a run that exported none of its pending windows as no progress', async () => {
    const previous = process.env.POWERTOOLS_METRICS_DISABLED;
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    try {
      const runWith = async (results: WindowResult[]) =>
        createExportHandler({ job, runner: { run: async () => results } }, createObservability())({}, lambdaContext);
      await runWith([result('a', 'paused')]);
      await runWith([result('a', 'written'), result('b', 'paused')]);
      await runWith([result('a', 'skipped')]);
      expect(emitted('ExportWindowsPaused')).toEqual([1, 1, 0]);
      expect(emitted('ExportNoProgress')).toEqual([1, 0, 0]);
    } finally {
      process.env.POWERTOOLS_METRICS_DISABLED = previous;
    }
  });
});
