import { TenantMisconfiguredError } from '../../../lambdas/core/errors';
import { parseTenantConfig } from '../../../lambdas/core/tenant-config';
import { cognitoSecret, loginEndpointSecret } from '../../support/fakes';

function problemsOf(secret: unknown): string[] {
  try {
    parseTenantConfig('acme', typeof secret === 'string' ? secret : JSON.stringify(secret));
  } catch (error) {
    expect(error).toBeInstanceOf(TenantMisconfiguredError);
    expect((error as Error).message).toContain("Tenant 'acme'");
    return [...(error as TenantMisconfiguredError).problems];
  }
  throw new Error('expected the secret to be rejected');
}

describe('tenant secret schema', () => {
  it('accepts a Cognito secret and fills the Unleash-style header defaults', () => {
    const config = parseTenantConfig('acme', JSON.stringify(cognitoSecret));
    expect(config).toMatchObject({ provider: 'cognito', refreshTokenRotation: false, claims: ['custom:companyId'] });
    expect(config.headers).toEqual({ authorization: '{idToken}', 'X-Amz-Cognito-Security-Token': '{idToken}' });
  });

  it('accepts a login-endpoint secret with its defaults', () => {
    const config = parseTenantConfig('acme', JSON.stringify(loginEndpointSecret));
    expect(config).toMatchObject({ provider: 'login-endpoint', loginPath: '/auth/login', tokenTtlSeconds: 3600 });
    expect(config.headers).toEqual({ Authorization: '{token}', identityId: '{identityId}', 'x-api-key': '{apiKey}' });
  });

  it('names each bad field and never echoes a value', () => {
    const problems = problemsOf({ ...cognitoSecret, region: 'Sup3r-Secret-Pa55!', password: '', userPoolId: 42 });
    expect(problems.some((p) => p.startsWith('region:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('password:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('userPoolId:'))).toBe(true);
    expect(problems.join(' ')).not.toContain('Sup3r-Secret-Pa55!');
  });

  it('rejects unknown keys, by name', () => {
    expect(problemsOf({ ...cognitoSecret, pasword: 'typo' }).join(' ')).toContain('pasword');
  });

  it('rejects a missing or unknown provider', () => {
    expect(problemsOf({ ...cognitoSecret, provider: 'okta' }).join(' ')).toContain('provider');
    const { provider: _omitted, ...withoutProvider } = cognitoSecret;
    expect(problemsOf(withoutProvider).join(' ')).toContain('provider');
  });

  it('rejects text that is not JSON without quoting it', () => {
    const problems = problemsOf('{"password": "Sup3r-Secret-Pa55!"');
    expect(problems).toEqual(['secret is not valid JSON']);
  });

  it('rejects header templates with placeholders the provider cannot fill', () => {
    const problems = problemsOf({ ...cognitoSecret, headers: { authorization: 'Bearer {token}' } });
    expect(problems.join(' ')).toMatch(/headers\.authorization: unknown placeholder \{token\}/);
  });

  it('requires the login endpoint to be an http(s) URL', () => {
    expect(problemsOf({ ...loginEndpointSecret, baseUrl: 'ftp://x' }).join(' ')).toContain('baseUrl');
  });
});
