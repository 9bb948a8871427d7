// Cold start of the deployed bundles (built with lib/bundle-settings.ts, exactly as deployed): module init, and
// init plus the first event, each in a fresh Node.js process started with Lambda's flags (lambdaNodeArgs), run in
// alternation with `node -e 0` and with the same runner loading an empty handler; the figures are medians of the wall
// times minus the median of the empty handler's (and, beside them, minus bare `node -e 0`). Peak RSS from the
// process's own resourceUsage().
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { build } from 'esbuild';

import { ENV } from '../contract/names';
import { BUNDLE_SETTINGS, esbuildOptions, loadedAtStart, writeBundle } from '../lib/bundle-settings';
import { apiEvent, lambdaContext, lambdaEnv, lambdaNodeArgs, median, notes, results, round } from './support';

export const COLD_RUNS = 7;

/**
 * Loads the bundle, runs one event if given, and writes timings and peak RSS to BENCH_OUT. Before the clock starts it
 * loads what Lambda's runtime interface client (aws-lambda-ric) has loaded when it imports a handler: \`http\` with a
 * keep-alive agent for the Runtime API, \`net\`, \`util\`, \`fs\`, \`path\`, \`assert\`, and the console it patches.
 */
const RUNNER = `
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
const require = createRequire(import.meta.url);
for (const name of ['util', 'net', 'fs', 'path', 'assert']) require(name);
new (require('http').Agent)({ keepAlive: true, maxSockets: 1 });
console.log.bind(console);
const bundle = process.env.BENCH_BUNDLE;
const t0 = performance.now();
// As Lambda's runtime interface client loads a handler: import for an ES module (.mjs), require for CommonJS.
const mod = bundle.endsWith('.mjs') ? await import(pathToFileURL(bundle).href) : require(bundle);
const t1 = performance.now();
let status = 0;
if (process.env.BENCH_EVENT) {
  const answer = await mod.handler(JSON.parse(process.env.BENCH_EVENT), { ...JSON.parse(process.env.BENCH_CONTEXT), getRemainingTimeInMillis: () => 10000 });
  status = answer?.statusCode ?? 0;
}
writeFileSync(process.env.BENCH_OUT, JSON.stringify({ importMs: t1 - t0, eventMs: performance.now() - t1, status, maxRssKb: process.resourceUsage().maxRSS }));
process.exit(0);
`;

export interface ColdCase {
  readonly name: string;
  readonly fn: string;
  readonly env: NodeJS.ProcessEnv;
  /** Absent: module init only. Given the run's index. */
  readonly event?: (run: number) => unknown;
  /** The answer's statusCode the event must get (API events). */
  readonly expectStatus?: number;
}

/**
 * Builds the three bundles and records their sizes: `bytes` / `gzipBytes` for all the code deployed (the entry and
 * every chunk, each file compressed alone, as the deployment zip does), `startBytes` / `startGzipBytes` for what a
 * cold start loads.
 */
export async function buildBundles(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const fn of ['vend', 'refresh', 'export']) {
    const outdir = join(dir, fn);
    // Built as deployed (lib/tvm-function.ts): for dist/bundles/<fn>, then written here, so the files are the same.
    const { metafile, outputFiles } = await build({
      ...esbuildOptions(fn),
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    writeBundle(outputFiles, outdir, true);
    const code = Object.keys(metafile.outputs)
      .filter((path) => path.endsWith('.mjs'))
      .map((path) => basename(path));
    const atStart = new Set(loadedAtStart(metafile).map((path) => basename(path)));
    const size = (names: string[]) => {
      const contents = names.map((name) => readFileSync(join(outdir, name)));
      return {
        bytes: contents.reduce((sum, bytes) => sum + bytes.length, 0),
        gzip: contents.reduce((sum, bytes) => sum + gzipSync(bytes).length, 0),
      };
    };
    const all = size(code);
    const start = size(code.filter((path) => atStart.has(path)));
    results[`coldStart.${fn}.bytes`] = all.bytes;
    results[`coldStart.${fn}.gzipBytes`] = all.gzip;
    results[`coldStart.${fn}.startBytes`] = start.bytes;
    results[`coldStart.${fn}.startGzipBytes`] = start.gzip;
    results[`coldStart.${fn}.files`] = code.length;
    files[fn] = join(outdir, BUNDLE_SETTINGS.outputFile);
  }
  return files;
}

export function exportEnv(): NodeJS.ProcessEnv {
  return lambdaEnv({
    AWS_LAMBDA_FUNCTION_NAME: 'tvm-export',
    [ENV.exportJob]: JSON.stringify({
      name: 'bench',
      tenant: 'acme',
      schedule: 'rate(1 hour)',
      graphqlUrl: 'https://example.com/graphql',
      query: '{ x }',
    }),
    [ENV.endpoint]: 'https://example.com/',
    [ENV.exportBucket]: 'bench-exports',
  });
}

/** Median wall time over bare Node, and the median peak RSS, of each case; the cases and `node -e 0` alternate. */
export async function runColdCases(bundles: Record<string, string>, cases: ColdCase[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tvm-cold-'));
  const runner = join(dir, 'runner.mjs');
  writeFileSync(runner, RUNNER);
  // The runner itself (the ES module loader, writing its figures) is no part of a function's init: an empty handler,
  // loaded the same way, is the baseline.
  const empty = join(dir, 'empty.mjs');
  writeFileSync(empty, 'export const handler = async () => ({ statusCode: 200 });\n');
  const out = join(dir, 'out.json');
  // Asynchronous: the emulators the first events call run in this process.
  const wall = (args: string[], env: NodeJS.ProcessEnv) =>
    new Promise<number>((resolve, reject) => {
      const t0 = performance.now();
      // Every process (bare Node.js too) starts with the flags Lambda's runtime gives a function.
      const child = spawn(process.execPath, [...lambdaNodeArgs(), ...args], {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('close', (code) => {
        const ms = performance.now() - t0;
        if (code === 0) resolve(ms);
        else reject(new Error(`${args.join(' ')} failed: ${stderr.slice(0, 2000)}`));
      });
    });
  const bare: number[] = [];
  const emptyHandler: number[] = [];
  const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  const rss = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  const inside = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  const statuses = new Map<string, Set<number>>(cases.map((c) => [c.name, new Set()]));
  for (let run = 0; run < COLD_RUNS; run++) {
    for (const c of cases) {
      bare.push(await wall(['-e', '0'], c.env));
      emptyHandler.push(await wall([runner], { ...c.env, BENCH_BUNDLE: empty, BENCH_OUT: out }));
      const env: NodeJS.ProcessEnv = {
        ...c.env,
        BENCH_BUNDLE: bundles[c.fn],
        BENCH_OUT: out,
        BENCH_CONTEXT: JSON.stringify(lambdaContext),
        ...(c.event ? { BENCH_EVENT: JSON.stringify(c.event(run)) } : {}),
      };
      times.get(c.name)?.push(await wall([runner], env));
      const measured = JSON.parse(readFileSync(out, 'utf8')) as {
        maxRssKb: number;
        status: number;
        importMs: number;
        eventMs: number;
      };
      rss.get(c.name)?.push(measured.maxRssKb / 1024);
      inside.get(c.name)?.push(measured.importMs + (c.event ? measured.eventMs : 0));
      if (c.expectStatus !== undefined) statuses.get(c.name)?.add(measured.status);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const bareMs = median(bare);
  const emptyMs = median(emptyHandler);
  results['coldStart.bareNodeMs'] = round(bareMs);
  results['coldStart.emptyHandlerOverBareNodeMs'] = round(emptyMs - bareMs);
  for (const c of cases) {
    results[`coldStart.${c.name}Ms`] = round(median(times.get(c.name) ?? []) - emptyMs);
    results[`coldStart.${c.name}.overBareNodeMs`] = round(median(times.get(c.name) ?? []) - bareMs);
    results[`coldStart.${c.name}.peakRssMb`] = round(median(rss.get(c.name) ?? []));
    // The same, timed inside the process (import, then the event): no process start or exit in it.
    results[`coldStart.${c.name}.insideMs`] = round(median(inside.get(c.name) ?? []));
    const seen = [...(statuses.get(c.name) ?? [])];
    if (c.expectStatus !== undefined && seen.some((s) => s !== c.expectStatus))
      notes.push(`coldStart ${c.name}: answered ${seen.join(', ')}`);
  }
}

/** The emulators and tenants the first events need: a warm tenant (Secrets Manager + L2 read) and misses. */
export async function benchColdStart(
  seed: (shared: { tableEndpoint: string; tableName: string; kmsEndpoint: string }) => Promise<void>,
  emulators: { tableEndpoint: string; tableName: string; kmsEndpoint: string; secretsEndpoint: string },
  keyId: string,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tvm-bundles-'));
  try {
    await runWithBundles(await buildBundles(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  async function runWithBundles(bundles: Record<string, string>) {
    await seed(emulators);
    const deployed = lambdaEnv({
      [ENV.cacheTable]: emulators.tableName,
      [ENV.cacheKeyId]: keyId,
      AWS_ENDPOINT_URL_DYNAMODB: emulators.tableEndpoint,
      AWS_ENDPOINT_URL_KMS: emulators.kmsEndpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: emulators.secretsEndpoint,
    });
    await runColdCases(bundles, [
      { name: 'vend.init', fn: 'vend', env: deployed },
      { name: 'vend.firstWarmEvent', fn: 'vend', env: deployed, event: () => apiEvent('warm'), expectStatus: 200 },
      {
        name: 'vend.firstMissEvent',
        fn: 'vend',
        env: deployed,
        event: (run) => apiEvent(`miss-${run}`),
        expectStatus: 200,
      },
      {
        name: 'refresh.init',
        fn: 'refresh',
        env: { ...deployed, AWS_LAMBDA_FUNCTION_NAME: 'tvm-refresh', [ENV.tenants]: '["warm"]' },
      },
      {
        name: 'refresh.firstEvent',
        fn: 'refresh',
        env: { ...deployed, AWS_LAMBDA_FUNCTION_NAME: 'tvm-refresh', [ENV.tenants]: '["warm"]' },
        event: () => ({}),
      },
      { name: 'export.init', fn: 'export', env: exportEnv() },
    ]);
  }
}
