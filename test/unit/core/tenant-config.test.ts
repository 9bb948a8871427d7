import { TenantMisconfiguredError } from '../../../lambdas/core/errors';
import {
  HTTPS_ONLY_MESSAGE,
  isLoopbackHost,
  parseTenantConfig,
  upstreamRequestUrl,
} from '../../../lambdas/core/tenant-config';
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

  describe('upstream URLs: https, or plain http to this machine only', () => {
    it.each([
      ['baseUrl', loginEndpointSecret, { baseUrl: 'http://api.example.com' }],
      ['jwt.jwksUri', loginEndpointSecret, { jwt: { issuer: 'https://i', jwksUri: 'http://10.0.0.1/jwks.json' } }],
      ['endpoint', cognitoSecret, { endpoint: 'http://cognito.example.com' }],
      ['issuer', cognitoSecret, { issuer: 'http://cognito.example.com/pool' }],
      ['jwksUri', cognitoSecret, { jwksUri: 'http://169.254.169.254/keys' }],
    ])('refuses a plain-http %s off this machine, with a clear message', (field, base, overrides) => {
      expect(problemsOf({ ...base, ...overrides })).toContain(`${field}: ${HTTPS_ONLY_MESSAGE}`);
    });

    it.each([
      'http://127.0.0.1:9229',
      'http://127.8.9.10/x',
      'http://localhost:8080',
      'http://[::1]:9000',
      'https://x.example',
    ])('accepts %s', (baseUrl) => {
      expect(parseTenantConfig('acme', JSON.stringify({ ...loginEndpointSecret, baseUrl }))).toMatchObject({ baseUrl });
    });

    it('refuses other schemes, credentials in the URL and look-alike hosts', () => {
      expect(problemsOf({ ...loginEndpointSecret, baseUrl: 'ftp://api.example.com' })).toContain(
        `baseUrl: ${HTTPS_ONLY_MESSAGE}`,
      );
      expect(problemsOf({ ...loginEndpointSecret, baseUrl: 'https://user:pw@api.example.com' })).toContain(
        'baseUrl: must not carry a user name or password',
      );
      expect(isLoopbackHost('127.0.0.1.evil.example')).toBe(false);
      expect(isLoopbackHost('localhost.evil.example')).toBe(false);
      expect(isLoopbackHost('[::1]')).toBe(true);
    });

    it('refuses a path that would leave the host (//other-host)', () => {
      expect(problemsOf({ ...loginEndpointSecret, loginPath: '//evil.example/login' }).join(' ')).toContain(
        'loginPath: must start with a single /',
      );
    });

    // Each starts with a single `/`, yet the URL parser reads `\` as `/` and drops tab, CR and LF: all resolve to
    // evil.example, so the password and API key would go there.
    const leaving: Array<[string, string]> = [
      ['a backslash', '/\\evil.example/steal'],
      ['two backslashes', '/\\\\evil.example/steal'],
      ['a tab', '/\t/evil.example/steal'],
      ['a line feed', '/\n/evil.example/steal'],
      ['a carriage return', '/\r/evil.example/steal'],
    ];

    describe.each(['loginPath', 'refreshPath'])('%s', (field) => {
      it.each(leaving)('refuses a path with %s that resolves to another host, naming the field', (_name, path) => {
        expect(new URL(path, 'https://api.example.com').host).toBe('evil.example');
        const problems = problemsOf({ ...loginEndpointSecret, [field]: path });
        expect(problems).toEqual([`${field}: must not contain a backslash or control character`]);
        expect(problems.join(' ')).not.toContain('evil.example');
      });

      it.each([
        ['a NUL', '/auth\u0000/login'],
        ['a DEL', '/auth/login\u007f'],
        ['a backslash further on', '/auth\\login'],
      ])('refuses %s anywhere in it', (_name, path) => {
        expect(problemsOf({ ...loginEndpointSecret, [field]: path })).toEqual([
          `${field}: must not contain a backslash or control character`,
        ]);
      });
    });

    it('accepts paths on the base URL’s host, with a query', () => {
      const config = parseTenantConfig(
        'acme',
        JSON.stringify({
          ...loginEndpointSecret,
          baseUrl: 'http://localhost:9/v1/',
          loginPath: '/v1/auth/login?x=1',
          refreshPath: '/v1/auth/refresh',
        }),
      );
      expect(config).toMatchObject({ loginPath: '/v1/auth/login?x=1', refreshPath: '/v1/auth/refresh' });
    });

    it('reports a bad baseUrl once, not again under each path', () => {
      expect(problemsOf({ ...loginEndpointSecret, baseUrl: 'http://api.example.com', refreshPath: '/r' })).toEqual([
        `baseUrl: ${HTTPS_ONLY_MESSAGE}`,
      ]);
    });
  });

  describe('upstreamRequestUrl: the URL a request goes to, checked as built', () => {
    it('resolves a path on the base URL’s origin', () => {
      expect(upstreamRequestUrl('https://api.example.com/v1/', '/auth/login', 'baseUrl')).toEqual({
        url: 'https://api.example.com/auth/login',
      });
    });

    it.each([
      ['/\\127.0.0.2:8443/steal', 'must not contain a backslash or control character'],
      ['/\t/127.0.0.2:8443/steal', 'must not contain a backslash or control character'],
      ['//127.0.0.2:8443/steal', 'must start with a single /'],
      ['https://127.0.0.2:8443/steal', 'must start with a single /'],
    ])('refuses %j against http://localhost:9', (path, problem) => {
      expect(upstreamRequestUrl('http://localhost:9', path, 'baseUrl')).toEqual({ problem });
    });

    it('runs the https-or-loopback check on the URL it builds, and refuses a base that is no URL', () => {
      expect(upstreamRequestUrl('http://api.example.com', '/auth/login', 'baseUrl')).toEqual({
        problem: HTTPS_ONLY_MESSAGE,
      });
      expect(upstreamRequestUrl('https://u:p@api.example.com', '/auth/login', 'baseUrl')).toEqual({
        problem: 'must not carry a user name or password',
      });
      expect(upstreamRequestUrl('data:text/plain,x', '/auth/login', 'baseUrl')).toEqual({
        problem: 'must make a URL with baseUrl',
      });
      expect(upstreamRequestUrl('not a url', '/auth/login', 'baseUrl')).toEqual({
        problem: 'must make a URL with baseUrl',
      });
    });
  });

  it('caps token lifetimes at one day unless the tenant says otherwise (60 s to 7 days)', () => {
    expect(parseTenantConfig('acme', JSON.stringify(cognitoSecret))).toMatchObject({ maxTokenLifetimeSeconds: 86_400 });
    expect(
      parseTenantConfig('acme', JSON.stringify({ ...loginEndpointSecret, maxTokenLifetimeSeconds: 7200 })),
    ).toMatchObject({ maxTokenLifetimeSeconds: 7200 });
    expect(problemsOf({ ...cognitoSecret, maxTokenLifetimeSeconds: 30 * 86_400 }).join(' ')).toContain(
      'maxTokenLifetimeSeconds',
    );
  });

  it('refuses an API key or header template that could break a header, without quoting it', () => {
    const problems = problemsOf({
      ...loginEndpointSecret,
      apiKey: 'key\r\nX-Injected: 1',
      headers: { 'x-api-key': '{apiKey}\n' },
    });
    expect(problems).toContain('apiKey: must be header-safe: it contains a control character');
    expect(problems.join(' ')).toContain('headers.x-api-key: must contain printable ASCII characters only');
    expect(problems.join(' ')).not.toContain('X-Injected');
  });
});
