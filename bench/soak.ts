import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

import { ENV } from '../contract/names';
import { startLocalDynamo } from '../lambdas/local/dynalite';
import { startLoginEndpointEmulator } from '../lambdas/local/login-endpoint-emulator';
import { FAULTS, startFaultProxy, type FaultRule } from '../test/support/fault-proxy';
import {
  emptyPhase,
  histogramPercentile,
  MIN_TTLS,
  SKEW_SECONDS,
  type MemorySample,
  type PhaseFigures,
  type RenewalRecord,
  type WorkerMessage,
} from './soak-shared';

/**
 * `npm run soak` (not part of `npm test`): 8 worker processes, each the real runtime, share one dynalite table and
 * one login-endpoint upstream issuing short-lived tokens, both reached through fault proxies. The run walks a
 * fault schedule (latency, resets, 5xx bursts, throttling, a stopped table, stalled bodies, an upstream outage)
 * and ends with a recovery period. Writes bench/soak.json and prints a table. Nothing here asserts a time; the
 * counts that must be 0 are printed with their goal, and the process exits 1 when one is not.
 *
 * SOAK_SECONDS (default 300) scales every phase; SOAK_QUICK=1 runs a 60 s smoke version. SOAK_WORKERS (8),
 * SOAK_TENANTS (20), SOAK_LANES (12 per worker) and SOAK_LANE_RATE (requests per second per lane) tune the load.
 * A warm-up cycle (the schedule once, compressed to SOAK_WARMUP_SECONDS, default half of SOAK_SECONDS) runs first;
 * memory growth is measured from its end, and every other figure covers the whole run.
 * SOAK_PHASES=steady,resets runs only the named phases, their shares scaled to fill SOAK_SECONDS (to study one
 * fault for longer; the published figures come from the whole schedule). SOAK_DEBUG=1 prints every renewal with
 * the path that led to it; SOAK_DYNAMO_ATTEMPTS=2 gives the workers' DynamoDB client that many attempts per call;
 * SOAK_HEAP_SNAPSHOTS=<dir> has the first worker write a V8 heap snapshot after each phase (scripts/heap-diff.ts
 * compares two). Quick and partial runs, and runs with heap snapshots, write bench/soak.local.json (not
 * committed), or SOAK_OUT.
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
const FULL_SCHEDULE: readonly Phase[] = [
  { name: 'steady', share: 0.1, note: 'no faults' },
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
const onlyPhases = process.env.SOAK_PHASES?.split(',').map((name) => name.trim());
const unknownPhase = onlyPhases?.find((name) => !FULL_SCHEDULE.some((p) => p.name === name));
if (unknownPhase) throw new Error(`SOAK_PHASES: no phase '${unknownPhase}'`);
const SCHEDULE: readonly Phase[] = onlyPhases
  ? (() => {
      const chosen = FULL_SCHEDULE.filter((p) => onlyPhases.includes(p.name));
      const total = chosen.reduce((sum, p) => sum + p.share, 0);
      return chosen.map((p) => ({ ...p, share: p.share / total }));
    })()
  : FULL_SCHEDULE;
/**
 * Seconds of the warm-up cycle: the schedule once, compressed, before the measured one (default half of
 * SOAK_SECONDS; none for partial runs). A container's memory settles only once it has run every path: V8 compiles
 * the retry and error paths when they first run, and sizes its young generation to the share of objects that
 * survive while requests wait on slow answers. Memory growth is measured from the end of this cycle.
 */
const warmUpSeconds = Number(process.env.SOAK_WARMUP_SECONDS ?? (onlyPhases ? 0 : Math.round(totalSeconds / 2)));
const WARM_UP_PREFIX = 'warm-up/';
interface RunPhase extends Phase {
  readonly seconds: number;
}
/** The whole run: the warm-up cycle (phases named `warm-up/<phase>`), then the measured schedule. */
const RUN: readonly RunPhase[] = [
  ...(warmUpSeconds > 0
    ? SCHEDULE.map((p) => ({ ...p, name: `${WARM_UP_PREFIX}${p.name}`, seconds: p.share * warmUpSeconds }))
    : []),
  ...SCHEDULE.map((p) => ({ ...p, seconds: p.share * totalSeconds })),
];
const WARM_UP_PHASES = RUN.filter((p) => p.name.startsWith(WARM_UP_PREFIX)).length;
/** The phases in which containers cannot coordinate: each renews alone, by design. */
const TABLE_STOPPED = RUN.filter((p) => p.dynamoStopped).map((p) => p.name);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * When an oracle renews each tenant (seconds from the run start), with the fewest renewals so that a session
 * meeting every minTtl exists whenever the upstream answers: at the start, then every renewal period, and at the
 * end of an upstream outage when a renewal fell due during it. The real fleet renews at the first request after a
 * session falls due, so its renewals lag this grid a little, and per phase the two can differ by one renewal per
 * tenant where a phase boundary falls on the grid (the extra-renewal count does not depend on it). Its length is the theoretical minimum per tenant.
 */
function oracleRenewalTimes(phases: { startS: number; endS: number; upstreamStopped: boolean }[]): number[] {
  const end = phases.at(-1)?.endS ?? 0;
  const down = phases.filter((p) => p.upstreamStopped);
  const times = [0];
  for (let at = 0; ;) {
    let next = at + RENEWAL_PERIOD_SECONDS;
    const outage = down.find((p) => next >= p.startS && next < p.endS);
    // Due during an outage: renewed when the upstream answers again, at the next phase's start.
    if (outage) next = phases[phases.indexOf(outage) + 1]?.startS ?? outage.endS;
    if (next >= end) return times;
    times.push(next);
    at = next;
  }
}

/**
 * Renewals of a tenant that follow another renewal of the same tenant, anywhere in the fleet, by less than half a
 * renewal period: the fleet renewed twice where once would have done. In each such cluster the first renewal that
 * took the lease cleanly (else the first) counts as the needed one, the others as extra, by the path that led to them.
 */
function duplicateRenewals(renewals: readonly RenewalRecord[]) {
  const windowMs = (RENEWAL_PERIOD_SECONDS * 1000) / 2;
  const byTenant = new Map<string, RenewalRecord[]>();
  for (const r of renewals) byTenant.set(r.tenantId, [...(byTenant.get(r.tenantId) ?? []), r]);
  const extra: RenewalRecord[] = [];
  for (const list of byTenant.values()) {
    list.sort((a, b) => a.atMs - b.atMs);
    let cluster: RenewalRecord[] = [];
    const close = () => {
      const needed = cluster.find((r) => r.path === 'lease') ?? cluster[0];
      extra.push(...cluster.filter((r) => r !== needed));
    };
    for (const r of list) {
      const last = cluster.at(-1);
      if (last && r.atMs - last.atMs >= windowMs) {
        close();
        cluster = [];
      }
      cluster.push(r);
    }
    close();
  }
  return extra;
}

const countBy = <T>(items: readonly T[], key: (item: T) => string) =>
  items.reduce<Record<string, number>>((counts, item) => {
    counts[key(item)] = (counts[key(item)] ?? 0) + 1;
    return counts;
  }, {});

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
  const workers: ChildProcess[] = Array.from({ length: workerCount }, (_, index) =>
    fork(join(__dirname, 'soak-worker.ts'), [], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
      env: {
        ...process.env,
        SOAK_TENANTS: JSON.stringify(tenants),
        SOAK_LANES: String(lanes),
        SOAK_LANE_RATE: String(laneRate),
        SOAK_DYNAMO_ENDPOINT: dynamoProxy.url,
        SOAK_TABLE: dynamo.tableName,
        [ENV.localCacheKey]: fleetKey,
        SOAK_HEAP_SNAPSHOTS: index === 0 ? process.env.SOAK_HEAP_SNAPSHOTS : undefined,
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
      const gone: WorkerMessage = { type: 'done', phases: {}, renewals: [] };
      for (const waiter of waiters[i]?.splice(0) ?? []) waiter(gone);
    }),
  );
  const memory = async (label: string): Promise<MemorySample[]> => {
    workers.forEach((w) => w.send({ type: 'rss', label }));
    return Promise.all(
      workers.map(async (_, i) => {
        const message = lost.has(i) && !inbox[i]?.length ? undefined : await next(i);
        return message?.type === 'rss'
          ? message
          : {
              label,
              rssRaw: 0,
              heapUsedRaw: 0,
              rss: 0,
              heapUsed: 0,
              heapTotal: 0,
              newSpace: 0,
              external: 0,
              spaces: {},
            };
      }),
    );
  };
  await Promise.all(workers.map((_, i) => next(i)));
  const start = await memory('start');

  const timeline: { name: string; startS: number; endS: number; upstreamStopped: boolean; note: string }[] = [];
  const runStarted = performance.now();
  // After each phase: raw, then after a forced full GC in every worker (so growth reflects what the service keeps).
  const samples: MemorySample[][] = [];
  for (const phase of RUN) {
    loginProxy.setRules(phase.login ?? []);
    dynamoProxy.setRules(phase.dynamo ?? []);
    if (phase.dynamoStopped) await dynamoProxy.stop();
    else await dynamoProxy.start();
    if (phase.upstreamStopped) await loginProxy.stop();
    else await loginProxy.start();
    const startS = (performance.now() - runStarted) / 1000;
    workers.forEach((w) => w.send({ type: 'phase', name: phase.name }));
    process.stderr.write(`  ${phase.name.padEnd(22)} ${phase.note}\n`);
    await sleep(phase.seconds * 1000);
    timeline.push({
      name: phase.name,
      startS,
      endS: (performance.now() - runStarted) / 1000,
      upstreamStopped: phase.upstreamStopped === true,
      note: phase.note,
    });
    samples.push(await memory(phase.name));
  }
  process.stderr.write('  collecting figures\n');
  // Memory growth is measured from the end of the warm-up cycle (or of the first phase when there is none).
  const warm = samples[Math.max(0, WARM_UP_PHASES - 1)] ?? start;
  const end = samples.at(-1) ?? start;
  finished = true;
  workers.forEach((w) => w.send({ type: 'stop' }));
  const reports = await Promise.all(
    workers.map(async (_, i) => {
      for (;;) {
        if (lost.has(i) && !inbox[i]?.length) return { phases: {}, renewals: [] };
        const message = await next(i);
        if (message.type === 'done') return message;
      }
    }),
  );
  const loginRequests = upstream.count('/auth/login');
  const refreshRequests = upstream.count('/auth/refresh');
  await loginProxy.close();
  await dynamoProxy.close();
  await upstream.close();
  await dynamo.close();
  debug('closed');

  // Merge the workers' figures per phase.
  const addCounts = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
  };
  const merged: Record<string, PhaseFigures> = {};
  /** Per phase, (container, tenant) pairs: which containers served which tenants. */
  const servedPairs: Record<string, number> = {};
  for (const { phases: report } of reports) {
    for (const [name, f] of Object.entries(report)) {
      const m = (merged[name] ??= emptyPhase());
      m.requests += f.requests;
      m.ok += f.ok;
      m.belowMinTtl += f.belowMinTtl;
      m.crossTenant += f.crossTenant;
      m.missingRetryAfter += f.missingRetryAfter;
      m.clientErrors += f.clientErrors;
      m.servableButFailed += f.servableButFailed;
      m.lastErrorMs = Math.max(m.lastErrorMs, f.lastErrorMs);
      m.signIns += f.signIns;
      m.refreshes += f.refreshes;
      m.upstreamRetries += f.upstreamRetries;
      m.leaseWaits += f.leaseWaits;
      m.sharedCacheErrors += f.sharedCacheErrors;
      m.casConflicts += f.casConflicts;
      addCounts(m.errors, f.errors);
      addCounts(m.errorReasons, f.errorReasons);
      addCounts(m.sharedCacheErrorKinds, f.sharedCacheErrorKinds);
      addCounts(m.renewalPaths, f.renewalPaths);
      addCounts(m.tenantRequests, f.tenantRequests);
      f.latencyHistogram.forEach((n, i) => (m.latencyHistogram[i] = (m.latencyHistogram[i] ?? 0) + n));
      servedPairs[name] = (servedPairs[name] ?? 0) + Object.keys(f.tenantRequests).length;
    }
  }
  const renewalRecords = reports.flatMap((r) => r.renewals);
  const extra = duplicateRenewals(renewalRecords);
  const oracle = oracleRenewalTimes(timeline);
  const phases = RUN.map(({ name }, index) => {
    const f = merged[name];
    const t = timeline.find((p) => p.name === name);
    // The oracle's renewals from this phase's start to the next one's (the workers count until they hear of the
    // next phase, so the moments between phases belong to the earlier one; the first phase takes the run's start).
    const nextStart = timeline[index + 1]?.startS ?? Infinity;
    const oracleInPhase = t ? oracle.filter((at) => (index === 0 || at >= t.startS) && at < nextStart).length : 0;
    const stopped = TABLE_STOPPED.includes(name);
    const renewals = (f?.signIns ?? 0) + (f?.refreshes ?? 0);
    // Fleet-wide, one renewal per tenant per period; with the table stopped, one per container per tenant it served.
    const minimum = oracleInPhase * (stopped ? (servedPairs[name] ?? 0) : tenantCount);
    const extraHere = extra.filter((r) => r.phase === name);
    return {
      name,
      note: t?.note ?? '',
      seconds: round((t?.endS ?? 0) - (t?.startS ?? 0)),
      requests: f?.requests ?? 0,
      ok: f?.ok ?? 0,
      errors: f?.errors ?? {},
      errorReasons: f?.errorReasons ?? {},
      belowMinTtl: f?.belowMinTtl ?? 0,
      crossTenant: f?.crossTenant ?? 0,
      missingRetryAfter: f?.missingRetryAfter ?? 0,
      clientErrors: f?.clientErrors ?? 0,
      servableButFailed: f?.servableButFailed ?? 0,
      lastErrorSeconds: f && f.lastErrorMs >= 0 ? round(f.lastErrorMs / 1000) : null,
      signIns: f?.signIns ?? 0,
      refreshes: f?.refreshes ?? 0,
      renewals,
      minimumBasis: stopped ? ('per-container' as const) : ('fleet-wide' as const),
      minimumRenewals: minimum,
      renewalsOverMinimumPct: minimum > 0 ? round((renewals / minimum - 1) * 100) : null,
      renewalPaths: f?.renewalPaths ?? {},
      extraRenewals: extraHere.length,
      extraRenewalsByPath: countBy(extraHere, (r) => r.path),
      casConflicts: f?.casConflicts ?? 0,
      upstreamRetries: f?.upstreamRetries ?? 0,
      leaseWaits: f?.leaseWaits ?? 0,
      sharedCacheErrors: f?.sharedCacheErrors ?? 0,
      sharedCacheErrorKinds: f?.sharedCacheErrorKinds ?? {},
      p50Ms: round(histogramPercentile(f?.latencyHistogram ?? [], 50), 2),
      p99Ms: round(histogramPercentile(f?.latencyHistogram ?? [], 99), 2),
    };
  });
  const sum = (pick: (p: (typeof phases)[number]) => number) => phases.reduce((s, p) => s + pick(p), 0);
  const errorsByCode: Record<string, number> = {};
  for (const p of phases) addCounts(errorsByCode, p.errors);
  const renewals = sum((p) => p.renewals);
  const fleetMinimum = oracle.length * tenantCount;
  const tableUp = phases.filter((p) => p.minimumBasis === 'fleet-wide');
  const tableDown = phases.filter((p) => p.minimumBasis === 'per-container');
  const split = (list: typeof phases) => {
    const count = list.reduce((s, p) => s + p.renewals, 0);
    const minimum = list.reduce((s, p) => s + p.minimumRenewals, 0);
    return { renewals: count, minimum, overMinimumPct: minimum > 0 ? round((count / minimum - 1) * 100) : null };
  };
  const recovery = phases.find((p) => p.name === 'recovery');
  const outage = phases.find((p) => p.name === 'outage');
  const mb = (bytes: number) => round(bytes / 2 ** 20);
  const growth = (from: readonly number[], to: readonly number[]) =>
    from.map((before, i) => (before > 0 ? round(((to[i] ?? 0) / before - 1) * 100) : 0));
  const pick = (list: readonly MemorySample[], field: keyof Omit<MemorySample, 'label' | 'spaces'>) =>
    list.map((m) => m[field]);

  const summary = {
    workers: workerCount,
    workersLost: lost.size,
    tenants: tenantCount,
    cores: availableParallelism(),
    phasesRun: onlyPhases ?? 'all',
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
    clientErrors: sum((p) => p.clientErrors),
    outageServableButFailed: outage?.servableButFailed ?? 0,
    servableButFailed: sum((p) => p.servableButFailed),
    signIns: sum((p) => p.signIns),
    refreshes: sum((p) => p.refreshes),
    renewals,
    /** Fleet-wide over the whole run (the goal's wording): one renewal per tenant per renewal period. */
    theoreticalMinimumRenewals: fleetMinimum,
    renewalsOverMinimumPct: round((renewals / fleetMinimum - 1) * 100),
    oracleRenewalSeconds: oracle.map((at) => round(at)),
    /** Phases where the table answers, against the fleet-wide minimum. */
    renewalsWithTableUp: split(tableUp),
    /** The stopped-table phase, against the per-container minimum (containers cannot coordinate without the table). */
    renewalsWithTableStopped: split(tableDown),
    /** Both together: the minimum the design allows. */
    renewalsAgainstDesignMinimum: split(phases),
    extraRenewals: extra.length,
    extraRenewalsWithTableUp: extra.filter((r) => !TABLE_STOPPED.includes(r.phase)).length,
    extraRenewalsByPath: countBy(
      extra.filter((r) => !TABLE_STOPPED.includes(r.phase)),
      (r) => r.path,
    ),
    renewalPaths: countBy(renewalRecords, (r) => r.path),
    casConflicts: sum((p) => p.casConflicts),
    upstreamLoginRequests: loginRequests,
    upstreamRefreshRequests: refreshRequests,
    upstreamRetries: sum((p) => p.upstreamRetries),
    leaseWaits: sum((p) => p.leaseWaits),
    sharedCacheErrors: sum((p) => p.sharedCacheErrors),
    recoveryLastErrorSeconds: recovery?.lastErrorSeconds ?? null,
    proxies: { login: loginProxy.counts, dynamo: dynamoProxy.counts },
    memory: {
      rssMbStart: pick(start, 'rssRaw').map(mb),
      rssMbWarmRaw: pick(warm, 'rssRaw').map(mb),
      rssMbEndRaw: pick(end, 'rssRaw').map(mb),
      rssGrowthPctRaw: growth(pick(warm, 'rssRaw'), pick(end, 'rssRaw')),
      rssMbWarmAfterGc: pick(warm, 'rss').map(mb),
      rssMbEndAfterGc: pick(end, 'rss').map(mb),
      rssGrowthPctAfterGc: growth(pick(warm, 'rss'), pick(end, 'rss')),
      /** The same from the end of the run's first phase (no faults yet): what the goal measured before the warm-up cycle. */
      rssGrowthPctFromFirstPhase: growth(pick(samples[0] ?? start, 'rss'), pick(end, 'rss')),
      heapMbWarmRaw: pick(warm, 'heapUsedRaw').map(mb),
      heapMbEndRaw: pick(end, 'heapUsedRaw').map(mb),
      heapMbWarmAfterGc: pick(warm, 'heapUsed').map(mb),
      heapMbEndAfterGc: pick(end, 'heapUsed').map(mb),
      heapGrowthPctAfterGc: growth(pick(warm, 'heapUsed'), pick(end, 'heapUsed')),
      /** After each phase, per worker: heap after GC (MB), to tell steady growth from a plateau. */
      heapMbAfterGcByPhase: Object.fromEntries(samples.map((list) => [list[0]?.label, pick(list, 'heapUsed').map(mb)])),
      rssMbAfterGcByPhase: Object.fromEntries(samples.map((list) => [list[0]?.label, pick(list, 'rss').map(mb)])),
      /** After each phase, the workers' mean bytes in use per V8 heap space (MB): data (old_space) or code. */
      heapSpacesMbByPhase: Object.fromEntries(
        samples.map((list) => {
          const answered = list.filter((sample) => Object.keys(sample.spaces).length > 0);
          const spaces = [...new Set(answered.flatMap((sample) => Object.keys(sample.spaces)))];
          const mean = (space: string) =>
            mb(
              answered.reduce((total, sample) => total + (sample.spaces[space] ?? 0), 0) / Math.max(1, answered.length),
            );
          return [list[0]?.label, Object.fromEntries(spaces.map((space) => [space, mean(space)]))];
        }),
      ),
      /** Where RSS growth goes, after GC: V8's committed heap, its young generation, and buffers outside it. */
      heapTotalMbWarmEnd: [pick(warm, 'heapTotal').map(mb), pick(end, 'heapTotal').map(mb)],
      newSpaceMbWarmEnd: [pick(warm, 'newSpace').map(mb), pick(end, 'newSpace').map(mb)],
      externalMbWarmEnd: [pick(warm, 'external').map(mb), pick(end, 'external').map(mb)],
      /**
       * RSS growth less the young generation's: V8 grows its young generation (up to twice the maximum semi-space,
       * 32 MB by default) when objects survive scavenges, as they do while requests wait on slow answers, and keeps
       * it; the rest of the growth is what a leak would show in.
       */
      rssGrowthPctWithoutNewSpace: growth(
        warm.map((w) => w.rss - w.newSpace),
        end.map((e) => e.rss - e.newSpace),
      ),
    },
    phases,
  };
  // Only a full run of the whole schedule replaces the published figures; quick and partial runs go aside.
  const outFile =
    process.env.SOAK_OUT ??
    join(
      __dirname,
      quick || onlyPhases || totalSeconds < 300 || process.env.SOAK_HEAP_SNAPSHOTS ? 'soak.local.json' : 'soak.json',
    );
  writeFileSync(outFile, `${JSON.stringify(summary, null, 2)}\n`);

  const pct = (value: number | null) => (value === null ? '-' : `${value > 0 ? '+' : ''}${value}%`);
  const entries = (counts: Record<string, number>) =>
    Object.entries(counts)
      .map(([c, n]) => `${c}=${n}`)
      .join(' ');
  const m = summary.memory;
  const lines = [
    '',
    `${'phase'.padEnd(22)} ${'s'.padStart(5)} ${'requests'.padStart(9)} ${'ok'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'renew'.padStart(6)} ${'min'.padStart(5)} ${'over'.padStart(7)} ${'extra'.padStart(6)} ${'retry'.padStart(6)} ${'L2 err'.padStart(7)}  errors`,
    ...phases.map(
      (p) =>
        `${p.name.padEnd(22)} ${String(p.seconds).padStart(5)} ${String(p.requests).padStart(9)} ${String(p.ok).padStart(8)} ${String(p.p50Ms).padStart(8)} ${String(p.p99Ms).padStart(8)} ${String(p.renewals).padStart(6)} ${`${p.minimumRenewals}${p.minimumBasis === 'per-container' ? '*' : ''}`.padStart(5)} ${pct(p.renewalsOverMinimumPct).padStart(7)} ${String(p.extraRenewals).padStart(6)} ${String(p.upstreamRetries).padStart(6)} ${String(p.sharedCacheErrors).padStart(7)}  ${entries(p.errors)}`,
    ),
    `  min: fleet-wide minimum (one renewal per tenant per ${RENEWAL_PERIOD_SECONDS} s); * per container (the table is stopped: one per container per tenant it served); extra: renewals within ${RENEWAL_PERIOD_SECONDS / 2} s of another of the same tenant`,
    ...phases
      .filter((p) => p.extraRenewals > 0 || p.sharedCacheErrors > 0)
      .map(
        (p) =>
          `  ${p.name.padEnd(22)} renewal paths ${entries(p.renewalPaths)}; extra by path ${entries(p.extraRenewalsByPath) || '-'}; CAS conflicts ${p.casConflicts}; L2 errors ${entries(p.sharedCacheErrorKinds)}`,
      ),
    ...phases
      .filter((p) => Object.keys(p.errorReasons).length > 0)
      .map((p) => `  ${p.name.padEnd(22)} errors: ${entries(p.errorReasons)}`),
    '',
    `requests ${summary.requests}, ok ${summary.ok}, errors ${JSON.stringify(errorsByCode)}`,
    `tokens below minTtl        ${summary.belowMinTtl}  (goal 0)`,
    `cross-tenant tokens        ${summary.crossTenant}  (goal 0)`,
    `500 internal_error         ${summary.internalErrors}  (goal 0)`,
    `503/429 without Retry-After ${summary.missingRetryAfter}  (goal 0)`,
    `4xx other than 429 (every request is valid) ${summary.clientErrors}  (goal 0)`,
    `errors although memory sufficed ${summary.servableButFailed} (outage: ${summary.outageServableButFailed})  (goal 0)`,
    `renewals (sign-ins ${summary.signIns} + refreshes ${summary.refreshes}) ${renewals} vs fleet-wide minimum ${fleetMinimum}: ${pct(summary.renewalsOverMinimumPct)} (goal <= +10%)`,
    `  table answering: ${summary.renewalsWithTableUp.renewals} vs fleet-wide ${summary.renewalsWithTableUp.minimum} (${pct(summary.renewalsWithTableUp.overMinimumPct)}); table stopped: ${summary.renewalsWithTableStopped.renewals} vs per-container ${summary.renewalsWithTableStopped.minimum} (${pct(summary.renewalsWithTableStopped.overMinimumPct)}); together ${summary.renewalsAgainstDesignMinimum.renewals} vs ${summary.renewalsAgainstDesignMinimum.minimum} (${pct(summary.renewalsAgainstDesignMinimum.overMinimumPct)})`,
    `  extra renewals with the table answering: ${summary.extraRenewalsWithTableUp} (${entries(summary.extraRenewalsByPath) || 'none'}); CAS conflicts ${summary.casConflicts}`,
    `upstream requests: login ${loginRequests}, refresh ${refreshRequests}; vendor retries ${summary.upstreamRetries}; lease waits ${summary.leaseWaits}; shared-cache errors ${summary.sharedCacheErrors}`,
    `last error after recovery began: ${summary.recoveryLastErrorSeconds ?? 'none'} s`,
    `RSS MB start ${m.rssMbStart.join(' ')}`,
    `RSS MB warm  ${m.rssMbWarmRaw.join(' ')} (after GC ${m.rssMbWarmAfterGc.join(' ')})`,
    `RSS MB end   ${m.rssMbEndRaw.join(' ')} (after GC ${m.rssMbEndAfterGc.join(' ')})`,
    `RSS growth since warm-up %: ${m.rssGrowthPctRaw.join(' ')}; after GC ${m.rssGrowthPctAfterGc.join(' ')}  (goal <= 20)`,
    `RSS growth since the first phase (after GC) %: ${m.rssGrowthPctFromFirstPhase.join(' ')}`,
    `heap MB after GC, warm ${m.heapMbWarmAfterGc.join(' ')}; end ${m.heapMbEndAfterGc.join(' ')} (growth % ${m.heapGrowthPctAfterGc.join(' ')})`,
    `V8 young generation MB (committed, after GC), warm ${(m.newSpaceMbWarmEnd[0] ?? []).join(' ')}; end ${(m.newSpaceMbWarmEnd[1] ?? []).join(' ')}`,
    `RSS growth without the young generation's %: ${m.rssGrowthPctWithoutNewSpace.join(' ')}`,
    `run ${summary.runSeconds} s, wall ${summary.wallSeconds} s; wrote ${outFile}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const failed =
    summary.belowMinTtl +
    summary.crossTenant +
    summary.internalErrors +
    summary.missingRetryAfter +
    summary.clientErrors;
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
