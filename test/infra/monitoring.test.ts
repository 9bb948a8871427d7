import { exampleConfig, synth } from './support';

const { template } = synth();

describe('TokenVendingMonitoring', () => {
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
});
