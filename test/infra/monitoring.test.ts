import { App } from 'aws-cdk-lib';

import { THRESHOLDS } from '../../lib/monitoring';
import { TokenVendingStack } from '../../lib/token-vending-stack';
import { exampleConfig, serviceConfig, synth } from './support';

const { template, resolve } = synth(exampleConfig);
const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm'));
const alarm = (part: string) => alarms.find(([id]) => id.includes(part))?.[1].Properties;

describe('TokenVendingMonitoring', () => {
  it('alarms on upstream failures, function errors and throttles, all to the topic', () => {
    const metrics = alarms.map(([, a]) => `${a.Properties.Namespace}/${a.Properties.MetricName}`);
    expect(metrics).toEqual(
      expect.arrayContaining([
        'TokenVendingMachine/UpstreamFailureByCode',
        'TokenVendingMachine/SharedCacheError',
        'TokenVendingMachine/LockedOut',
        'AWS/Lambda/Errors',
        'AWS/Lambda/Throttles',
        'AWS/Scheduler/InvocationDroppedCount',
        'AWS/Scheduler/TargetErrorCount',
        'AWS/SQS/NumberOfMessagesSent',
      ]),
    );
    const codes = alarms.flatMap(([, a]) =>
      (a.Properties.Dimensions ?? []).filter((d: any) => d.Name === 'code').map((d: any) => d.Value),
    );
    expect(codes).toEqual(expect.arrayContaining(['upstream_auth_failed', 'upstream_unavailable']));
    for (const [, a] of alarms) expect(a.Properties.AlarmActions).toHaveLength(1);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: exampleConfig.alarmEmail });
  });

  it('alarms on the 5xx rate (metric math over a minimum of requests), not on one error', () => {
    const rate = alarm('Api5xxRate');
    expect(rate?.Threshold).toBe(THRESHOLDS.api5xxPercent);
    expect(rate?.EvaluationPeriods).toBe(3);
    expect(rate?.DatapointsToAlarm).toBe(THRESHOLDS.api5xxBreachingPeriods);
    const expression = rate?.Metrics.find((m: any) => m.Expression)?.Expression;
    expect(expression).toBe(`IF(requests >= ${THRESHOLDS.api5xxMinRequests}, 100 * errors / requests, 0)`);
    const names = rate?.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric.MetricName);
    expect(names.sort()).toEqual(['5XXError', 'Count']);
    const apiName = rate?.Metrics.find((m: any) => m.MetricStat)?.MetricStat.Metric.Dimensions[0];
    expect(apiName.Name).toBe('ApiName');
    expect(apiName.Value).toMatch(/^Test-Service-Api-/);
    expect(alarms.some(([, a]) => a.Properties.MetricName === '5XXError')).toBe(false);
  });

  it('alarms when the refresher runs out of time before every tenant, and only where there is a refresher', () => {
    const skipped = alarm('RefreshSkipped');
    expect(skipped).toMatchObject({
      Namespace: 'TokenVendingMachine',
      MetricName: 'RefreshSkipped',
      Statistic: 'Sum',
      Threshold: THRESHOLDS.refreshSkipped,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(String(skipped?.AlarmDescription)).toMatch(/ran out of time/);
    const { template: plain } = synth({ ...serviceConfig, sharedCache: false });
    const plainAlarms = Object.keys(plain.findResources('AWS::CloudWatch::Alarm'));
    expect(plainAlarms.length).toBeGreaterThan(0);
    expect(plainAlarms.filter((id) => id.includes('RefreshSkipped'))).toEqual([]);
  });

  it('has heartbeats for the refresher and each export job: missing data is breaching', () => {
    // rate(5 minutes) and cron(15 * * * ? *): one period of twice the schedule's longest gap (heartbeat.test.ts).
    const refresher = alarm('RefresherHeartbeat');
    expect(refresher).toMatchObject({
      MetricName: 'Invocations',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
      Period: 600,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
    });
    const exportHeartbeat = alarm('ExportflightanalyticsHeartbeat');
    expect(exportHeartbeat).toMatchObject({
      TreatMissingData: 'breaching',
      Period: 7200,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
    });
    expect(String(exportHeartbeat?.AlarmDescription)).toMatch(/has not run for 2 hours .*cron\(15 \* \* \* \? \*\)/);
    // And when it runs but every pending window keeps pausing, over the same window: no progress.
    expect(alarm('ExportflightanalyticsNoProgress')).toMatchObject({
      Namespace: 'TokenVendingMachine',
      MetricName: 'ExportNoProgress',
      Dimensions: expect.arrayContaining([{ Name: 'job', Value: 'flight-analytics' }]),
      Statistic: 'Minimum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      Period: 7200,
      EvaluationPeriods: 1,
    });
    expect(alarm('RefresherNoProgress')).toBeUndefined();
  });

  it('describes what each alarm means', () => {
    for (const [, a] of alarms) expect(String(a.Properties.AlarmDescription)).toMatch(/^token-vending-machine: .{20,}/);
  });

  it('encrypts the alarm topic with a key CloudWatch may use, scoped to this account and its alarms', () => {
    const keys = Object.values(template.findResources('AWS::KMS::Key'));
    const statement = keys
      .flatMap((k) => k.Properties.KeyPolicy.Statement as Array<Record<string, any>>)
      .find((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(statement?.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    expect(statement?.Condition.StringEquals['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
    expect(resolve(statement?.Condition.ArnLike['aws:SourceArn'])).toMatch(/:cloudwatch:.*:alarm:\*/);
  });

  it('keeps the topic SSL-only and admits CloudWatch with the same conditions', () => {
    const statements = Object.values(template.findResources('AWS::SNS::TopicPolicy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Array<Record<string, any>>,
    );
    expect(statements.some((s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false')).toBe(
      true,
    );
    const cloudwatch = statements.find((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(cloudwatch?.Action).toBe('sns:Publish');
    expect(cloudwatch?.Condition.StringEquals['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
    expect(cloudwatch?.Condition.ArnLike['aws:SourceArn']).toBeDefined();
  });

  it('creates the dashboard with every widget operators need, and outputs its name', () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = resolve(dashboards[0]?.Properties.DashboardBody);
    for (const title of [
      'Vends',
      'Cache hit ratio',
      'sign-ins and refreshes',
      'failures by code',
      'Locked-out tenants',
      'Latency',
      '4xx and 5xx',
      'Refresher outcomes',
      'Export outcomes',
      'Alarms',
    ])
      expect(body).toContain(title);
    for (const needle of ['p50', 'p99', 'CacheHit', 'SharedCacheHit', 'UpstreamFailureByCode', 'RefreshRenewed'])
      expect(body).toContain(needle);
    const outputs = Object.keys(template.toJSON().Outputs);
    expect(outputs.some((name) => name.includes('DashboardName'))).toBe(true);
  });
});

describe('alarms: false', () => {
  it('deploys the alarms without notifications even when a destination is still configured', () => {
    const { template: quiet } = synth({ ...serviceConfig, alarms: false });
    const quietAlarms = Object.values(quiet.findResources('AWS::CloudWatch::Alarm'));
    expect(quietAlarms.length).toBeGreaterThan(0);
    for (const a of quietAlarms) expect(a.Properties.AlarmActions ?? []).toEqual([]);
    expect(Object.keys(quiet.findResources('AWS::SNS::Subscription'))).toEqual([]);
    expect(Object.keys(quiet.findResources('AWS::SNS::Topic'))).toEqual([]);
  });
});

describe('the dashboard', () => {
  it("shows every alarm of the stack, the export jobs' failure alarms among them", () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = resolve(dashboard?.Properties.DashboardBody);
    const ids = alarms.map(([id]) => id);
    expect(ids.some((id) => id.includes('FailedAlarm'))).toBe(true);
    for (const id of ids) expect(body).toContain(id);
  });
});

describe('alarmTopicArn', () => {
  const withTopic = {
    ...serviceConfig,
    alarmEmail: undefined,
    alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops',
  };

  it('adds a template rule that fails a deployment to another region than the topic (the stack is region-agnostic)', () => {
    const rules = synth(withTopic).template.toJSON().Rules as Record<string, any>;
    const rule = rules.AlarmTopicInStackRegion;
    expect(JSON.stringify(rule.Assertions[0].Assert)).toBe(
      JSON.stringify({ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] }),
    );
    expect(rule.Assertions[0].AssertDescription).toMatch(/alarmTopicArn: the topic is in eu-west-1/);
  });

  it("refuses at synthesis a topic outside the stack's region when the region is known", () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    expect(
      () =>
        new TokenVendingStack(app, 'Regional', {
          config: withTopic,
          env: { account: '123456789012', region: 'ap-southeast-2' },
        }),
    ).toThrow(/alarmTopicArn: the topic is in eu-west-1.*\(ap-southeast-2\)/);
    expect(
      () =>
        new TokenVendingStack(app, 'SameRegion', {
          config: withTopic,
          env: { account: '123456789012', region: 'eu-west-1' },
        }),
    ).not.toThrow();
  });
});
