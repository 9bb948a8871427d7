import { Lazy, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

import { SESSION_ENCRYPTION_CONTEXT } from '../contract/names';

// The fleet-wide token cache: one DynamoDB table (sessions, leases, failure marks) under a customer-managed key.

export interface TokenCacheProps {
  /**
   * What happens to the table and its key when the stack is deleted. Everything in the table is rebuilt from the
   * upstream on demand, so it is a cache, not data to keep.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The shared cache table and the grants a function needs to use it. */
export class TokenCache extends Construct {
  readonly table: dynamodb.Table;
  /**
   * Encrypts the table (through DynamoDB) and, directly, the session items' sealed tokens (envelope encryption under
   * the context {tenant, table}). Only the roles given {@link grantItemAccess} may use it directly.
   */
  readonly key: kms.Key;
  private readonly keyUsers: iam.IRole[] = [];

  constructor(scope: Construct, id: string, props: TokenCacheProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    this.key = new kms.Key(this, 'Key', {
      description: 'token-vending-machine token cache',
      enableKeyRotation: true,
      removalPolicy,
    });
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      timeToLiveAttribute: 'ttl',
      removalPolicy,
    });
    // Direct use of the key (not through DynamoDB) by anyone but the service roles is denied in the key policy itself,
    // so an IAM policy granting `kms:*` elsewhere in the account still cannot open a session item.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyDirectUseExceptServiceRoles',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: [
          'kms:Decrypt',
          'kms:Encrypt',
          'kms:GenerateDataKey',
          'kms:GenerateDataKeyWithoutPlaintext',
          'kms:ReEncryptFrom',
          'kms:ReEncryptTo',
        ],
        resources: ['*'],
        conditions: {
          // Only calls made directly by an IAM principal: never DynamoDB's own use of the key (through its grant).
          Null: { 'kms:ViaService': 'true' },
          Bool: { 'aws:PrincipalIsAWSService': 'false' },
          ArnNotEquals: { 'aws:PrincipalArn': Lazy.list({ produce: () => this.keyUsers.map((role) => role.roleArn) }) },
        },
      }),
    );
    Validations.of(this.table).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason:
        'The table is a cache of upstream tokens with a TTL; after a loss the service signs in again, so point-in-time recovery would only keep expired credentials around.',
    });
  }

  /**
   * Item access; the KMS actions DynamoDB needs for the table's key, through DynamoDB only; and the envelope's
   * `GenerateDataKey`/`Decrypt` only under an encryption context naming this table and a tenant.
   */
  grantItemAccess(role: iam.IRole): void {
    this.keyUsers.push(role);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // Every command the cache-table adapters send (test/infra/cache.test.ts reads them from the sources):
        // BatchGetItem reads a session with its lockout mark, and the refresher's schedules.
        actions: [
          'dynamodb:BatchGetItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
        ],
        resources: [this.table.tableArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: {
          StringEquals: { [`kms:EncryptionContext:${SESSION_ENCRYPTION_CONTEXT.table}`]: this.table.tableName },
          Null: { [`kms:EncryptionContext:${SESSION_ENCRYPTION_CONTEXT.tenant}`]: 'false' },
          'ForAllValues:StringEquals': {
            'kms:EncryptionContextKeys': [SESSION_ENCRYPTION_CONTEXT.tenant, SESSION_ENCRYPTION_CONTEXT.table],
          },
        },
      }),
    );
  }
}
