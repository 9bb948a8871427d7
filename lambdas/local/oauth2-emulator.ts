// An embedded OAuth 2.0 token endpoint for local mode and the tests: oauth2-mock-server (RS256 JWTs, JWKS)
// started in-process on 127.0.0.1, with what the package leaves out added through its hooks: the client's
// id and secret are checked (RFC 6749 §2.3.1, Basic or form body) and answered `invalid_client` when wrong,
// the requested audience lands in `aud`, and token lifetime is configurable.

import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

import type { MutableResponse, MutableToken, TokenRequestIncomingMessage } from 'oauth2-mock-server';

export interface OAuth2EmulatorOptions {
  readonly clientId?: string;
  /** @default random */
  readonly clientSecret?: string;
  /** Lifetime of issued tokens (`exp` and `expires_in`). @default 3600 */
  readonly tokenTtlSeconds?: number;
}

export interface OAuth2Emulator {
  readonly tokenUrl: string;
  readonly issuer: string;
  readonly jwksUri: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Token requests answered so far, successful or not. */
  tokenRequests(): number;
  /** Lifetime of the tokens issued from now on. */
  setTokenTtl(seconds: number): void;
  /** Change the secret the endpoint accepts (simulates a rotation at the upstream). */
  setClientSecret(secret: string): void;
  /** The next `count` token requests fail with this HTTP status and body. */
  failNext(count: number, statusCode: number, body: Record<string, unknown>): void;
  close(): Promise<void>;
}

function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

/** The client id and secret a token request carries, from Basic auth or the form body. */
function clientCredentials(req: TokenRequestIncomingMessage): { id?: string; secret?: string } {
  const header = (req as IncomingMessage).headers.authorization ?? '';
  if (header.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0) return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  }
  const body = req.body as unknown as Record<string, unknown>;
  return {
    ...(typeof body.client_id === 'string' ? { id: body.client_id } : {}),
    ...(typeof body.client_secret === 'string' ? { secret: body.client_secret } : {}),
  };
}

export async function startOAuth2Emulator(options: OAuth2EmulatorOptions = {}): Promise<OAuth2Emulator> {
  // ESM-only package: loaded with import() from this CommonJS module.
  const { OAuth2Server } = await import('oauth2-mock-server');
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  await server.start(0, '127.0.0.1');

  const clientId = options.clientId ?? 'local-m2m-client';
  let clientSecret = options.clientSecret ?? randomBytes(24).toString('base64url');
  let ttl = options.tokenTtlSeconds ?? 3600;
  let requests = 0;
  const failures: { statusCode: number; body: Record<string, unknown> }[] = [];

  server.service.on('beforeTokenSigning', (token: MutableToken, req: TokenRequestIncomingMessage) => {
    const body = req.body as unknown as Record<string, unknown>;
    token.payload.exp = Number(token.payload.iat) + ttl;
    token.payload.client_id = clientId;
    token.payload.sub = clientId;
    if (typeof body.audience === 'string') token.payload.aud = body.audience;
  });
  server.service.on('beforeResponse', (response: MutableResponse, req: TokenRequestIncomingMessage) => {
    requests++;
    const failure = failures.shift();
    if (failure) {
      response.statusCode = failure.statusCode;
      response.body = failure.body;
      return;
    }
    const presented = clientCredentials(req);
    if (presented.id !== clientId || presented.secret !== clientSecret) {
      response.statusCode = 401;
      response.body = { error: 'invalid_client' };
      return;
    }
    if (response.body && typeof response.body === 'object') (response.body as Record<string, unknown>).expires_in = ttl;
  });

  // The package names the host `localhost`; pin the address it listens on.
  const issuer = `http://127.0.0.1:${server.address().port}`;
  server.issuer.url = issuer;
  return {
    tokenUrl: `${issuer}/token`,
    issuer,
    jwksUri: `${issuer}/jwks`,
    clientId,
    get clientSecret() {
      return clientSecret;
    },
    tokenRequests: () => requests,
    setTokenTtl: (seconds) => {
      ttl = seconds;
    },
    setClientSecret: (secret) => {
      clientSecret = secret;
    },
    failNext: (count, statusCode, body) => {
      for (let i = 0; i < count; i++) failures.push({ statusCode, body });
    },
    close: () => server.stop(),
  };
}
