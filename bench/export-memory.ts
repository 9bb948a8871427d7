// Export memory benchmark (`npm run bench:export`): one window of at least 200 MB of records exported from
// the loopback GraphQL upstream into s3rver, in a separate worker process whose peak RSS (getrusage maxRSS)
// is the figure. The upstream and s3rver run in this parent process so their memory is not counted.
// Goal: peak RSS of the exporting process under 256 MB, however large the window.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { S3Client } from '@aws-sdk/client-s3';

import { exportJobSchema } from '../lambdas/core/export-windows';
import { runExportWindow } from '../lambdas/export/export-runner';
import { startExportUpstream } from '../test/support/export-upstream';
import { workerExecArgv } from './support';

const RECORDS = Number(process.env.BENCH_EXPORT_RECORDS ?? 340_000);
const PAGE_SIZE = 2_000;
const NOTE = 'x'.repeat(64);
const WINDOW = { from: new Date('2026-11-23T09:00:00Z'), to: new Date('2026-11-23T10:00:00Z') };

/** About 660 bytes per record, partly incompressible (hex of a hash-like value), like real analytics rows. */
function record(index: number, from: string) {
  const noise = (index * 2654435761) >>> 0;
  return {
    id: `${from}#${index}`,
    seq: index,
    at: from,
    sessionId: `s-${noise.toString(16)}`,
    detections: Array.from({ length: 8 }, (_, i) => ({
      label: `class-${(noise >> i) & 15}`,
      score: (i * noise) % 997,
    })),
    payload: Array.from({ length: 24 }, (_, i) => ((noise * (i + 1)) >>> 0).toString(16).padStart(8, '0')).join(''),
    note: NOTE,
  };
}

interface WorkerArgs {
  readonly upstreamUrl: string;
  readonly s3Endpoint: string;
}

async function worker(args: WorkerArgs): Promise<void> {
  const s3 = new S3Client({
    endpoint: args.s3Endpoint,
    region: 'ap-southeast-2',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  const job = exportJobSchema.parse({
    name: 'memory',
    tenant: 'bench',
    schedule: 'rate(1 hour)',
    kind: 'graphql',
    url: `${args.upstreamUrl}/graphql`,
    query: 'query R($from: String!, $to: String!, $nextToken: String, $limit: Int) { records { items nextToken } }',
    variables: { limit: PAGE_SIZE },
    itemsPath: 'data.records.items',
    pagination: { cursorPath: 'data.records.nextToken' },
    maxPageBytes: 64 * 1024 * 1024,
  });
  const headers = { authorization: 'bench-token' };
  const tokens = {
    headers: async () => headers,
    getToken: async () => ({ headers }) as never,
  };
  const baselineRssMb = process.memoryUsage().rss / 1024 / 1024;
  const started = performance.now();
  const result = await runExportWindow(job, WINDOW, { tokens, s3, bucket: 'exports' });
  const seconds = (performance.now() - started) / 1000;
  const manifest = {
    records: result.records,
    pages: result.pages,
    bytes: result.bytes,
    seconds,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    baselineRssMb,
  };
  process.send?.(manifest);
}

async function main(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require('s3rver') as new (options: Record<string, unknown>) => {
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  };
  const directory = mkdtempSync(join(tmpdir(), 'tvm-bench-s3-'));
  const s3rver = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: 'exports' }],
  });
  const address = await s3rver.run();
  let uncompressed = 0;
  const upstream = await startExportUpstream({
    recordsPerWindow: () => RECORDS,
    pageSize: PAGE_SIZE,
    record: (index, from) => {
      const row = record(index, from);
      uncompressed += JSON.stringify(row).length + 1;
      return row;
    },
  });
  try {
    const child = fork(__filename, ['--worker'], {
      execArgv: workerExecArgv(),
      env: {
        ...process.env,
        BENCH_EXPORT_WORKER: JSON.stringify({
          upstreamUrl: upstream.url,
          s3Endpoint: `http://127.0.0.1:${address.port}`,
        }),
      },
    });
    const figures = await new Promise<Record<string, number>>((resolve, reject) => {
      child.on('message', (message) => resolve(message as Record<string, number>));
      child.on('exit', (code) => (code === 0 ? undefined : reject(new Error(`worker exited with ${code}`))));
    });
    await new Promise((resolve) => child.on('exit', resolve));
    const mb = uncompressed / 1024 / 1024;
    const rows: Array<[string, string]> = [
      ['records exported', String(figures.records)],
      ['pages', String(figures.pages)],
      ['NDJSON size (MB)', mb.toFixed(1)],
      ['object size, gzip (MB)', ((figures.bytes ?? 0) / 1024 / 1024).toFixed(1)],
      ['wall time (s)', (figures.seconds ?? 0).toFixed(1)],
      ['throughput (MB/s of NDJSON)', (mb / (figures.seconds ?? 1)).toFixed(1)],
      ['RSS of the worker before the export (MB)', (figures.baselineRssMb ?? 0).toFixed(1)],
      ['peak RSS of the exporting process (MB)', (figures.maxRssMb ?? 0).toFixed(1)],
      ['goal', 'peak RSS < 256 MB with >= 200 MB of records'],
    ];
    for (const [name, value] of rows) console.log(`${name.padEnd(42)} ${value}`);
    const ok = mb >= 200 && (figures.maxRssMb ?? Infinity) < 256;
    console.log(ok ? 'export memory: goal met' : 'export memory: GOAL MISSED');
    process.exitCode = ok ? 0 : 1;
  } finally {
    await upstream.close();
    await s3rver.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

if (process.argv.includes('--worker')) {
  void worker(JSON.parse(process.env.BENCH_EXPORT_WORKER ?? '{}') as WorkerArgs).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
} else {
  void main();
}
