import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

import { ENV } from '../contract/names';
import { startLocalDynamo } from '../lambdas/local/dynalite';
import { startLoginEndpointEmulator } from '../lambdas/local/login-endpoint-emulator';
import { FAULTS, startFaultProxy, type FaultRule } from '../test/support/fault-proxy';
import { MIN_TTLS, SKEW_SECONDS, type PhaseFigures, type WorkerMessage } from './soak-shared';

/**
 * `npm run soak` (not part of `npm test`): 8 worker processes, each the real runtime, share one dynalite table and
 * one login-endpoint upstream issuing short-lived tokens, both reached through fault proxies. The run walks a
 * fault schedule (latency, resets, 5xx bursts, throttling, a stopped table, stalled bodies, an upstream outage)
 * and ends with a recovery period. Writes bench/soak.json and prints a table. Nothing here asserts a time; the
 * counts that must be 0 are printed with their goal, and the process exits 1 when one is not.
 *
 * SOAK_SECONDS (default 300) scales every phase; SOAK_QUICK=1 runs a 60 s smoke version. SOAK_WORKERS (8),
 * SOAK_TENANTS (20), SOAK_LANES (12 per worker) and SOAK_LANE_RATE (requests per second per lane) tune the load.
 */
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE ??= '1';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env[ENV.powertoolsMetricsDisabled] ??= 'true';

const quick = process.env.SOAK_QUICK === '1';
const totalSeconds = Number(process.env.SOAK_SECONDS ?? (quick ? 60 : 300));
const workerCount = Number(process.env.SOAK_WORKERS ?? 8);
const tenantCount = Number(process.env.SOAK_TENANTS ?? 20);
const lanes = Number(process.env.SOAK_LANES ?? 12);
/** Aim: at least 100,000 vends over the full run (about 350 per second fleet-wide). */
const laneRate = Number(process.env.SOAK_LANE_RATE ?? Math.ceil(110_000 / totalSeconds / workerCount / lanes));
/** Token lifetime at the upstream: short, so sessions renew every (lifetime - max minTtl - skew) = 30 s. */
const TOKEN_TTL_SECONDS = 120;
const RENEWAL_PERIOD_SECONDS = TOKEN_TTL_SECONDS - Math.max(...MIN_TTLS) - SKEW_SECONDS;

interface Phase {
  readonly name: string;
  /** Share of the run. */
  readonly share: number;
  readonly login?: readonly FaultRule[];
  readonly dynamo?: readonly FaultRule[];
  readonly dynamoStopped?: boolean;
  readonly upstreamStopped?: boolean;
  readonly note: string;
}

const AUTH_ROUTES = /^POST \/auth\//;
const SCHEDULE: readonly Phase[] = [
  { name: 'warmup', share: 0.1, note: 'no faults' },
  {
    name: 'latency',
    share: 0.1,
    login: [{ fault: { kind: 'latency', ms: 400 }, match: AUTH_ROUTES }],
    dynamo: [{ fault: { kind: 'latency', ms: 40 } }],
    note: 'upstream +400 ms, table +40 ms',
  },
  {
    name: 'resets',
    share: 0.1,
    login: [{ fault: { kind: 'reset' }, rate: 0.3, match: AUTH_ROUTES }],
    dynamo: [{ fault: { kind: 'reset' }, rate: 0.2 }],
    note: '30% of upstream, 20% of table requests reset',
  },
  {
    name: '5xx-burst',
    share: 0.08,
    login: [{ fault: FAULTS.unavailable, rate: 0.6, match: AUTH_ROUTES }],
    note: '60% of upstream requests 503',
  },
  {
    name: 'throttling',
    share: 0.08,
    login: [{ fault: FAULTS.throttled, rate: 0.5, match: AUTH_ROUTES }],
    dynamo: [{ fault: FAULTS.dynamoThrottled, rate: 0.3 }],
    note: '50% upstream 429, 30% table ProvisionedThroughputExceeded',
  },
  { name: 'table-stopped', share: 0.1, dynamoStopped: true, note: 'DynamoDB refuses connections' },
  {
    name: 'stalled',
    share: 0.08,
    login: [{ fault: { kind: 'stall' }, rate: 0.3, match: AUTH_ROUTES }],
    dynamo: [{ fault: { kind: 'stall' }, rate: 0.05 }],
    note: '30% upstream, 5% table answers stall mid-body',
  },
  { name: 'outage', share: 0.14, upstreamStopped: true, note: 'upstream refuses connections' },
  { name: 'recovery', share: 0.22, note: 'no faults' },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

/** Fewest renewals per tenant an oracle needs so that a session meeting every minTtl exists whenever the upstream answers. */
function theoreticalRenewals(phases: { name: string; startS: number; endS: number; upstreamStopped: boolean }[]) {
  const end = phases.at(-1)?.endS ?? 0;
  const down = phases.filter((p) => p.upstreamStopped);
  let at = 0;
  let count = 1;
  for (;;) {
    let next = at + RENEWAL_PERIOD_SECONDS;
    const outage = down.find((p) => next >= p.startS && next < p.endS);
    if (outage) next = outage.endS;
    if (next >= end) return count;
    count++;
    at = next;
  }
}

let finished = false;
const lost = new Set<number>();
const debug = (what: string) => process.env.SOAK_DEBUG && process.stderr.write(`  [${what}]\n`);

async function main(): Promise<void> {
  const started = performance.now();
  const apiKey = `soak-${randomBytes(8).toString('hex')}`;
  const users: Record<string, string> = {};
  for (let i = 0; i < tenantCount; i++) users[`user${i}@example.com`] = `Pw-${randomBytes(9).toString('base64url')}`;
  const upstream = await startLoginEndpointEmulator({ users, apiKey, tokenTtlSeconds: TOKEN_TTL_SECONDS });
  const dynamo = await startLocalDynamo('tvm-soak');
  const loginProxy = await startFaultProxy(upstream.baseUrl);
  const dynamoProxy = await startFaultProxy(dynamo.endpoint);
  const tenants: Record<string, Record<string, unknown>> = {};
  Object.entries(users).forEach(([username, password], i) => {
    tenants[`t${String(i).padStart(2, '0')}`] = {
      provider: 'login-endpoint',
      baseUrl: loginProxy.url,
      loginPath: '/auth/login',
      refreshPath: '/auth/refresh',
      apiKey,
      username,
      password,
      jwt: { issuer: upstream.issuer, jwksUri: upstream.jwksUri },
    };
  });

  // One master key for the session items' envelope, shared by the fleet as the fleet shares its KMS key.
  const fleetKey = randomBytes(32).toString('base64');
  const workers: ChildProcess[] = Array.from({ length: workerCount }, () =>
    fork(join(__dirname, 'soak-worker.ts'), [], {
      execArgv: ['--expose-gc', '--require', require.resolve('tsx/cjs')],
      env: {
        ...process.env,
        SOAK_TENANTS: JSON.stringify(tenants),
        SOAK_LANES: String(lanes),
        SOAK_LANE_RATE: String(laneRate),
        SOAK_DYNAMO_ENDPOINT: dynamoProxy.url,
        SOAK_TABLE: dynamo.tableName,
        [ENV.localCacheKey]: fleetKey,
      },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    }),
  );
  const inbox = workers.map(() => [] as WorkerMessage[]);
  const waiters = workers.map(() => [] as ((m: WorkerMessage) => void)[]);
  workers.forEach((worker) =>
    worker.on('exit', (code, signal) => {
      if (!finished) process.stderr.write(`  worker ${worker.pid} exited early (${code ?? signal})\n`);
    }),
  );
  workers.forEach((worker, i) =>
    worker.on('message', (message: WorkerMessage) => {
      const waiter = waiters[i]?.shift();
      if (waiter) waiter(message);
      else inbox[i]?.push(message);
    }),
  );
  const next = (i: number) =>
    new Promise<WorkerMessage>((resolve) => {
      const queued = inbox[i]?.shift();
      if (queued) resolve(queued);
      else waiters[i]?.push(resolve);
    });
  // A worker that died cannot answer: stand in for it (its figures are missing and reported as such).
  workers.forEach((worker, i) =>
    worker.on('exit', () => {
      lost.add(i);
      const gone: WorkerMessage = { type: 'done', phases: {} };
      for (const waiter of waiters[i]?.splice(0) ?? []) waiter(gone);
    }),
  );
  const rss = async (label: string) => {
    workers.forEach((w) => w.send({ type: 'rss', label }));
    return Promise.all(
      workers.map(async (_, i) => {
        const message = lost.has(i) && !inbox[i]?.length ? undefined : await next(i);
        return message?.type === 'rss' ? message : { type: 'rss' as const, label, rss: 0, heapUsed: 0 };
      }),
    );
  };
  await Promise.all(workers.map((_, i) => next(i)));
  const start = await rss('start');
  const rssStart = start.map((m) => m.rss);

  const timeline: { name: string; startS: number; endS: number; upstreamStopped: boolean; note: string }[] = [];
  const runStarted = performance.now();
  let rssWarm: number[] = [];
  let heapWarm: number[] = [];
  for (const phase of SCHEDULE) {
    loginProxy.setRules(phase.login ?? []);
    dynamoProxy.setRules(phase.dynamo ?? []);
    if (phase.dynamoStopped) await dynamoProxy.stop();
    else await dynamoProxy.start();
    if (phase.upstreamStopped) await loginProxy.stop();
    else await loginProxy.start();
    const startS = (performance.now() - runStarted) / 1000;
    workers.forEach((w) => w.send({ type: 'phase', name: phase.name }));
    process.stderr.write(`  ${phase.name.padEnd(14)} ${phase.note}\n`);
    await sleep(phase.share * totalSeconds * 1000);
    timeline.push({
      name: phase.name,
      startS,
      endS: (performance.now() - runStarted) / 1000,
      upstreamStopped: phase.upstreamStopped === true,
      note: phase.note,
    });
    if (phase.name === 'warmup') {
      const warm = await rss('warm');
      rssWarm = warm.map((m) => m.rss);
      heapWarm = warm.map((m) => m.heapUsed);
    }
  }
  process.stderr.write('  collecting figures\n');
  const end = await rss('end');
  const rssEnd = end.map((m) => m.rss);
  const heapEnd = end.map((m) => m.heapUsed);
  finished = true;
  workers.forEach((w) => w.send({ type: 'stop' }));
  const reports = await Promise.all(
    workers.map(async (_, i) => {
      for (;;) {
        if (lost.has(i) && !inbox[i]?.length) return {};
        const message = await next(i);
        if (message.type === 'done') return message.phases;
      }
    }),
  );
  finished = true;
  debug('finished = true;');
  const loginRequests = upstream.count('/auth/login');
  const refreshRequests = upstream.count('/auth/refresh');
  await loginProxy.close();
  debug('await loginProxy.close();');
  await dynamoProxy.close();
  debug('await dynamoProxy.close();');
  await upstream.close();
  debug('await upstream.close();');
  await dynamo.close();
  debug('await dynamo.close();');

  // Merge the workers' figures per phase.
  const merged: Record<string, PhaseFigures> = {};
  for (const report of reports) {
    for (const [name, f] of Object.entries(report)) {
      const m = (merged[name] ??= {
        ...f,
        errors: {},
        latenciesMs: [],
        requests: 0,
        ok: 0,
        belowMinTtl: 0,
        crossTenant: 0,
        missingRetryAfter: 0,
        servableButFailed: 0,
        lastErrorMs: -1,
        signIns: 0,
        refreshes: 0,
        upstreamRetries: 0,
        leaseWaits: 0,
        sharedCacheErrors: 0,
      });
      m.requests += f.requests;
      m.ok += f.ok;
      m.belowMinTtl += f.belowMinTtl;
      m.crossTenant += f.crossTenant;
      m.missingRetryAfter += f.missingRetryAfter;
      m.servableButFailed += f.servableButFailed;
      m.lastErrorMs = Math.max(m.lastErrorMs, f.lastErrorMs);
      m.signIns += f.signIns;
      m.refreshes += f.refreshes;
      m.upstreamRetries += f.upstreamRetries;
      m.leaseWaits += f.leaseWaits;
      m.sharedCacheErrors += f.sharedCacheErrors;
      for (const [code, n] of Object.entries(f.errors)) m.errors[code] = (m.errors[code] ?? 0) + n;
      for (const ms of f.latenciesMs) m.latenciesMs.push(ms);
    }
  }
  debug('merged');
  const phases = SCHEDULE.map(({ name }) => {
    const f = merged[name];
    const sorted = (f?.latenciesMs ?? []).sort((a, b) => a - b);
    const t = timeline.find((p) => p.name === name);
    return {
      name,
      note: t?.note ?? '',
      seconds: round((t?.endS ?? 0) - (t?.startS ?? 0)),
      requests: f?.requests ?? 0,
      ok: f?.ok ?? 0,
      errors: f?.errors ?? {},
      belowMinTtl: f?.belowMinTtl ?? 0,
      crossTenant: f?.crossTenant ?? 0,
      missingRetryAfter: f?.missingRetryAfter ?? 0,
      servableButFailed: f?.servableButFailed ?? 0,
      lastErrorSeconds: f && f.lastErrorMs >= 0 ? round(f.lastErrorMs / 1000) : null,
      signIns: f?.signIns ?? 0,
      refreshes: f?.refreshes ?? 0,
      upstreamRetries: f?.upstreamRetries ?? 0,
      leaseWaits: f?.leaseWaits ?? 0,
      sharedCacheErrors: f?.sharedCacheErrors ?? 0,
      p50Ms: round(percentile(sorted, 50), 2),
      p99Ms: round(percentile(sorted, 99), 2),
    };
  });
  const sum = (pick: (p: (typeof phases)[number]) => number) => phases.reduce((s, p) => s + pick(p), 0);
  const errorsByCode: Record<string, number> = {};
  for (const p of phases)
    for (const [code, n] of Object.entries(p.errors)) errorsByCode[code] = (errorsByCode[code] ?? 0) + n;
  debug('phases');
  const minimumPerTenant = theoreticalRenewals(timeline);
  const renewals = sum((p) => p.signIns + p.refreshes);
  // Phases where the table answers: the fleet should renew like one container.
  const tableUp = phases.filter((p) => p.name !== 'table-stopped');
  const tableDown = phases.find((p) => p.name === 'table-stopped');
  const recovery = phases.find((p) => p.name === 'recovery');
  const outage = phases.find((p) => p.name === 'outage');
  const rssGrowth = rssWarm.map((warm, i) => round(((rssEnd[i] ?? 0) / warm - 1) * 100));

  const summary = {
    workers: workerCount,
    workersLost: lost.size,
    tenants: tenantCount,
    cores: availableParallelism(),
    tokenTtlSeconds: TOKEN_TTL_SECONDS,
    minTtls: [...MIN_TTLS],
    skewSeconds: SKEW_SECONDS,
    renewalPeriodSeconds: RENEWAL_PERIOD_SECONDS,
    runSeconds: round((performance.now() - runStarted) / 1000),
    wallSeconds: round((performance.now() - started) / 1000),
    requests: sum((p) => p.requests),
    ok: sum((p) => p.ok),
    errorsByCode,
    internalErrors: errorsByCode.internal_error ?? 0,
    belowMinTtl: sum((p) => p.belowMinTtl),
    crossTenant: sum((p) => p.crossTenant),
    missingRetryAfter: sum((p) => p.missingRetryAfter),
    outageServableButFailed: outage?.servableButFailed ?? 0,
    servableButFailed: sum((p) => p.servableButFailed),
    signIns: sum((p) => p.signIns),
    refreshes: sum((p) => p.refreshes),
    renewals,
    theoreticalMinimumRenewals: minimumPerTenant * tenantCount,
    renewalsOverMinimumPct: round((renewals / (minimumPerTenant * tenantCount) - 1) * 100),
    renewalsWithTableUp: tableUp.reduce((s, p) => s + p.signIns + p.refreshes, 0),
    renewalsWithTableStopped: (tableDown?.signIns ?? 0) + (tableDown?.refreshes ?? 0),
    upstreamLoginRequests: loginRequests,
    upstreamRefreshRequests: refreshRequests,
    upstreamRetries: sum((p) => p.upstreamRetries),
    leaseWaits: sum((p) => p.leaseWaits),
    sharedCacheErrors: sum((p) => p.sharedCacheErrors),
    recoveryLastErrorSeconds: recovery?.lastErrorSeconds ?? null,
    proxies: { login: loginProxy.counts, dynamo: dynamoProxy.counts },
    rssMbStart: rssStart.map((b) => round(b / 2 ** 20)),
    rssMbWarm: rssWarm.map((b) => round(b / 2 ** 20)),
    rssMbEnd: rssEnd.map((b) => round(b / 2 ** 20)),
    rssGrowthPctSinceWarm: rssGrowth,
    heapMbAfterGcWarm: heapWarm.map((b) => round(b / 2 ** 20)),
    heapMbAfterGcEnd: heapEnd.map((b) => round(b / 2 ** 20)),
    phases,
  };
  debug('summary');
  writeFileSync(join(__dirname, 'soak.json'), `${JSON.stringify(summary, null, 2)}\n`);

  const lines = [
    '',
    `${'phase'.padEnd(14)} ${'s'.padStart(5)} ${'requests'.padStart(9)} ${'ok'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'renew'.padStart(6)} ${'retry'.padStart(6)} ${'lease'.padStart(6)} ${'L2 err'.padStart(7)}  errors`,
    ...phases.map(
      (p) =>
        `${p.name.padEnd(14)} ${String(p.seconds).padStart(5)} ${String(p.requests).padStart(9)} ${String(p.ok).padStart(8)} ${String(p.p50Ms).padStart(8)} ${String(p.p99Ms).padStart(8)} ${String(p.signIns + p.refreshes).padStart(6)} ${String(p.upstreamRetries).padStart(6)} ${String(p.leaseWaits).padStart(6)} ${String(p.sharedCacheErrors).padStart(7)}  ${Object.entries(
          p.errors,
        )
          .map(([c, n]) => `${c}=${n}`)
          .join(' ')}`,
    ),
    '',
    `requests ${summary.requests}, ok ${summary.ok}, errors ${JSON.stringify(errorsByCode)}`,
    `tokens below minTtl        ${summary.belowMinTtl}  (goal 0)`,
    `cross-tenant tokens        ${summary.crossTenant}  (goal 0)`,
    `500 internal_error         ${summary.internalErrors}  (goal 0)`,
    `503/429 without Retry-After ${summary.missingRetryAfter}  (goal 0)`,
    `errors although memory sufficed ${summary.servableButFailed} (outage: ${summary.outageServableButFailed})  (goal 0)`,
    `renewals (sign-ins ${summary.signIns} + refreshes ${summary.refreshes}) ${renewals}; theoretical minimum ${summary.theoreticalMinimumRenewals} (${summary.renewalsOverMinimumPct}% over); with the table stopped ${summary.renewalsWithTableStopped}`,
    `upstream requests: login ${loginRequests}, refresh ${refreshRequests}; vendor retries ${summary.upstreamRetries}; lease waits ${summary.leaseWaits}; shared-cache errors ${summary.sharedCacheErrors}`,
    `last error after recovery began: ${summary.recoveryLastErrorSeconds ?? 'none'} s`,
    `RSS MB start ${summary.rssMbStart.join(' ')}`,
    `RSS MB warm  ${summary.rssMbWarm.join(' ')}`,
    `RSS MB end   ${summary.rssMbEnd.join(' ')}  (growth since warm-up %: ${rssGrowth.join(' ')}; goal <= 20)`,
    `heap MB after GC, warm ${summary.heapMbAfterGcWarm.join(' ')}; end ${summary.heapMbAfterGcEnd.join(' ')}`,
    `run ${summary.runSeconds} s, wall ${summary.wallSeconds} s; wrote bench/soak.json`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const failed = summary.belowMinTtl + summary.crossTenant + summary.internalErrors + summary.missingRetryAfter;
  process.exitCode = failed > 0 ? 1 : 0;
  workers.forEach((w) => w.kill());
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    process.stderr.write(`soak failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
