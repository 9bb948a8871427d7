import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { App, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';

import { ACCESS_POLICY_FILE_NAME } from '../../contract/names';
import { exportRoleNameBase } from '../../lib/analytics-exports';
import { parseDeploymentConfig } from '../../lib/config';
import { exampleConfig, synth } from './support';

const withJobs = synth(exampleConfig);
const withoutJobs = synth();
const job = exampleConfig.exportJobs[0];

describe('AnalyticsExports', () => {
  it('appear only when the config lists jobs', () => {
    expect(job).toBeDefined();
    withoutJobs.template.resourceCountIs('AWS::S3::Bucket', 0);
    const functions = Object.values(withJobs.template.findResources('AWS::Lambda::Function'));
    const exportFunction = functions.find((f) => String(f.Properties.Description).startsWith('Analytics export'));
    // The job definition ships in a layer (analytics-export-job.test.ts), not in a variable.
    expect(exportFunction?.Properties.Environment.Variables.TVM_EXPORT_JOB_FILE).toBe('/opt/tvm/export-job.json');
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
    const resource = withJobs.resolve(invoke[0]?.Resource);
    expect(resource).toContain(`/GET/v1/tenants/${job?.tenant}/token`);
    expect(resource).not.toContain('*/token');
  });

  it("lists the job's role as a consumer of its tenant, in the resource policy and for the handler", () => {
    const api = Object.values(withJobs.template.findResources('AWS::ApiGateway::RestApi'))[0];
    const allow = (api?.Properties.Policy.Statement as Array<Record<string, any>>).find((s) => s.Effect === 'Allow');
    expect(JSON.stringify(allow?.Principal.AWS)).toMatch(/ExportJobflightanalyticsRole/);
    // For the handler: by the name the role is created with, in the access policy file deployed with vend, and the
    // account's role ARN prefix in its environment.
    const role = Object.entries(withJobs.template.findResources('AWS::IAM::Role')).find(([id]) =>
      id.includes('ExportJobflightanalyticsRole'),
    )?.[1];
    const [prefix, region] = role?.Properties.RoleName['Fn::Join'][1] ?? [];
    expect(prefix).toMatch(/^tvm-export-flight-analytics-[0-9a-f]{8}-$/);
    expect(region).toEqual({ Ref: 'AWS::Region' });
    const resources = withJobs.template.toJSON().Resources as Record<string, any>;
    const [layer] = Object.entries(resources).filter(
      ([id, r]) => r.Type === 'AWS::Lambda::LayerVersion' && id.includes('AccessPolicy'),
    );
    const staged = join(
      App.of(withJobs.stack)?.outdir ?? '',
      `asset.${String(layer?.[1].Properties.Content.S3Key).replace(/\.zip$/, '')}`,
      ACCESS_POLICY_FILE_NAME,
    );
    expect(JSON.parse(readFileSync(staged, 'utf8')).ownRoles).toEqual([
      { roleName: String(prefix).replace(/-$/, ''), tenants: ['acme'] },
    ]);
    const vend = Object.values(resources).find(
      (f) => f.Type === 'AWS::Lambda::Function' && String(f.Properties.Description).startsWith('Vends'),
    );
    expect(vend?.Properties.Environment.Variables.TVM_CONSUMERS).toBeUndefined();
    expect(withJobs.resolve(vend?.Properties.Environment.Variables.TVM_OWN_ROLE_NAME_SUFFIX)).toBe(
      JSON.stringify({ 'Fn::Join': ['', ['-', { Ref: 'AWS::Region' }]] }),
    );
    expect(withJobs.resolve(vend?.Properties.Environment.Variables.TVM_OWN_ROLE_ARN_PREFIX)).toBe(
      JSON.stringify({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/']],
      }),
    );
  });

  it('names export roles apart per stack, service and job, within 64 characters with any region', () => {
    const app = new App();
    const one = new Stack(app, 'TokenVendingMachine');
    const other = new Stack(app, 'TokenVendingMachineStaging');
    const serviceA = new Construct(one, 'ServiceA');
    const names = [
      exportRoleNameBase(serviceA, 'daily'),
      exportRoleNameBase(new Construct(one, 'ServiceB'), 'daily'),
      exportRoleNameBase(new Construct(other, 'ServiceA'), 'daily'),
      exportRoleNameBase(serviceA, 'hourly'),
    ];
    expect(new Set(names).size).toBe(4);
    const longest = exportRoleNameBase(new Construct(one, 'Long'), 'j'.repeat(40));
    expect(`${longest}-ap-southeast-4`.length).toBeLessThanOrEqual(64);
  });

  it('renames the roles when the consumers move to another role path (a role path cannot change in place)', () => {
    const service = new Construct(new Stack(new App(), 'TokenVendingMachine'), 'Service');
    const plain = exportRoleNameBase(service, 'daily');
    const tagged = exportRoleNameBase(service, 'daily', { kind: 'principalTag', tagKey: 'tvm-consumer' });
    const underA = exportRoleNameBase(service, 'daily', { kind: 'rolePath', rolePath: '/a/' });
    const underB = exportRoleNameBase(service, 'daily', { kind: 'rolePath', rolePath: '/b/' });
    // Without a role path the names stay what they were (no replacement on upgrade); with one, each path its own.
    expect(tagged).toBe(plain);
    expect(new Set([plain, underA, underB]).size).toBe(3);
  });

  it('keeps cdk-nag clean', () => {
    expect(
      new AwsSolutionsChecks(withJobs.stack).validateScope(withJobs.stack).violations.map((v) => v.ruleName),
    ).toEqual([]);
  });

  it('keeps noncurrent versions 30 days and takes access logs through the bucket policy, without ACLs', () => {
    const buckets = Object.entries(withJobs.template.findResources('AWS::S3::Bucket'));
    const exportBucket = buckets.find(([id]) => id.includes('ExportsBucket'))?.[1].Properties;
    expect(exportBucket?.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(exportBucket?.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } })]),
    );
    for (const [, bucket] of buckets) {
      expect(bucket.Properties.AccessControl).toBeUndefined();
      expect(bucket.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    }
    const policies = JSON.stringify(withJobs.template.findResources('AWS::S3::BucketPolicy'));
    expect(policies).toContain('logging.s3.amazonaws.com');
  });

  it('runs each job at most once at a time, with explicit async-invoke settings and the failure queue', () => {
    const [[exportId, exportFunction]] = Object.entries(
      withJobs.template.findResources('AWS::Lambda::Function'),
    ).filter(([, f]) => String(f.Properties.Description).startsWith('Analytics export')) as [[string, any]];
    expect(exportFunction.Properties.ReservedConcurrentExecutions).toBe(1);
    const invokeConfig = Object.values(withJobs.template.findResources('AWS::Lambda::EventInvokeConfig')).find((c) =>
      JSON.stringify(c.Properties.FunctionName).includes(exportId),
    );
    expect(invokeConfig?.Properties).toMatchObject({
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [expect.stringMatching(/FailureQueue/), 'Arn'] } },
      },
    });
  });

  it('rejects duplicate job names', () => {
    expect(() =>
      parseDeploymentConfig({ ...JSON.parse(JSON.stringify(exampleConfig)), exportJobs: [job, job] }),
    ).toThrow(/exportJobs\.1\.name: must be unique/);
  });
});
