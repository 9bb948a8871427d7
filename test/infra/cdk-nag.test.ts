import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';

import { exampleConfig, synth } from './support';

// This file also runs CDK's built-in CloudFormation validation (synth fails on its errors). Each pack runs on the
// service alone and on the full example (export jobs) in private mode, where export jobs run in a VPC.
const service = synth(undefined, { validate: true }).stack;
const everything = synth(
  {
    ...exampleConfig,
    vpcEndpointIds: ['vpce-0123456789abcdef0'],
    exportNetwork: { subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] },
    apiAccess: { principalTag: 'tvm-consumer' },
    executionLogging: true,
    createApiGatewayCloudWatchRole: true,
  },
  { validate: true },
).stack;

function open(report: ReturnType<AwsSolutionsChecks['validateScope']>): string[] {
  return report.violations.map(
    (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId ?? JSON.stringify(r)).join(', ')}`,
  );
}

describe('cdk-nag', () => {
  it('reports violations when there are some (the check is live)', () => {
    const scratch = new Stack(new App(), 'Scratch');
    new sns.Topic(scratch, 'PlainTopic');
    new sqs.Queue(scratch, 'PlainQueue');
    expect(new AwsSolutionsChecks(scratch).validateScope(scratch).violations.map((v) => v.ruleName)).toContain(
      'AwsSolutions-SNS3',
    );
    expect(new ServerlessChecks(scratch).validateScope(scratch).violations.map((v) => v.ruleName)).toContain(
      'Serverless-SQSRedrivePolicy',
    );
  });

  it.each([
    ['the service', service],
    ['the full example in private mode, opted-in execution logging', everything],
  ])('AwsSolutionsChecks finds no unacknowledged violation in %s', (_name, stack) => {
    expect(open(new AwsSolutionsChecks(stack).validateScope(stack))).toEqual([]);
  });

  it.each([
    ['the service', service],
    ['the full example in private mode, opted-in execution logging', everything],
  ])('ServerlessChecks finds no unacknowledged violation in %s', (_name, stack) => {
    expect(open(new ServerlessChecks(stack).validateScope(stack))).toEqual([]);
  });

  it('justifies the VPC network wildcard in a policy of its own, apart from the X-Ray one', () => {
    const template = Template.fromStack(everything);
    const policies = Object.entries(template.findResources('AWS::IAM::Policy'));
    const network = policies.filter(([id]) => id.includes('NetworkPolicy'));
    expect(network.length).toBe(exampleConfig.exportJobs.length);
    for (const [id, policy] of network) {
      expect(JSON.stringify(policy.Properties.PolicyDocument)).toContain('ec2:CreateNetworkInterface');
      const fn = Object.values(template.findResources('AWS::Lambda::Function')).find((f) =>
        (f.DependsOn ?? []).includes(id),
      );
      expect(fn?.Properties.VpcConfig).toBeDefined();
    }
    // No other policy carries the ENI actions under the X-Ray acknowledgement.
    for (const [id, policy] of policies.filter(([id]) => !id.includes('NetworkPolicy'))) {
      expect([id, JSON.stringify(policy.Properties.PolicyDocument).includes('ec2:')]).toEqual([id, false]);
    }
  });
});
