import { DynamoDbFailureMarks, DynamoDbLeases, DynamoDbSessionCache } from '../../../lambdas/adapters/dynamodb-cache';
import type { Session } from '../../../lambdas/core/ports';
import { startLocalDynamo, type LocalDynamo } from '../../../lambdas/local/dynalite';
import { FakeClock } from '../../support/fakes';

let dynamo: LocalDynamo;
const clock = new FakeClock();

beforeAll(async () => {
  dynamo = await startLocalDynamo('tvm-unit');
});
afterAll(() => dynamo.close());

const options = () => ({ tableName: dynamo.tableName, client: dynamo.client(), clock });

function session(
  tenantId: string,
  refreshToken: string,
  expiresAt = clock.nowSeconds() + 3600,
  secretVersion = 'v1',
): Session {
  return {
    tenantId,
    provider: 'cognito',
    secretVersion,
    tokens: { idToken: `id-${refreshToken}` },
    refreshToken,
    claims: { a: 1 },
    expiresAt,
    issuedAt: clock.nowSeconds(),
  };
}

describe('DynamoDbSessionCache', () => {
  it('round-trips a session with a revision', async () => {
    const cache = new DynamoDbSessionCache(options());
    const { stored, conflict } = await cache.putIfUnchanged(session('t1', 'rt-1'), undefined);
    expect(conflict).toBe(false);
    expect(stored.revision).toBe(1);
    expect(await cache.get('t1')).toEqual({ ...session('t1', 'rt-1'), revision: 1 });
    expect(await cache.get('nobody')).toBeUndefined();
  });

  it('never lets a writer holding an old revision replace a newer session', async () => {
    const cache = new DynamoDbSessionCache(options());
    await cache.putIfUnchanged(session('t2', 'rt-1'), undefined);
    await cache.putIfUnchanged(session('t2', 'rt-2'), 1);
    // A container that read revision 1 and refreshed late tries to write its result.
    const late = await cache.putIfUnchanged(session('t2', 'rt-late'), 1);
    expect(late.conflict).toBe(true);
    expect(late.stored.refreshToken).toBe('rt-2');
    expect((await cache.get('t2'))?.refreshToken).toBe('rt-2');
    expect((await cache.get('t2'))?.revision).toBe(2);
  });

  it('replaces a session of an older secret version even after losing the race', async () => {
    const cache = new DynamoDbSessionCache(options());
    await cache.putIfUnchanged(session('t3', 'old', clock.nowSeconds() + 3600, 'v1'), undefined);
    const result = await cache.putIfUnchanged(session('t3', 'new', clock.nowSeconds() + 3600, 'v2'), undefined);
    expect(result.conflict).toBe(false);
    expect((await cache.get('t3'))?.refreshToken).toBe('new');
  });
});

describe('DynamoDbLeases', () => {
  it('gives the lease to one holder at a time until it is released or expires', async () => {
    const leases = new DynamoDbLeases(options());
    const results = await Promise.all(['a', 'b', 'c', 'd'].map((holder) => leases.tryAcquire('l1', holder, 10_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = ['a', 'b', 'c', 'd'][results.indexOf(true)] as string;
    await leases.release('l1', 'someone-else'); // not the holder: no effect
    expect(await leases.tryAcquire('l1', 'e', 10_000)).toBe(false);
    await leases.release('l1', winner);
    expect(await leases.tryAcquire('l1', 'e', 10_000)).toBe(true);
    clock.advance(11);
    expect(await leases.tryAcquire('l1', 'f', 10_000)).toBe(true);
  });
});

describe('DynamoDbFailureMarks', () => {
  it('stores, reads and clears a mark', async () => {
    const marks = new DynamoDbFailureMarks(options());
    const mark = { secretVersion: 'v1', failures: 2, blockedUntil: clock.now() + 600_000, reason: 'not_authorized' };
    await marks.put('m1', mark);
    expect(await marks.get('m1')).toEqual(mark);
    await marks.clear('m1');
    expect(await marks.get('m1')).toBeUndefined();
  });
});
