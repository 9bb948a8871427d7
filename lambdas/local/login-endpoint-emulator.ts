import { generateKeyPairSync, randomBytes, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// A small upstream with a login endpoint, as the login-endpoint guide describes:
// `POST /auth/login` with `{userName, password}` and `x-api-key` answers
// `{credentials: {identityId, token, refreshToken}}`; `POST /auth/refresh`
// renews; `GET /users/{userName}` needs `Authorization`, `identityId` and
// `x-api-key`. Tokens are RS256 JWTs whose keys are served at
// `/.well-known/jwks.json`. Counts requests per route for tests.

export interface LoginEndpointEmulatorOptions {
  readonly users: Readonly<Record<string, string>>;
  readonly apiKey: string;
  readonly tokenTtlSeconds?: number;
  readonly clock?: { now(): number };
  readonly port?: number;
}

export interface LoginEndpointEmulator {
  readonly baseUrl: string;
  readonly issuer: string;
  readonly jwksUri: string;
  readonly requests: Map<string, number>;
  count(route: string): number;
  resetCounts(): void;
  /** Make the next `n` requests answer with `status` (e.g. 503) before the real handling resumes. */
  failNext(n: number, status: number): void;
  close(): Promise<void>;
}

const KID = 'tvm-local-login';

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function signJwt(payload: Record<string, unknown>, key: KeyObject): string {
  const data = `${base64url({ alg: 'RS256', typ: 'JWT', kid: KID })}.${base64url(payload)}`;
  return `${data}.${sign('sha256', Buffer.from(data), key).toString('base64url')}`;
}

function verifyJwt(token: string, key: KeyObject, nowSeconds: number): Record<string, unknown> | undefined {
  const [header, payload, signature] = token.split('.');
  if (!header || !payload || !signature) return undefined;
  if (!verify('sha256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url')))
    return undefined;
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  return typeof claims.exp === 'number' && claims.exp > nowSeconds ? claims : undefined;
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  try {
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

export async function startLoginEndpointEmulator(
  options: LoginEndpointEmulatorOptions,
): Promise<LoginEndpointEmulator> {
  const clock = options.clock ?? Date;
  const ttl = options.tokenTtlSeconds ?? 3600;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' };
  const refreshTokens = new Map<string, string>(); // refresh token -> userName
  const identities = new Map<string, string>(); // userName -> identityId
  const requests = new Map<string, number>();
  let failures = { remaining: 0, status: 503 };
  let issuer = '';

  const credentialsFor = (userName: string) => {
    const identityId = identities.get(userName) ?? `local-1:${randomUUID()}`;
    identities.set(userName, identityId);
    const now = Math.floor(clock.now() / 1000);
    const token = signJwt(
      { iss: issuer, sub: userName, identityId, iat: now, exp: now + ttl, jti: randomUUID() },
      privateKey,
    );
    const refreshToken = randomBytes(24).toString('base64url');
    refreshTokens.set(refreshToken, userName);
    return { credentials: { identityId, token, refreshToken } };
  };

  const route = async (request: IncomingMessage, response: ServerResponse, path: string): Promise<void> => {
    if (request.method === 'GET' && path === '/.well-known/jwks.json') return send(response, 200, { keys: [jwk] });
    if (failures.remaining > 0) {
      failures = { ...failures, remaining: failures.remaining - 1 };
      response.setHeader('retry-after', '1');
      return send(response, failures.status, { message: 'injected failure' });
    }
    if (request.headers['x-api-key'] !== options.apiKey) return send(response, 403, { message: 'Forbidden' });
    if (request.method === 'POST' && path === '/auth/login') {
      const body = await readJson(request);
      const userName = typeof body.userName === 'string' ? body.userName : '';
      if (!userName || options.users[userName] === undefined || options.users[userName] !== body.password) {
        return send(response, 401, { message: 'Incorrect username or password.' });
      }
      return send(response, 200, credentialsFor(userName));
    }
    if (request.method === 'POST' && path === '/auth/refresh') {
      const body = await readJson(request);
      const userName = typeof body.refreshToken === 'string' ? refreshTokens.get(body.refreshToken) : undefined;
      if (!userName) return send(response, 401, { message: 'Invalid refresh token.' });
      return send(response, 200, credentialsFor(userName));
    }
    const user = /^\/users\/([^/]+)$/.exec(path);
    if (request.method === 'GET' && user) {
      const claims = verifyJwt(String(request.headers.authorization ?? ''), publicKey, Math.floor(clock.now() / 1000));
      if (!claims || claims.identityId !== request.headers.identityid)
        return send(response, 403, { message: 'Forbidden' });
      return send(response, 200, { userName: decodeURIComponent(user[1] ?? ''), identityId: claims.identityId });
    }
    return send(response, 404, { message: 'Not found' });
  };

  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    requests.set(path, (requests.get(path) ?? 0) + 1);
    route(request, response, path).catch(() => send(response, 500, { message: 'Internal error' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  issuer = baseUrl;

  return {
    baseUrl,
    issuer,
    jwksUri: `${baseUrl}/.well-known/jwks.json`,
    requests,
    count: (path) => requests.get(path) ?? 0,
    resetCounts: () => requests.clear(),
    failNext: (n, status) => {
      failures = { remaining: n, status };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
