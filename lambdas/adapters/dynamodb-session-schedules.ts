// The refresher's view of the shared cache: the readable attributes of many session items (secret version, expiry,
// issue time) in `BatchGetItem` calls of 100 keys, without opening any sealed session, so deciding which of 5,000
// tenants are due costs 50 reads and no KMS call. The same for the items of identity-pool AWS credentials.
import { BatchGetItemCommand, DynamoDBClient, type AttributeValue } from '@aws-sdk/client-dynamodb';

import { IDENTITY_POOL_CREDENTIALS_SECONDS } from '../core/aws-credentials';
import type { SessionSchedule, SessionScheduleSource } from '../core/refresher';
import { cacheTableClient } from './dynamodb-cache';

export interface DynamoDbSessionSchedulesOptions {
  readonly tableName: string;
  readonly client?: DynamoDBClient;
  /** Rounds for keys DynamoDB leaves unprocessed (throttling) before they count as unknown. @default 4 */
  readonly maxRounds?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const BATCH = 100;

export class DynamoDbSessionSchedules implements SessionScheduleSource {
  private readonly client: DynamoDBClient;
  private readonly maxRounds: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: DynamoDbSessionSchedulesOptions) {
    this.client = options.client ?? cacheTableClient();
    this.maxRounds = options.maxRounds ?? 4;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async schedules(tenantIds: readonly string[]): Promise<ReadonlyMap<string, SessionSchedule>> {
    return this.read(tenantIds, '#session', scheduleOf);
  }

  /** Credentials items written before they carried `issuedAt` count as issued one lifetime before they expire. */
  async credentialsSchedules(tenantIds: readonly string[]): Promise<ReadonlyMap<string, SessionSchedule>> {
    return this.read(tenantIds, '#aws-credentials', (item) =>
      scheduleOf({ issuedAt: { N: String(Number(item.expiresAt?.N) - IDENTITY_POOL_CREDENTIALS_SECONDS) }, ...item }),
    );
  }

  private async read(
    tenantIds: readonly string[],
    suffix: string,
    parse: (item: Record<string, AttributeValue>) => SessionSchedule | undefined,
  ): Promise<ReadonlyMap<string, SessionSchedule>> {
    const found = new Map<string, SessionSchedule>();
    const unique = [...new Set(tenantIds)];
    for (let start = 0; start < unique.length; start += BATCH) {
      await this.batch(unique.slice(start, start + BATCH), suffix, parse, found);
    }
    return found;
  }

  private async batch(
    tenantIds: readonly string[],
    suffix: string,
    parse: (item: Record<string, AttributeValue>) => SessionSchedule | undefined,
    found: Map<string, SessionSchedule>,
  ): Promise<void> {
    const table = this.options.tableName;
    let keys: Record<string, AttributeValue>[] = tenantIds.map((id) => ({ pk: { S: `${id}${suffix}` } }));
    for (let round = 0; keys.length > 0 && round < this.maxRounds; round++) {
      if (round > 0) await this.sleep(50 * 2 ** round);
      const output = await this.client.send(
        new BatchGetItemCommand({
          RequestItems: {
            [table]: {
              Keys: keys,
              ProjectionExpression: 'pk, secretVersion, expiresAt, issuedAt',
            },
          },
        }),
      );
      for (const item of output.Responses?.[table] ?? []) {
        const pk = item.pk?.S;
        const schedule = parse(item);
        if (pk?.endsWith(suffix) && schedule) found.set(pk.slice(0, -suffix.length), schedule);
      }
      keys = output.UnprocessedKeys?.[table]?.Keys ?? [];
    }
  }
}

/** Undefined for an item missing any of the readable attributes (written before they existed). */
function scheduleOf(item: Record<string, AttributeValue>): SessionSchedule | undefined {
  const secretVersion = item.secretVersion?.S;
  const expiresAt = Number(item.expiresAt?.N);
  const issuedAt = Number(item.issuedAt?.N);
  if (secretVersion === undefined || !Number.isFinite(expiresAt) || !Number.isFinite(issuedAt)) return undefined;
  return { secretVersion, expiresAt, issuedAt };
}
