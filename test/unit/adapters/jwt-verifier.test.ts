import { AwsJwtVerifier } from '../../../lambdas/adapters/jwt-verifier';
import { UpstreamTokenInvalidError, UpstreamUnavailableError } from '../../../lambdas/core/errors';
import { startJwksServer, type JwksServer } from '../../support/jwks-server';

const poolId = 'local_AbC123';
const clientId = 'client-1';
let jwks: JwksServer;
let issuer: string;
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  jwks = await startJwksServer(`/${poolId}/.well-known/jwks.json`);
  issuer = `${jwks.url}/${poolId}`;
});
afterAll(() => jwks.close());

describe('AwsJwtVerifier for a Cognito-compatible endpoint (http JWKS)', () => {
  const idClaims = () => ({ iss: issuer, aud: clientId, token_use: 'id', exp: now() + 600, sub: 'u1' });
  const accessClaims = () => ({ iss: issuer, client_id: clientId, token_use: 'access', exp: now() + 600 });
  const expectation = (tokenUse: 'id' | 'access') => ({ userPoolId: poolId, clientId, tokenUse, issuer });

  it('accepts genuine ID and access tokens and returns their claims', async () => {
    const verifier = new AwsJwtVerifier();
    await expect(verifier.verifyCognito('acme', jwks.sign(idClaims()), expectation('id'))).resolves.toMatchObject({
      sub: 'u1',
    });
    await expect(
      verifier.verifyCognito('acme', jwks.sign(accessClaims()), expectation('access')),
    ).resolves.toMatchObject({ token_use: 'access' });
  });

  const rejections: Array<[string, () => string]> = [
    ['an access token where an ID token is expected', () => jwks.sign(accessClaims())],
    ['a token for another client', () => jwks.sign({ ...idClaims(), aud: 'client-2' })],
    ['a token from another issuer', () => jwks.sign({ ...idClaims(), iss: 'http://evil.example/pool' })],
    ['an expired token', () => jwks.sign({ ...idClaims(), exp: now() - 60 })],
    [
      'a tampered token',
      () => {
        const [header, , signature] = jwks.sign(idClaims()).split('.');
        const forged = Buffer.from(JSON.stringify({ ...idClaims(), sub: 'admin' })).toString('base64url');
        return `${header}.${forged}.${signature}`;
      },
    ],
    ['a token signed with an unknown key', () => jwks.sign(idClaims(), 'other-key')],
  ];

  it.each(rejections)('rejects %s as upstream_token_invalid', async (_name, token) => {
    await expect(new AwsJwtVerifier().verifyCognito('acme', token(), expectation('id'))).rejects.toBeInstanceOf(
      UpstreamTokenInvalidError,
    );
  });
});

describe('AwsJwtVerifier for a login endpoint', () => {
  it('pins issuer and audience', async () => {
    const verifier = new AwsJwtVerifier();
    const expected = { issuer: jwks.url, jwksUri: jwks.jwksUri, audience: 'api' };
    const good = jwks.sign({ iss: jwks.url, aud: 'api', exp: now() + 600 });
    await expect(verifier.verifyJwt('globex', good, expected)).resolves.toMatchObject({ aud: 'api' });
    const wrongAudience = jwks.sign({ iss: jwks.url, aud: 'other', exp: now() + 600 });
    await expect(verifier.verifyJwt('globex', wrongAudience, expected)).rejects.toBeInstanceOf(
      UpstreamTokenInvalidError,
    );
  });

  it('reports unreachable signing keys as upstream_unavailable', async () => {
    const down = await startJwksServer();
    const token = down.sign({ iss: down.url, exp: now() + 600 });
    await down.close();
    const error = await new AwsJwtVerifier()
      .verifyJwt('globex', token, { issuer: down.url, jwksUri: down.jwksUri })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
  });
});
