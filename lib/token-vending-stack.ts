import { Aspects, Stack, Tags, type IAspect, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct, IConstruct } from 'constructs';

import { AlarmTopic } from './alarm-topic';
import type { DeploymentConfig } from './config';
import type { ApiAccessModel } from './resource-policy';
import { TokenVendingService } from './token-vending-service';

export interface TokenVendingStackProps extends StackProps {
  readonly config: DeploymentConfig;
}

/** Puts every role the stack creates under a path, unless it already has one (consumer roles of export jobs). */
class RolePath implements IAspect {
  constructor(private readonly path: string) {}
  visit(node: IConstruct): void {
    if (node instanceof iam.CfnRole && node.path === undefined) node.path = this.path;
  }
}

/** The API access model a config asks for. */
export function apiAccessModel(config: DeploymentConfig): ApiAccessModel | undefined {
  if (!config.apiAccess) return undefined;
  return 'rolePath' in config.apiAccess
    ? { kind: 'rolePath', rolePath: config.apiAccess.rolePath }
    : { kind: 'principalTag', tagKey: config.apiAccess.principalTag };
}

/** The deployable unit: the service wired from a validated deployment config. */
export class TokenVendingStack extends Stack {
  readonly service: TokenVendingService;
  readonly alarmTopic?: sns.ITopic;

  constructor(scope: Construct, id: string, props: TokenVendingStackProps) {
    const { config } = props;
    super(scope, id, { terminationProtection: config.terminationProtection, ...props });

    if (config.alarmTopicArn) {
      this.alarmTopic = sns.Topic.fromTopicArn(this, 'AlarmTopic', config.alarmTopicArn);
    } else if (config.alarmEmail) {
      this.alarmTopic = new AlarmTopic(this, 'Alarms', { email: config.alarmEmail }).topic;
    }

    const apiAccess = apiAccessModel(config);
    this.service = new TokenVendingService(this, 'Service', {
      consumers: config.consumers,
      secretPrefix: config.secretPrefix,
      ...(config.secretsKmsKeyArn
        ? { secretsKmsKey: kms.Key.fromKeyArn(this, 'SecretsKey', config.secretsKmsKeyArn) }
        : {}),
      ...(config.tenants ? { tenants: config.tenants } : {}),
      ...(apiAccess ? { apiAccess } : {}),
      ...(config.vpcEndpointIds ? { vpcEndpointIds: config.vpcEndpointIds } : {}),
      ...(config.exportNetwork ? { exportNetwork: config.exportNetwork } : {}),
      ...(this.alarmTopic ? { alarmTopic: this.alarmTopic } : {}),
      logRetention: config.logRetentionDays as logs.RetentionDays,
      auditLogRetention: config.auditLogRetentionDays as logs.RetentionDays,
      refreshSchedule: scheduler.ScheduleExpression.expression(config.refreshSchedule),
      sharedCache: config.sharedCache,
      throttling: config.throttling,
      exportJobs: config.exportJobs,
      vendReservedConcurrency: config.vendReservedConcurrency,
      executionLogging: config.executionLogging,
      createCloudWatchRole: config.createApiGatewayCloudWatchRole,
      sourceMapStackTraces: config.sourceMapStackTraces,
    });

    if (config.iam.permissionsBoundaryArn) {
      iam.PermissionsBoundary.of(this).apply(
        iam.ManagedPolicy.fromManagedPolicyArn(this, 'PermissionsBoundary', config.iam.permissionsBoundaryArn),
      );
    }
    if (config.iam.rolePath) Aspects.of(this).add(new RolePath(config.iam.rolePath));
    for (const [key, value] of Object.entries(config.tags)) Tags.of(this).add(key, value);
  }
}
