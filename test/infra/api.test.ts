import { Match } from 'aws-cdk-lib/assertions';

import { exampleConfig, serviceConfig, synth } from './support';

const { template } = synth();

describe('TokenApi', () => {
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
