import { tenantSecretPolicy, TenantSecretPolicyError } from '../../../lambdas/adapters/tenant-secret-policy';

const VEND = 'arn:aws:iam::123456789012:role/TokenVendingMachine-ServiceFunctionsVendRole-AbC123';
const REFRESH = 'arn:aws:iam::123456789012:role/service/TokenVendingMachine-RefreshRole-XyZ789';

describe('tenantSecretPolicy', () => {
  it('denies reading the value to every principal but the reader roles, and nothing else', () => {
    expect(tenantSecretPolicy([VEND, REFRESH, VEND])).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'DenyReadExceptServiceRoles',
          Effect: 'Deny',
          Principal: '*',
          Action: 'secretsmanager:GetSecretValue',
          Resource: '*',
          Condition: { ArnNotEquals: { 'aws:PrincipalArn': [VEND, REFRESH] } },
        },
      ],
    });
  });

  it('accepts roles in other partitions and with paths', () => {
    const gov = 'arn:aws-us-gov:iam::123456789012:role/a/b/reader';
    expect(tenantSecretPolicy([gov]).Statement[0].Condition.ArnNotEquals['aws:PrincipalArn']).toEqual([gov]);
  });

  it.each([
    ['arn:aws:sts::123456789012:assumed-role/Vend/session', /assumed-role session: give the role ARN/],
    ['arn:aws:iam::123456789012:user/ops', /is not an IAM role ARN/],
    ['arn:aws:iam::12345:role/short-account', /is not an IAM role ARN/],
    ['VendRole', /is not an IAM role ARN/],
  ])('refuses %s', (arn, message) => {
    expect(() => tenantSecretPolicy([VEND, arn])).toThrow(message);
    expect(() => tenantSecretPolicy([arn])).toThrow(TenantSecretPolicyError);
  });

  it('needs at least one reader (a policy denying everyone would lock the service out)', () => {
    expect(() => tenantSecretPolicy([])).toThrow(/At least one reader/);
  });
});
