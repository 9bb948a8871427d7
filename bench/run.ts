import { execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { CognitoIdentityProviderClient, InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { build } from 'esbuild';

import { DEFAULT_SECRET_PREFIX, ENV } from '../contract/names';
import { StaticTenantStore } from '../lambdas/adapters/file-tenant-store';
import { AwsJwtVerifier } from '../lambdas/adapters/jwt-verifier';
import { SecretsManagerTenantStore } from '../lambdas/adapters/secrets-manager-tenant-store';
import type { AuthProvider, ProviderSession } from '../lambdas/core/ports';
import { createHttpHandler } from '../lambdas/handlers/http-handler';
import { createObservability } from '../lambdas/handlers/observability';
import { startCognitoEmulator, type CognitoEmulator } from '../lambdas/local/cognito-emulator';
import { startLocalDynamo } from '../lambdas/local/dynalite';
import { startLocalService } from '../lambdas/local/local-service';
import { seedCognitoTenant } from '../lambdas/local/seed-cognito';
import { CognitoProvider } from '../lambdas/providers/cognito';
import { composeRuntime } from '../lambdas/runtime/compose';
import { loadRuntimeConfig } from '../lambdas/runtime/config';
import { BUNDLE_SETTINGS, handlerEntry } from '../lib/tvm-function';

/**
 * `npm run bench`: measures the service against the alternatives a user would otherwise
 * pick, prints a table and writes bench/results.json. Not part of `npm test`; nothing
 * here asserts a time. Absolute numbers depend on the machine; ratios and counts hold.
 */
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE ??= '1';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env[ENV.powertoolsMetricsDisabled] ??= 'true';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (
  options: Record<string, unknown>,
) => Promise<{ requests: { average: number }; latency: { p99: number }; non2xx: number }>;

/** The fleet workers' shared master key for the session items' envelope (see lambdas/adapters/envelope.ts). */
const FLEET_CACHE_KEY = randomBytes(32).toString('base64');

type Results = Record<string, number>;
const results: Results = {};
const notes: string[] = [];
const root = join(__dirname, '..');

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};
const percentile = (sorted: Float64Array, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/** A provider that never leaves the process: the hit path must not depend on an upstream. */
class StaticProvider implements AuthProvider {
  async signIn(): Promise<ProviderSession> {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    return {
      tokens: {
        idToken: `header.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.signature`,
        accessToken: 'access',
      },
      refreshToken: 'r',
      claims: { 'custom:companyId': 'c' },
      expiresAt: exp,
    };
  }
  async refresh(): Promise<ProviderSession> {
    return this.signIn();
  }
}

function event(tenantId: string): APIGatewayProxyEvent {
  return {
    httpMethod: 'GET',
    path: `/v1/tenants/${tenantId}/token`,
    resource: '/v1/tenants/{tenantId}/token',
    headers: {},
    multiValueHeaders: {},
    queryStringParameters: { minTtl: '300' },
    multiValueQueryStringParameters: { minTtl: ['300'] },
    pathParameters: { tenantId },
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: {
      requestId: 'bench',
      identity: { userArn: 'arn:aws:iam::123456789012:role/bench' },
    } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}

async function benchHit(): Promise<void> {
  const secret = {
    provider: 'cognito',
    region: 'ap-southeast-2',
    userPoolId: 'ap-southeast-2_AbC123',
    clientId: 'client',
    username: 'u',
    password: 'p',
    claims: ['custom:companyId'],
  };
  const config = loadRuntimeConfig({
    [ENV.consumers]: JSON.stringify([{ principal: 'arn:aws:iam::123456789012:role/bench', tenants: ['*'] }]),
  });
  const runtime = composeRuntime(config, {
    tenants: new StaticTenantStore({ acme: secret }),
    shared: null,
    providers: { cognito: new StaticProvider(), 'login-endpoint': new StaticProvider() },
  });
  const handler = createHttpHandler(runtime, createObservability());
  const context = {
    awsRequestId: 'bench',
    functionName: 'vend',
    getRemainingTimeInMillis: () => 10_000,
  } as unknown as Context;
  const request = event('acme');
  // The audit line is written as in Lambda; only the terminal is spared.
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  let body = '';
  try {
    for (let i = 0; i < 5_000; i++) body = (await handler(request, context)).body;
    const iterations = 100_000;
    const samples = new Float64Array(iterations);
    const started = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) {
      const t0 = process.hrtime.bigint();
      await handler(request, context);
      samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
    }
    const totalS = Number(process.hrtime.bigint() - started) / 1e9;
    samples.sort();
    results['hit.p50Us'] = round(percentile(samples, 50));
    results['hit.p99Us'] = round(percentile(samples, 99));
    results['hit.opsPerSec'] = Math.round(iterations / totalS);

    // The floor: what any cache in front of the same response costs at least.
    const map = new Map([['acme', JSON.parse(body) as unknown]]);
    const floor = new Float64Array(iterations);
    for (let i = 0; i < iterations; i++) {
      const t0 = process.hrtime.bigint();
      JSON.stringify(map.get('acme'));
      floor[i] = Number(process.hrtime.bigint() - t0) / 1000;
    }
    floor.sort();
    results['hit.floorP50Us'] = round(percentile(floor, 50), 2);
  } finally {
    process.stdout.write = write;
  }
}

async function seedTenants(cognito: CognitoEmulator, count: number): Promise<Record<string, Record<string, unknown>>> {
  const tenants: Record<string, Record<string, unknown>> = {};
  for (let i = 0; i < count; i++) {
    tenants[`t${i}`] = (
      await seedCognitoTenant(cognito.endpoint, { poolName: `bench-${i}`, username: `user${i}@example.com` })
    ).secret;
  }
  return tenants;
}

async function benchBurst(cognito: CognitoEmulator, tenants: Record<string, Record<string, unknown>>): Promise<void> {
  const ids = Object.keys(tenants);
  const runtime = composeRuntime(loadRuntimeConfig({ [ENV.consumers]: '[]' }), {
    tenants: new StaticTenantStore(tenants),
    shared: null,
  });
  cognito.resetCounts();
  let started = performance.now();
  const vends = await Promise.allSettled(
    Array.from({ length: 1000 }, (_, i) => runtime.vendor.vend(ids[i % ids.length] as string, 300)),
  );
  results['burst.wallMs'] = Math.round(performance.now() - started);
  results['burst.tenants'] = ids.length;
  results['burst.signIns'] = cognito.authFlows.get('USER_PASSWORD_AUTH') ?? 0;
  results['burst.failed'] = vends.filter((v) => v.status === 'rejected').length;

  // The alternative: every consumer signs in for itself.
  const client = new CognitoIdentityProviderClient({
    region: 'ap-southeast-2',
    endpoint: cognito.endpoint,
    maxAttempts: 1,
  });
  cognito.resetCounts();
  started = performance.now();
  await Promise.allSettled(
    Array.from({ length: 1000 }, (_, i) => {
      const secret = tenants[ids[i % ids.length] as string] as Record<string, string>;
      return client.send(
        new InitiateAuthCommand({
          AuthFlow: 'USER_PASSWORD_AUTH',
          ClientId: secret.clientId,
          AuthParameters: { USERNAME: secret.username ?? '', PASSWORD: secret.password ?? '' },
        }),
      );
    }),
  );
  results['burst.baselineWallMs'] = Math.round(performance.now() - started);
  results['burst.baselineSignIns'] = cognito.authFlows.get('USER_PASSWORD_AUTH') ?? 0;
  client.destroy();
}

async function runFleet(
  cognito: CognitoEmulator,
  tenants: Record<string, Record<string, unknown>>,
  shared: boolean,
): Promise<number> {
  const dynamo = shared ? await startLocalDynamo('tvm-bench') : undefined;
  cognito.resetCounts();
  try {
    const workers = Array.from({ length: 8 }, () =>
      fork(join(__dirname, 'fleet-worker.ts'), [], {
        execArgv: ['--require', require.resolve('tsx/cjs')],
        env: {
          ...process.env,
          BENCH_TENANTS: JSON.stringify(tenants),
          BENCH_REQUESTS: '100',
          ...(dynamo ? { BENCH_DYNAMO_ENDPOINT: dynamo.endpoint, BENCH_TABLE: dynamo.tableName } : {}),
          // One local stand-in for the KMS key, shared by the workers as the fleet shares its key.
          [ENV.localCacheKey]: FLEET_CACHE_KEY,
        },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      }),
    );
    // Give every worker time to load before the go signal.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const done = workers.map(
      (worker) =>
        new Promise<{ ok: number; failed: number }>((resolve) =>
          worker.once('message', (m) => resolve(m as { ok: number; failed: number })),
        ),
    );
    workers.forEach((worker) => worker.send('go'));
    const outcomes = await Promise.all(done);
    workers.forEach((worker) => worker.kill());
    const failed = outcomes.reduce((sum, o) => sum + o.failed, 0);
    if (failed) notes.push(`fleet (${shared ? 'shared' : 'per-container'}): ${failed} requests failed`);
    return cognito.authFlows.get('USER_PASSWORD_AUTH') ?? 0;
  } finally {
    await dynamo?.close();
  }
}

async function benchMiss(cognito: CognitoEmulator, tenants: Record<string, Record<string, unknown>>): Promise<void> {
  const secret = tenants.t0 as Record<string, string>;
  const verifier = new AwsJwtVerifier(); // JWKS cached after the first call, as in a warm container
  const cognitoClients = (() => {
    const client = new CognitoIdentityProviderClient({
      region: 'ap-southeast-2',
      endpoint: cognito.endpoint,
      maxAttempts: 1,
    });
    return () => client;
  })();
  const vendTimes: number[] = [];
  const bareTimes: number[] = [];
  const bare = cognitoClients();
  for (let i = 0; i < 55; i++) {
    const runtime = composeRuntime(loadRuntimeConfig({ [ENV.consumers]: '[]' }), {
      tenants: new StaticTenantStore({ t0: secret }),
      shared: null,
      providers: { cognito: new CognitoProvider(verifier, cognitoClients) },
    });
    let t0 = performance.now();
    await runtime.vendor.vend('t0', 300);
    const vendMs = performance.now() - t0;
    t0 = performance.now();
    await bare.send(
      new InitiateAuthCommand({
        AuthFlow: 'USER_PASSWORD_AUTH',
        ClientId: secret.clientId,
        AuthParameters: { USERNAME: secret.username ?? '', PASSWORD: secret.password ?? '' },
      }),
    );
    const bareMs = performance.now() - t0;
    if (i >= 5) {
      vendTimes.push(vendMs);
      bareTimes.push(bareMs);
    }
  }
  results['miss.vendMs'] = round(median(vendTimes), 2);
  results['miss.bareMs'] = round(median(bareTimes), 2);
  results['miss.ratio'] = round(median(vendTimes) / median(bareTimes), 2);
}

async function benchColdStart(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tvm-bundles-'));
  const exportJob = JSON.stringify({
    name: 'bench',
    tenant: 'acme',
    schedule: 'rate(1 hour)',
    graphqlUrl: 'https://example.com/graphql',
    query: '{ x }',
  });
  const env = {
    ...process.env,
    AWS_REGION: 'ap-southeast-2',
    [ENV.exportJob]: exportJob,
    [ENV.endpoint]: 'https://example.com/',
    [ENV.exportBucket]: 'bench-exports',
  };
  const timeNode = (args: string[]) => {
    const t0 = performance.now();
    execFileSync(process.execPath, args, { env, stdio: 'ignore' });
    return performance.now() - t0;
  };
  const bare = median(Array.from({ length: 20 }, () => timeNode(['-e', '0'])));
  for (const fn of ['vend', 'refresh', 'export']) {
    const outfile = join(dir, `${fn}.js`);
    await build({
      entryPoints: [handlerEntry(fn)],
      bundle: true,
      platform: 'node',
      target: BUNDLE_SETTINGS.target,
      format: BUNDLE_SETTINGS.format,
      minify: BUNDLE_SETTINGS.minify,
      sourcemap: BUNDLE_SETTINGS.sourceMap,
      outfile,
      logLevel: 'silent',
    });
    const code = readFileSync(outfile);
    results[`coldStart.${fn}.bytes`] = statSync(outfile).size;
    results[`coldStart.${fn}.gzipBytes`] = gzipSync(code).length;
    const loaded = median(Array.from({ length: 20 }, () => timeNode(['-e', `require(${JSON.stringify(outfile)})`])));
    results[`coldStart.${fn}.initMs`] = round(loaded - bare);
  }
}

async function benchServer(): Promise<void> {
  const service = await startLocalService({ port: 0 });
  const write = process.stdout.write.bind(process.stdout);
  try {
    await fetch(`${service.url}/v1/tenants/demo/token`);
    process.stdout.write = (() => true) as typeof process.stdout.write;
    const outcome = await autocannon({
      url: `${service.url}/v1/tenants/demo/token?minTtl=300`,
      connections: 50,
      duration: 10,
    });
    process.stdout.write = write;
    results['server.reqPerSec'] = Math.round(outcome.requests.average);
    results['server.p99Ms'] = outcome.latency.p99;
    if (outcome.non2xx) notes.push(`server: ${outcome.non2xx} non-2xx answers`);
  } finally {
    process.stdout.write = write;
    await service.close();
  }
}

async function benchSecrets(): Promise<void> {
  let calls = 0;
  const secret = JSON.stringify({
    provider: 'cognito',
    region: 'ap-southeast-2',
    userPoolId: 'ap-southeast-2_AbC123',
    clientId: 'client',
    username: 'u',
    password: 'p',
  });
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ VersionId: 'v1', SecretString: secret }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const client = new SecretsManagerClient({
    region: 'ap-southeast-2',
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      calls++;
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
  const runtime = composeRuntime(loadRuntimeConfig({ [ENV.consumers]: '[]' }), {
    tenants: new SecretsManagerTenantStore({ prefix: DEFAULT_SECRET_PREFIX, client }),
    shared: null,
    providers: { cognito: new StaticProvider(), 'login-endpoint': new StaticProvider() },
  });
  for (let round = 0; round < 10; round++) {
    await Promise.all(Array.from({ length: 100 }, (_, i) => runtime.vendor.vend(`tenant-${i % 10}`, 300)));
  }
  results['secrets.callsPer1000'] = calls;
  server.close();
  client.destroy();
}

function table(): string {
  const goal: Record<string, string> = {
    'hit.p50Us': '<= 50',
    'hit.p99Us': '<= 300',
    'burst.signIns': `= ${results['burst.tenants']}`,
    'fleet.signIns': '= 50',
    'miss.ratio': '<= 1.5',
    'coldStart.vend.bytes': '<= 307200',
    'coldStart.vend.initMs': '<= 80',
    'secrets.callsPer1000': '<= 10',
  };
  return Object.entries(results)
    .map(([key, value]) => `${key.padEnd(28)} ${String(value).padStart(12)}  ${goal[key] ?? ''}`)
    .join('\n');
}

async function main(): Promise<void> {
  const started = performance.now();
  const step = async (name: string, work: () => Promise<void>) => {
    const t0 = performance.now();
    await work();
    process.stderr.write(`  ${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  };
  await step('hit', benchHit);
  const cognito = await startCognitoEmulator();
  try {
    const tenants = await seedTenants(cognito, 50);
    await step('burst', () => benchBurst(cognito, tenants));
    await step('fleet', async () => {
      results['fleet.workers'] = 8;
      results['fleet.tenants'] = 50;
      results['fleet.signIns'] = await runFleet(cognito, tenants, true);
      results['fleet.baselineSignIns'] = await runFleet(cognito, tenants, false);
    });
    await step('miss', () => benchMiss(cognito, tenants));
  } finally {
    await cognito.close();
  }
  await step('coldStart', benchColdStart);
  await step('server', benchServer);
  await step('secrets', benchSecrets);
  results['bench.totalSeconds'] = round((performance.now() - started) / 1000);

  results['machine.cores'] = availableParallelism();
  writeFileSync(join(root, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${'metric'.padEnd(28)} ${'value'.padStart(12)}  goal\n${table()}\n`);
  if (notes.length) process.stdout.write(`\nnotes:\n${notes.map((n) => `  - ${n}`).join('\n')}\n`);
  process.stdout.write(`\nwrote bench/results.json\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
