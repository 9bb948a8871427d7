import { Match } from 'aws-cdk-lib/assertions';

import { serviceConfig, synth } from './support';

const { template } = synth();

describe('TokenCache', () => {
  it('encrypts the table with a customer-managed key and expires items by TTL', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });

  it('without a shared cache there is no table and no refresher', () => {
    const { template: plain } = synth({ ...serviceConfig, sharedCache: false });
    plain.resourceCountIs('AWS::DynamoDB::Table', 0);
    plain.resourceCountIs('AWS::Scheduler::Schedule', 0);
    plain.resourceCountIs('AWS::Lambda::Function', 1);
  });
});
