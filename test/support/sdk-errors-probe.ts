// Calls that each end in an error the service models, one per AWS SDK client the functions use, and the S3 calls
// of the export function (whose schemas the compaction changes most), against the emulators given.
// test/integration/sdk-compaction.test.ts runs this module both as TypeScript on the SDK as installed and bundled
// with the functions' settings (lib/bundle-settings.ts, whose plugin rewrites the SDK's error classes and schemas),
// and expects the same results from both.
import { CognitoIdentityProviderClient, InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import * as cognitoErrors from '@aws-sdk/client-cognito-identity-provider';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ResourceNotFoundException as TableNotFound,
} from '@aws-sdk/client-dynamodb';
import { DecryptCommand, InvalidCiphertextException, KMSClient } from '@aws-sdk/client-kms';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  GetSecretValueCommand,
  ResourceNotFoundException as SecretNotFound,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { Upload } from '@aws-sdk/lib-storage';

export interface ProbeEndpoints {
  readonly dynamodb: string;
  /** Answers every call as DynamoDB answers a failed conditional write with `ReturnValuesOnConditionCheckFailure`. */
  readonly dynamodbConditionFailed: string;
  readonly tableName: string;
  readonly kms: string;
  readonly secretsManager: string;
  readonly cognito: string;
  readonly cognitoClientId: string;
  readonly cognitoUsername: string;
  readonly s3: string;
  readonly bucket: string;
}

/** What a caller sees of an error: its class (by `instanceof`), and the fields the SDK filled in. */
export interface ProbedError {
  readonly call: string;
  readonly name: string;
  readonly isModeledClass: boolean;
  readonly fault: unknown;
  readonly httpStatusCode: unknown;
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

const local = {
  region: 'ap-southeast-2',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  maxAttempts: 1,
};

async function caught(
  call: string,
  run: () => Promise<unknown>,
  modeled: (error: unknown) => boolean,
  fields: string[] = [],
) {
  try {
    await run();
  } catch (error) {
    const e = error as Error & Record<string, unknown> & { $metadata?: { httpStatusCode?: number } };
    return {
      call,
      name: e.name,
      isModeledClass: modeled(error),
      fault: e.$fault,
      httpStatusCode: e.$metadata?.httpStatusCode,
      message: e.message,
      fields: Object.fromEntries(fields.map((field) => [field, e[field]])),
    } satisfies ProbedError;
  }
  throw new Error(`${call} did not fail`);
}

export async function probeSdkErrors(endpoints: ProbeEndpoints): Promise<ProbedError[]> {
  const table = new DynamoDBClient({ ...local, endpoint: endpoints.dynamodb });
  const conditionFailed = new DynamoDBClient({ ...local, endpoint: endpoints.dynamodbConditionFailed });
  const kms = new KMSClient({ ...local, endpoint: endpoints.kms });
  const secrets = new SecretsManagerClient({ ...local, endpoint: endpoints.secretsManager });
  const cognito = new CognitoIdentityProviderClient({ ...local, endpoint: endpoints.cognito });
  // s3rver checks the access key: its own.
  const s3 = new S3Client({
    ...local,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    endpoint: endpoints.s3,
    forcePathStyle: true,
  });
  const pk = `probe-${Date.now()}-${Math.random()}`;
  const item = { pk: { S: pk }, holder: { S: 'another container' }, n: { N: '7' } };
  await table.send(new PutItemCommand({ TableName: endpoints.tableName, Item: item }));
  try {
    const conditionalWrite = (client: DynamoDBClient) =>
      client.send(
        new PutItemCommand({
          TableName: endpoints.tableName,
          Item: { pk: { S: pk } },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    return [
      // As the lease is taken: a conditional write that fails returns the item that made it fail (DynamoDB does;
      // dynalite leaves it out).
      await caught(
        'DynamoDB PutItem, condition failed',
        () => conditionalWrite(table),
        (error) => error instanceof ConditionalCheckFailedException,
        ['Item'],
      ),
      await caught(
        'DynamoDB PutItem, condition failed, as DynamoDB answers',
        () => conditionalWrite(conditionFailed),
        (error) => error instanceof ConditionalCheckFailedException,
        ['Item'],
      ),
      await caught(
        'DynamoDB GetItem, no such table',
        () => table.send(new GetItemCommand({ TableName: 'no-such-table', Key: { pk: { S: pk } } })),
        (error) => error instanceof TableNotFound,
      ),
      await caught(
        'KMS Decrypt, not a ciphertext',
        () => kms.send(new DecryptCommand({ CiphertextBlob: new Uint8Array([1, 2, 3]), KeyId: 'alias/probe' })),
        (error) => error instanceof InvalidCiphertextException,
      ),
      await caught(
        'Secrets Manager GetSecretValue, no such secret',
        () => secrets.send(new GetSecretValueCommand({ SecretId: 'tvm/no-such-tenant' })),
        (error) => error instanceof SecretNotFound,
      ),
      // cognito-local's name for a wrong password (InvalidPasswordException) is one the user-pool API models too.
      await caught(
        'Cognito InitiateAuth, wrong password',
        () =>
          cognito.send(
            new InitiateAuthCommand({
              AuthFlow: 'USER_PASSWORD_AUTH',
              ClientId: endpoints.cognitoClientId,
              AuthParameters: { USERNAME: endpoints.cognitoUsername, PASSWORD: 'not-the-password-1A!' },
            }),
          ),
        (error) => {
          const modeled = (cognitoErrors as Record<string, unknown>)[(error as Error).name];
          return typeof modeled === 'function' && error instanceof modeled;
        },
      ),
      await caught(
        'S3 GetObject, no such key',
        () => s3.send(new GetObjectCommand({ Bucket: endpoints.bucket, Key: 'no-such-key' })),
        (error) => error instanceof NoSuchKey,
      ),
    ];
  } finally {
    for (const client of [table, conditionFailed, kms, secrets, cognito, s3]) client.destroy();
  }
}

/**
 * The S3 calls the export function makes (lambdas/export), each with the request headers its schemas bind, and what
 * S3 answers: a put with content type, encoding and metadata, a multipart upload through lib-storage, a copy, a
 * read, a delete.
 */
export async function probeS3Calls(endpoints: ProbeEndpoints): Promise<Record<string, unknown>> {
  const s3 = new S3Client({
    ...local,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    endpoint: endpoints.s3,
    forcePathStyle: true,
  });
  const Bucket = endpoints.bucket;
  const head = async (Key: string) => {
    const { ContentType, ContentLength, ContentEncoding, Metadata } = await s3.send(
      new HeadObjectCommand({ Bucket, Key }),
    );
    return { ContentType, ContentLength, ContentEncoding, Metadata };
  };
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket,
        Key: 'probe/put.ndjson',
        Body: '{"a":1}\n',
        ContentType: 'application/x-ndjson',
        ContentEncoding: 'identity',
        Metadata: { tenant: 'acme', records: '1' },
      }),
    );
    // Two parts of 5 MiB and one byte: CreateMultipartUpload, UploadPart x2, CompleteMultipartUpload.
    const multipart = Buffer.alloc(5 * 1024 * 1024 + 1, 'x');
    await new Upload({
      client: s3,
      params: { Bucket, Key: 'probe/multipart.gz', Body: multipart, ContentType: 'application/gzip' },
      partSize: 5 * 1024 * 1024,
      queueSize: 1,
    }).done();
    await s3.send(
      new CopyObjectCommand({ Bucket, Key: 'probe/copy.ndjson', CopySource: `${Bucket}/probe/put.ndjson` }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'probe/copy.ndjson' }));
    const body = await got.Body?.transformToString();
    const results = {
      put: await head('probe/put.ndjson'),
      multipart: await head('probe/multipart.gz'),
      copy: { ...(await head('probe/copy.ndjson')), body },
    };
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'probe/copy.ndjson' }));
    const deleted = await head('probe/copy.ndjson').then(
      () => 'still there',
      (error: Error) => error.name,
    );
    return { ...results, deleted };
  } finally {
    s3.destroy();
  }
}
