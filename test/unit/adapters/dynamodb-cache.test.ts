import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';

import {
  DynamoDbFailureMarks,
  DynamoDbLeases,
  DynamoDbRenewalMarks,
  DynamoDbSessionCache,
  parseItemKey,
} from '../../../lambdas/adapters/dynamodb-cache';
import {
  DataKeyEnvelope,
  LocalKeyProvider,
  type DataKeyProvider,
  type EncryptionContext,
} from '../../../lambdas/adapters/envelope';
import type { Session } from '../../../lambdas/core/ports';
import { startLocalDynamo, type LocalDynamo } from '../../../lambdas/local/dynalite';
import { FakeClock } from '../../support/fakes';
import { recordCommands } from '../../support/record-commands';

let dynamo: LocalDynamo;
const clock = new FakeClock();

beforeAll(async () => {
  dynamo = await startLocalDynamo('tvm-unit');
});
afterAll(() => dynamo.close());

const provider = new LocalKeyProvider();
const envelope = new DataKeyEnvelope(provider);
const options = () => ({ tableName: dynamo.tableName, client: dynamo.client(), clock, envelope });

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

  it('keeps tokens, refresh token and claims only in the sealed attribute, bound to the tenant', async () => {
    const cache = new DynamoDbSessionCache(options());
    await cache.putIfUnchanged({ ...session('t4', 'rt-secret-4'), claims: { email: 'ops@example.com' } }, undefined);
    const raw = await dynamo
      .client()
      .send(new GetItemCommand({ TableName: dynamo.tableName, Key: { pk: { S: 't4#session' } } }));
    const item = raw.Item ?? {};
    expect(Object.keys(item).sort()).toEqual([
      'expiresAt',
      'hasRefreshToken',
      'issuedAt',
      'leaseGen',
      'pk',
      'rev',
      'sealed',
      'secretVersion',
      'ttl',
    ]);
    // Presence only (for `tvm tenants`), never the value.
    expect(item.hasRefreshToken).toEqual({ BOOL: true });
    const everything = JSON.stringify(item) + Buffer.from(item.sealed?.B ?? []).toString('latin1');
    for (const secret of ['rt-secret-4', 'id-rt-secret-4', 'ops@example.com']) expect(everything).not.toContain(secret);
    // The same sealed bytes under another tenant's key do not open.
    await dynamo
      .client()
      .send(new PutItemCommand({ TableName: dynamo.tableName, Item: { ...item, pk: { S: 't5#session' } } }));
    await expect(cache.get('t5')).rejects.toThrow(/failed authentication|does not open/);
  });

  it('replaces an item no key opens (tampered) or written in plaintext before encryption', async () => {
    const cache = new DynamoDbSessionCache(options());
    const client = dynamo.client();
    const { pk, ...rest } = { pk: { S: 't6#session' }, rev: { N: '4' }, sealed: { B: Buffer.from('not an envelope') } };
    await client.send(new PutItemCommand({ TableName: dynamo.tableName, Item: { pk, ...rest } }));
    await expect(cache.get('t6')).rejects.toThrow(/Not a sealed value/);
    const replaced = await cache.putIfUnchanged(session('t6', 'rt-6'), undefined);
    expect(replaced).toMatchObject({ conflict: false, stored: { revision: 5 } });
    expect((await cache.get('t6'))?.refreshToken).toBe('rt-6');

    const legacy = { ...session('t7', 'rt-plain'), revision: undefined };
    await client.send(
      new PutItemCommand({
        TableName: dynamo.tableName,
        Item: { pk: { S: 't7#session' }, rev: { N: '2' }, data: { S: JSON.stringify(legacy) } },
      }),
    );
    expect(await cache.get('t7')).toBeUndefined(); // a plaintext item is never trusted
    expect((await cache.putIfUnchanged(session('t7', 'rt-7'), undefined)).stored.revision).toBe(3);
    expect((await cache.get('t7'))?.refreshToken).toBe('rt-7');
  });

  it('keeps a winner it cannot open for now (key provider refused) instead of replacing it', async () => {
    const refusing: DataKeyProvider = {
      generate: (context: EncryptionContext) => provider.generate(context),
      decrypt: async () => {
        throw Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
      },
    };
    const writer = new DynamoDbSessionCache(options());
    await writer.putIfUnchanged(session('t8', 'rt-newest'), undefined);
    const reader = new DynamoDbSessionCache({ ...options(), envelope: new DataKeyEnvelope(refusing) });
    await expect(reader.get('t8')).rejects.toThrow('denied');
    await expect(reader.putIfUnchanged(session('t8', 'rt-other'), undefined)).rejects.toThrow('denied');
    expect((await writer.get('t8'))?.refreshToken).toBe('rt-newest');
  });
});

describe('DynamoDbSessionCache as SessionLeases (a miss in three round trips)', () => {
  function recorded() {
    const client = dynamo.client();
    return { client, commands: recordCommands(client) };
  }

  it('reads the session, the lockout mark and the lease generation together, each absent when there is none', async () => {
    const { client, commands } = recorded();
    const cache = new DynamoDbSessionCache({ ...options(), client });
    const marks = new DynamoDbFailureMarks({ ...options(), client });
    expect(await cache.snapshot('both')).toEqual({ generation: 0 });
    await cache.putIfUnchanged(session('both', 'rt-1'), undefined);
    expect(await cache.snapshot('both')).toEqual({
      session: { ...session('both', 'rt-1'), revision: 1 },
      generation: 1,
    });
    const mark = { secretVersion: 'v1', failures: 2, blockedUntil: clock.now() + 60_000, reason: 'not_authorized' };
    await marks.put('both', mark);
    commands.length = 0;
    expect(await cache.snapshot('both')).toEqual({
      session: { ...session('both', 'rt-1'), revision: 1 },
      mark,
      generation: 1,
    });
    expect(commands).toEqual(['BatchGetItemCommand']);
  });

  it('grants the lease to one holder at a time, and only against a snapshot whose generation has not moved since', async () => {
    const cache = new DynamoDbSessionCache(options());
    const seen = await cache.snapshot('l2');
    const results = await Promise.all(['a', 'b', 'c'].map((holder) => cache.tryAcquire('l2', holder, 10_000, seen)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = ['a', 'b', 'c'][results.indexOf(true)] as string;
    // The winner gives the lease back without writing: the generation has moved, so the old snapshot is refused
    // (the winner may have written a lockout mark) and a fresh one is accepted.
    await cache.release('l2', 'someone-else'); // not the holder: no effect
    expect(await cache.tryAcquire('l2', 'd', 10_000)).toBe(false);
    await cache.release('l2', winner);
    expect(await cache.tryAcquire('l2', 'd', 10_000, seen)).toBe(false);
    const fresh = await cache.snapshot('l2');
    expect(fresh.generation).toBe(2); // taken, then released
    expect(await cache.tryAcquire('l2', 'd', 10_000, fresh)).toBe(true);
    // Its holder may take it again (an earlier attempt whose answer was lost took it), others may not.
    expect(await cache.tryAcquire('l2', 'd', 10_000, fresh)).toBe(true);
    expect(await cache.tryAcquire('l2', 'd', 10_000)).toBe(true);
    expect(await cache.tryAcquire('l2', 'x', 10_000)).toBe(false);
    expect((await cache.snapshot('l2')).lease).toEqual({ holder: 'd', until: clock.now() + 10_000 });
    // An expired lease can be taken over.
    clock.advance(11);
    expect(await cache.tryAcquire('l2', 'e', 10_000, await cache.snapshot('l2'))).toBe(true);
  });

  it('releases the lease with the session write, in one UpdateItem that moves the generation on', async () => {
    const { client, commands } = recorded();
    const cache = new DynamoDbSessionCache({ ...options(), client });
    const seen = await cache.snapshot('l3');
    expect(await cache.tryAcquire('l3', 'a', 60_000, seen)).toBe(true);
    expect(await cache.tryAcquire('l3', 'b', 60_000)).toBe(false);
    // A waiter's snapshot taken while the lease is held, before the holder stores its session.
    const whileHeld = await cache.snapshot('l3');
    expect(whileHeld).toEqual({ generation: 1, lease: { holder: 'a', until: clock.now() + 60_000 } });
    commands.length = 0;
    const { stored, conflict } = await cache.putIfUnchanged(session('l3', 'rt-1'), seen.session?.revision);
    expect({ revision: stored.revision, conflict }).toEqual({ revision: 1, conflict: false });
    expect(commands).toEqual(['UpdateItemCommand']);
    const item = await client.send(
      new GetItemCommand({ TableName: dynamo.tableName, Key: { pk: { S: 'l3#session' } }, ConsistentRead: true }),
    );
    expect(item.Item?.leaseHolder).toBeUndefined();
    expect(item.Item?.leaseUntil).toBeUndefined();
    expect(item.Item?.leaseGen).toEqual({ N: '2' });
    // Free again, but a snapshot taken before the write is refused (it does not show the new session) ...
    expect(await cache.tryAcquire('l3', 'b', 60_000, whileHeld)).toBe(false);
    expect(await cache.tryAcquire('l3', 'b', 60_000, seen)).toBe(false);
    // ... and a fresh one shows the session.
    const after = await cache.snapshot('l3');
    expect(after.session?.refreshToken).toBe('rt-1');
    expect(await cache.tryAcquire('l3', 'b', 60_000, after)).toBe(true);
    // Taking the lease keeps the session; the next write needs the revision it read.
    expect((await cache.get('l3'))?.refreshToken).toBe('rt-1');
    expect((await cache.putIfUnchanged(session('l3', 'rt-2'), after.session?.revision)).stored.revision).toBe(2);
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

  it("is its holder's again when asked twice (a write whose answer was lost, retried), and no one else's", async () => {
    const leases = new DynamoDbLeases(options());
    expect(await leases.tryAcquire('l2', 'g', 10_000)).toBe(true);
    expect(await leases.tryAcquire('l2', 'g', 10_000)).toBe(true);
    expect(await leases.tryAcquire('l2', 'h', 10_000)).toBe(false);
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

describe('DynamoDbRenewalMarks', () => {
  it('gives the slot to one claimant per interval', async () => {
    const renewals = new DynamoDbRenewalMarks(options());
    const now = clock.now();
    expect(await renewals.tryClaim('r1', now, 30_000)).toEqual({ claimed: true });
    expect(await renewals.tryClaim('r1', now + 1_000, 30_000)).toEqual({ claimed: false, lastAt: now });
    expect(await renewals.tryClaim('r1', now + 30_000, 30_000)).toEqual({ claimed: true });
  });

  it('a claim whose answer was lost and that the SDK repeats is still its own (not a 429 for its own renewal)', async () => {
    const client = dynamo.client();
    // The first attempt reaches the table and writes; its answer is lost, so the SDK sends the same request again.
    client.middlewareStack.add(
      (next) => async (args) => {
        await next(args);
        return next(args);
      },
      { step: 'finalizeRequest', name: 'answerLost' },
    );
    const renewals = new DynamoDbRenewalMarks({ ...options(), client });
    const now = clock.now();
    expect(await renewals.tryClaim('r2', now, 30_000)).toEqual({ claimed: true });
    // Another container's claim within the interval is still refused.
    expect(await new DynamoDbRenewalMarks(options()).tryClaim('r2', now + 1_000, 30_000)).toEqual({
      claimed: false,
      lastAt: now,
    });
  });
});

describe('parseItemKey', () => {
  it.each([
    ['acme#session', { tenantId: 'acme', kind: 'session' }],
    ['acme-2#mark', { tenantId: 'acme-2', kind: 'mark' }],
    ['acme#renewal', { tenantId: 'acme', kind: 'renewal' }],
    ['acme#aws-credentials#lease', undefined],
    ['acme#aws-credentials', undefined],
    ['#session', undefined],
    ['Acme#session', undefined],
    ['acme#constructor', undefined],
    ['acme', undefined],
  ])('%s -> %j', (pk, expected) => {
    expect(parseItemKey(pk)).toEqual(expected);
  });
});
