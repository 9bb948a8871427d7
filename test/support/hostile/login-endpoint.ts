import { randomUUID } from 'node:crypto';

import { JwksRoute } from './jwks';
import { startLoopbackServer, type RecordedRequest, type Reply } from './loopback-server';
import { createTokenMinter, nowSeconds, type TokenMinter } from './token-minter';

/**
 * A login endpoint that answers whatever a test scripts: `POST /auth/login` and
 * `POST /auth/refresh` (`{credentials: {identityId, token, refreshToken}}`) and its
 * JWKS at `GET /.well-known/jwks.json`. By default it behaves well; `onLogin` and
 * `onRefresh` turn it hostile. It counts every call.
 */

export const LOGIN_USER = 'hostile-user@example.com';
export const LOGIN_PASSWORD = 'Hostile-Pa55word!';
export const LOGIN_API_KEY = 'hostile-api-key-0123456789';
export const LOGIN_IDENTITY = 'eu-west-1:11111111-2222-4333-8444-555555555555';

export type LoginHandler = (request: RecordedRequest, endpoint: HostileLoginEndpoint) => Reply | Promise<Reply>;

export interface HostileLoginEndpoint {
  readonly url: string;
  readonly issuer: string;
  readonly jwksUri: string;
  readonly minter: TokenMinter;
  readonly jwks: JwksRoute;
  readonly requests: RecordedRequest[];
  logins: number;
  refreshes: number;
  onLogin?: LoginHandler;
  onRefresh?: LoginHandler;
  /** A signed token with the default claims (sub, identityId, iss, iat, exp one hour away) plus `overrides`. */
  token(overrides?: Record<string, unknown>): string;
  /** The body of a good answer around `token`. */
  credentials(token: string, extra?: Record<string, unknown>): { status: number; body: unknown };
  /** The tenant secret for this endpoint (JWT verification on unless `jwt: undefined` is passed). */
  secret(overrides?: Record<string, unknown>): Record<string, unknown>;
  close(): Promise<void>;
}

export async function startHostileLoginEndpoint(): Promise<HostileLoginEndpoint> {
  const minter = createTokenMinter('login-key');
  const jwks = new JwksRoute(minter);
  const ref: { endpoint?: HostileLoginEndpoint } = {};
  const server = await startLoopbackServer(async (request) => {
    const self = ref.endpoint as HostileLoginEndpoint;
    if (request.method === 'GET' && request.url === '/.well-known/jwks.json') return jwks.answer();
    if (request.method === 'POST' && request.url === '/auth/login') {
      self.logins++;
      if (self.onLogin) return self.onLogin(request, self);
      const body = JSON.parse(request.body || '{}') as Record<string, unknown>;
      if (request.headers['x-api-key'] !== LOGIN_API_KEY) return { status: 403, body: { message: 'bad api key' } };
      if (body.userName !== LOGIN_USER || body.password !== LOGIN_PASSWORD)
        return { status: 401, body: { message: 'bad credentials' } };
      return self.credentials(self.token());
    }
    if (request.method === 'POST' && request.url === '/auth/refresh') {
      self.refreshes++;
      if (self.onRefresh) return self.onRefresh(request, self);
      return self.credentials(self.token());
    }
    return { status: 404, body: { message: 'not found' } };
  });
  const issuer = `${server.url}/issuer`;
  const endpoint: HostileLoginEndpoint = {
    url: server.url,
    issuer,
    jwksUri: `${server.url}/.well-known/jwks.json`,
    minter,
    jwks,
    requests: server.requests,
    logins: 0,
    refreshes: 0,
    token: (overrides = {}) =>
      minter.sign({
        iss: issuer,
        sub: LOGIN_USER,
        identityId: LOGIN_IDENTITY,
        iat: nowSeconds(),
        exp: nowSeconds() + 3600,
        jti: randomUUID(),
        ...overrides,
      }),
    credentials: (token, extra = {}) => ({
      status: 200,
      body: { credentials: { identityId: LOGIN_IDENTITY, token, refreshToken: `refresh-${randomUUID()}`, ...extra } },
    }),
    secret: (overrides = {}) => ({
      provider: 'login-endpoint',
      baseUrl: server.url,
      loginPath: '/auth/login',
      refreshPath: '/auth/refresh',
      apiKey: LOGIN_API_KEY,
      username: LOGIN_USER,
      password: LOGIN_PASSWORD,
      jwt: { issuer, jwksUri: `${server.url}/.well-known/jwks.json` },
      ...overrides,
    }),
    close: () => server.close(),
  };
  ref.endpoint = endpoint;
  return endpoint;
}
