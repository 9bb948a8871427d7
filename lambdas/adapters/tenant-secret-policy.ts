// The resource policy `tvm tenant put` attaches to a tenant secret: nobody but the service roles (vend, refresh)
// may read its value, whatever their IAM policies say. It denies only `secretsmanager:GetSecretValue` (which also
// governs `BatchGetSecretValue`), so operators keep managing the secret through their own IAM permissions: new
// versions, description, rotation, deletion, and this policy itself.

/** An IAM role ARN (with an optional path), as the stack's `VendRoleArn` and `RefreshRoleArn` outputs give them. */
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

/** A reader that is not an IAM role ARN (an assumed-role session, a user, a typo): names the value, never a secret. */
export class TenantSecretPolicyError extends Error {
  override readonly name = 'TenantSecretPolicyError';
  readonly code = 'invalid_request';
}

export interface TenantSecretPolicyStatement {
  readonly Sid: string;
  readonly Effect: 'Deny';
  readonly Principal: '*';
  readonly Action: 'secretsmanager:GetSecretValue';
  readonly Resource: '*';
  readonly Condition: { readonly ArnNotEquals: { readonly 'aws:PrincipalArn': readonly string[] } };
}

export interface TenantSecretPolicy {
  readonly Version: '2012-10-17';
  readonly Statement: readonly [TenantSecretPolicyStatement];
}

/**
 * The policy letting only `readerRoleArns` read the secret's value. `aws:PrincipalArn` is the role's ARN for its
 * assumed-role sessions too (Lambda's included), so one ARN per role is enough.
 */
export function tenantSecretPolicy(readerRoleArns: readonly string[]): TenantSecretPolicy {
  const readers = [...new Set(readerRoleArns)];
  if (readers.length === 0) throw new TenantSecretPolicyError('At least one reader role ARN is needed.');
  for (const arn of readers) {
    if (!ROLE_ARN.test(arn)) {
      const hint = arn.includes(':assumed-role/')
        ? ' (an assumed-role session: give the role ARN, arn:aws:iam::<account>:role/<name>)'
        : '';
      throw new TenantSecretPolicyError(`'${arn}' is not an IAM role ARN${hint}.`);
    }
  }
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DenyReadExceptServiceRoles',
        Effect: 'Deny',
        Principal: '*',
        Action: 'secretsmanager:GetSecretValue',
        Resource: '*',
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': readers } },
      },
    ],
  };
}
