import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';

import { exportJobSchema } from '../../lambdas/core/export-windows';
import { AnalyticsExportJob, jobDefinitionAsset } from '../../lib/analytics-export-job';
import { SCHEDULED_INVOCATION } from '../../lib/scheduled-invocations';

// One AnalyticsExportJob per kind: its Glue table with partition projection, its role
// (write only its own prefix, read nothing else), its schedule and concurrency, its job definition in a layer.

const jobs = [
  exportJobSchema.parse({
    name: 'flight-analytics',
    tenant: 'acme',
    schedule: 'cron(15 * * * ? *)',
    kind: 'graphql',
    url: 'https://api.example.com/graphql',
    query: `query Analytics($from: String!, $to: String!, $nextToken: String) { ${'x '.repeat(3000)} }`,
    itemsPath: 'data.analytics.items',
    pagination: { cursorPath: 'data.analytics.nextToken' },
    columns: { sessionid: 'string', detections: 'int', startedat: 'timestamp' },
    partitionsFrom: '2025-01-01',
  }),
  exportJobSchema.parse({
    name: 'users',
    tenant: 'globex',
    schedule: 'rate(1 hour)',
    kind: 'rest',
    baseUrl: 'https://rest.example.com',
    path: '/v1/users',
    query: { from: '{from}', to: '{to}' },
    pagination: { type: 'page', size: 200 },
  }),
];

// A small stack of its own: an IAM-authenticated API, an encrypted bucket, and the two jobs.
// No bundling and no built-in CloudFormation validation (seconds of WASM): fast; cdk-nag still runs below.
const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
const stack = new Stack(app, 'Test');
const api = new apigw.RestApi(stack, 'Api', { cloudWatchRole: false });
api.root.addResource('v1').addMethod('GET', new apigw.MockIntegration(), {
  authorizationType: apigw.AuthorizationType.IAM,
});
const bucket = new s3.Bucket(stack, 'ExportBucket', { enforceSSL: true, encryption: s3.BucketEncryption.S3_MANAGED });
const constructs = jobs.map((job) => new AnalyticsExportJob(stack, `ExportJob-${job.name}`, { job, api, bucket }));
const template = Template.fromStack(stack);
const resolve = (value: unknown) => JSON.stringify(stack.resolve(value));
const functions = template.findResources('AWS::Lambda::Function');
const exportFunctions = Object.entries(functions).filter(([, f]) =>
  String(f.Properties.Description).startsWith('Analytics export'),
);
const statementsOf = (name: string) =>
  Object.entries(template.findResources('AWS::IAM::Policy'))
    .filter(([id]) => id.toLowerCase().includes(`exportjob${name}`))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Array<Record<string, any>>);

describe('AnalyticsExportJob', () => {
  it('creates one Glue database and one table per job with partition projection on dt', () => {
    template.resourceCountIs('AWS::Glue::Database', 1);
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'test_exports' } });
    template.resourceCountIs('AWS::Glue::Table', 2);
    const tables = Object.values(template.findResources('AWS::Glue::Table'));
    const graphql = tables.find((t) => t.Properties.TableInput.Name === 'flight_analytics');
    const rest = tables.find((t) => t.Properties.TableInput.Name === 'users');
    expect(graphql?.Properties.TableInput).toMatchObject({
      TableType: 'EXTERNAL_TABLE',
      PartitionKeys: [{ Name: 'dt', Type: 'string' }],
      Parameters: {
        'projection.enabled': 'true',
        'projection.dt.type': 'date',
        'projection.dt.format': 'yyyy-MM-dd',
        'projection.dt.range': '2025-01-01,NOW',
        'projection.dt.interval': '1',
        'projection.dt.interval.unit': 'DAYS',
      },
      StorageDescriptor: {
        Columns: [
          { Name: 'sessionid', Type: 'string' },
          { Name: 'detections', Type: 'int' },
          { Name: 'startedat', Type: 'timestamp' },
        ],
        SerdeInfo: { SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
        InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
      },
    });
    expect(resolve(graphql?.Properties.TableInput.Parameters['storage.location.template'])).toMatch(
      /"s3:\/\/",\{"Ref":"ExportBucket\w*"\},"\/exports\/tenant=acme\/job=flight-analytics\/dt=\$\{dt\}\/"/,
    );
    // Without columns: one string column per JSON line.
    expect(rest?.Properties.TableInput.StorageDescriptor.Columns).toEqual([
      expect.objectContaining({ Name: 'record', Type: 'string' }),
    ]);
    expect(rest?.Properties.TableInput.Parameters['projection.dt.range']).toBe('2020-01-01,NOW');
  });

  it("lets the job's role write only its own prefix and read nothing else", () => {
    for (const [name, prefix] of [
      ['flightanalytics', 'exports/tenant=acme/job=flight-analytics/'],
      ['users', 'exports/tenant=globex/job=users/'],
    ] as const) {
      const own = statementsOf(name);
      const s3 = own.filter((s) => [s.Action].flat().some((a: string) => a.startsWith('s3:')));
      expect(s3).toHaveLength(2);
      const objects = s3.find((s) => [s.Action].flat().includes('s3:PutObject'));
      expect([objects?.Action].flat().sort()).toEqual([
        's3:AbortMultipartUpload',
        's3:DeleteObject',
        's3:GetObject',
        's3:PutObject',
      ]);
      expect(resolve(objects?.Resource)).toMatch(new RegExp(`"/${prefix.replace(/[/.]/g, '\\$&')}\\*"\\]\\]\\}$`));
      const list = s3.find((s) => [s.Action].flat().includes('s3:ListBucket'));
      expect(list?.Condition).toEqual({ StringLike: { 's3:prefix': [`${prefix}*`] } });
      // Nothing else of S3, and no Glue or Athena: the function only writes objects.
      expect(own.flatMap((s) => [s.Action].flat()).filter((a: string) => /^(s3|glue|athena):/.test(a))).toHaveLength(5);
    }
  });

  it('keeps the job definition out of the environment: a file in a layer, however long the query', () => {
    expect(exportFunctions).toHaveLength(2);
    for (const [, fn] of exportFunctions) {
      const variables = fn.Properties.Environment.Variables;
      expect(variables.TVM_EXPORT_JOB).toBeUndefined();
      expect(variables.TVM_EXPORT_JOB_FILE).toBe('/opt/tvm/export-job.json');
      expect(JSON.stringify(variables).length).toBeLessThan(4096);
      expect(fn.Properties.Layers).toHaveLength(1);
    }
    const layers = stack.node
      .findAll()
      .filter((c): c is lambda.LayerVersion => c instanceof lambda.LayerVersion && c.node.id === 'JobDefinition');
    expect(layers).toHaveLength(2);
  });

  it('runs at most one execution at a time, with explicit retries of the schedule and of failed runs', () => {
    for (const [id, fn] of exportFunctions) {
      expect(fn.Properties.ReservedConcurrentExecutions).toBe(1);
      expect(fn.Properties.Timeout).toBe(900);
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: id },
        MaximumRetryAttempts: SCHEDULED_INVOCATION.functionRetryAttempts,
      });
    }
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(15 * * * ? *)',
      Target: Match.objectLike({
        RetryPolicy: Match.objectLike({ MaximumRetryAttempts: SCHEDULED_INVOCATION.schedulerRetryAttempts }),
      }),
    });
  });

  it('refuses a maxPageBytes the function cannot hold a page of, naming the largest it can', () => {
    const job = exportJobSchema.parse({ ...jobs[0], name: 'huge-pages', maxPageBytes: 128 * 1024 * 1024 });
    expect(() => new AnalyticsExportJob(stack, 'Huge', { job, api, bucket })).toThrow(
      /Export job huge-pages: maxPageBytes 134217728 needs about 8 times that in memory, more than the function's 512 MB: at most 67108864/,
    );
    const bigger = new AnalyticsExportJob(stack, 'HugeWithMemory', { job, api, bucket, memorySize: 1536 });
    expect(bigger.function.function).toBeDefined();
  });

  it('keeps cdk-nag clean', () => {
    for (const scope of constructs)
      expect(new AwsSolutionsChecks(stack).validateScope(scope).violations.map((v) => v.ruleName)).toEqual([]);
  });
});

describe('job definition file', () => {
  let outdir: string;
  beforeEach(() => {
    outdir = mkdtempSync(join(tmpdir(), 'tvm-job-asset-'));
  });
  afterEach(() => rmSync(outdir, { recursive: true, force: true }));

  it('holds the whole validated job', () => {
    const [job] = jobs;
    if (!job) throw new Error('no job');
    const dir = jobDefinitionAsset(job, outdir);
    expect(JSON.parse(readFileSync(join(dir, 'tvm', 'export-job.json'), 'utf8'))).toEqual(job);
  });

  it('lives inside the cloud assembly, one directory per distinct job, the same on every synth', () => {
    const [first, second] = jobs;
    if (!first || !second) throw new Error('no jobs');
    const dir = jobDefinitionAsset(first, outdir);
    expect(dir.startsWith(join(outdir, 'tvm-export-jobs') + '/')).toBe(true);
    expect(jobDefinitionAsset(first, outdir)).toBe(dir);
    expect(jobDefinitionAsset(second, outdir)).not.toBe(dir);
  });

  it("is written into the app's outdir by a synth, and nowhere under the temp directory", () => {
    const synthApp = new App({
      outdir,
      context: { 'aws:cdk:bundling-stacks': [] },
      builtinCloudFormationValidation: false,
    });
    const synthStack = new Stack(synthApp, 'S');
    const synthApi = new apigw.RestApi(synthStack, 'Api', { cloudWatchRole: false });
    synthApi.root.addMethod('GET', new apigw.MockIntegration(), { authorizationType: apigw.AuthorizationType.IAM });
    const [job] = jobs;
    if (!job) throw new Error('no job');
    const before = new Set(readdirSync(tmpdir()).filter((name) => name.startsWith('tvm-export-job-')));
    new AnalyticsExportJob(synthStack, 'Job', {
      job,
      api: synthApi,
      bucket: new s3.Bucket(synthStack, 'Bucket', { enforceSSL: true }),
    });
    synthApp.synth();
    expect(readdirSync(join(outdir, 'tvm-export-jobs'))).toHaveLength(1);
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith('tvm-export-job-') && !before.has(name))).toEqual([]);
  });
});
