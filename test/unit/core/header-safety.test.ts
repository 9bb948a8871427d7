import { toErrorResponse, UpstreamTokenInvalidError } from '../../../lambdas/core/errors';
import { headerValueProblem, MAX_HEADER_VALUE_LENGTH } from '../../../lambdas/core/header-safety';
import type { Session, TenantRecord } from '../../../lambdas/core/ports';
import { presentToken } from '../../../lambdas/core/presenter';
import { parseTenantConfig } from '../../../lambdas/core/tenant-config';
import { loginEndpointSecret } from '../../support/fakes';

describe('header-safe values', () => {
  it.each([
    ['a JWT', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'],
    ['an identity id', 'eu-west-1:11111111-2222-4333-8444-555555555555'],
    ['a value with inner blanks', 'Bearer abc'],
    ['the longest value', 'a'.repeat(MAX_HEADER_VALUE_LENGTH)],
  ])('accepts %s', (_name, value) => {
    expect(headerValueProblem(value)).toBeUndefined();
  });

  it.each([
    ['CR LF', 'abc\r\nX-Injected: 1', 'contains a control character'],
    ['NUL', 'a\u0000b', 'contains a control character'],
    ['DEL', 'a\u007fb', 'contains a control character'],
    ['a tab', 'a\tb', 'contains a control character'],
    ['non-ASCII', 'tökén', 'not printable ASCII'],
    ['a leading blank', ' abc', 'starts or ends with a blank'],
    ['nothing', '', 'is empty'],
    ['one character too many', 'a'.repeat(MAX_HEADER_VALUE_LENGTH + 1), 'longer than 16384'],
  ])('refuses %s', (_name, value, problem) => {
    expect(headerValueProblem(value)).toContain(problem);
  });
});

describe('presentToken refuses what is not header-safe (defence in depth)', () => {
  const tenant: TenantRecord = {
    tenantId: 'globex',
    version: 'v1',
    config: parseTenantConfig(
      'globex',
      JSON.stringify({ ...loginEndpointSecret, headers: { Authorization: 'Bearer {token}' } }),
    ),
  };
  const session = (fields: Partial<Session> = {}): Session => ({
    tenantId: 'globex',
    provider: 'login-endpoint',
    secretVersion: 'v1',
    tokens: { token: 'good-token' },
    identityId: 'eu-west-1:abc',
    claims: {},
    expiresAt: 2_000_000_000,
    issuedAt: 1_999_996_400,
    ...fields,
  });

  it('presents a safe session with its rendered headers', () => {
    expect(presentToken(tenant, session(), 1_999_996_400_000).headers).toEqual({ Authorization: 'Bearer good-token' });
  });

  it.each([
    ['a token with CR LF', session({ tokens: { token: 'bad\r\nSet-Cookie: x' } })],
    ['an identity id with LF', session({ identityId: 'eu-west-1:a\nb' })],
    ['an oversized token', session({ tokens: { token: 'a'.repeat(MAX_HEADER_VALUE_LENGTH + 1) } })],
  ])('refuses %s with 502 upstream_token_invalid, never quoting it', (_name, bad) => {
    const error = (() => {
      try {
        presentToken(tenant, bad, 1_999_996_400_000);
      } catch (caught) {
        return caught;
      }
      throw new Error('expected a refusal');
    })();
    expect(error).toBeInstanceOf(UpstreamTokenInvalidError);
    expect(toErrorResponse(error)).toMatchObject({ status: 502, code: 'upstream_token_invalid' });
    expect((error as Error).message).not.toMatch(/Set-Cookie|aaaa/);
  });
});
