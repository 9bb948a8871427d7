/**
 * One "Lambda container" of the fleet benchmark, in its own process: its own memory cache,
 * and (unless told otherwise) the shared DynamoDB layer. Fires its requests concurrently,
 * then reports how many succeeded on stdout as JSON.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

import { ENV } from '../contract/names';
import { StaticTenantStore } from '../lambdas/adapters/file-tenant-store';
import { composeRuntime, sharedStateFor } from '../lambdas/runtime/compose';
import { loadRuntimeConfig } from '../lambdas/runtime/config';

async function main(): Promise<void> {
  const tenants = JSON.parse(process.env.BENCH_TENANTS ?? '{}') as Record<string, unknown>;
  const requests = Number(process.env.BENCH_REQUESTS ?? 100);
  const dynamoEndpoint = process.env.BENCH_DYNAMO_ENDPOINT;
  const tableName = process.env.BENCH_TABLE ?? 'tvm-cache';
  const client = dynamoEndpoint
    ? new DynamoDBClient({
        endpoint: dynamoEndpoint,
        region: 'local',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        maxAttempts: 1,
      })
    : undefined;
  const runtime = composeRuntime(loadRuntimeConfig({ [ENV.consumers]: '[]' }), {
    tenants: new StaticTenantStore(tenants),
    shared: client ? sharedStateFor(tableName, { now: () => Date.now() }, client) : null,
  });
  const ids = Object.keys(tenants);
  // Ready handshake: say so once composed, then wait for the go signal so that every worker starts together.
  const go = new Promise<void>((resolve) => process.once('message', () => resolve()));
  process.send?.({ ready: true });
  await go;
  const results = await Promise.allSettled(
    Array.from({ length: requests }, (_, i) => runtime.vendor.vend(ids[i % ids.length] as string, 300)),
  );
  process.send?.({
    ok: results.filter((r) => r.status === 'fulfilled').length,
    failed: results.filter((r) => r.status === 'rejected').length,
    firstError: results
      .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      .map((r) => (r.reason instanceof Error ? `${r.reason.name}: ${r.reason.message}` : String(r.reason)))[0],
  });
  client?.destroy();
}

main().catch((error: unknown) => {
  process.send?.({ ok: 0, failed: -1, error: String(error) });
});
