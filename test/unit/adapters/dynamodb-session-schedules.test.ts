import { PutItemCommand } from '@aws-sdk/client-dynamodb';

import { DynamoDbCredentialsCache } from '../../../lambdas/adapters/credentials-cache';
import { DynamoDbSessionCache } from '../../../lambdas/adapters/dynamodb-cache';
import { DynamoDbSessionSchedules } from '../../../lambdas/adapters/dynamodb-session-schedules';
import { DataKeyEnvelope, LocalKeyProvider } from '../../../lambdas/adapters/envelope';
import { startLocalDynamo, type LocalDynamo } from '../../../lambdas/local/dynalite';
import { FakeClock } from '../../support/fakes';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startLocalDynamo('tvm-schedules');
});
afterAll(() => dynamo.close());

it('reads the schedules of 150 of 250 tenants in batches of 100 (readable attributes only)', async () => {
  const clock = new FakeClock();
  const client = dynamo.client();
  const cache = new DynamoDbSessionCache({
    tableName: dynamo.tableName,
    client,
    clock,
    envelope: new DataKeyEnvelope(new LocalKeyProvider()),
  });
  const now = clock.nowSeconds();
  for (let i = 0; i < 150; i++) {
    await cache.putIfUnchanged(
      {
        tenantId: `t${i}`,
        provider: 'cognito',
        secretVersion: `v${i}`,
        tokens: { idToken: 'x' },
        claims: {},
        expiresAt: now + 3600 + i,
        issuedAt: now - i,
      },
      undefined,
    );
  }
  // An item written before the readable issue time existed has no schedule.
  await client.send(
    new PutItemCommand({
      TableName: dynamo.tableName,
      Item: { pk: { S: 'legacy#session' }, rev: { N: '1' }, data: { S: '{}' }, secretVersion: { S: 'v' } },
    }),
  );
  const ids = [...Array.from({ length: 250 }, (_, i) => `t${i}`), 'legacy', 't3'];
  const schedules = await new DynamoDbSessionSchedules({ tableName: dynamo.tableName, client }).schedules(ids);
  expect(schedules.size).toBe(150);
  expect(schedules.get('t7')).toEqual({ secretVersion: 'v7', expiresAt: now + 3607, issuedAt: now - 7 });
  expect(schedules.has('t150')).toBe(false);
  expect(schedules.has('legacy')).toBe(false);
});

it('reads the schedules of identity-pool credentials items apart from the sessions', async () => {
  const clock = new FakeClock();
  const client = dynamo.client();
  const envelope = new DataKeyEnvelope(new LocalKeyProvider());
  const credentials = new DynamoDbCredentialsCache({ tableName: dynamo.tableName, client, envelope });
  const now = clock.nowSeconds();
  await credentials.put({
    tenantId: 'pool',
    secretVersion: 'v1',
    identityPoolId: 'ap-southeast-2:11111111-2222-4333-8444-555555555555',
    identityId: 'ap-southeast-2:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    credentials: { accessKeyId: 'ASIA', secretAccessKey: 's', sessionToken: 't', expiresAt: now + 3000 },
    issuedAt: now - 600,
  });
  // A credentials item written before it carried its issue time: counted as issued one lifetime before expiry.
  await client.send(
    new PutItemCommand({
      TableName: dynamo.tableName,
      Item: {
        pk: { S: 'older#aws-credentials' },
        sealed: { B: new Uint8Array([1]) },
        secretVersion: { S: 'v2' },
        expiresAt: { N: String(now + 100) },
      },
    }),
  );
  const source = new DynamoDbSessionSchedules({ tableName: dynamo.tableName, client });
  const schedules = await source.credentialsSchedules(['pool', 'older', 't7', 'none']);
  expect(schedules).toEqual(
    new Map([
      ['pool', { secretVersion: 'v1', expiresAt: now + 3000, issuedAt: now - 600 }],
      ['older', { secretVersion: 'v2', expiresAt: now + 100, issuedAt: now + 100 - 3600 }],
    ]),
  );
  // The session items of the first test are not credentials, and the credentials are not sessions.
  expect((await source.schedules(['pool', 't7'])).has('pool')).toBe(false);
});
