// `npm run bench`: measures the service as deployed against what a user would otherwise pick, prints a table and
// writes bench/results.json. Not part of `npm test`; nothing here asserts a time. Absolute numbers depend on the
// machine (and its load); ratios and counts hold. One module per measurement: hit, burst (and fleet), miss,
// cold-start, server, secrets.
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

import { DEFAULT_SECRET_PREFIX, ENV } from '../contract/names';
import { kmsEnvelope } from '../lambdas/adapters/kms-envelope';
import { SecretsManagerTenantStore } from '../lambdas/adapters/secrets-manager-tenant-store';
import { systemClock } from '../lambdas/adapters/system-clock';
import { startCognitoEmulator, type CognitoEmulator } from '../lambdas/local/cognito-emulator';
import { startLocalDynamo } from '../lambdas/local/dynalite';
import { seedCognitoTenant } from '../lambdas/local/seed-cognito';
import { composeRuntime, sharedStateFor } from '../lambdas/runtime/compose';
import { loadRuntimeConfig } from '../lambdas/runtime/config';
import { startKms, startSecretsManager } from '../test/support/aws-json-emulators';
import { benchBurst, benchFleet } from './burst';
import { benchColdStart, COLD_RUNS } from './cold-start';
import { benchHit } from './hit';
import { benchMiss } from './miss';
import { benchSecrets } from './secrets';
import { benchServer } from './server';
import { notes, results, round } from './support';

process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE ??= '1';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

type Tenants = Record<string, Record<string, unknown>>;
const KEY_ID = 'alias/tvm-cache';
const local = {
  region: 'ap-southeast-2',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  maxAttempts: 1,
};

async function seedTenants(cognito: CognitoEmulator, count: number): Promise<Tenants> {
  const tenants: Tenants = {};
  for (let i = 0; i < count; i++) {
    tenants[`t${i}`] = (
      await seedCognitoTenant(cognito.endpoint, { poolName: `bench-${i}`, username: `user${i}@example.com` })
    ).secret;
  }
  return tenants;
}

/** Cold start with a warm tenant in the shared table (sealed under the loopback KMS) and fresh tenants for misses. */
async function coldStart(tenants: Tenants): Promise<void> {
  const dynamo = await startLocalDynamo('tvm-bench-cold');
  const kms = await startKms();
  const secrets: Record<string, unknown> = { [`${DEFAULT_SECRET_PREFIX}/warm`]: tenants.t1 };
  for (let run = 0; run < COLD_RUNS; run++) secrets[`${DEFAULT_SECRET_PREFIX}/miss-${run}`] = tenants[`t${10 + run}`];
  const secretsManager = await startSecretsManager(secrets);
  try {
    await benchColdStart(
      async () => {
        // The warm tenant's session, written by a container of the fleet as deployed.
        const table = new DynamoDBClient({ ...local, endpoint: dynamo.endpoint });
        const kmsClient = new KMSClient({ ...local, endpoint: kms.endpoint });
        const sm = new SecretsManagerClient({ ...local, endpoint: secretsManager.endpoint });
        const runtime = composeRuntime(loadRuntimeConfig({ [ENV.consumers]: '[]' }), {
          tenants: new SecretsManagerTenantStore({ prefix: DEFAULT_SECRET_PREFIX, client: sm }),
          shared: sharedStateFor(
            dynamo.tableName,
            systemClock,
            table,
            kmsEnvelope({ keyId: KEY_ID, client: kmsClient }),
          ),
        });
        await runtime.vendor.vend('warm', 300);
        table.destroy();
        kmsClient.destroy();
        sm.destroy();
      },
      {
        tableEndpoint: dynamo.endpoint,
        tableName: dynamo.tableName,
        kmsEndpoint: kms.endpoint,
        secretsEndpoint: secretsManager.endpoint,
      },
      KEY_ID,
    );
  } finally {
    await secretsManager.close();
    await kms.close();
    await dynamo.close();
  }
}

// Sizes in decimal kilobytes: 400 KB is 400,000 bytes.
const GOALS: Record<string, string> = {
  'hit.p50Us': '<= 40',
  'hit.p99Us': '<= 150',
  'hit.ratioP50': '<= 3',
  'burst.signIns': '= tenants',
  'fleet.signIns': '= tenants',
  'miss.ratio': '<= 1.5',
  'miss.dynamoRoundTrips': '<= 3',
  'coldStart.vend.initMs': '<= 60',
  'coldStart.vend.firstWarmEventMs': '<= 90',
  'coldStart.vend.bytes': '<= 400000',
  'coldStart.vend.gzipBytes': '<= 130000',
  'coldStart.vend.startBytes': '<= 400000',
  'coldStart.vend.startGzipBytes': '<= 130000',
  'coldStart.vend.init.peakRssMb': '<= 60',
  'coldStart.vend.firstWarmEvent.peakRssMb': '<= 60',
  'coldStart.refresh.initMs': '<= 60',
  'coldStart.refresh.firstEventMs': '<= 90',
  'coldStart.refresh.bytes': '<= 400000',
  'coldStart.refresh.gzipBytes': '<= 130000',
  'coldStart.refresh.startBytes': '<= 400000',
  'coldStart.refresh.startGzipBytes': '<= 130000',
  'coldStart.refresh.firstEvent.peakRssMb': '<= 60',
  'coldStart.export.initMs': '<= 60',
  'coldStart.export.bytes': '<= 400000',
  'coldStart.export.gzipBytes': '<= 130000',
  'coldStart.export.startBytes': '<= 400000',
  'coldStart.export.startGzipBytes': '<= 130000',
  'coldStart.export.init.peakRssMb': '<= 60',
  'secrets.callsPer1000': '<= 10',
};

function table(): string {
  return Object.entries(results)
    .map(([key, value]) => `${key.padEnd(40)} ${String(value).padStart(12)}  ${GOALS[key] ?? ''}`)
    .join('\n');
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const started = performance.now();
  const step = async (name: string, work: () => Promise<void>) => {
    if (only.length && !only.includes(name)) return;
    const t0 = performance.now();
    await work();
    process.stderr.write(`  ${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  };
  await step('hit', benchHit);
  const cognito = await startCognitoEmulator();
  try {
    const tenants = await seedTenants(cognito, 50);
    const burstTenants = Object.fromEntries(Object.entries(tenants).slice(0, 50));
    await step('burst', () => benchBurst(cognito, burstTenants));
    await step('fleet', () => benchFleet(cognito, burstTenants));
    await step('miss', () => benchMiss(cognito, tenants));
    await step('coldStart', () => coldStart(tenants));
  } finally {
    await cognito.close();
  }
  await step('server', benchServer);
  await step('secrets', benchSecrets);
  results['bench.totalSeconds'] = round((performance.now() - started) / 1000);
  results['machine.cores'] = availableParallelism();
  if (!only.length) writeFileSync(join(__dirname, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${'metric'.padEnd(40)} ${'value'.padStart(12)}  goal\n${table()}\n`);
  if (notes.length) process.stdout.write(`\nnotes:\n${notes.map((n) => `  - ${n}`).join('\n')}\n`);
  if (!only.length) process.stdout.write(`\nwrote bench/results.json\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
