import { Match } from 'aws-cdk-lib/assertions';

import { ACCESS_POLICY_FILE_NAME } from '../../contract/names';
import { VEND_RESERVED_CONCURRENCY } from '../../lib/service-functions';
import { policyStatements, serviceConfig, synth } from './support';

const { template } = synth();
const functions = Object.entries(template.findResources('AWS::Lambda::Function'));
const byDescription = (prefix: string) =>
  functions.find(([, f]) => String(f.Properties.Description).startsWith(prefix)) ?? [];
const [vendId, vend] = byDescription('Vends');
const [refreshId, refresh] = byDescription('Renews');

describe('ServiceFunctions', () => {
  it('run the newest Node.js runtime on ARM64 with tracing', () => {
    expect(functions.length).toBe(2);
    for (const [, fn] of functions) {
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      // No source-map parsing at every cold start unless asked for.
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBeUndefined();
    }
  });

  it('turn source-mapped stack traces on when the deployment config asks for them', () => {
    const withMaps = synth({ ...serviceConfig, sourceMapStackTraces: true }).template;
    const all = Object.values(withMaps.findResources('AWS::Lambda::Function'));
    expect(all.length).toBe(2);
    for (const fn of all) expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
  });

  it('give vend the access policy as a file in a layer, not in the environment, and no tenant list', () => {
    const variables = vend?.Properties.Environment.Variables;
    expect(variables.TVM_ACCESS_POLICY_FILE).toBe(`/opt/${ACCESS_POLICY_FILE_NAME}`);
    expect(variables.TVM_CONSUMERS).toBeUndefined();
    expect(variables.TVM_TENANTS).toBeUndefined();
    expect(vend?.Properties.Layers).toEqual([{ Ref: expect.stringMatching(/AccessPolicy/) }]);
    expect(JSON.stringify(variables)).not.toContain(serviceConfig.consumers[0]?.principal);
  });

  it('pass the prefix and cache table to the code', () => {
    for (const [, fn] of [vend, refresh].map((f) => [undefined, f] as const)) {
      const variables = fn?.Properties.Environment.Variables;
      expect(variables.TVM_SECRET_PREFIX).toBe('tvm/tenants');
      expect(variables.TVM_CACHE_TABLE).toEqual({ Ref: expect.stringMatching(/CacheTable/) });
    }
  });

  it('may read only secrets under the prefix', () => {
    const statements = policyStatements(template);
    const secretStatements = statements.filter((s) =>
      [s.Action].flat().some((a: string) => a.startsWith('secretsmanager:GetSecretValue')),
    );
    expect(secretStatements.length).toBe(2);
    for (const statement of secretStatements) {
      expect(statement.Action).toBe('secretsmanager:GetSecretValue');
      const resource = JSON.stringify(statement.Resource);
      expect(resource).toContain(':secret:tvm/tenants/*');
      expect(statement.Resource).not.toBe('*');
    }
    expect(
      statements.some(
        (s) =>
          s.Resource === '*' &&
          [s.Action].flat().some((a: string) => !a.startsWith('xray:') && a !== 'secretsmanager:ListSecrets'),
      ),
    ).toBe(false);
  });

  it('use no AWS managed policies', () => {
    for (const [, role] of Object.entries(template.findResources('AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('reserve concurrency: vend as configured, the refresher exactly one run at a time', () => {
    expect(vend?.Properties.ReservedConcurrentExecutions).toBe(VEND_RESERVED_CONCURRENCY);
    expect(refresh?.Properties.ReservedConcurrentExecutions).toBe(1);
    const { template: unreserved } = synth({ ...serviceConfig, vendReservedConcurrency: null });
    const plainVend = Object.values(unreserved.findResources('AWS::Lambda::Function')).find((f) =>
      String(f.Properties.Description).startsWith('Vends'),
    );
    expect(plainVend?.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('set async-invoke behaviour on every function: no retries; failed scheduled runs go to the encrypted queue', () => {
    const configs = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig'));
    const forFunction = (id?: string) =>
      configs.find((c) => JSON.stringify(c.Properties.FunctionName).includes(id ?? '?'));
    expect(forFunction(vendId)?.Properties).toMatchObject({ MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 });
    expect(forFunction(vendId)?.Properties.DestinationConfig).toBeUndefined();
    expect(forFunction(refreshId)?.Properties).toMatchObject({
      MaximumRetryAttempts: 0,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [expect.stringMatching(/FailureQueue/), 'Arn'] } },
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });

  it('schedule the refresher in the stack own group, with explicit retries and a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      GroupName: Match.anyValue(),
      Target: Match.objectLike({
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 900 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('FailureQueue'), 'Arn'] } },
      }),
    });
    template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
  });

  it('keep the audit logs (vend, API access) 365 days and the others as configured', () => {
    const groups = Object.entries(template.findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBe(3);
    const retention = (part: string) => groups.find(([id]) => id.includes(part))?.[1].Properties.RetentionInDays;
    expect(retention('Vend')).toBe(365);
    expect(retention('AccessLogs')).toBe(365);
    expect(retention('Refresh')).toBe(30);
  });
});

describe('log groups and schedule roles', () => {
  it("keeps the vend function's log group (the audit log) when the stack goes; the refresher's goes with it", () => {
    const groups = Object.entries(template.findResources('AWS::Logs::LogGroup'));
    const vendLogs = groups.filter(([id]) => id.includes('FunctionsVendLogs'));
    const refreshLogs = groups.filter(([id]) => id.includes('FunctionsRefreshLogs'));
    expect(vendLogs).toHaveLength(1);
    expect(refreshLogs).toHaveLength(1);
    expect(vendLogs[0]?.[1]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(refreshLogs[0]?.[1]).toMatchObject({ DeletionPolicy: 'Delete' });
  });

  it('lets EventBridge Scheduler assume a schedule role only for this account and its schedule group', () => {
    const roles = Object.entries(template.findResources('AWS::IAM::Role')).filter(([id]) =>
      id.includes('ScheduleRole'),
    );
    expect(roles.length).toBeGreaterThan(0);
    for (const [, role] of roles) {
      const [statement] = role.Properties.AssumeRolePolicyDocument.Statement;
      expect(statement.Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
      expect(statement.Condition.StringEquals['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
      expect(JSON.stringify(statement.Condition.ArnLike['aws:SourceArn'])).toContain(':schedule/');
    }
  });
});
