import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
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
  SharedSessionCache,
} from '../core/ports';
import { awsClientOptions, type AwsClientTimeouts } from './aws-client-options';
import { EnvelopeOpenError, type Envelope } from './envelope';
import { SessionItemCodec } from './session-item';

/**
 * The fleet-wide layer in one DynamoDB table (partition key `pk`, TTL attribute `ttl`).
 * Every key starts with the tenant id:
 *   `<tenant>#session`  the session (tokens, refresh token, claims: sealed with KMS; expiry, secret version) and its revision `rev`
 *   `<tenant>#lease`    who renews the tenant right now, until when
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

/** `acme#session` -> `{ tenantId: 'acme', kind: 'session' }`; undefined for keys of another shape. */
export function parseItemKey(pk: string): { tenantId: string; kind: TableItemKind } | undefined {
  const match = /^(.+)#(session|lease|mark|renewal)$/.exec(pk);
  return match ? { tenantId: match[1] as string, kind: match[2] as TableItemKind } : undefined;
}

/** Attributes {@link failureMarkOf} reads. */
export const FAILURE_MARK_ATTRIBUTES = ['secretVersion', 'failures', 'blockedUntil', 'reason'] as const;

/** A lockout guard's mark from its item. */
export function failureMarkOf(item: Record<string, AttributeValue>): FailureMark {
  return {
    secretVersion: item.secretVersion?.S ?? '',
    failures: Number(item.failures?.N ?? 0),
    blockedUntil: Number(item.blockedUntil?.N ?? 0),
    reason: item.reason?.S ?? 'not_authorized',
  };
}

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
export class DynamoDbSessionCache extends TableAdapter implements SharedSessionCache {
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
   * The session and the tenant's lockout mark in one consistent `BatchGetItem` (keys DynamoDB leaves unprocessed
   * are read one by one). Throws like {@link get} when the session cannot be opened.
   */
  async getWithMark(tenantId: string): Promise<{ session?: Session; mark?: FailureMark }> {
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
    return {
      ...(sessionItem ? { session: await this.codec.session(tenantId, sessionItem) } : {}),
      ...(markItem ? { mark: failureMarkOf(markItem) } : {}),
    };
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

  async putIfUnchanged(
    session: Session,
    expectedRevision: number | undefined,
  ): Promise<{ stored: Session; conflict: boolean }> {
    let expected = expectedRevision;
    for (let attempt = 0; attempt < 3; attempt++) {
      const revision = (expected ?? 0) + 1;
      const attributes = await this.codec.attributes(session);
      try {
        await this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: {
              ...this.key(session.tenantId, 'session'),
              rev: { N: String(revision) },
              ...attributes,
              ttl: { N: String(session.expiresAt + SESSION_RETENTION_SECONDS) },
            },
            ConditionExpression: expected === undefined ? 'attribute_not_exists(pk)' : '#rev = :expected',
            ...(expected === undefined
              ? {}
              : {
                  ExpressionAttributeNames: { '#rev': 'rev' },
                  ExpressionAttributeValues: { ':expected': { N: String(expected) } },
                }),
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
          // No item any more, or one no key opens (tampered, or written before encryption): replace it.
          expected = winner ? Number(winner.rev?.N ?? 0) : undefined;
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
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...this.key(tenantId, 'lease'),
            holder: { S: holder },
            leaseUntil: { N: String(now + ttlMs) },
            ttl: { N: String(Math.ceil((now + ttlMs) / 1000) + 3600) },
          },
          ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil < :now',
          ExpressionAttributeValues: { ':now': { N: String(now) } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async release(tenantId: string, holder: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: this.key(tenantId, 'lease'),
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: { ':holder': { S: holder } },
        }),
      );
    } catch (error) {
      // Someone took over after our lease expired: theirs now.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
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
          // Kept a day past the pause so the next failure still doubles the backoff.
          ttl: { N: String(Math.ceil(mark.blockedUntil / 1000) + 24 * 3600) },
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
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...this.key(tenantId, 'renewal'),
            renewedAt: { N: String(nowMs) },
            ttl: { N: String(Math.ceil((nowMs + intervalMs) / 1000) + 3600) },
          },
          ConditionExpression: 'attribute_not_exists(pk) OR renewedAt <= :cutoff',
          ExpressionAttributeValues: { ':cutoff': { N: String(nowMs - intervalMs) } },
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
