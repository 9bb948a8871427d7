/**
 * One "Lambda container" of the soak (`npm run soak`), in its own process: the real runtime (handler, vendor,
 * login-endpoint provider, DynamoDB shared layer sealed with the local envelope) whose upstream and table are
 * reached through fault proxies. Vends at a steady pace on a few lanes until told to stop, checks every answer
 * (token lifetime against minTtl, token subject against the tenant's user, Retry-After on 503/429), and reports
 * per-phase figures to the parent over IPC.
 */
import { join } from 'node:path';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';

import { ENV } from '../contract/names';
import { awsClientOptions } from '../lambdas/adapters/aws-client-options';
import { StaticTenantStore } from '../lambdas/adapters/file-tenant-store';
import { MemorySessionCache } from '../lambdas/adapters/memory-cache';
import { satisfies } from '../lambdas/core/cache-policy';
import type { VendorEvent } from '../lambdas/core/ports';
import { createHttpHandler } from '../lambdas/handlers/http-handler';
import { createObservability } from '../lambdas/handlers/observability';
import { composeRuntime, sharedStateFor } from '../lambdas/runtime/compose';
import { loadRuntimeConfig } from '../lambdas/runtime/config';
import {
  emptyPhase,
  MIN_TTLS,
  recordLatency,
  SKEW_SECONDS,
  SOAK_CALLER,
  type ParentMessage,
  type PhaseFigures,
  type RenewalPath,
  type RenewalRecord,
  type WorkerMessage,
} from './soak-shared';
import { apiEvent } from './support';

/** Renewal records kept at most (a few hundred in a 5 min run): the harness must not grow with the load. */
const MAX_RENEWAL_RECORDS = 20_000;

/** What a shared-cache error was, from the event's `name: message` (the SDK names a connection reset TimeoutError). */
function errorKind(error: string): string {
  if (/ECONNREFUSED/.test(error)) return 'refused';
  if (/ECONNRESET|socket hang up|EPIPE/.test(error)) return 'reset';
  if (/ProvisionedThroughputExceeded|Throttl/.test(error)) return 'throttled';
  if (/^(TimeoutError|TimeBudgetExceededError)/.test(error)) return 'timeout';
  return 'other';
}

/** What one tenant's flight in this container has seen since its previous renewal or adoption. */
interface FlightLog {
  leaseFailed: boolean;
  /** A timeout-named error: the shared layer skips the table for the rest of that vend. */
  down: boolean;
  readFailed: boolean;
  refused: boolean;
}

const cleanLog = (): FlightLog => ({ leaseFailed: false, down: false, readFailed: false, refused: false });

function pathOf(log: FlightLog): RenewalPath {
  if (log.refused) return 'table-stopped';
  if (log.leaseFailed) return 'lease-call-failed';
  if (log.down) return 'layer-down';
  if (log.readFailed) return 'shared-read-failed';
  return 'lease';
}

function jwtPayload(token: unknown): Record<string, unknown> | undefined {
  if (typeof token !== 'string') return undefined;
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const tenants = JSON.parse(process.env.SOAK_TENANTS ?? '{}') as Record<string, { username: string }>;
  const lanes = Number(process.env.SOAK_LANES ?? 4);
  const perLaneRate = Number(process.env.SOAK_LANE_RATE ?? 10);
  const dynamoEndpoint = process.env.SOAK_DYNAMO_ENDPOINT ?? '';
  const tableName = process.env.SOAK_TABLE ?? 'tvm-cache';
  const ids = Object.keys(tenants);

  const phases: Record<string, PhaseFigures> = {};
  let phaseName = 'start';
  let phaseStarted = performance.now();
  let figures = emptyPhase();
  phases[phaseName] = figures;

  const renewals: RenewalRecord[] = [];
  const flightLogs = new Map<string, FlightLog>();
  const flightLog = (tenantId: string): FlightLog => {
    let log = flightLogs.get(tenantId);
    if (!log) flightLogs.set(tenantId, (log = cleanLog()));
    return log;
  };
  const renewed = (tenantId: string, kind: RenewalRecord['kind']) => {
    const path = pathOf(flightLog(tenantId));
    flightLogs.set(tenantId, cleanLog());
    figures.renewalPaths[path] = (figures.renewalPaths[path] ?? 0) + 1;
    if (renewals.length < MAX_RENEWAL_RECORDS)
      renewals.push({ atMs: Date.now(), tenantId, phase: phaseName, kind, path });
    if (process.env.SOAK_DEBUG)
      process.stderr.write(`worker ${process.pid} ${phaseName} ${tenantId} ${kind} via ${path}\n`);
  };
  const onEvent = (e: VendorEvent) => {
    if (e.type === 'sign_in') {
      figures.signIns++;
      renewed(e.tenantId, 'sign_in');
    } else if (e.type === 'refresh') {
      figures.refreshes++;
      renewed(e.tenantId, 'refresh');
    } else if (e.type === 'upstream_retry') figures.upstreamRetries++;
    else if (e.type === 'lease_wait') {
      figures.leaseWaits++;
      // 'acquired' comes after the renewal (and also when the renewal alone took longer than the first poll).
      if (e.outcome !== 'acquired') flightLogs.delete(e.tenantId);
    } else if (e.type === 'shared_cache_hit') flightLogs.delete(e.tenantId);
    else if (e.type === 'shared_cache_conflict') figures.casConflicts++;
    else if (e.type === 'shared_cache_error') {
      figures.sharedCacheErrors++;
      const kind = errorKind(e.error);
      const key = `${e.operation}:${kind}`;
      figures.sharedCacheErrorKinds[key] = (figures.sharedCacheErrorKinds[key] ?? 0) + 1;
      const log = flightLog(e.tenantId);
      if (kind === 'refused') log.refused = true;
      if (/^(TimeoutError|TimeBudgetExceededError)/.test(e.error)) log.down = true;
      if (e.operation === 'lease') log.leaseFailed = true;
      else if (e.operation === 'get') log.readFailed = true;
      if (process.env.SOAK_DEBUG && kind === 'other') process.stderr.write(`worker ${process.pid} ${key} ${e.error}\n`);
    }
  };
  const client = new DynamoDBClient({
    // SOAK_DYNAMO_ATTEMPTS (diagnostics): compare the client's attempts per call with production's.
    ...awsClientOptions(
      'dynamodb',
      process.env.SOAK_DYNAMO_ATTEMPTS ? { maxAttempts: Number(process.env.SOAK_DYNAMO_ATTEMPTS) } : {},
    ),
    endpoint: dynamoEndpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const cache = new MemorySessionCache();
  const runtime = composeRuntime(
    loadRuntimeConfig({
      [ENV.consumers]: JSON.stringify([{ principal: SOAK_CALLER, tenants: ['*'] }]),
      [ENV.clockSkewSeconds]: String(SKEW_SECONDS),
    }),
    {
      tenants: new StaticTenantStore(tenants),
      shared: sharedStateFor(tableName, { now: () => Date.now() }, client),
      cache,
      onEvent,
    },
  );
  const handler = createHttpHandler(runtime, createObservability());
  const context = {
    awsRequestId: 'soak',
    functionName: 'vend',
    getRemainingTimeInMillis: () => 29_000,
  } as unknown as Context;

  const one = async (tenantId: string, minTtl: number): Promise<void> => {
    const bucket = figures;
    const started = performance.now();
    inFlight++;
    const result = await handler(
      apiEvent(tenantId, { minTtl, requestId: 'soak', caller: SOAK_CALLER }),
      context,
    ).finally(() => inFlight--);
    const nowSeconds = Math.floor(Date.now() / 1000);
    recordLatency(bucket.latencyHistogram, performance.now() - started);
    bucket.requests++;
    bucket.tenantRequests[tenantId] = (bucket.tenantRequests[tenantId] ?? 0) + 1;
    const body = JSON.parse(result.body) as Record<string, unknown>;
    if (result.statusCode === 200) {
      bucket.ok++;
      const claims = jwtPayload(body.token);
      const exp = typeof claims?.exp === 'number' ? claims.exp : 0;
      if (exp - nowSeconds < minTtl) bucket.belowMinTtl++;
      if (body.tenantId !== tenantId || claims?.sub !== tenants[tenantId]?.username) bucket.crossTenant++;
      return;
    }
    const error = body.error as { code?: unknown; message?: unknown } | undefined;
    const code = typeof error?.code === 'string' ? error.code : `status_${result.statusCode}`;
    bucket.errors[code] = (bucket.errors[code] ?? 0) + 1;
    // The message without names and numbers: a small set of reasons (e.g. which stage spent the time budget).
    const reason = `${code}: ${typeof error?.message === 'string' ? error.message : ''}`
      .replace(/'[^']*'/g, '*')
      .replace(/\d+/g, 'n');
    bucket.errorReasons[reason] = (bucket.errorReasons[reason] ?? 0) + 1;
    bucket.lastErrorMs = Math.max(bucket.lastErrorMs, performance.now() - phaseStarted);
    // Every request of the soak is valid: a 4xx is a fault of the service, shown in full.
    if (result.statusCode >= 400 && result.statusCode < 500 && result.statusCode !== 429) {
      bucket.clientErrors++;
      process.stderr.write(`worker ${process.pid} ${phaseName} ${tenantId} minTtl=${minTtl}: ${result.body}\n`);
    }
    const headers = Object.fromEntries(
      Object.entries(result.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
    );
    if ((result.statusCode === 503 || result.statusCode === 429) && headers['retry-after'] === undefined) {
      bucket.missingRetryAfter++;
    }
    const held = await cache.get(tenantId);
    if (held && satisfies(held, Date.now(), minTtl, SKEW_SECONDS)) bucket.servableButFailed++;
  };

  let stopping = false;
  let inFlight = 0;
  let serial = 0;
  const lane = async (index: number): Promise<void> => {
    const intervalMs = 1000 / perLaneRate;
    let next = performance.now() + index * (intervalMs / lanes);
    while (!stopping) {
      const n = serial++;
      const tenantId = ids[(n * 7 + index) % ids.length] as string;
      const minTtl = MIN_TTLS[n % MIN_TTLS.length] as number;
      await one(tenantId, minTtl);
      next += intervalMs;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      else {
        // Behind the pace: carry on, but let IPC messages and timers in (a hit resolves in microtasks only).
        next = performance.now();
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  };

  // Audit and log lines are written as in Lambda (JSON, warnings to stderr); only the terminal is spared.
  process.stdout.write = (() => true) as typeof process.stdout.write;
  const writeStderr = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    String(chunk).startsWith('{"level"') ? true : writeStderr(chunk, ...rest)) as typeof process.stderr.write;
  const send = (message: WorkerMessage) => process.send?.(message);
  let running: Promise<void[]> | undefined;
  process.on('message', (message: ParentMessage) => {
    if (process.env.SOAK_DEBUG)
      process.stderr.write(`worker ${process.pid} got ${JSON.stringify(message)} in flight ${inFlight}\n`);
    if (message.type === 'phase') {
      phaseName = message.name;
      phaseStarted = performance.now();
      figures = phases[phaseName] ?? emptyPhase();
      phases[phaseName] = figures;
      running ??= Promise.all(Array.from({ length: lanes }, (_, i) => lane(i)));
    } else if (message.type === 'rss') {
      // Heap after a full collection tells growth (a leak) from garbage V8 has simply not collected yet.
      const raw = process.memoryUsage();
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new Error('the soak workers need --expose-gc');
      gc();
      const collected = process.memoryUsage();
      const spaces = getHeapSpaceStatistics();
      // SOAK_HEAP_SNAPSHOTS (diagnostics, given to the first worker only): a heap snapshot after each phase.
      if (process.env.SOAK_HEAP_SNAPSHOTS) {
        const file = join(process.env.SOAK_HEAP_SNAPSHOTS, `${message.label.replace(/[^\w.-]/g, '-')}.heapsnapshot`);
        try {
          writeHeapSnapshot(file);
        } catch (error) {
          process.stderr.write(`soak worker: no heap snapshot ${file}: ${String(error)}\n`);
        }
      }
      send({
        type: 'rss',
        label: message.label,
        rssRaw: raw.rss,
        heapUsedRaw: raw.heapUsed,
        rss: collected.rss,
        heapUsed: collected.heapUsed,
        heapTotal: collected.heapTotal,
        newSpace: spaces.find((space) => space.space_name === 'new_space')?.physical_space_size ?? 0,
        external: collected.external,
        spaces: Object.fromEntries(spaces.map((space) => [space.space_name, space.space_used_size])),
      });
    } else {
      stopping = true;
      if (process.env.SOAK_DEBUG)
        setInterval(() => process.stderr.write(`worker ${process.pid} in flight ${inFlight}\n`), 2000).unref();
      void (running ?? Promise.resolve([])).then(() => {
        send({ type: 'done', phases, renewals });
        client.destroy();
        setTimeout(() => process.exit(0), 100);
      });
    }
  });
  // Load the SDK's lazily required modules before the clock starts (a real container's init does the same).
  await client
    .send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'soak-warm-up' } } }))
    .catch(() => undefined);
  send({ type: 'ready', pid: process.pid });
}

main().catch((error: unknown) => {
  process.stderr.write(`soak worker failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
