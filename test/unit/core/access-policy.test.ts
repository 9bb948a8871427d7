import { AccessPolicy, consumersSchema, normalisePrincipal } from '../../../lambdas/core/access-policy';
import { ForbiddenError } from '../../../lambdas/core/errors';

const exportRole = 'arn:aws:iam::123456789012:role/analytics-export';

describe('normalisePrincipal', () => {
  it('maps an assumed-role session ARN to its role ARN', () => {
    expect(normalisePrincipal('arn:aws:sts::123456789012:assumed-role/analytics-export/job-42')).toBe(exportRole);
  });

  it('compares roles without their path, which session ARNs do not show', () => {
    expect(normalisePrincipal('arn:aws:iam::123456789012:role/service-role/analytics-export')).toBe(exportRole);
  });

  it('leaves users and other partitions intact', () => {
    expect(normalisePrincipal('arn:aws:iam::123456789012:user/ci')).toBe('arn:aws:iam::123456789012:user/ci');
    expect(normalisePrincipal('arn:aws-cn:sts::123456789012:assumed-role/r/s')).toBe(
      'arn:aws-cn:iam::123456789012:role/r',
    );
  });
});

describe('AccessPolicy', () => {
  const policy = new AccessPolicy([
    { principal: exportRole, tenants: ['acme', 'globex'] },
    { principal: 'arn:aws:iam::123456789012:role/platform', tenants: ['*'] },
  ]);

  it('allows listed tenants for an assumed-role caller', () => {
    expect(policy.isAllowed('arn:aws:sts::123456789012:assumed-role/analytics-export/run-1', 'acme')).toBe(true);
    expect(policy.access('arn:aws:sts::123456789012:assumed-role/analytics-export/run-1')).toBe('listed');
  });

  it('denies unlisted tenants, unknown callers and missing identities', () => {
    expect(policy.isAllowed(exportRole, 'initech')).toBe(false);
    expect(policy.isAllowed('arn:aws:iam::999999999999:role/analytics-export', 'acme')).toBe(false);
    expect(policy.isAllowed(undefined, 'acme')).toBe(false);
    expect(() => policy.authorise(exportRole, 'initech')).toThrow(ForbiddenError);
  });

  it('lets "*" allow every tenant', () => {
    expect(policy.isAllowed('arn:aws:sts::123456789012:assumed-role/platform/x', 'anything')).toBe(true);
    expect(policy.access('arn:aws:iam::123456789012:role/platform')).toBe('all');
  });
});

describe('consumersSchema', () => {
  it('rejects a principal that is not an IAM ARN and an empty tenant list', () => {
    const result = consumersSchema.safeParse([{ principal: 'analytics', tenants: [] }]);
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((issue) => issue.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['0.principal', '0.tenants']));
  });
});
