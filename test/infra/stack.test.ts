import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';

import { loadDeploymentConfig, parseDeploymentConfig, type DeploymentConfig } from '../../lib/config';
import { TokenVendingStack } from '../../lib/token-vending-stack';

const exampleConfig = loadDeploymentConfig(join(__dirname, '..', '..', 'config', 'example.json'));
// Most tests look at the core service; export jobs have their own block below.
const serviceConfig: DeploymentConfig = { ...exampleConfig, exportJobs: [] };

function synth(
  config: DeploymentConfig = serviceConfig,
  bundle = false,
): { stack: TokenVendingStack; template: Template } {
  // Skipping bundling keeps these tests fast; one test below bundles for real.
  const app = new App({ context: bundle ? {} : { 'aws:cdk:bundling-stacks': [] } });
  const stack = new TokenVendingStack(app, 'Test', { config });
  return { stack, template: Template.fromStack(stack) };
}

const { stack, template } = synth();
const resolve = (value: unknown) => JSON.stringify(Stack.of(stack).resolve(value));

describe('API', () => {
  it('requires AWS_IAM on every method', () => {
    const methods = template.findResources('AWS::ApiGateway::Method');
    expect(Object.keys(methods).length).toBe(2);
    for (const method of Object.values(methods)) expect(method.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('admits exactly the configured principals and denies everyone else', () => {
    const api = Object.values(template.findResources('AWS::ApiGateway::RestApi'))[0];
    const statements = api?.Properties.Policy.Statement as Array<Record<string, any>>;
    const allow = statements.find((s) => s.Effect === 'Allow');
    const principals = [allow?.Principal.AWS].flat().sort();
    expect(principals).toEqual(exampleConfig.consumers.map((c) => c.principal).sort());
    const deny = statements.find((s) => s.Effect === 'Deny');
    expect(deny?.Condition.ArnNotLike['aws:PrincipalArn'].sort()).toEqual(principals);
    expect(api?.Properties.EndpointConfiguration.Types).toEqual(['REGIONAL']);
  });

  it('validates requests, logs access, traces and throttles', () => {
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestParameters: true });
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      TracingEnabled: true,
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: Match.arrayWith([Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 })]),
    });
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      RequestParameters: {
        'method.request.path.tenantId': true,
        'method.request.querystring.minTtl': false,
        'method.request.querystring.rejected': false,
      },
    });
  });

  it('has no CORS (no OPTIONS methods)', () => {
    template.resourcePropertiesCountIs('AWS::ApiGateway::Method', { HttpMethod: 'OPTIONS' }, 0);
  });

  it('becomes private behind the configured VPC endpoints', () => {
    const { template: privateTemplate } = synth({ ...serviceConfig, vpcEndpointIds: ['vpce-0123456789abcdef0'] });
    const api = Object.values(privateTemplate.findResources('AWS::ApiGateway::RestApi'))[0];
    expect(api?.Properties.EndpointConfiguration).toEqual({
      Types: ['PRIVATE'],
      VpcEndpointIds: ['vpce-0123456789abcdef0'],
    });
    const statements = api?.Properties.Policy.Statement as Array<Record<string, any>>;
    expect(
      statements.some(
        (s) =>
          s.Effect === 'Deny' && s.Condition?.StringNotEquals?.['aws:SourceVpce']?.[0] === 'vpce-0123456789abcdef0',
      ),
    ).toBe(true);
  });
});

describe('functions', () => {
  const functions = Object.values(template.findResources('AWS::Lambda::Function'));

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
    expect(JSON.parse(variables.TVM_CONSUMERS)).toEqual(exampleConfig.consumers);
    expect(JSON.parse(variables.TVM_TENANTS)).toEqual(exampleConfig.tenants);
    expect(variables.TVM_SECRET_PREFIX).toBe('tvm/tenants');
    expect(variables.TVM_CACHE_TABLE).toEqual({ Ref: expect.stringMatching(/CacheTable/) });
  });

  it('may read only secrets under the prefix', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Array<Record<string, any>>,
    );
    const secretStatements = statements.filter((s) =>
      [s.Action].flat().some((a: string) => a.startsWith('secretsmanager:')),
    );
    expect(secretStatements.length).toBe(2);
    for (const statement of secretStatements) {
      expect(statement.Action).toBe('secretsmanager:GetSecretValue');
      const resource = JSON.stringify(statement.Resource);
      expect(resource).toContain(':secret:tvm/tenants/*');
      expect(statement.Resource).not.toBe('*');
    }
    expect(
      statements.some((s) => s.Resource === '*' && [s.Action].flat().some((a: string) => !a.startsWith('xray:'))),
    ).toBe(false);
  });

  it('use no AWS managed policies', () => {
    for (const role of Object.entries(template.findResources('AWS::IAM::Role'))) {
      if (role[0].includes('CloudWatchRole')) continue; // API Gateway account logging role
      expect(role[1].Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('cache table, schedule, logs, alarms, outputs', () => {
  it('encrypts the table with a customer-managed key and expires items by TTL', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
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

  it('alarms on 5xx, upstream failures, function errors and throttles, to the topic', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    const metrics = alarms.map((a) => `${a.Properties.Namespace}/${a.Properties.MetricName}`);
    expect(metrics).toEqual(
      expect.arrayContaining([
        'AWS/ApiGateway/5XXError',
        'TokenVendingMachine/UpstreamFailureByCode',
        'AWS/Lambda/Errors',
        'AWS/Lambda/Throttles',
      ]),
    );
    const codes = alarms.flatMap((a) =>
      (a.Properties.Dimensions ?? []).filter((d: any) => d.Name === 'code').map((d: any) => d.Value),
    );
    expect(codes).toEqual(expect.arrayContaining(['upstream_auth_failed', 'upstream_unavailable']));
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toHaveLength(1);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: exampleConfig.alarmEmail });
  });

  it('outputs the API URL, the table and the consumer policy statement', () => {
    const outputs = template.toJSON().Outputs as Record<string, any>;
    const names = Object.keys(outputs);
    for (const name of ['ApiUrl', 'TokenUrl', 'CacheTableName', 'ConsumerPolicyStatement'])
      expect(names.some((n) => n.includes(name))).toBe(true);
    const policy = Object.entries(outputs).find(([n]) => n.includes('ConsumerPolicyStatement'))?.[1];
    expect(resolve(policy.Value)).toContain('execute-api:Invoke');
    expect(resolve(policy.Value)).toContain('/GET/v1/tenants/*/token');
  });

  it('without a shared cache there is no table and no refresher', () => {
    const { template: plain } = synth({ ...serviceConfig, sharedCache: false });
    plain.resourceCountIs('AWS::DynamoDB::Table', 0);
    plain.resourceCountIs('AWS::Scheduler::Schedule', 0);
    plain.resourceCountIs('AWS::Lambda::Function', 1);
  });
});

describe('analytics export jobs', () => {
  const withJobs = synth(exampleConfig);
  const job = exampleConfig.exportJobs[0];

  it('appear only when the config lists jobs', () => {
    expect(job).toBeDefined();
    template.resourceCountIs('AWS::S3::Bucket', 0);
    const functions = Object.values(withJobs.template.findResources('AWS::Lambda::Function'));
    const exportFunction = functions.find((f) => String(f.Properties.Description).startsWith('Analytics export'));
    expect(exportFunction?.Properties.Environment.Variables.TVM_EXPORT_JOB).toBe(JSON.stringify(job));
    withJobs.template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: job?.schedule });
    withJobs.template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: Match.anyValue(),
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: Match.anyValue(),
    });
  });

  it("gives the job's role execute-api:Invoke on its own tenant's token method only", () => {
    const policies = Object.entries(withJobs.template.findResources('AWS::IAM::Policy')).filter(([id]) =>
      id.includes('ExportJob'),
    );
    const statements = policies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Array<Record<string, any>>);
    const invoke = statements.filter((s) => [s.Action].flat().includes('execute-api:Invoke'));
    expect(invoke).toHaveLength(1);
    const resource = JSON.stringify(withJobs.stack.resolve(invoke[0]?.Resource));
    expect(resource).toContain(`/GET/v1/tenants/${job?.tenant}/token`);
    expect(resource).not.toContain('*/token');
  });

  it("lists the job's role as a consumer of its tenant, in the resource policy and for the handler", () => {
    const api = Object.values(withJobs.template.findResources('AWS::ApiGateway::RestApi'))[0];
    const allow = (api?.Properties.Policy.Statement as Array<Record<string, any>>).find((s) => s.Effect === 'Allow');
    expect(JSON.stringify(allow?.Principal.AWS)).toMatch(/ExportJobflightanalyticsRole/);
    const vend = Object.values(withJobs.template.findResources('AWS::Lambda::Function')).find((f) =>
      String(f.Properties.Description).startsWith('Vends'),
    );
    expect(JSON.stringify(vend?.Properties.Environment.Variables.TVM_CONSUMERS)).toMatch(
      /ExportJobflightanalyticsRole.*\\"tenants\\":\[\\"acme\\"\]/,
    );
  });

  it('keeps cdk-nag clean', () => {
    expect(
      new AwsSolutionsChecks(withJobs.stack).validateScope(withJobs.stack).violations.map((v) => v.ruleName),
    ).toEqual([]);
  });

  it('rejects duplicate job names', () => {
    expect(() =>
      parseDeploymentConfig({ ...JSON.parse(JSON.stringify(exampleConfig)), exportJobs: [job, job] }),
    ).toThrow(/exportJobs\.1\.name: must be unique/);
  });
});

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

describe('deployment config validation', () => {
  const base = JSON.parse(readFileSync(join(__dirname, '..', '..', 'config', 'example.json'), 'utf8'));
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      'a bad principal ARN',
      { consumers: [{ principal: 'arn:aws:iam::12345:role/x', tenants: ['acme'] }] },
      /consumers\.0\.principal: .*got "arn:aws:iam::12345:role\/x"/,
    ],
    ['a bad tenant id', { tenants: ['Acme_Corp'] }, /tenants\.0: .*got "Acme_Corp"/],
    ['empty consumers', { consumers: [] }, /consumers: must list at least one consumer/],
    ['an unknown key', { alarmEmial: 'x@example.com' }, /alarmEmial/],
    ['a bad schedule', { refreshSchedule: 'every 5 minutes' }, /refreshSchedule: .*got "every 5 minutes"/],
    ['a bad retention', { logRetentionDays: 10 }, /logRetentionDays: .*got 10/],
  ];

  it.each(cases)('rejects %s, naming the field and value', (_name, change, message) => {
    expect(() => parseDeploymentConfig({ ...base, ...change }, 'test.json')).toThrow(message);
  });

  it('accepts the example config', () => {
    expect(exampleConfig.consumers.length).toBeGreaterThan(0);
  });
});

describe('bundling', () => {
  it('bundles the vend function for real (esbuild, no Docker) and records its size', () => {
    const { stack: bundled } = synth(exampleConfig, true);
    const assembly = App.of(bundled)?.synth();
    const fn = Object.values(Template.fromStack(bundled).findResources('AWS::Lambda::Function')).find((f) =>
      f.Properties.Description.startsWith('Vends'),
    );
    const assetHash = String(fn?.Properties.Code.S3Key).replace(/\.zip$/, '');
    const file = join(assembly?.directory ?? '', `asset.${assetHash}`, 'index.js');
    const bytes = statSync(file).size;
    expect(readFileSync(file, 'utf8')).toContain('handler');
    expect(bytes).toBeGreaterThan(10_000);
    console.info(`vend bundle: ${bytes} bytes (${(bytes / 1024).toFixed(0)} KiB) minified, AWS SDK included`);
  }, 60_000);
});
