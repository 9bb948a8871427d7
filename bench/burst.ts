// Bursts on a cold cache: the service (one sign-in per tenant) against consumers that cache tokens per process
// with single flight (what a careful team writes without this service), and what Cognito's sign-in quota
// (120 per second per account by default) makes of each: the time the quota alone needs for the sign-ins.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import { CognitoIdentityProviderClient, InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';

import { ENV } from '../contract/names';
import { StaticTenantStore } from '../lambdas/adapters/file-tenant-store';
import type { CognitoEmulator } from '../lambdas/local/cognito-emulator';
import { startLocalDynamo } from '../lambdas/local/dynalite';
import { composeRuntime } from '../lambdas/runtime/compose';
import { loadRuntimeConfig } from '../lambdas/runtime/config';
import { notes, results, round, workerExecArgv } from './support';

/** Cognito's default UserAuthentication quota (InitiateAuth and friends), requests per second per account. */
export const COGNITO_SIGN_IN_QUOTA_PER_SECOND = 120;
const REQUESTS = 1000;
const CONSUMER_PROCESSES = 8;

type Tenants = Record<string, Record<string, unknown>>;

const quotaSeconds = (signIns: number) => round(signIns / COGNITO_SIGN_IN_QUOTA_PER_SECOND, 2);

/** A careful consumer process: one cached token per tenant, one sign-in in flight per tenant. */
function cachingConsumer(client: CognitoIdentityProviderClient, tenants: Tenants) {
  const cache = new Map<string, Promise<unknown>>();
  return (tenantId: string) => {
    let token = cache.get(tenantId);
    if (!token) {
      const secret = tenants[tenantId] as Record<string, string>;
      token = client.send(
        new InitiateAuthCommand({
          AuthFlow: 'USER_PASSWORD_AUTH',
          ClientId: secret.clientId,
          AuthParameters: { USERNAME: secret.username ?? '', PASSWORD: secret.password ?? '' },
        }),
      );
      cache.set(tenantId, token);
    }
    return token;
  };
}

export async function benchBurst(cognito: CognitoEmulator, tenants: Tenants): Promise<void> {
  const ids = Object.keys(tenants);
  const runtime = composeRuntime(loadRuntimeConfig({ [ENV.consumers]: '[]' }), {
    tenants: new StaticTenantStore(tenants),
    shared: null,
  });
  cognito.resetCounts();
  let started = performance.now();
  const vends = await Promise.allSettled(
    Array.from({ length: REQUESTS }, (_, i) => runtime.vendor.vend(ids[i % ids.length] as string, 300)),
  );
  results['burst.wallMs'] = Math.round(performance.now() - started);
  results['burst.tenants'] = ids.length;
  results['burst.signIns'] = cognito.authFlows.get('USER_PASSWORD_AUTH') ?? 0;
  results['burst.quotaSeconds'] = quotaSeconds(results['burst.signIns']);
  results['burst.failed'] = vends.filter((v) => v.status === 'rejected').length;

  // The alternative: the same requests from 8 consumer processes, each caching its tokens.
  const client = new CognitoIdentityProviderClient({
    region: 'ap-southeast-2',
    endpoint: cognito.endpoint,
    maxAttempts: 1,
  });
  const consumers = Array.from({ length: CONSUMER_PROCESSES }, () => cachingConsumer(client, tenants));
  cognito.resetCounts();
  started = performance.now();
  await Promise.allSettled(
    Array.from({ length: REQUESTS }, (_, i) =>
      // Consumer process k sends requests k*125 .. k*125+124, over every tenant.
      (consumers[Math.floor((i * CONSUMER_PROCESSES) / REQUESTS)] as ReturnType<typeof cachingConsumer>)(
        ids[i % ids.length] as string,
      ),
    ),
  );
  results['burst.cachingConsumersWallMs'] = Math.round(performance.now() - started);
  results['burst.cachingConsumersSignIns'] = cognito.authFlows.get('USER_PASSWORD_AUTH') ?? 0;
  results['burst.cachingConsumersQuotaSeconds'] = quotaSeconds(results['burst.cachingConsumersSignIns']);
  results['burst.uncachedQuotaSeconds'] = quotaSeconds(REQUESTS);
  client.destroy();
}

/** 8 worker processes ("containers"), each its own L1; with `shared`, one dynalite table between them. */
async function runFleet(cognito: CognitoEmulator, tenants: Tenants, shared: boolean): Promise<number> {
  const dynamo = shared ? await startLocalDynamo('tvm-bench') : undefined;
  cognito.resetCounts();
  const cacheKey = randomBytes(32).toString('base64');
  try {
    const workers = Array.from({ length: CONSUMER_PROCESSES }, () =>
      fork(join(__dirname, 'fleet-worker.ts'), [], {
        execArgv: workerExecArgv(),
        env: {
          ...process.env,
          BENCH_TENANTS: JSON.stringify(tenants),
          BENCH_REQUESTS: String(REQUESTS / CONSUMER_PROCESSES),
          ...(dynamo ? { BENCH_DYNAMO_ENDPOINT: dynamo.endpoint, BENCH_TABLE: dynamo.tableName } : {}),
          // One local stand-in for the KMS key, shared by the workers as the fleet shares its key.
          [ENV.localCacheKey]: cacheKey,
        },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      }),
    );
    // Ready handshake: each worker reports once its runtime is composed; then all start together.
    await Promise.all(workers.map((worker) => new Promise<void>((resolve) => worker.once('message', () => resolve()))));
    const done = workers.map(
      (worker) =>
        new Promise<{ ok: number; failed: number; firstError?: string }>((resolve) =>
          worker.once('message', (m) => resolve(m as { ok: number; failed: number; firstError?: string })),
        ),
    );
    workers.forEach((worker) => worker.send('go'));
    const outcomes = await Promise.all(done);
    workers.forEach((worker) => worker.kill());
    const failed = outcomes.reduce((sum, o) => sum + o.failed, 0);
    const firstError = outcomes.find((o) => o.firstError)?.firstError;
    if (failed) notes.push(`fleet (${shared ? 'shared' : 'per-container'}): ${failed} requests failed (${firstError})`);
    return cognito.authFlows.get('USER_PASSWORD_AUTH') ?? 0;
  } finally {
    await dynamo?.close();
  }
}

export async function benchFleet(cognito: CognitoEmulator, tenants: Tenants): Promise<void> {
  results['fleet.workers'] = CONSUMER_PROCESSES;
  results['fleet.tenants'] = Object.keys(tenants).length;
  results['fleet.signIns'] = await runFleet(cognito, tenants, true);
  results['fleet.quotaSeconds'] = quotaSeconds(results['fleet.signIns']);
  results['fleet.perContainerSignIns'] = await runFleet(cognito, tenants, false);
  results['fleet.perContainerQuotaSeconds'] = quotaSeconds(results['fleet.perContainerSignIns']);
}
