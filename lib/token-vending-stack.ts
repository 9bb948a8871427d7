import { Stack, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';

import type { DeploymentConfig } from './config';
import { TokenVendingService } from './token-vending-service';

export interface TokenVendingStackProps extends StackProps {
  readonly config: DeploymentConfig;
}

/** The deployable unit: the service wired from a validated deployment config. */
export class TokenVendingStack extends Stack {
  readonly service: TokenVendingService;
  readonly alarmTopic?: sns.ITopic;

  constructor(scope: Construct, id: string, props: TokenVendingStackProps) {
    super(scope, id, props);
    const { config } = props;

    if (config.alarmTopicArn) {
      this.alarmTopic = sns.Topic.fromTopicArn(this, 'AlarmTopic', config.alarmTopicArn);
    } else if (config.alarmEmail) {
      const topic = new sns.Topic(this, 'AlarmTopic', {
        displayName: 'token-vending-machine alarms',
        enforceSSL: true,
        masterKey: new kms.Key(this, 'AlarmTopicKey', {
          enableKeyRotation: true,
          description: 'token-vending-machine alarm topic',
        }),
      });
      topic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));
      this.alarmTopic = topic;
    }

    this.service = new TokenVendingService(this, 'Service', {
      consumers: config.consumers,
      secretPrefix: config.secretPrefix,
      ...(config.secretsKmsKeyArn
        ? { secretsKmsKey: kms.Key.fromKeyArn(this, 'SecretsKey', config.secretsKmsKeyArn) }
        : {}),
      tenants: config.tenants,
      ...(config.vpcEndpointIds ? { vpcEndpointIds: config.vpcEndpointIds } : {}),
      ...(this.alarmTopic ? { alarmTopic: this.alarmTopic } : {}),
      logRetention: config.logRetentionDays as logs.RetentionDays,
      refreshSchedule: scheduler.ScheduleExpression.expression(config.refreshSchedule),
      sharedCache: config.sharedCache,
      throttling: config.throttling,
      exportJobs: config.exportJobs,
    });
  }
}
