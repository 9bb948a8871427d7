/**
 * The fleet behaves as one cache: several vendor instances (as Lambda containers, each
 * with its own memory cache) share one DynamoDB table (dynalite, in-process) and sign
 * in to cognito-local.
 */
import { AdminCreateUserCommand, CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';

import { DynamoDbCredentialsCache } from '../../lambdas/adapters/credentials-cache';
import { DynamoDbSessionSchedules } from '../../lambdas/adapters/dynamodb-session-schedules';
import { localEnvelope } from '../../lambdas/adapters/envelope';
import { StaticTenantStore } from '../../lambdas/adapters/file-tenant-store';
import { MemorySessionCache } from '../../lambdas/adapters/memory-cache';
import type { IdentityPool } from '../../lambdas/core/credentials-vendor';
import { UpstreamAuthFailedError, UpstreamChallengeRequiredError } from '../../lambdas/core/errors';
import type { VendorEvent } from '../../lambdas/core/ports';
import { refreshTenants } from '../../lambdas/core/refresher';
import { createObservability } from '../../lambdas/handlers/observability';
import { createRefreshHandler, type RefreshSummary } from '../../lambdas/handlers/refresh-handler';
import { startCognitoEmulator, type CognitoEmulator } from '../../lambdas/local/cognito-emulator';
import { startLocalDynamo, type LocalDynamo } from '../../lambdas/local/dynalite';
import { seedCognitoTenant } from '../../lambdas/local/seed-cognito';
import { composeRuntime, sharedStateFor, type Runtime } from '../../lambdas/runtime/compose';
import { loadRuntimeConfig } from '../../lambdas/runtime/config';
import { lambdaContext } from '../support/events';
import { OffsetClock } from '../support/fakes';
import { recordCommands } from '../support/record-commands';

const TENANTS = ['t1', 't2', 't3', 't4', 't5'];
// One clock for the emulator and every fleet, so issued tokens and the vendors agree on the time.
const clock = new OffsetClock();
let cognito: CognitoEmulator;
let secrets: Record<string, Record<string, unknown>>;

beforeAll(async () => {
  cognito = await startCognitoEmulator({ clock });
  secrets = {};
  for (const tenant of TENANTS)
    secrets[tenant] = (
      await seedCognitoTenant(cognito.endpoint, { poolName: tenant, username: `${tenant}@example.com` })
    ).secret;
  secrets.wrong = { ...secrets.t1, password: 'Definitely-Wrong-1!' };
  // A user an administrator created with a temporary password: Cognito answers NEW_PASSWORD_REQUIRED.
  const admin = new CognitoIdentityProviderClient({
    region: 'ap-southeast-2',
    endpoint: cognito.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const t1 = secrets.t1 as { userPoolId: string };
  await admin.send(
    new AdminCreateUserCommand({
      UserPoolId: t1.userPoolId,
      Username: 'new-user@example.com',
      TemporaryPassword: 'Temporary-Pa55!',
      MessageAction: 'SUPPRESS',
    }),
  );
  admin.destroy();
  secrets['new-user'] = { ...secrets.t1, username: 'new-user@example.com', password: 'Temporary-Pa55!' };
});
afterAll(() => cognito.close());

interface Fleet {
  containers: Runtime[];
  events: VendorEvent[];
  clock: OffsetClock;
  dynamo: LocalDynamo;
}

async function fleet(size: number): Promise<Fleet> {
  const dynamo = await startLocalDynamo();
  const events: VendorEvent[] = [];
  const config = loadRuntimeConfig({ TVM_CONSUMERS: JSON.stringify([{ principal: 'local', tenants: ['*'] }]) });
  const containers = Array.from({ length: size }, () =>
    composeRuntime(config, {
      tenants: new StaticTenantStore(secrets),
      cache: new MemorySessionCache(),
      shared: sharedStateFor(dynamo.tableName, clock, dynamo.client()),
      clock,
      onEvent: (event) => events.push(event),
    }),
  );
  cognito.resetCounts();
  return { containers, events, clock, dynamo };
}

describe('fleet-wide single flight', () => {
  it('8 containers x 100 concurrent cold requests x 5 tenants -> exactly 5 sign-ins, every token lives minTtl', async () => {
    const { containers, clock, dynamo } = await fleet(8);
    try {
      const requests = containers.flatMap((container) =>
        TENANTS.flatMap((tenant) => Array.from({ length: 100 }, () => container.vendor.vend(tenant, 600))),
      );
      const results = await Promise.all(requests);
      expect(results).toHaveLength(4000);
      expect(cognito.authFlows.get('USER_PASSWORD_AUTH')).toBe(5);
      const now = Math.floor(clock.now() / 1000);
      expect(results.every((r) => r.session.expiresAt - now >= 600)).toBe(true);
      for (const tenant of TENANTS) {
        expect(
          new Set(results.filter((r) => r.tenant.tenantId === tenant).map((r) => r.session.tokens.idToken)).size,
        ).toBe(1);
      }
    } finally {
      await dynamo.close();
    }
  }, 60_000);

  it('renewals spread over the fleet too: a stale token is refreshed once, not once per container', async () => {
    const { containers, clock, dynamo } = await fleet(8);
    try {
      await Promise.all(containers.map((c) => c.vendor.vend('t1', 300)));
      clock.advance(3400);
      await Promise.all(containers.flatMap((c) => Array.from({ length: 20 }, () => c.vendor.vend('t1', 300))));
      expect(cognito.authFlows.get('USER_PASSWORD_AUTH')).toBe(1);
      expect(cognito.authFlows.get('REFRESH_TOKEN_AUTH')).toBe(1);
    } finally {
      await dynamo.close();
    }
  }, 30_000);
});

describe('fleet-wide lockout guard', () => {
  it('a wrong password across 8 containers -> 1 upstream attempt per backoff window in total', async () => {
    const { containers, dynamo } = await fleet(8);
    try {
      const burst = () =>
        Promise.all(
          containers.flatMap((c) =>
            Array.from({ length: 20 }, () => c.vendor.vend('wrong', 300).catch((e: unknown) => e)),
          ),
        );
      const first = await burst();
      expect(first.every((e) => e instanceof UpstreamAuthFailedError)).toBe(true);
      expect(cognito.count('InitiateAuth')).toBe(1);

      clock.advance(120); // inside the 5-minute window
      await burst();
      expect(cognito.count('InitiateAuth')).toBe(1);

      clock.advance(200); // past it: one new attempt for the whole fleet, then a 10-minute pause
      const third = await burst();
      expect(cognito.count('InitiateAuth')).toBe(2);
      const retryAfter = third.map((e) => (e as UpstreamAuthFailedError).retryAfterSeconds ?? 0);
      expect(Math.max(...retryAfter)).toBeGreaterThan(500);
    } finally {
      await dynamo.close();
    }
  }, 30_000);

  it('a challenge (NEW_PASSWORD_REQUIRED) across 8 containers -> 1 sign-in per pause, each answer names it', async () => {
    const { containers, dynamo } = await fleet(8);
    try {
      const burst = () =>
        Promise.all(
          containers.flatMap((c) =>
            Array.from({ length: 10 }, () => c.vendor.vend('new-user', 300).catch((e: unknown) => e)),
          ),
        );
      const first = await burst();
      expect(cognito.count('InitiateAuth')).toBe(1);
      for (const error of first) {
        expect(error).toBeInstanceOf(UpstreamChallengeRequiredError);
        expect((error as Error).message).toMatch(/NEW_PASSWORD_REQUIRED.*permanent password/);
      }
      clock.advance(120); // inside the 5-minute pause: no container signs in, every one answers with Retry-After
      const second = await burst();
      expect(cognito.count('InitiateAuth')).toBe(1);
      expect(second.every((e) => (e as UpstreamChallengeRequiredError).retryAfterSeconds === 180)).toBe(true);
    } finally {
      await dynamo.close();
    }
  }, 30_000);
});

describe('degrade, never fail', () => {
  it('keeps vending with DynamoDB stopped mid-test, and answers no 5xx because of it', async () => {
    const { containers, events, dynamo } = await fleet(2);
    const [a, b] = containers as [Runtime, Runtime];
    await a.vendor.vend('t1', 300);
    await dynamo.close();

    const request = (tenantId: string) => ({
      method: 'GET',
      path: `/v1/tenants/${tenantId}/token`,
      query: {},
      callerArn: 'local',
      requestId: 'r',
    });
    const warm = await a.api.handle(request('t1'));
    const coldTenant = await a.api.handle(request('t2'));
    const coldContainer = await b.api.handle(request('t1'));
    expect([warm, coldTenant, coldContainer].map((o) => o.response.status)).toEqual([200, 200, 200]);
    expect(events.some((e) => e.type === 'shared_cache_error')).toBe(true);
  }, 30_000);
});

describe('refresher with the shared cache', () => {
  it('renews tenants near expiry, leaves fresh ones, and one failing tenant does not stop the others', async () => {
    const { containers, clock, dynamo } = await fleet(2);
    const [serving, refresher] = containers as [Runtime, Runtime];
    try {
      await serving.vendor.vend('t1', 0);
      await serving.vendor.vend('t2', 0);
      clock.advance(2900); // t1, t2 at 80% of their hour
      await serving.vendor.vend('t3', 0); // fresh
      cognito.resetCounts();

      const results = await refreshTenants(refresher.vendor, ['t1', 'wrong', 't2', 't3']);
      expect(results.map((r) => [r.tenantId, r.outcome])).toEqual([
        ['t1', 'renewed'],
        ['wrong', 'failed'],
        ['t2', 'renewed'],
        ['t3', 'fresh'],
      ]);
      // Renewed through the refresh tokens stored by another container, not with passwords.
      expect(cognito.authFlows.get('REFRESH_TOKEN_AUTH')).toBe(2);
      expect(cognito.authFlows.get('USER_PASSWORD_AUTH')).toBe(1); // the failing tenant's one attempt

      // The serving container picks the renewed tokens up from the shared cache.
      const after = await serving.vendor.vend('t1', 3000);
      expect(after.source).toBe('shared');
    } finally {
      await dynamo.close();
    }
  }, 30_000);

  it('renews a due tenant in three DynamoDB round trips: one read for the decision and the lease, lease, write', async () => {
    const { containers, clock, dynamo } = await fleet(1);
    const [serving] = containers as [Runtime];
    try {
      await serving.vendor.vend('t4', 0);
      clock.advance(2900);
      const client = dynamo.client();
      const commands = recordCommands(client);
      const refresher = composeRuntime(
        loadRuntimeConfig({ TVM_CONSUMERS: JSON.stringify([{ principal: 'local', tenants: ['*'] }]) }),
        {
          tenants: new StaticTenantStore(secrets),
          cache: new MemorySessionCache(),
          shared: sharedStateFor(dynamo.tableName, clock, client),
          clock,
        },
      );
      expect(await refreshTenants(refresher.vendor, ['t4'])).toEqual([{ tenantId: 't4', outcome: 'renewed' }]);
      expect(commands).toEqual(['BatchGetItemCommand', 'UpdateItemCommand', 'UpdateItemCommand']);
    } finally {
      await dynamo.close();
    }
  }, 30_000);

  it('keeps the identity-pool AWS credentials the fleet uses warm: a new container is served from the table', async () => {
    const { dynamo } = await fleet(0);
    const poolId = 'ap-southeast-2:11111111-2222-4333-8444-555555555555';
    const tenants = new StaticTenantStore({ ...secrets, pool: { ...secrets.t5, identityPoolId: poolId } });
    let issued = 0;
    const identityPool: IdentityPool = {
      credentials: async (_tenantId, _config, idToken, known) => {
        expect(idToken.split('.')).toHaveLength(3);
        issued++;
        return {
          identityId: known ?? 'ap-southeast-2:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
          credentials: {
            accessKeyId: `ASIAPOOL${issued}`,
            secretAccessKey: 'secret',
            sessionToken: `token-${issued}`,
            expiresAt: Math.floor(clock.now() / 1000) + 3600,
          },
        };
      },
    };
    const container = () =>
      composeRuntime(loadRuntimeConfig({ TVM_CONSUMERS: '[]' }), {
        tenants,
        cache: new MemorySessionCache(),
        shared: sharedStateFor(dynamo.tableName, clock, dynamo.client()),
        sharedCredentials: new DynamoDbCredentialsCache({
          tableName: dynamo.tableName,
          client: dynamo.client(),
          envelope: localEnvelope(),
        }),
        identityPool,
        clock,
      });
    try {
      const serving = container();
      await serving.credentials.vend('pool', 0);
      const refresher = container();
      const version = (await tenants.get('pool')).version;
      const handler = createRefreshHandler(
        refresher,
        {
          directory: { list: async () => [{ tenantId: 'pool', version }] },
          schedules: new DynamoDbSessionSchedules({ tableName: dynamo.tableName, client: dynamo.client() }),
        },
        { refreshAtFraction: 0.75 },
        createObservability(),
      );
      const run = async () =>
        (await handler({}, { ...lambdaContext, getRemainingTimeInMillis: () => 300_000 })) as RefreshSummary;
      expect(await run()).toMatchObject({ fresh: 1, renewed: 0, awsCredentialsRenewed: 0 });
      expect(issued).toBe(1);
      clock.advance(2900); // the tokens and the credentials at 80 % of their hour
      expect(await run()).toMatchObject({ renewed: 1, failed: 0, awsCredentialsRenewed: 1 });
      expect(issued).toBe(2);
      // A container that has never seen the tenant is served credentials for 50 more minutes from the table.
      const cold = await container().credentials.vend('pool', 3000);
      expect(cold.source).toBe('shared');
      expect(cold.session.credentials.accessKeyId).toBe('ASIAPOOL2');
      expect(issued).toBe(2);
    } finally {
      await dynamo.close();
    }
  }, 30_000);
});
