import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';

import { DEFAULT_SECRET_PREFIX, ENV } from '../contract/names';
import type { TokenCache } from './token-cache';
import { TvmFunction } from './tvm-function';

// The service's own functions: vend (behind the API) and the scheduled refresher, with what they may read.

/** One consumer of the API: an IAM role or user and the tenants it may ask for (`"*"` for all). */
export interface TokenVendingConsumer {
  /** IAM role or user ARN. Assumed-role sessions of the role are matched to it. */
  readonly principal: string;
  /** Tenant ids, or `["*"]` for every tenant. */
  readonly tenants: readonly string[];
}

export interface ServiceFunctionsProps {
  /** Who may vend for which tenants; the vend function checks every request against it. */
  readonly consumers: readonly TokenVendingConsumer[];
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
   * Tenants the scheduled refresher keeps warm.
   * @default []
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
   * When the refresher runs.
   * @default scheduler.ScheduleExpression.rate(Duration.minutes(5))
   */
  readonly refreshSchedule?: scheduler.ScheduleExpression;
}

/** The vend function and, with a shared cache and tenants, the scheduled refresher. */
export class ServiceFunctions extends Construct {
  readonly vend: TvmFunction;
  readonly refresh?: TvmFunction;
  /** Every function of this construct. */
  readonly all: readonly TvmFunction[];

  constructor(scope: Construct, id: string, props: ServiceFunctionsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const secretPrefix = props.secretPrefix ?? DEFAULT_SECRET_PREFIX;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const tenants = props.tenants ?? [];

    const environment: Record<string, string> = {
      [ENV.secretPrefix]: secretPrefix,
      [ENV.consumers]: stack.toJsonString(props.consumers),
      [ENV.tenants]: JSON.stringify(tenants),
      ...(props.cache ? { [ENV.cacheTable]: props.cache.table.tableName } : {}),
    };

    this.vend = new TvmFunction(this, 'Vend', {
      handlerName: 'vend',
      description: 'Vends upstream tokens for GET /v1/tenants/{tenantId}/token',
      environment,
      logRetention,
      timeout: Duration.seconds(25),
    });
    const all = [this.vend];
    if (props.cache && tenants.length > 0) {
      this.refresh = new TvmFunction(this, 'Refresh', {
        handlerName: 'refresh',
        description: 'Renews cached upstream tokens before they expire',
        environment,
        logRetention,
        timeout: Duration.minutes(2),
      });
      all.push(this.refresh);
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
      }
    }
  }
}
