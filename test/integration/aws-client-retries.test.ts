// How many attempts an SDK client built from awsClientOptions makes per kind of failure, against dynalite behind
// the fault proxy: fast failures (reset connection, throttling) get every attempt, a call that timed out fewer.
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';

import { AWS_TIMEOUTS, awsClientOptions } from '../../lambdas/adapters/aws-client-options';
import { timedOut } from '../../lambdas/core/timed-out';
import { startLocalDynamo, type LocalDynamo } from '../../lambdas/local/dynalite';
import { FAULTS, startFaultProxy, type FaultProxy } from '../support/fault-proxy';

let dynamo: LocalDynamo;
let proxy: FaultProxy;
let client: DynamoDBClient;

beforeAll(async () => {
  dynamo = await startLocalDynamo('tvm-retries');
  proxy = await startFaultProxy(dynamo.endpoint);
  client = new DynamoDBClient({
    // Short request timeout so the stalled case is quick; attempts as in production.
    ...awsClientOptions('dynamodb', { requestTimeoutMs: 300 }),
    endpoint: proxy.url,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

afterAll(async () => {
  client.destroy();
  await proxy.close();
  await dynamo.close();
});

beforeEach(() => proxy.setRules([]));

const get = () => client.send(new GetItemCommand({ TableName: dynamo.tableName, Key: { pk: { S: 'absent' } } }));
const faults = () => ({ ...proxy.counts });
const attemptsOf = (error: unknown) => (error as { $metadata?: { attempts?: number } }).$metadata?.attempts;

describe('DynamoDB client attempts (awsClientOptions)', () => {
  it('production settings: three attempts for fast failures, two once a call timed out', () => {
    expect(AWS_TIMEOUTS.dynamodb).toMatchObject({ maxAttempts: 3, timeoutAttempts: 2 });
    expect(awsClientOptions('dynamodb').retryStrategy).toBeDefined();
    // Services without a separate timeout limit keep the SDK's own strategy.
    expect(awsClientOptions('secretsManager').retryStrategy).toBeUndefined();
  });

  it('two reset connections in a row: the third attempt answers', async () => {
    const before = faults();
    proxy.setRules([{ fault: { kind: 'reset' }, times: 2 }]);
    await expect(get()).resolves.toMatchObject({ $metadata: { httpStatusCode: 200, attempts: 3 } });
    expect(proxy.counts.reset - before.reset).toBe(2);
  });

  it('resets on every attempt: fails after three', async () => {
    const before = faults();
    proxy.setRules([{ fault: { kind: 'reset' } }]);
    const error: unknown = await get().catch((e: unknown) => e);
    expect(String(error)).toMatch(/socket hang up/);
    expect(attemptsOf(error)).toBe(3);
    expect(timedOut({ name: 'TimeoutError', code: 'ECONNRESET', message: 'socket hang up' })).toBe(false);
    expect(proxy.counts.reset - before.reset).toBe(3);
  });

  it('throttled twice (ProvisionedThroughputExceeded): the third attempt answers', async () => {
    const before = faults();
    proxy.setRules([{ fault: FAULTS.dynamoThrottled, times: 2 }]);
    await expect(get()).resolves.toMatchObject({ $metadata: { httpStatusCode: 200, attempts: 3 } });
    expect(proxy.counts.status - before.status).toBe(2);
  });

  it('answers that stall past the request timeout: two attempts only', async () => {
    const before = faults();
    proxy.setRules([{ fault: { kind: 'stall' } }]);
    const error: unknown = await get().catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TimeoutError' });
    expect(timedOut(error)).toBe(true);
    expect(attemptsOf(error)).toBe(2);
    expect(proxy.counts.stall - before.stall).toBe(2);
  });

  it('a timeout, then a reset: the reset is still retried (at most two timeouts per call)', async () => {
    const before = faults();
    proxy.setRules([
      { fault: { kind: 'stall' }, times: 1 },
      { fault: { kind: 'reset' }, times: 1 },
    ]);
    await expect(get()).resolves.toMatchObject({ $metadata: { httpStatusCode: 200, attempts: 3 } });
    expect([proxy.counts.stall - before.stall, proxy.counts.reset - before.reset]).toEqual([1, 1]);
  });
});
