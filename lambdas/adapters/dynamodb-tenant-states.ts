// The operator's view of the shared cache table (`tvm tenants`, `tvm tenant status`): per tenant, the readable
// part of its session item, its lockout mark and its lease. Reads only unsealed attributes, through the item
// formats of `dynamodb-cache.ts` and `session-item.ts`: never a token, never the sealed session, no KMS call.
import { DynamoDBClient, GetItemCommand, paginateScan, type AttributeValue } from '@aws-sdk/client-dynamodb';

import type { FailureMark } from '../core/ports';
import { cacheTableClient, FAILURE_MARK_ATTRIBUTES, failureMarkOf, LEASE, parseItemKey } from './dynamodb-cache';
import { sessionSummaryOf, SUMMARY_ATTRIBUTES, type SessionSummary } from './session-item';

/** What the table knows about one tenant. */
export interface TableTenantState {
  readonly tenantId: string;
  readonly session?: SessionSummary;
  readonly mark?: FailureMark;
  /** Epoch milliseconds until which a container holds the renewal lease. */
  readonly leaseUntil?: number;
}

export interface TableScan {
  readonly tenants: ReadonlyMap<string, TableTenantState>;
  /** The scan stopped at `maxItems`: more items exist. */
  readonly truncated: boolean;
}

export interface DynamoDbTenantStatesOptions {
  readonly tableName: string;
  readonly client?: DynamoDBClient;
  /** Items read at most by a scan (three per tenant at most). @default 30000 */
  readonly maxItems?: number;
}

const ATTRIBUTES = [...new Set(['pk', ...SUMMARY_ATTRIBUTES, ...FAILURE_MARK_ATTRIBUTES, LEASE.until])];

/** `#a0, #a1, …` for every attribute: some names (e.g. `reason`) are DynamoDB reserved words. */
const PROJECTION = {
  ProjectionExpression: ATTRIBUTES.map((_, index) => `#a${index}`).join(', '),
  ExpressionAttributeNames: Object.fromEntries(ATTRIBUTES.map((name, index) => [`#a${index}`, name])),
};

type Mutable = { -readonly [K in keyof TableTenantState]: TableTenantState[K] };

function merge(states: Map<string, Mutable>, item: Record<string, AttributeValue>): void {
  const key = parseItemKey(item.pk?.S ?? '');
  if (!key) return;
  const state = states.get(key.tenantId) ?? { tenantId: key.tenantId };
  if (key.kind === 'session') {
    const session = sessionSummaryOf(item);
    if (session) state.session = session;
  } else if (key.kind === 'mark') {
    state.mark = failureMarkOf(item);
  }
  // The renewal lease is kept on the session item (items written by older versions kept it apart).
  if (key.kind === 'session' || key.kind === 'lease') {
    const until = Number(item[LEASE.until]?.N);
    if (Number.isFinite(until)) state.leaseUntil = Math.max(until, state.leaseUntil ?? 0);
  }
  states.set(key.tenantId, state);
}

export class DynamoDbTenantStates {
  private readonly client: DynamoDBClient;
  private readonly maxItems: number;

  constructor(private readonly options: DynamoDbTenantStatesOptions) {
    this.client = options.client ?? cacheTableClient();
    this.maxItems = options.maxItems ?? 30_000;
  }

  /** Every tenant with an item in the table, up to `maxItems` items (a bounded, projected scan). */
  async scan(): Promise<TableScan> {
    const states = new Map<string, Mutable>();
    let read = 0;
    const pages = paginateScan(
      { client: this.client, pageSize: 1000 },
      { TableName: this.options.tableName, ...PROJECTION },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        if (read++ >= this.maxItems) return { tenants: states, truncated: true };
        merge(states, item);
      }
    }
    return { tenants: states, truncated: false };
  }

  /** One tenant's items (three consistent reads). */
  async get(tenantId: string): Promise<TableTenantState> {
    const states = new Map<string, Mutable>();
    for (const kind of ['session', 'mark', 'lease'] as const) {
      const output = await this.client.send(
        new GetItemCommand({
          TableName: this.options.tableName,
          Key: { pk: { S: `${tenantId}#${kind}` } },
          ConsistentRead: true,
          ...PROJECTION,
        }),
      );
      if (output.Item) merge(states, output.Item);
    }
    return states.get(tenantId) ?? { tenantId };
  }
}
