// Caches of identity pool credentials. L1 in the container's memory; L2 as the item `<tenant>#aws-credentials`
// in the shared cache table, next to the tenant's session item, with the same rules: the credentials (and the
// identity id) are sealed by the envelope under the context {tenant, table}; only what expiry needs stays readable.

import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import * as z from 'zod/mini';

import { SESSION_ENCRYPTION_CONTEXT } from '../../contract';
import type { CredentialsCache, CredentialsSession } from '../core/aws-credentials';
import { cacheTableClient } from './dynamodb-cache';
import type { EncryptionContext, Envelope } from './envelope';

/** L1: one entry per tenant, kept after expiry so its identity id is reused. */
export class MemoryCredentialsCache implements CredentialsCache {
  private readonly sessions = new Map<string, CredentialsSession>();

  async get(tenantId: string): Promise<CredentialsSession | undefined> {
    return this.sessions.get(tenantId);
  }

  async put(session: CredentialsSession): Promise<void> {
    this.sessions.set(session.tenantId, session);
  }
}

/** The sealed part of an item, checked after opening (an item of another kind would not fit). */
const sealedCredentials = z.object({
  secretVersion: z.string(),
  identityPoolId: z.string(),
  identityId: z.string(),
  credentials: z.object({
    accessKeyId: z.string(),
    secretAccessKey: z.string(),
    sessionToken: z.string(),
    expiresAt: z.number(),
  }),
  issuedAt: z.number(),
});

/** How long an item outlives its credentials: its identity id saves a GetId on the next renewal. */
const RETENTION_SECONDS = 7 * 24 * 3600;

export interface DynamoDbCredentialsCacheOptions {
  readonly tableName: string;
  readonly envelope: Envelope;
  readonly client?: DynamoDBClient;
}

/** L2: last writer wins (credentials carry nothing a race could lose, unlike a rotated refresh token). */
export class DynamoDbCredentialsCache implements CredentialsCache {
  private readonly client: DynamoDBClient;

  constructor(private readonly options: DynamoDbCredentialsCacheOptions) {
    this.client = options.client ?? cacheTableClient();
  }

  private key(tenantId: string) {
    return { pk: { S: `${tenantId}#aws-credentials` } };
  }

  private context(tenantId: string): EncryptionContext {
    return {
      [SESSION_ENCRYPTION_CONTEXT.tenant]: tenantId,
      [SESSION_ENCRYPTION_CONTEXT.table]: this.options.tableName,
    };
  }

  /** Throws when the table or the key provider fails; the vendor then carries on without L2. */
  async get(tenantId: string): Promise<CredentialsSession | undefined> {
    const output = await this.client.send(
      new GetItemCommand({ TableName: this.options.tableName, Key: this.key(tenantId), ConsistentRead: true }),
    );
    const sealed = output.Item?.sealed?.B;
    if (!sealed) return undefined;
    const opened = await this.options.envelope.open(sealed, this.context(tenantId));
    const parsed = sealedCredentials.safeParse(JSON.parse(Buffer.from(opened).toString('utf8')));
    return parsed.success ? { ...parsed.data, tenantId } : undefined;
  }

  async put(session: CredentialsSession): Promise<void> {
    const { tenantId, ...data } = session;
    const sealed = await this.options.envelope.seal(Buffer.from(JSON.stringify(data)), this.context(tenantId));
    await this.client.send(
      new PutItemCommand({
        TableName: this.options.tableName,
        Item: {
          ...this.key(tenantId),
          sealed: { B: sealed },
          secretVersion: { S: session.secretVersion },
          expiresAt: { N: String(session.credentials.expiresAt) },
          issuedAt: { N: String(session.issuedAt) },
          ttl: { N: String(session.credentials.expiresAt + RETENTION_SECONDS) },
        },
      }),
    );
  }
}
