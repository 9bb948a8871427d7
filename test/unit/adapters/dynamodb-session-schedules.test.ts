import { PutItemCommand } from '@aws-sdk/client-dynamodb';

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
