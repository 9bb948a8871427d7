import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Match } from 'aws-cdk-lib/assertions';

import { policyStatements, serviceConfig, synth } from './support';

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

  it('lets only the vend and refresh roles use the key directly, under a context naming the table and a tenant', () => {
    const deny = Object.values(template.findResources('AWS::KMS::Key'))
      .flatMap((key) => key.Properties.KeyPolicy.Statement)
      .find((s: { Sid?: string }) => s.Sid === 'DenyDirectUseExceptServiceRoles');
    expect(deny).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey']),
      Condition: { Null: { 'kms:ViaService': 'true' }, Bool: { 'aws:PrincipalIsAWSService': 'false' } },
    });
    const roles = JSON.stringify(deny.Condition.ArnNotEquals['aws:PrincipalArn']);
    expect(roles).toMatch(/VendRole/);
    expect(roles).toMatch(/RefreshRole/);
    expect(deny.Condition.ArnNotEquals['aws:PrincipalArn']).toHaveLength(2);

    const envelope = policyStatements(template).filter((s) =>
      JSON.stringify(s.Condition ?? {}).includes('kms:EncryptionContext:table'),
    );
    expect(envelope).toHaveLength(2); // vend and refresh
    for (const statement of envelope) {
      expect(statement).toMatchObject({
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Condition: {
          StringEquals: { 'kms:EncryptionContext:table': { Ref: expect.stringMatching(/CacheTable/) } },
          Null: { 'kms:EncryptionContext:tenant': 'false' },
          'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['tenant', 'table'] },
        },
      });
    }
    // The table's own use of the key goes through DynamoDB only.
    const viaDynamo = policyStatements(template).filter((s) => JSON.stringify(s.Action).includes('kms:Encrypt'));
    expect(viaDynamo.length).toBe(2);
    for (const statement of viaDynamo) expect(JSON.stringify(statement.Condition)).toContain('kms:ViaService');
  });

  it('grants the vend and refresh roles every DynamoDB action the adapters send to the cache table', () => {
    // The commands the runtime's adapters construct, read from their sources (a command added there without its
    // grant fails here, not with AccessDeniedException in a deployed function).
    const adapters = join(__dirname, '..', '..', 'lambdas', 'adapters');
    const sent = new Set<string>();
    for (const file of readdirSync(adapters).filter((name) => name.endsWith('.ts'))) {
      const source = readFileSync(join(adapters, file), 'utf8');
      const imported = /import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/client-dynamodb'/.exec(source)?.[1] ?? '';
      for (const [, command] of source.matchAll(/new (\w+)Command\(/g))
        if (imported.includes(`${command}Command`)) sent.add(`dynamodb:${command}`);
    }
    expect([...sent]).toEqual(expect.arrayContaining(['dynamodb:BatchGetItem', 'dynamodb:UpdateItem']));
    const itemAccess = policyStatements(template).filter(
      (s) => JSON.stringify(s.Action).includes('dynamodb:') && JSON.stringify(s.Resource).includes('CacheTable'),
    );
    expect(itemAccess).toHaveLength(2); // vend and refresh
    for (const statement of itemAccess) expect(statement.Action).toEqual(expect.arrayContaining([...sent]));
  });

  it('gives the functions the key for the session items, and runs the refresher without a tenant list', () => {
    const { template: discovered } = synth({ ...serviceConfig, tenants: [] });
    const functions = Object.values(discovered.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(2);
    for (const fn of functions) {
      const variables = fn.Properties.Environment.Variables;
      expect(variables.TVM_CACHE_KEY_ID).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/CacheKey/), 'Arn'] });
      expect(variables.TVM_TENANTS).toBeUndefined();
    }
    discovered.resourceCountIs('AWS::Scheduler::Schedule', 1);
  });

  it('without a shared cache there is no table and no refresher', () => {
    const { template: plain } = synth({ ...serviceConfig, sharedCache: false });
    plain.resourceCountIs('AWS::DynamoDB::Table', 0);
    plain.resourceCountIs('AWS::Scheduler::Schedule', 0);
    plain.resourceCountIs('AWS::Lambda::Function', 1);
  });
});
