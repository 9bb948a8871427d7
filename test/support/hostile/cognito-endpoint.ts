import { randomUUID } from 'node:crypto';

import { JwksRoute } from './jwks';
import { startLoopbackServer, type RecordedRequest, type Reply } from './loopback-server';
import { createTokenMinter, nowSeconds, type TokenMinter } from './token-minter';

/**
 * A Cognito-compatible endpoint speaking the JSON 1.1 protocol the SDK uses
 * (`POST /` with `X-Amz-Target: AWSCognitoIdentityProviderService.InitiateAuth`),
 * with the pool's JWKS at `GET /<userPoolId>/.well-known/jwks.json`. It behaves
 * like Cognito by default; `onInitiateAuth` scripts hostile answers. Counts every
 * call per auth flow.
 */

export const POOL_ID = 'eu-west-1_Hostile1';
export const CLIENT_ID = 'hostileclient0123456789abc';
export const COGNITO_USER = 'cognito-user@example.com';
export const COGNITO_PASSWORD = 'Cognito-Pa55word!';
export const COGNITO_SUB = '0a1b2c3d-1111-4222-8333-444455556666';

export type InitiateAuthHandler = (
  request: { readonly authFlow: string; readonly parameters: Record<string, string>; readonly raw: RecordedRequest },
  endpoint: HostileCognitoEndpoint,
) => Reply | Promise<Reply>;

export interface TokenOverrides {
  readonly id?: Record<string, unknown>;
  readonly access?: Record<string, unknown>;
}

export interface HostileCognitoEndpoint {
  readonly url: string;
  readonly issuer: string;
  readonly jwksUri: string;
  readonly minter: TokenMinter;
  readonly jwks: JwksRoute;
  readonly requests: RecordedRequest[];
  /** InitiateAuth calls by AuthFlow (USER_PASSWORD_AUTH, REFRESH_TOKEN_AUTH). */
  readonly flows: Map<string, number>;
  onInitiateAuth?: InitiateAuthHandler;
  signIns(): number;
  refreshes(): number;
  /** An ID and an access token as this pool issues them, one hour long, with overrides per token. */
  tokens(overrides?: TokenOverrides): { IdToken: string; AccessToken: string };
  /** A successful InitiateAuth answer around `tokens`. */
  authenticated(tokens: { IdToken: string; AccessToken: string }, refreshToken?: string): Reply;
  /** A Cognito error answer (`__type` and the `x-amzn-errortype` header, as Cognito sends them). */
  error(status: number, type: string, message: string): Reply;
  secret(overrides?: Record<string, unknown>): Record<string, unknown>;
  close(): Promise<void>;
}

export async function startHostileCognitoEndpoint(): Promise<HostileCognitoEndpoint> {
  const minter = createTokenMinter('cognito-key');
  const jwks = new JwksRoute(minter);
  const flows = new Map<string, number>();
  const ref: { endpoint?: HostileCognitoEndpoint } = {};
  const server = await startLoopbackServer(async (raw) => {
    const self = ref.endpoint as HostileCognitoEndpoint;
    if (raw.method === 'GET' && raw.url === `/${POOL_ID}/.well-known/jwks.json`) return jwks.answer();
    const target = String(raw.headers['x-amz-target'] ?? '');
    if (raw.method !== 'POST' || target !== 'AWSCognitoIdentityProviderService.InitiateAuth')
      return self.error(400, 'UnknownOperationException', `unsupported ${raw.method} ${target}`);
    const input = JSON.parse(raw.body || '{}') as {
      AuthFlow?: string;
      ClientId?: string;
      AuthParameters?: Record<string, string>;
    };
    const authFlow = input.AuthFlow ?? '';
    flows.set(authFlow, (flows.get(authFlow) ?? 0) + 1);
    const parameters = input.AuthParameters ?? {};
    if (self.onInitiateAuth) return self.onInitiateAuth({ authFlow, parameters, raw }, self);
    if (input.ClientId !== CLIENT_ID)
      return self.error(400, 'ResourceNotFoundException', 'User pool client does not exist.');
    if (authFlow === 'USER_PASSWORD_AUTH') {
      if (parameters.USERNAME !== COGNITO_USER || parameters.PASSWORD !== COGNITO_PASSWORD)
        return self.error(400, 'NotAuthorizedException', 'Incorrect username or password.');
      return self.authenticated(self.tokens(), `refresh-${randomUUID()}`);
    }
    if (authFlow === 'REFRESH_TOKEN_AUTH') return self.authenticated(self.tokens());
    return self.error(400, 'InvalidParameterException', `unsupported flow ${authFlow}`);
  });
  const issuer = `${server.url}/${POOL_ID}`;
  const endpoint: HostileCognitoEndpoint = {
    url: server.url,
    issuer,
    jwksUri: `${issuer}/.well-known/jwks.json`,
    minter,
    jwks,
    requests: server.requests,
    flows,
    signIns: () => flows.get('USER_PASSWORD_AUTH') ?? 0,
    refreshes: () => flows.get('REFRESH_TOKEN_AUTH') ?? 0,
    tokens: (overrides = {}) => {
      const now = nowSeconds();
      const common = { sub: COGNITO_SUB, iss: issuer, iat: now, auth_time: now, exp: now + 3600, jti: randomUUID() };
      return {
        IdToken: minter.sign({
          ...common,
          aud: CLIENT_ID,
          token_use: 'id',
          'cognito:username': COGNITO_SUB,
          email: COGNITO_USER,
          'custom:identityId': 'eu-west-1:99999999-8888-4777-8666-555555555555',
          ...overrides.id,
        }),
        AccessToken: minter.sign({
          ...common,
          client_id: CLIENT_ID,
          token_use: 'access',
          scope: 'aws.cognito.signin.user.admin',
          username: COGNITO_SUB,
          ...overrides.access,
        }),
      };
    },
    authenticated: (tokens, refreshToken) => ({
      status: 200,
      headers: { 'content-type': 'application/x-amz-json-1.1' },
      body: {
        AuthenticationResult: {
          ...tokens,
          ...(refreshToken ? { RefreshToken: refreshToken } : {}),
          ExpiresIn: 3600,
          TokenType: 'Bearer',
        },
        ChallengeParameters: {},
      },
    }),
    error: (status, type, message) => ({
      status,
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': `${type}:` },
      body: { __type: type, message },
    }),
    secret: (overrides = {}) => ({
      provider: 'cognito',
      region: 'eu-west-1',
      userPoolId: POOL_ID,
      clientId: CLIENT_ID,
      username: COGNITO_USER,
      password: COGNITO_PASSWORD,
      endpoint: server.url,
      claims: ['custom:identityId'],
      ...overrides,
    }),
    close: () => server.close(),
  };
  ref.endpoint = endpoint;
  return endpoint;
}
