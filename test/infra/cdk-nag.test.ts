import { App, Stack } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';

import { synth } from './support';

// This file also runs CDK's built-in CloudFormation validation (synth fails on its errors).
const { stack } = synth(undefined, { validate: true });

describe('cdk-nag', () => {
  it('reports violations when there are some (the check is live)', () => {
    const scratch = new Stack(new App(), 'Scratch');
    new sns.Topic(scratch, 'PlainTopic');
    expect(new AwsSolutionsChecks(scratch).validateScope(scratch).violations.map((v) => v.ruleName)).toContain(
      'AwsSolutions-SNS3',
    );
  });

  it('AwsSolutionsChecks finds no unacknowledged violation', () => {
    const report = new AwsSolutionsChecks(stack).validateScope(stack);
    const open = report.violations.map(
      (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(', ')}`,
    );
    expect(open).toEqual([]);
  });
});
