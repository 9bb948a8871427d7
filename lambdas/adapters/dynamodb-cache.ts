import { randomUUID } from 'node:crypto';

import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';

import type {
  Clock,
  FailureMark,
  FailureMarks,
  LeaseStore,
  RenewalClaim,
  RenewalMarks,
  Session,
  SessionLeases,
  SharedSessionCache,
  SharedSnapshot,
} from '../core/ports';
import { TENANT_ID_PATTERN } from '../core/tenant-config';
import { awsClientOptions, type AwsClientTimeouts } from './aws-client-options';
import { EnvelopeOpenError, type Envelope } from './envelope';
import { SessionItemCodec } from './session-item';

/**
 * The fleet-wide layer in one DynamoDB table (partition key `pk`, TTL attribute `ttl`).
 * Every key starts with the tenant id:
 *   `<tenant>#session`  the session (tokens, refresh token, claims: sealed with KMS; expiry, secret version), its revision
 *                       `rev`, and its renewal lease: who renews it right now (`leaseHolder`), until when (`leaseUntil`),
 *                       and a generation (`leaseGen`) that every lease taken, session stored and lease released moves
 *                       on; the session write removes the lease
 *   `<tenant>#lease`    a lease kept apart from any session (`<tenant>#aws-credentials#lease`)
 *   `<tenant>#mark`     the lockout guard's failure mark
 *   `<tenant>#renewal`  when the tenant was last renewed because a caller reported its token refused (`rejected=`)
 */

export interface DynamoDbTableOptions {
  readonly tableName: string;
  readonly client?: DynamoDBClient;
  readonly clock?: Clock;
}

/** Short timeouts that fire (see `aws-client-options.ts`): the table is an optimisation, and vending must not wait long on it. */
export function cacheTableClient(overrides: Partial<AwsClientTimeouts> = {}): DynamoDBClient {
  return new DynamoDBClient({ ...awsClientOptions('dynamodb', overrides) });
}

/** The kinds of item the table holds for each tenant (see the key layout above). */
export type TableItemKind = 'session' | 'lease' | 'mark' | 'renewal';

const ITEM_KINDS: ReadonlySet<string> = new Set<TableItemKind>(['session', 'lease', 'mark', 'renewal']);

/**
 * `acme#session` -> `{ tenantId: 'acme', kind: 'session' }`; undefined for keys of another shape, among them the
 * AWS-credentials items (`acme#aws-credentials`, `acme#aws-credentials#lease`), whose first part is no tenant id.
 */
export function parseItemKey(pk: string): { tenantId: string; kind: TableItemKind } | undefined {
  const at = pk.lastIndexOf('#');
  const tenantId = pk.slice(0, at);
  const kind = pk.slice(at + 1);
  return at > 0 && TENANT_ID_PATTERN.test(tenantId) && ITEM_KINDS.has(kind)
    ? { tenantId, kind: kind as TableItemKind }
    : undefined;
}

/** Attributes {@link failureMarkOf} reads. */
export const FAILURE_MARK_ATTRIBUTES = ['secretVersion', 'failures', 'blockedUntil', 'reason', 'busyUntil'] as const;

/** A lockout guard's mark from its item. */
export function failureMarkOf(item: Record<string, AttributeValue>): FailureMark {
  return {
    secretVersion: item.secretVersion?.S ?? '',
    failures: Number(item.failures?.N ?? 0),
    blockedUntil: Number(item.blockedUntil?.N ?? 0),
    reason: item.reason?.S ?? 'not_authorized',
    ...(item.busyUntil?.N ? { busyUntil: Number(item.busyUntil.N) } : {}),
  };
}

/** Attributes of the renewal lease on a session item. */
export const LEASE = { holder: 'leaseHolder', until: 'leaseUntil', generation: 'leaseGen' } as const;

/** How long a session item outlives its tokens: its refresh token can still renew without the password. */
const SESSION_RETENTION_SECONDS = 7 * 24 * 3600;

abstract class TableAdapter {
  protected readonly client: DynamoDBClient;
  protected readonly tableName: string;
  protected readonly clock: Clock;

  constructor(options: DynamoDbTableOptions) {
    this.client = options.client ?? cacheTableClient();
    this.tableName = options.tableName;
    this.clock = options.clock ?? { now: () => Date.now() };
  }

  protected key(tenantId: string, kind: TableItemKind): Record<string, AttributeValue> {
    return { pk: { S: `${tenantId}#${kind}` } };
  }

  /** A conditional write: false when its condition does not hold (`ConditionalCheckFailedException`). */
  protected async written(write: () => Promise<unknown>): Promise<boolean> {
    try {
      await write();
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  protected async getItem(tenantId: string, kind: TableItemKind): Promise<Record<string, AttributeValue> | undefined> {
    const output = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: this.key(tenantId, kind), ConsistentRead: true }),
    );
    return output.Item;
  }
}

export interface DynamoDbSessionCacheOptions extends DynamoDbTableOptions {
  /** Seals each session item under the context {tenant, table} (KMS in Lambda, {@link localEnvelope} locally). */
  readonly envelope: Envelope;
}

/** Session items: tokens and refresh token sealed by the envelope (see `session-item.ts`), CAS on `rev`. */
export class DynamoDbSessionCache extends TableAdapter implements SharedSessionCache, SessionLeases {
  private readonly codec: SessionItemCodec;

  constructor(options: DynamoDbSessionCacheOptions) {
    super(options);
    this.codec = new SessionItemCodec(options.envelope, options.tableName);
  }

  /** Throws when the item cannot be opened (KMS refused or failed): the vendor then carries on without it. */
  async get(tenantId: string): Promise<Session | undefined> {
    const item = await this.getItem(tenantId, 'session');
    return item ? this.codec.session(tenantId, item) : undefined;
  }

  /**
   * The session, the tenant's lockout mark, the lease and the generation in one consistent `BatchGetItem` (keys
   * DynamoDB leaves unprocessed are read one by one). Throws like {@link get} when the session cannot be opened.
   */
  async snapshot(tenantId: string): Promise<SharedSnapshot> {
    const keys = [this.key(tenantId, 'session'), this.key(tenantId, 'mark')];
    const output = await this.client.send(
      new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
    );
    const items = new Map<string, Record<string, AttributeValue>>();
    for (const item of output.Responses?.[this.tableName] ?? []) items.set(item.pk?.S ?? '', item);
    for (const key of output.UnprocessedKeys?.[this.tableName]?.Keys ?? []) {
      const kind = parseItemKey(key.pk?.S ?? '')?.kind;
      const item = kind ? await this.getItem(tenantId, kind) : undefined;
      if (item) items.set(key.pk?.S ?? '', item);
    }
    const sessionItem = items.get(`${tenantId}#session`);
    const markItem = items.get(`${tenantId}#mark`);
    const session = sessionItem ? await this.codec.session(tenantId, sessionItem) : undefined;
    const holder = sessionItem?.[LEASE.holder]?.S;
    const until = Number(sessionItem?.[LEASE.until]?.N);
    return {
      ...(session ? { session } : {}),
      ...(markItem ? { mark: failureMarkOf(markItem) } : {}),
      generation: Number(sessionItem?.[LEASE.generation]?.N ?? 0),
      ...(holder !== undefined && Number.isFinite(until) ? { lease: { holder, until } } : {}),
    };
  }

  /**
   * One conditional `UpdateItem` on the session item: the lease must be free or expired and, against `seen`,
   * the generation unchanged (no lease taken or released, no session stored since `seen` was read); or it must be
   * this holder's already. Creates a lease-only item when the tenant has no session yet.
   */
  async tryAcquire(tenantId: string, holder: string, ttlMs: number, seen?: SharedSnapshot): Promise<boolean> {
    const now = this.clock.now();
    const free = 'attribute_not_exists(#until) OR #until < :now';
    const unchanged =
      seen === undefined ? undefined : seen.generation === 0 ? 'attribute_not_exists(#gen)' : '#gen = :seen';
    // Or this holder has it already: an earlier attempt took it and its answer was lost (a stalled response the
    // SDK retried). Nothing was written since but by this holder, so `seen` still holds. (DynamoDB refuses
    // redundant parentheses.)
    const condition = `#holder = :holder OR ${unchanged === undefined ? free : `((${free}) AND ${unchanged})`}`;
    return this.written(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(tenantId, 'session'),
          UpdateExpression:
            'SET #holder = :holder, #until = :until, #gen = if_not_exists(#gen, :zero) + :one, #ttl = if_not_exists(#ttl, :ttl)',
          ConditionExpression: condition,
          ExpressionAttributeNames: {
            '#holder': LEASE.holder,
            '#until': LEASE.until,
            '#gen': LEASE.generation,
            '#ttl': 'ttl',
          },
          ExpressionAttributeValues: {
            ':holder': { S: holder },
            ':until': { N: String(now + ttlMs) },
            ':now': { N: String(now) },
            ':zero': { N: '0' },
            ':one': { N: '1' },
            ':ttl': { N: String(Math.ceil((now + ttlMs) / 1000) + 3600) },
            ...(seen && seen.generation > 0 ? { ':seen': { N: String(seen.generation) } } : {}),
          },
        }),
      ),
    );
  }

  /** Remove the lease from the session item if this holder still has it, moving the generation on. */
  async release(tenantId: string, holder: string): Promise<void> {
    // Refused when someone took over after our lease expired, or a session write released it: nothing to give back.
    await this.written(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(tenantId, 'session'),
          // The generation moves on: the holder may have written a lockout mark that older snapshots do not show.
          UpdateExpression: 'SET #gen = #gen + :one REMOVE #holder, #until',
          ConditionExpression: '#holder = :holder',
          ExpressionAttributeNames: { '#holder': LEASE.holder, '#until': LEASE.until, '#gen': LEASE.generation },
          ExpressionAttributeValues: { ':holder': { S: holder }, ':one': { N: '1' } },
        }),
      ),
    );
  }

  /** The winner of a lost race; undefined when there is none or it can never be opened (so it may be replaced). */
  private async winner(tenantId: string, item: Record<string, AttributeValue> | undefined) {
    if (!item) return undefined;
    try {
      return await this.codec.session(tenantId, item);
    } catch (error) {
      if (error instanceof EnvelopeOpenError) return undefined;
      throw error; // KMS refused or is unavailable: the item may hold a newer refresh token, keep it.
    }
  }

  /**
   * Compare-and-swap on `rev` with one `UpdateItem`, which also removes the renewal lease (storing the session
   * ends the renewal) and moves the generation on (a lease taken against an older snapshot is refused).
   */
  async putIfUnchanged(
    session: Session,
    expectedRevision: number | undefined,
  ): Promise<{ stored: Session; conflict: boolean }> {
    let expected = expectedRevision;
    for (let attempt = 0; attempt < 3; attempt++) {
      const revision = (expected ?? 0) + 1;
      const values: Record<string, AttributeValue> = {
        rev: { N: String(revision) },
        ...(await this.codec.attributes(session)),
        ttl: { N: String(session.expiresAt + SESSION_RETENTION_SECONDS) },
      };
      const names = Object.keys(values);
      try {
        await this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: this.key(session.tenantId, 'session'),
            UpdateExpression: `SET ${names.map((_, i) => `#a${i} = :a${i}`).join(', ')}, #gen = if_not_exists(#gen, :zero) + :one REMOVE #holder, #until`,
            ConditionExpression: expected === undefined ? 'attribute_not_exists(#rev)' : '#rev = :expected',
            ExpressionAttributeNames: {
              ...Object.fromEntries(names.map((name, i) => [`#a${i}`, name])),
              '#rev': 'rev',
              '#holder': LEASE.holder,
              '#until': LEASE.until,
              '#gen': LEASE.generation,
            },
            ExpressionAttributeValues: {
              ...Object.fromEntries(names.map((name, i) => [`:a${i}`, values[name] as AttributeValue])),
              ':zero': { N: '0' },
              ':one': { N: '1' },
              ...(expected === undefined ? {} : { ':expected': { N: String(expected) } }),
            },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return { stored: { ...session, revision }, conflict: false };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        // DynamoDB returns the item that won; emulators that do not are asked again.
        const winner = error.Item ?? (await this.getItem(session.tenantId, 'session'));
        const current = await this.winner(session.tenantId, winner);
        if (!current) {
          // No session any more (or only a lease), or one no key opens (tampered, or written before encryption):
          // replace it.
          expected = winner?.rev?.N === undefined ? undefined : Number(winner.rev.N);
          continue;
        }
        // Someone else wrote first. Keep theirs when it is for the same credentials and lives as long:
        // it holds the newest refresh token, which must not be replaced by ours.
        if (current.secretVersion === session.secretVersion && current.expiresAt >= session.expiresAt - 60) {
          return { stored: current, conflict: true };
        }
        expected = current.revision;
      }
    }
    throw new Error(`Shared cache write for tenant '${session.tenantId}' kept losing races.`);
  }
}

export class DynamoDbLeases extends TableAdapter implements LeaseStore {
  async tryAcquire(tenantId: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = this.clock.now();
    return this.written(() =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...this.key(tenantId, 'lease'),
            holder: { S: holder },
            leaseUntil: { N: String(now + ttlMs) },
            ttl: { N: String(Math.ceil((now + ttlMs) / 1000) + 3600) },
          },
          // Or this holder's already: an earlier attempt wrote it and its answer was lost (the SDK retried).
          ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil < :now OR holder = :holder',
          ExpressionAttributeValues: { ':now': { N: String(now) }, ':holder': { S: holder } },
        }),
      ),
    );
  }

  async release(tenantId: string, holder: string): Promise<void> {
    // Refused when someone took over after our lease expired: theirs now.
    await this.written(() =>
      this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: this.key(tenantId, 'lease'),
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: { ':holder': { S: holder } },
        }),
      ),
    );
  }
}

export class DynamoDbFailureMarks extends TableAdapter implements FailureMarks {
  async get(tenantId: string): Promise<FailureMark | undefined> {
    const item = await this.getItem(tenantId, 'mark');
    return item ? failureMarkOf(item) : undefined;
  }

  async put(tenantId: string, mark: FailureMark): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          ...this.key(tenantId, 'mark'),
          secretVersion: { S: mark.secretVersion },
          failures: { N: String(mark.failures) },
          blockedUntil: { N: String(mark.blockedUntil) },
          reason: { S: mark.reason },
          ...(mark.busyUntil !== undefined ? { busyUntil: { N: String(mark.busyUntil) } } : {}),
          // Kept a day past the pause so the next failure still doubles the backoff.
          ttl: { N: String(Math.ceil(Math.max(mark.blockedUntil, mark.busyUntil ?? 0) / 1000) + 24 * 3600) },
        },
      }),
    );
  }

  async clear(tenantId: string): Promise<void> {
    await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: this.key(tenantId, 'mark') }));
  }
}

/** The forced-renewal rate limit: one conditional put claims the tenant's slot for the whole fleet. */
export class DynamoDbRenewalMarks extends TableAdapter implements RenewalMarks {
  async tryClaim(tenantId: string, nowMs: number, intervalMs: number): Promise<RenewalClaim> {
    // Whose claim this is: when the SDK repeats the put after its answer was lost, the item it finds is this
    // claim's own, not another container's.
    const claimant = randomUUID();
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...this.key(tenantId, 'renewal'),
            renewedAt: { N: String(nowMs) },
            claimant: { S: claimant },
            ttl: { N: String(Math.ceil((nowMs + intervalMs) / 1000) + 3600) },
          },
          ConditionExpression: 'attribute_not_exists(pk) OR renewedAt <= :cutoff OR claimant = :claimant',
          ExpressionAttributeValues: { ':cutoff': { N: String(nowMs - intervalMs) }, ':claimant': { S: claimant } },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { claimed: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // DynamoDB returns the item that holds the slot; emulators that do not are asked.
      const item = error.Item ?? (await this.getItem(tenantId, 'renewal'));
      return { claimed: false, lastAt: Number(item?.renewedAt?.N ?? nowMs) };
    }
  }
}
