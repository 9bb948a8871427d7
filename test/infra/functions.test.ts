import { Match } from 'aws-cdk-lib/assertions';

import { policyStatements, serviceConfig, synth } from './support';

const { template } = synth();
const functions = Object.values(template.findResources('AWS::Lambda::Function'));

describe('ServiceFunctions', () => {
  it('run the newest Node.js runtime on ARM64 with tracing', () => {
    expect(functions.length).toBe(2);
    for (const fn of functions) {
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    }
  });

  it('pass the consumers, tenants, prefix and cache table to the code', () => {
    const variables = functions[0]?.Properties.Environment.Variables;
    expect(JSON.parse(variables.TVM_CONSUMERS)).toEqual(serviceConfig.consumers);
    expect(JSON.parse(variables.TVM_TENANTS)).toEqual(serviceConfig.tenants);
    expect(variables.TVM_SECRET_PREFIX).toBe('tvm/tenants');
    expect(variables.TVM_CACHE_TABLE).toEqual({ Ref: expect.stringMatching(/CacheTable/) });
  });

  it('may read only secrets under the prefix', () => {
    const statements = policyStatements(template);
    const secretStatements = statements.filter((s) =>
      [s.Action].flat().some((a: string) => a.startsWith('secretsmanager:') && a !== 'secretsmanager:ListSecrets'),
    );
    expect(secretStatements.length).toBe(2);
    for (const statement of secretStatements) {
      expect(statement.Action).toBe('secretsmanager:GetSecretValue');
      const resource = JSON.stringify(statement.Resource);
      expect(resource).toContain(':secret:tvm/tenants/*');
      expect(statement.Resource).not.toBe('*');
    }
    // The one exception: tenant discovery (ListSecrets has no resource-level permissions; names only, no values).
    const unscoped = statements.filter(
      (s) => s.Resource === '*' && [s.Action].flat().some((a: string) => !a.startsWith('xray:')),
    );
    expect(unscoped.map((s) => s.Action)).toEqual(['secretsmanager:ListSecrets']);
  });

  it('use no AWS managed policies', () => {
    for (const role of Object.entries(template.findResources('AWS::IAM::Role'))) {
      if (role[0].includes('CloudWatchRole')) continue; // API Gateway account logging role
      expect(role[1].Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('schedules the refresher at the configured rate without retries', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      Target: Match.objectLike({ RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 0 }) }),
    });
  });

  it('sets a retention on every log group', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBe(3);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(30);
  });
});
