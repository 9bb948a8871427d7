// Miss path with the shared table, as deployed: tenant lookup, one read of session + lockout mark, lease, InitiateAuth,
// verification of both JWTs (keys cached, as in a warm container), session item sealed under a KMS data key
// (the loopback KMS of test/support/aws-json-emulators.ts) and written with compare-and-swap in the same request that releases the lease. DynamoDB is
// dynalite; every DynamoDB call of a vend is counted (the vendor awaits each, so they are sequential).
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';

import { CognitoIdentityProviderClient, InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import { DeleteItemCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';

import { ENV } from '../contract/names';
import { StaticTenantStore } from '../lambdas/adapters/file-tenant-store';
import { AwsJwtVerifier } from '../lambdas/adapters/jwt-verifier';
import { kmsEnvelope } from '../lambdas/adapters/kms-envelope';
import { systemClock } from '../lambdas/adapters/system-clock';
import type { CognitoEmulator } from '../lambdas/local/cognito-emulator';
import { startLocalDynamo } from '../lambdas/local/dynalite';
import { CognitoProvider } from '../lambdas/providers/cognito';
import { composeRuntime, sharedStateFor } from '../lambdas/runtime/compose';
import { loadRuntimeConfig } from '../lambdas/runtime/config';
import { startKms } from '../test/support/aws-json-emulators';
import { median, results, round } from './support';

const local = {
  region: 'ap-southeast-2',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  maxAttempts: 1,
};

/**
 * Where a miss spends its time: each HTTP exchange it makes, from Node.js's request start to the end of the answer
 * (`http.client.*` diagnostics channels), summed by upstream; the rest is this process's own work between them.
 */
function exchangeTimer() {
  const started = new Map<ClientRequest, number>();
  const byTarget = new Map<string, number>();
  const target = (request: ClientRequest) => {
    const header = String(request.getHeader('x-amz-target') ?? '');
    return header.startsWith('DynamoDB') ? 'dynamodb' : header.includes('InitiateAuth') ? 'initiateAuth' : 'other';
  };
  const onStart = (message: unknown) => {
    started.set((message as { request: ClientRequest }).request, performance.now());
  };
  const onFinish = (message: unknown) => {
    const { request } = message as { request: ClientRequest };
    const t0 = started.get(request);
    if (t0 === undefined) return;
    started.delete(request);
    byTarget.set(target(request), (byTarget.get(target(request)) ?? 0) + performance.now() - t0);
  };
  return {
    start() {
      byTarget.clear();
      subscribe('http.client.request.start', onStart);
      subscribe('http.client.response.finish', onFinish);
    },
    stop(): Map<string, number> {
      unsubscribe('http.client.request.start', onStart);
      unsubscribe('http.client.response.finish', onFinish);
      return new Map(byTarget);
    },
  };
}

export async function benchMiss(
  cognito: CognitoEmulator,
  tenants: Record<string, Record<string, unknown>>,
): Promise<void> {
  const secret = tenants.t0 as Record<string, string>;
  const dynamo = await startLocalDynamo('tvm-bench-miss');
  const kms = await startKms();
  const table = new DynamoDBClient({ ...local, endpoint: dynamo.endpoint });
  let calls: string[] = [];
  table.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
  const kmsClient = new KMSClient({ ...local, endpoint: kms.endpoint });
  const envelope = kmsEnvelope({ keyId: 'alias/tvm-cache', client: kmsClient });
  const shared = sharedStateFor(dynamo.tableName, systemClock, table, envelope);
  const cognitoClient = new CognitoIdentityProviderClient({ ...local, endpoint: cognito.endpoint });
  const verifier = new AwsJwtVerifier(); // keys cached after the first vend, as in a warm container
  const vendTimes: number[] = [];
  const bareTimes: number[] = [];
  const roundTrips: number[] = [];
  const getTimes: number[] = [];
  const exchanges = exchangeTimer();
  const breakdown = { dynamodb: [] as number[], initiateAuth: [] as number[], own: [] as number[] };
  let sequence = '';
  try {
    for (let i = 0; i < 45; i++) {
      const runtime = composeRuntime(loadRuntimeConfig({ [ENV.consumers]: '[]' }), {
        tenants: new StaticTenantStore({ t0: secret }),
        shared,
        providers: { cognito: new CognitoProvider(verifier, () => cognitoClient) },
      });
      await table.send(new DeleteItemCommand({ TableName: dynamo.tableName, Key: { pk: { S: 't0#session' } } }));
      calls = [];
      exchanges.start();
      let t0 = performance.now();
      await runtime.vendor.vend('t0', 300);
      const vendMs = performance.now() - t0;
      const spent = exchanges.stop();
      const vendCalls = [...calls];
      t0 = performance.now();
      await cognitoClient.send(
        new InitiateAuthCommand({
          AuthFlow: 'USER_PASSWORD_AUTH',
          ClientId: secret.clientId,
          AuthParameters: { USERNAME: secret.username ?? '', PASSWORD: secret.password ?? '' },
        }),
      );
      const bareMs = performance.now() - t0;
      // One DynamoDB round trip on its own (the session item the vend wrote), for the breakdown.
      t0 = performance.now();
      await table.send(
        new GetItemCommand({ TableName: dynamo.tableName, Key: { pk: { S: 't0#session' } }, ConsistentRead: true }),
      );
      const getMs = performance.now() - t0;
      if (i >= 5) {
        getTimes.push(getMs);
        vendTimes.push(vendMs);
        bareTimes.push(bareMs);
        roundTrips.push(vendCalls.length);
        const waited = [...spent.values()].reduce((sum, ms) => sum + ms, 0);
        breakdown.dynamodb.push(spent.get('dynamodb') ?? 0);
        breakdown.initiateAuth.push(spent.get('initiateAuth') ?? 0);
        breakdown.own.push(vendMs - waited);
        sequence = vendCalls.join(' ');
      }
    }
  } finally {
    table.destroy();
    kmsClient.destroy();
    cognitoClient.destroy();
    await kms.close();
    await dynamo.close();
  }
  results['miss.vendMs'] = round(median(vendTimes), 2);
  results['miss.bareInitiateAuthMs'] = round(median(bareTimes), 2);
  results['miss.ratio'] = round(median(vendTimes) / median(bareTimes), 2);
  results['miss.dynamoRoundTrips'] = median(roundTrips);
  results['miss.dynamoGetItemMs'] = round(median(getTimes), 2);
  // Medians of each part over the same misses (they need not add up to the median of the whole).
  results['miss.breakdown.dynamodbMs'] = round(median(breakdown.dynamodb), 2);
  results['miss.breakdown.initiateAuthMs'] = round(median(breakdown.initiateAuth), 2);
  results['miss.breakdown.ownWorkMs'] = round(median(breakdown.own), 2);
  results['miss.kmsCallsPerMiss'] = round((kms.calls.get('GenerateDataKey') ?? 0) / 45, 2);
  process.stderr.write(`  miss: DynamoDB calls of one miss: ${sequence}\n`);
}
