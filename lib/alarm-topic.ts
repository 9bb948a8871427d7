import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

// The topic the alarms notify, encrypted with a customer-managed key that CloudWatch may use: without a key policy
// statement for cloudwatch.amazonaws.com, CloudWatch cannot publish to an encrypted topic and alarms reach nobody.

export interface AlarmTopicProps {
  /** Who is notified (an e-mail subscription, confirmed by the recipient). */
  readonly email: string;
}

/** Encrypted, SSL-only SNS topic that admits CloudWatch alarms of this account and region, and nobody else's. */
export class AlarmTopic extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // Alarms of this account and region only: the confused-deputy guard for the service principal.
    const fromOurAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };
    const cloudwatch = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    this.key = new kms.Key(this, 'Key', { enableKeyRotation: true, description: 'token-vending-machine alarm topic' });
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [cloudwatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromOurAlarms,
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'token-vending-machine alarms',
      enforceSSL: true,
      masterKey: this.key,
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarms',
        principals: [cloudwatch],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: fromOurAlarms,
      }),
    );
    this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    Validations.of(this.topic).acknowledge({
      id: 'Serverless-SNSRedrivePolicy',
      reason:
        'An e-mail notification that cannot be delivered is not worth queueing: the alarm stays in ALARM state and shows on the dashboard.',
    });
  }
}
