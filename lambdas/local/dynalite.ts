import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';

/** dynalite (an in-memory DynamoDB) in this process on an ephemeral port, with the cache table created like the stack creates it. */

// dynalite ships no types: it returns an http(s) server.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;

export interface LocalDynamo {
  readonly endpoint: string;
  readonly tableName: string;
  /** A client for this endpoint (dummy credentials; dynalite does not check them). */
  client(): DynamoDBClient;
  /** Stop answering (tests of the degraded path). */
  close(): Promise<void>;
}

export async function startLocalDynamo(tableName = 'tvm-cache'): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = () =>
    new DynamoDBClient({
      endpoint,
      region: 'local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 500, requestTimeout: 1000 },
    });
  const admin = client();
  await admin.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    }),
  );
  await admin
    .send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      }),
    )
    .catch(() => undefined);
  admin.destroy();
  return {
    endpoint,
    tableName,
    client,
    close: () =>
      new Promise<void>((resolve) => {
        (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
