import { Match } from 'aws-cdk-lib/assertions';

import { STATUS_BY_CODE } from '../../contract/error-codes';
import { parseDeploymentConfig } from '../../lib/config';
import { GATEWAY_RESPONSES } from '../../lib/gateway-responses';
import { policyLength, QUOTAS } from '../../lib/quotas';
import { exampleConfig, serviceConfig, synth } from './support';

const { template, resolve } = synth();
const restApi = () => Object.values(template.findResources('AWS::ApiGateway::RestApi'))[0];
const statementsOf = (api: any) => api?.Properties.Policy.Statement as Array<Record<string, any>>;

describe('TokenApi', () => {
  it('requires AWS_IAM on every method: GET routes, and ANY elsewhere so that the function answers 404/405', () => {
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));
    expect(methods.map((m) => m.Properties.HttpMethod).sort()).toEqual([
      'ANY',
      'ANY',
      'ANY',
      'ANY',
      'ANY',
      'GET',
      'GET',
      'GET',
    ]);
    for (const method of methods) expect(method.Properties.AuthorizationType).toBe('AWS_IAM');
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: '{proxy+}' });
  });

  it('admits exactly the configured principals and denies everyone else', () => {
    const statements = statementsOf(restApi());
    const allow = statements.find((s) => s.Effect === 'Allow');
    const principals = [allow?.Principal.AWS].flat().sort();
    expect(principals).toEqual(exampleConfig.consumers.map((c) => c.principal).sort());
    const deny = statements.find((s) => s.Effect === 'Deny');
    expect(deny?.Condition.ArnNotLike['aws:PrincipalArn'].sort()).toEqual(principals);
    expect(restApi()?.Properties.EndpointConfiguration.Types).toEqual(['REGIONAL']);
  });

  it('has a unique name (alarms and the dashboard find its metrics by name)', () => {
    expect(restApi()?.Properties.Name).toMatch(/^Test-Service-Api-[A-Za-z0-9]+$/);
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

  it('access logs record caller ARN, path, status, error and VPC endpoint, kept 365 days', () => {
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0];
    const format = JSON.parse(stage?.Properties.AccessLogSetting.Format);
    expect(format).toMatchObject({
      caller: '$context.identity.userArn',
      path: '$context.path',
      status: '$context.status',
      error: '$context.error.message',
      vpceId: '$context.identity.vpceId',
      requestId: '$context.requestId',
    });
    const destination = resolve(stage?.Properties.AccessLogSetting.DestinationArn);
    const [logicalId] = /ServiceApiAccessLogs[A-Za-z0-9]+/.exec(destination) ?? [];
    expect(template.toJSON().Resources[logicalId ?? '']?.Properties.RetentionInDays).toBe(365);
  });

  it('does not take over the region-wide API Gateway CloudWatch role, and logs no execution errors, by default', () => {
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0];
    expect(stage?.Properties.MethodSettings[0].LoggingLevel).toBe('OFF');
  });

  it('with execution logging opted in, creates the execution log group with retention (and the role only if asked)', () => {
    const { template: logged } = synth({ ...serviceConfig, executionLogging: true });
    logged.resourceCountIs('AWS::ApiGateway::Account', 0);
    const group = Object.values(logged.findResources('AWS::Logs::LogGroup')).find((g) =>
      JSON.stringify(g.Properties.LogGroupName ?? '').includes('API-Gateway-Execution-Logs_'),
    );
    expect(group?.Properties.RetentionInDays).toBe(30);
    const { template: withRole } = synth({
      ...serviceConfig,
      executionLogging: true,
      createApiGatewayCloudWatchRole: true,
    });
    withRole.resourceCountIs('AWS::ApiGateway::Account', 1);
  });

  it('lets only the deployed stage invoke the function (no console test-invoke permission)', () => {
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission'));
    const sources = permissions.map((p) => resolve(p.Properties.SourceArn));
    expect(sources.length).toBeGreaterThan(0);
    expect(sources.filter((s) => s.includes('test-invoke-stage'))).toEqual([]);
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
    expect(
      statementsOf(api).some(
        (s) =>
          s.Effect === 'Deny' && s.Condition?.StringNotEquals?.['aws:SourceVpce']?.[0] === 'vpce-0123456789abcdef0',
      ),
    ).toBe(true);
  });
});

describe('compact resource policy (apiAccess)', () => {
  const other = 'arn:aws:iam::210987654321:role/tvm/reporting';
  const consumers = [
    { principal: 'arn:aws:iam::123456789012:role/tvm/analytics', tenants: ['acme'] },
    { principal: other, tenants: ['*'] },
  ];

  it('by role path: admits the consumer accounts, denies other accounts and roles outside the path', () => {
    const { template: t, resolve: r } = synth({ ...serviceConfig, consumers, apiAccess: { rolePath: '/tvm/' } });
    const statements = statementsOf(Object.values(t.findResources('AWS::ApiGateway::RestApi'))[0]);
    const allow = statements.find((s) => s.Effect === 'Allow');
    // The accounts themselves: callers still need execute-api:Invoke in their identity policies.
    expect(r(allow?.Principal.AWS)).toContain(':iam::123456789012:root');
    expect(r(allow?.Principal.AWS)).toContain(':iam::210987654321:root');
    expect(allow?.Condition).toBeUndefined();
    const denies = statements.filter((s) => s.Effect === 'Deny');
    expect(denies.find((s) => s.Condition.StringNotEquals)?.Condition.StringNotEquals['aws:PrincipalAccount']).toEqual([
      '123456789012',
      '210987654321',
    ]);
    // One pattern for every account: the account statements pin the accounts.
    const paths = r(denies.find((s) => s.Condition.ArnNotLike)?.Condition.ArnNotLike['aws:PrincipalArn']);
    expect(paths).toBe(JSON.stringify({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::*:role/tvm/*']] }));
    expect(JSON.stringify(statements)).not.toContain('role/tvm/analytics');
  });

  it.each([
    ['role path', { rolePath: '/tvm-consumers/' }],
    ['principal tag', { principalTag: 'tvm-consumer' }],
  ])('by %s: 140 consumer accounts fit in 8,192 characters; 200 are refused, saying why', (_mode, apiAccess) => {
    const inAccounts = (count: number) =>
      Array.from({ length: count }, (_, i) => ({
        principal: `arn:aws:iam::${String(100000000000 + i * 7919)}:role/tvm-consumers/reader`,
        tenants: ['acme'],
      }));
    const { template: t } = synth({ ...serviceConfig, consumers: inAccounts(140), apiAccess });
    const api = Object.values(t.findResources('AWS::ApiGateway::RestApi'))[0];
    expect(policyLength(api?.Properties.Policy)).toBeLessThanOrEqual(QUOTAS.apiResourcePolicyChars);
    expect(() => synth({ ...serviceConfig, consumers: inAccounts(200), apiAccess })).toThrow(
      /over API Gateway's 8192: the consumers are in 200 accounts.*add "organizationId" to "apiAccess".*split them over two deployments/s,
    );
  });

  it.each([
    ['role path', { rolePath: '/tvm-consumers/', organizationId: 'o-a1b2c3d4e5' }],
    ['principal tag', { principalTag: 'tvm-consumer', organizationId: 'o-a1b2c3d4e5' }],
  ])('by organization and %s: 1,000 consumer accounts fit, the policy names no account', (_mode, apiAccess) => {
    const consumersIn = Array.from({ length: 1_000 }, (_, i) => ({
      principal: `arn:aws:iam::${String(100000000000 + i * 7919)}:role/tvm-consumers/reader`,
      tenants: ['acme'],
    }));
    const { template: t } = synth({ ...serviceConfig, consumers: consumersIn, apiAccess });
    const api = Object.values(t.findResources('AWS::ApiGateway::RestApi'))[0];
    expect(policyLength(api?.Properties.Policy)).toBeLessThan(2_000);
    const statements = statementsOf(api);
    const allow = statements.find((s) => s.Effect === 'Allow');
    expect(allow?.Condition).toEqual({ StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } });
    expect(
      statements.some(
        (s) => s.Effect === 'Deny' && s.Condition?.StringNotEquals?.['aws:PrincipalOrgID'] === 'o-a1b2c3d4e5',
      ),
    ).toBe(true);
    // The path or tag still narrows who in the organization gets in.
    expect(statements.filter((s) => s.Effect === 'Deny')).toHaveLength(2);
    expect(JSON.stringify(statements)).not.toContain('100000000000');
  });

  it('refuses an organizationId that is not one, naming the field', () => {
    expect(() =>
      parseDeploymentConfig({ ...serviceConfig, apiAccess: { rolePath: '/tvm/', organizationId: 'org-1' } }),
    ).toThrow(/apiAccess.*organizationId.*AWS Organizations id/s);
  });

  it('by principal tag: denies principals without <tag>=true', () => {
    const { template: t } = synth({ ...serviceConfig, consumers, apiAccess: { principalTag: 'tvm-consumer' } });
    const statements = statementsOf(Object.values(t.findResources('AWS::ApiGateway::RestApi'))[0]);
    expect(
      statements.some(
        (s) => s.Effect === 'Deny' && s.Condition?.StringNotEquals?.['aws:PrincipalTag/tvm-consumer'] === 'true',
      ),
    ).toBe(true);
  });

  it('names vpcEndpointIds when the endpoints are what does not fit', () => {
    const vpcEndpointIds = Array.from({ length: 400 }, (_, i) => `vpce-${String(i).padStart(17, '0')}`);
    expect(() => synth({ ...serviceConfig, vpcEndpointIds })).toThrow(/its 400 vpcEndpointIds take \d+ of them/);
  });

  it('refuses a listed-principals policy over 8,192 characters, saying what to set', () => {
    const many = Array.from({ length: 120 }, (_, i) => ({
      principal: `arn:aws:iam::123456789012:role/consumer-number-${i}`,
      tenants: ['acme'],
    }));
    expect(() => synth({ ...serviceConfig, consumers: many })).toThrow(/over API Gateway's 8192.*"apiAccess"/s);
  });
});

describe('gateway responses', () => {
  const responses = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse'));
  const byType = new Map(responses.map((r) => [r.Properties.ResponseType, r.Properties]));

  it.each(GATEWAY_RESPONSES.map((d) => [d.type.responseType, d.code] as const))(
    '%s answers %s in the API error shape with no-store',
    (type, code) => {
      const response = byType.get(type);
      expect(response?.StatusCode).toBe(String(STATUS_BY_CODE[code]));
      expect(response?.ResponseParameters['gatewayresponse.header.Cache-Control']).toBe("'no-store'");
      const body = JSON.parse(response?.ResponseTemplates['application/json']);
      expect(body).toEqual({ error: { code, message: expect.any(String) }, requestId: '$context.requestId' });
    },
  );

  it('covers unsigned, bad signature, resource-policy denial, throttling and integration timeout', () => {
    const codeOf = (type: string) =>
      JSON.parse(byType.get(type)?.ResponseTemplates['application/json'] ?? '{}').error?.code;
    expect(codeOf('MISSING_AUTHENTICATION_TOKEN')).toBe('unauthenticated');
    expect(codeOf('INVALID_SIGNATURE')).toBe('unauthenticated');
    expect(codeOf('ACCESS_DENIED')).toBe('forbidden');
    expect(codeOf('THROTTLED')).toBe('throttled');
    expect(byType.get('THROTTLED')?.StatusCode).toBe('429');
    expect(byType.get('THROTTLED')?.ResponseParameters['gatewayresponse.header.Retry-After']).toBe("'1'");
    expect(codeOf('INTEGRATION_TIMEOUT')).toBe('upstream_timeout');
    expect(byType.get('INTEGRATION_TIMEOUT')?.StatusCode).toBe('504');
    expect(codeOf('RESOURCE_NOT_FOUND')).toBe('not_found');
    expect(codeOf('DEFAULT_4XX')).toBe('invalid_request');
    expect(codeOf('DEFAULT_5XX')).toBe('internal_error');
  });
});
