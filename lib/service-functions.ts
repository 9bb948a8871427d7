import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ArnFormat, Aws, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';

import { ACCESS_POLICY_FILE_NAME, DEFAULT_SECRET_PREFIX, ENV } from '../contract/names';
import type { TokenCache } from './token-cache';
import { LAMBDA_RUNTIME, TvmFunction } from './tvm-function';

/** Concurrent executions reserved for the vend function unless configured. */
export const VEND_RESERVED_CONCURRENCY = 25;
/** Largest `TVM_TENANTS` value accepted; beyond it, let the refresher discover tenants instead. */
const MAX_TENANTS_VARIABLE_BYTES = 2_048;

/**
 * A directory holding the access policy file, keyed by its content (written once per content, outside the source
 * tree), to be deployed as a layer: the function reads it at `/opt/<ACCESS_POLICY_FILE_NAME>`.
 */
function accessPolicyDirectory(consumers: readonly TokenVendingConsumer[], ownRoles: readonly OwnRole[]): string {
  const text = JSON.stringify({ consumers, ...(ownRoles.length > 0 ? { ownRoles } : {}) });
  const dir = join(tmpdir(), 'tvm-access-policy', createHash('sha256').update(text).digest('hex').slice(0, 32));
  if (!existsSync(join(dir, ACCESS_POLICY_FILE_NAME))) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, ACCESS_POLICY_FILE_NAME), text);
  }
  return dir;
}

// The service's own functions: vend (behind the API) and the scheduled refresher, with what they may read.

/** One consumer of the API: an IAM role or user and the tenants it may ask for (`"*"` for all). */
export interface TokenVendingConsumer {
  /** IAM role or user ARN. Assumed-role sessions of the role are matched to it. */
  readonly principal: string;
  /** Tenant ids, or `["*"]` for every tenant. */
  readonly tenants: readonly string[];
}

/** A role of the stack's own account, by name (its ARN is known only at deploy time), and its tenants. */
export interface OwnRole {
  readonly roleName: string;
  readonly tenants: readonly string[];
}

export interface ServiceFunctionsProps {
  /** Who may vend for which tenants; the vend function checks every request against it. */
  readonly consumers: readonly TokenVendingConsumer[];
  /**
   * Roles the stack creates in its own account (export jobs) that may vend too: listed by name in the access policy
   * file, however many, instead of by ARN in the environment.
   * @default none
   */
  readonly ownRoles?: readonly OwnRole[];
  /** What follows each own role's name as listed (e.g. `-<region>`, a token). @default none */
  readonly ownRoleNameSuffix?: string;
  /**
   * Tenant secrets are named `<secretPrefix>/<tenantId>`; the functions may read only those.
   * @default DEFAULT_SECRET_PREFIX
   */
  readonly secretPrefix?: string;
  /**
   * Customer-managed KMS key encrypting the tenant secrets; the functions get `kms:Decrypt` through Secrets Manager only.
   * @default - the secrets use the AWS managed key `aws/secretsmanager`
   */
  readonly secretsKmsKey?: kms.IKey;
  /**
   * Tenants the scheduled refresher keeps warm, when it should keep only these warm.
   * @default - every tenant secret under the prefix, discovered at each run (adding a tenant needs no redeploy)
   */
  readonly tenants?: readonly string[];
  /**
   * The shared cache; without it every container keeps its own tokens and there is no refresher.
   * @default - no shared cache
   */
  readonly cache?: TokenCache;
  /**
   * Retention of the functions' log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Stack traces that point at the TypeScript sources (`NODE_OPTIONS=--enable-source-maps`; the functions ship
   * their source maps either way). Node.js then parses each bundle's source map at every cold start: about 30 ms
   * of init on the build machine (README, Performance).
   * @default false
   */
  readonly sourceMapStackTraces?: boolean;
  /**
   * Retention of the vend function's log group, an audit log (who got which tenant's token, by fingerprint).
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly auditLogRetention?: logs.RetentionDays;
  /**
   * When the refresher runs.
   * @default scheduler.ScheduleExpression.rate(Duration.minutes(5))
   */
  readonly refreshSchedule?: scheduler.ScheduleExpression;
  /**
   * Concurrent executions reserved for (and capping) the vend function; `null` leaves it unreserved.
   * @default VEND_RESERVED_CONCURRENCY
   */
  readonly vendReservedConcurrency?: number | null;
}

/** The vend function and, with a shared cache, the scheduled refresher. */
export class ServiceFunctions extends Construct {
  readonly vend: TvmFunction;
  readonly refresh?: TvmFunction;
  /** The access policy file, deployed with the vend function as a layer. */
  readonly accessPolicy: lambda.LayerVersion;
  /** Every function of this construct. */
  readonly all: readonly TvmFunction[];

  constructor(scope: Construct, id: string, props: ServiceFunctionsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const secretPrefix = props.secretPrefix ?? DEFAULT_SECRET_PREFIX;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const sourceMaps =
      props.sourceMapStackTraces !== undefined ? { sourceMapStackTraces: props.sourceMapStackTraces } : {};
    const tenants = props.tenants ?? [];

    const tenantsVariable = JSON.stringify(tenants);
    if (tenants.length > 0 && tenantsVariable.length > MAX_TENANTS_VARIABLE_BYTES) {
      throw new Error(
        `tenants: ${tenants.length} tenants (${tenantsVariable.length} characters as JSON) do not fit in the refresher's environment, ` +
          `which takes ${MAX_TENANTS_VARIABLE_BYTES} for them (about ${Math.floor(MAX_TENANTS_VARIABLE_BYTES / ((tenantsVariable.length - 2) / tenants.length + 1))} of these ids); ` +
          'leave "tenants" out and the refresher discovers every tenant secret under the prefix.',
      );
    }
    const environment: Record<string, string> = {
      [ENV.secretPrefix]: secretPrefix,
      // Without a list the refresher discovers the tenants from Secrets Manager (secrets under the prefix).
      ...(tenants.length > 0 ? { [ENV.tenants]: tenantsVariable } : {}),
      ...(props.cache
        ? { [ENV.cacheTable]: props.cache.table.tableName, [ENV.cacheKeyId]: props.cache.key.keyArn }
        : {}),
    };

    // The access policy: consumers named in the config, and the roles the stack creates (export jobs) by name, go
    // into a file deployed with the function (a layer), which holds hundreds of them; the account and partition of
    // those roles come in one short variable. Principals given as unresolved tokens (ARNs of roles created
    // elsewhere) stay in a variable, within the environment's 4 KB (TvmFunction checks it at synthesis).
    const known = props.consumers.filter((consumer) => !Token.isUnresolved(consumer.principal));
    const created = props.consumers.filter((consumer) => Token.isUnresolved(consumer.principal));
    const ownRoles = props.ownRoles ?? [];
    this.accessPolicy = new lambda.LayerVersion(this, 'AccessPolicy', {
      code: lambda.Code.fromAsset(accessPolicyDirectory(known, ownRoles)),
      description: 'token-vending-machine access policy (consumers and their tenants)',
      compatibleRuntimes: [LAMBDA_RUNTIME],
      compatibleArchitectures: [lambda.Architecture.ARM_64],
    });
    const reserved =
      props.vendReservedConcurrency === undefined ? VEND_RESERVED_CONCURRENCY : props.vendReservedConcurrency;
    this.vend = new TvmFunction(this, 'Vend', {
      handlerName: 'vend',
      description: 'Vends upstream tokens for GET /v1/tenants/{tenantId}/token',
      environment: {
        ...environment,
        [ENV.accessPolicyFile]: `/opt/${ACCESS_POLICY_FILE_NAME}`,
        ...(ownRoles.length > 0 ? { [ENV.ownRoleArnPrefix]: `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/` } : {}),
        ...(ownRoles.length > 0 && props.ownRoleNameSuffix ? { [ENV.ownRoleNameSuffix]: props.ownRoleNameSuffix } : {}),
        ...(created.length > 0 ? { [ENV.consumers]: stack.toJsonString(created) } : {}),
      },
      logRetention: props.auditLogRetention ?? logs.RetentionDays.ONE_YEAR,
      logRemovalPolicy: RemovalPolicy.RETAIN,
      ...sourceMaps,
      timeout: Duration.seconds(25),
      ...(reserved !== null ? { reservedConcurrentExecutions: reserved } : {}),
    });
    this.vend.function.addLayers(this.accessPolicy);
    // API Gateway invokes vend synchronously; nothing should invoke it asynchronously, and if something does, once.
    this.vend.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1) });
    for (const id of ['Serverless-LambdaDLQ', 'Serverless-LambdaAsyncFailureDestination']) {
      Validations.of(this.vend.function).acknowledge({
        id,
        reason:
          'API Gateway invokes vend synchronously and the caller sees every failure; there are no asynchronous events to keep.',
      });
    }
    const all = [this.vend];
    if (props.cache) {
      this.refresh = new TvmFunction(this, 'Refresh', {
        handlerName: 'refresh',
        description: 'Renews cached upstream tokens before they expire',
        environment,
        logRetention,
        ...sourceMaps,
        timeout: Duration.minutes(2),
      });
      all.push(this.refresh);
      // Tenant discovery: ListSecrets has no resource-level permissions (it returns names and metadata, never values).
      this.refresh.role.addToPolicy(
        new iam.PolicyStatement({ actions: ['secretsmanager:ListSecrets'], resources: ['*'] }),
      );
      this.refresh.invokeOnSchedule(
        props.refreshSchedule ?? scheduler.ScheduleExpression.rate(Duration.minutes(5)),
        'token-vending-machine proactive refresh',
      );
    }
    this.all = all;

    const secretsArn = stack.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${secretPrefix}/*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    for (const fn of all) {
      fn.role.addToPolicy(
        new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretsArn] }),
      );
      if (props.secretsKmsKey) {
        fn.role.addToPolicy(
          new iam.PolicyStatement({
            actions: ['kms:Decrypt'],
            resources: [props.secretsKmsKey.keyArn],
            conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` } },
          }),
        );
      }
      props.cache?.grantItemAccess(fn.role);
      const policy = fn.role.node.tryFindChild('DefaultPolicy');
      if (policy) {
        Validations.of(policy).acknowledge({
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${secretPrefix}/*]`,
          reason:
            'Tenant secrets are named <prefix>/<tenantId> and Secrets Manager appends a random suffix to each ARN; the wildcard stays inside the prefix.',
        });
        if (fn === this.refresh) {
          Validations.of(policy).acknowledge({
            id: 'AwsSolutions-IAM5[Resource::*]',
            reason:
              'secretsmanager:ListSecrets supports no resource-level permissions; the refresher lists names under the prefix to discover tenants and reads values only under the prefix.',
          });
        }
      }
    }
  }
}
