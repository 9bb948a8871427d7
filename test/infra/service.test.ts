import { Template } from 'aws-cdk-lib/assertions';

import { renderIntrinsics } from '../../lib/quotas';
import { exampleConfig, serviceConfig, synth } from './support';

const { template, resolve } = synth();

describe('TokenVendingService (facade)', () => {
  it('outputs the API URL, the table and the consumer policy statement', () => {
    const outputs = template.toJSON().Outputs as Record<string, any>;
    const names = Object.keys(outputs);
    for (const name of ['ApiUrl', 'TokenUrl', 'CacheTableName', 'ConsumerPolicyStatement'])
      expect(names.some((n) => n.includes(name))).toBe(true);
    const policy = Object.entries(outputs).find(([n]) => n.includes('ConsumerPolicyStatement'))?.[1];
    expect(resolve(policy.Value)).toContain('execute-api:Invoke');
    expect(resolve(policy.Value)).toContain('/GET/v1/tenants/*/token');
    expect(resolve(policy.Value)).toContain('/GET/v1/tenants/*/aws-credentials');
  });

  it('outputs an SCP statement that lets nobody but API Gateway invoke the vend function', () => {
    const outputs = template.toJSON().Outputs as Record<string, any>;
    const guardrail = Object.entries(outputs).find(([n]) => n.includes('VendInvokeGuardrail'))?.[1];
    // Rendered as CloudFormation will (the function ARN stands in), it is a ready-to-use statement.
    const statement = JSON.parse(String(renderIntrinsics(JSON.parse(resolve(guardrail.Value)))));
    expect(statement).toMatchObject({
      Effect: 'Deny',
      Action: 'lambda:InvokeFunction',
      Condition: { StringNotEquals: { 'aws:PrincipalServiceName': 'apigateway.amazonaws.com' } },
    });
    expect(statement.Resource).toHaveLength(2);
    expect(statement.Resource[1]).toMatch(/^arn:.*ServiceFunctionsVendFunction.*:\*$/);
    const text = resolve(guardrail.Value);
    expect(text).toMatch(/ServiceFunctionsVendFunction[A-Z0-9]+/);
  });

  it('applies tags, a permissions boundary and a role path to every role, and termination protection', () => {
    const { stack, template: t } = synth({
      ...serviceConfig,
      tags: { 'cost-centre': 'platform' },
      iam: { permissionsBoundaryArn: 'arn:aws:iam::123456789012:policy/platform-boundary', rolePath: '/platform/' },
      terminationProtection: true,
    });
    expect(stack.terminationProtection).toBe(true);
    const roles = Object.values(t.findResources('AWS::IAM::Role'));
    expect(roles.length).toBeGreaterThan(2);
    for (const role of roles) {
      expect(role.Properties.Path).toBe('/platform/');
      expect(JSON.stringify(role.Properties.PermissionsBoundary)).toContain('policy/platform-boundary');
      expect(role.Properties.Tags).toEqual(expect.arrayContaining([{ Key: 'cost-centre', Value: 'platform' }]));
    }
  });

  it('private mode: export jobs run in the configured subnets, which the construct requires', () => {
    const network = { subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] };
    const { template: t } = synth({
      ...exampleConfig,
      vpcEndpointIds: ['vpce-0123456789abcdef0'],
      exportNetwork: network,
    });
    const exportFunction = Object.values(t.findResources('AWS::Lambda::Function')).find((f) =>
      String(f.Properties.Description).startsWith('Analytics export'),
    );
    expect(exportFunction?.Properties.VpcConfig).toEqual({
      SubnetIds: network.subnetIds,
      SecurityGroupIds: network.securityGroupIds,
    });
    expect(JSON.stringify(Template.fromJSON(t.toJSON()).findResources('AWS::IAM::Policy'))).toContain(
      'ec2:CreateNetworkInterface',
    );
  });
});
