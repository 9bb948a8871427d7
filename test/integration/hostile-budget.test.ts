// Hostile upstreams and the upstream budget (issue 18, items 8-11) over HTTP: the real handler, vendor,
// providers, verifier and DynamoDB client against loopback servers that hang, refuse or answer too short.
// Every case asserts the status, that a second request costs nothing upstream, and the exact upstream calls.
import { createServer, type Server, type Socket } from 'node:net';

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

import { TokenApiError, TokenClient } from '../../client/token-client';
import { fingerprint, primaryToken } from '../../contract/fingerprint';
import { awsClientOptions, type AwsClientTimeouts } from '../../lambdas/adapters/aws-client-options';
import { StaticTenantStore } from '../../lambdas/adapters/file-tenant-store';
import type { Clock } from '../../lambdas/core/ports';
import type { VendorOptions } from '../../lambdas/core/vendor';
import { createHttpHandler } from '../../lambdas/handlers/http-handler';
import { createObservability } from '../../lambdas/handlers/observability';
import { serveHandler } from '../../lambdas/local/http-adapter';
import { composeRuntime, sharedStateFor } from '../../lambdas/runtime/compose';
import { loadRuntimeConfig } from '../../lambdas/runtime/config';
import { OffsetClock } from '../support/fakes';
import { startHostileCognitoEndpoint, type HostileCognitoEndpoint } from '../support/hostile/cognito-endpoint';
import { startHostileLoginEndpoint, type HostileLoginEndpoint } from '../support/hostile/login-endpoint';

/** A TCP server that accepts every connection and never sends a byte: a hung DynamoDB or upstream. */
interface SilentServer {
  readonly url: string;
  /** Connections that sent a request. */
  requests(): number;
  close(): Promise<void>;
}

async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let requests = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('data', () => requests++);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

interface Service {
  get(path: string): Promise<{ status: number; headers: Headers; body: Record<string, any> }>;
  readonly url: string;
  close(): Promise<void>;
}

interface ServiceOptions {
  readonly tenants: Record<string, unknown>;
  readonly env?: Record<string, string>;
  /** A DynamoDB endpoint for the shared cache (with these client timeouts); none: memory only. */
  readonly table?: { readonly endpoint: string; readonly timeouts?: Partial<AwsClientTimeouts> };
  readonly clock?: Clock;
  readonly vendorOptions?: VendorOptions;
}

async function startService(options: ServiceOptions): Promise<Service> {
  const config = loadRuntimeConfig({
    TVM_CONSUMERS: JSON.stringify([{ principal: 'local', tenants: ['*'] }]),
    ...options.env,
  });
  const clock = options.clock ?? { now: () => Date.now() };
  const client = options.table
    ? new DynamoDBClient({
        ...awsClientOptions('dynamodb', options.table.timeouts),
        endpoint: options.table.endpoint,
        region: 'eu-west-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      })
    : undefined;
  const runtime = composeRuntime(config, {
    tenants: new StaticTenantStore(options.tenants),
    shared: client ? sharedStateFor('tvm-cache', clock, client) : null,
    clock,
    vendorOptions: { retryBaseMs: 1, retryCapMs: 5, ...options.vendorOptions },
  });
  const http = await serveHandler(createHttpHandler(runtime, createObservability()), {
    host: '127.0.0.1',
    port: 0,
    callerArn: 'local',
  });
  return {
    url: http.url,
    get: async (path) => {
      const response = await fetch(`${http.url}${path}`);
      return {
        status: response.status,
        headers: response.headers,
        body: (await response.json()) as Record<string, any>,
      };
    },
    close: async () => {
      await http.close();
      client?.destroy();
    },
  };
}

const SHORT_BUDGET = { TVM_VEND_BUDGET_MS: '1500' };

describe('one time budget per vend (item 11): DynamoDB and the upstream accept connections and never answer', () => {
  let table: SilentServer;
  let upstream: SilentServer;
  let cognito: HostileCognitoEndpoint;
  let login: HostileLoginEndpoint;

  beforeAll(async () => {
    [table, upstream, cognito, login] = await Promise.all([
      startSilentServer(),
      startSilentServer(),
      startHostileCognitoEndpoint(),
      startHostileLoginEndpoint(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([table.close(), upstream.close(), cognito.close(), login.close()]);
  });

  const hungTenants = () => ({
    'hung-cognito': cognito.secret({ endpoint: upstream.url }),
    'hung-login': login.secret({ baseUrl: upstream.url }),
  });

  it('answers every vend with 503 and Retry-After within the budget, with the production client options', async () => {
    const service = await startService({ tenants: hungTenants(), env: SHORT_BUDGET, table: { endpoint: table.url } });
    try {
      const answers = await Promise.all(
        ['hung-cognito', 'hung-login', 'hung-cognito', 'hung-login'].map((tenant) =>
          service.get(`/v1/tenants/${tenant}/token`),
        ),
      );
      for (const answer of answers) {
        expect(answer.status).toBe(503);
        expect(answer.body.error.code).toBe('upstream_unavailable');
        expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
      }
    } finally {
      await service.close();
    }
  });

  it('reaches the hung upstream once per tenant when the table times out fast, and still answers 503', async () => {
    const service = await startService({
      tenants: hungTenants(),
      env: SHORT_BUDGET,
      table: { endpoint: table.url, timeouts: { requestTimeoutMs: 200, maxAttempts: 1 } },
    });
    const before = upstream.requests();
    try {
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) => service.get(`/v1/tenants/${i % 2 ? 'hung-login' : 'hung-cognito'}/token`)),
      );
      expect(answers.map((answer) => answer.status)).toEqual([503, 503, 503, 503, 503, 503]);
      expect(answers.every((answer) => answer.headers.get('retry-after'))).toBe(true);
      // One InitiateAuth and one login: single flight per tenant, and the budget ends the wait before a retry.
      expect(upstream.requests() - before).toBe(2);
    } finally {
      await service.close();
    }
  });

  it('degrades to memory and the upstream when only the table hangs: 200 within the budget, one sign-in', async () => {
    const service = await startService({
      tenants: { fine: login.secret() },
      env: { TVM_VEND_BUDGET_MS: '5000' },
      table: { endpoint: table.url, timeouts: { requestTimeoutMs: 200, maxAttempts: 1 } },
    });
    const logins = login.logins;
    try {
      const answers = await Promise.all(Array.from({ length: 5 }, () => service.get('/v1/tenants/fine/token')));
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
      expect((await service.get('/v1/tenants/fine/token')).status).toBe(200);
      expect(login.logins - logins).toBe(1);
    } finally {
      await service.close();
    }
  });

  it('answers 503 within the budget when the signing keys hang, without any login', async () => {
    const keys = await startHostileLoginEndpoint();
    keys.jwks.mode = { kind: 'hang' };
    const service = await startService({ tenants: { keyless: keys.secret() }, env: SHORT_BUDGET });
    try {
      const answer = await service.get('/v1/tenants/keyless/token');
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBeTruthy();
      // The keys are fetched before the password is sent, and one 3 s fetch attempt outlasts the 1.5 s budget.
      expect(keys.jwks.fetches).toBe(1);
      expect(keys.logins).toBe(0);
      expect((await service.get('/v1/tenants/keyless/token')).status).toBe(503);
      expect(keys.logins).toBe(0);
    } finally {
      await service.close();
      await keys.close();
    }
  });
});

describe('upstream budget over HTTP (items 8-10)', () => {
  let cognito: HostileCognitoEndpoint;
  let login: HostileLoginEndpoint;

  beforeAll(async () => {
    [cognito, login] = await Promise.all([startHostileCognitoEndpoint(), startHostileLoginEndpoint()]);
  });
  afterAll(async () => {
    await Promise.all([cognito.close(), login.close()]);
  });

  it('item 8: a minTtl the tenant tokens can never meet costs one login to learn, then nothing', async () => {
    const service = await startService({ tenants: { short: login.secret() } });
    const calls = () => login.logins + login.refreshes;
    const before = calls();
    try {
      // One-hour tokens cannot stay valid for 3600 s plus the 30 s skew.
      const first = await service.get('/v1/tenants/short/token?minTtl=3600');
      expect(first.status).toBe(400);
      expect(first.body.error.code).toBe('invalid_request');
      expect(calls() - before).toBe(1);
      for (let i = 0; i < 5; i++) expect((await service.get('/v1/tenants/short/token?minTtl=3600')).status).toBe(400);
      expect(calls() - before).toBe(1);
    } finally {
      await service.close();
    }
  });

  it('item 9: rejected= renews once per interval; the client waits Retry-After once, or surfaces 429', async () => {
    const clock = new OffsetClock();
    const service = await startService({ tenants: { acme: login.secret() }, clock });
    const calls = () => login.logins + login.refreshes;
    const sleeps: number[] = [];
    const client = (maxRenewalWaitMs?: number) =>
      new TokenClient({
        endpoint: service.url,
        region: 'eu-west-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        sleep: async (ms) => {
          sleeps.push(ms);
          clock.advance(ms / 1000);
        },
        ...(maxRenewalWaitMs === undefined ? {} : { maxRenewalWaitMs }),
      });
    const before = calls();
    try {
      const tokens = client();
      const first = await tokens.getToken('acme');
      const renewed = await tokens.getToken('acme', { forceRefresh: true });
      expect(renewed.token).not.toBe(first.token);
      expect(calls() - before).toBe(2);

      // The renewed token is refused too, at once: the API answers 429 and the client waits it out once.
      const third = await tokens.getToken('acme', { forceRefresh: true });
      expect(sleeps).toEqual([30_000]);
      expect(third.token).not.toBe(renewed.token);
      expect(calls() - before).toBe(3);

      // Over HTTP: the status, the code and Retry-After; no upstream call.
      const raw = await service.get(`/v1/tenants/acme/token?rejected=${fingerprint(primaryToken(third))}`);
      expect(raw.status).toBe(429);
      expect(raw.body.error.code).toBe('renewal_rate_limited');
      expect(raw.headers.get('retry-after')).toBe('30');
      // A client that will not wait gets the code and Retry-After.
      const impatient = client(0);
      await impatient.getToken('acme');
      const error = await impatient.getToken('acme', { forceRefresh: true }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenApiError);
      expect(error).toMatchObject({ status: 429, code: 'renewal_rate_limited', retryAfterSeconds: 30 });
      expect(calls() - before).toBe(3);
    } finally {
      await service.close();
    }
  });

  it('item 10: an app client Cognito rejects pauses sign-in: 502 with Retry-After, one InitiateAuth', async () => {
    const misconfigured = await startHostileCognitoEndpoint();
    misconfigured.onInitiateAuth = (_request, self) =>
      self.error(400, 'ResourceNotFoundException', 'User pool client hostileclient0123456789abc does not exist.');
    const service = await startService({ tenants: { paused: misconfigured.secret() } });
    try {
      const first = await service.get('/v1/tenants/paused/token');
      expect(first.status).toBe(502);
      expect(first.body.error.code).toBe('upstream_auth_failed');
      expect(first.headers.get('retry-after')).toBe('300');
      for (let i = 0; i < 5; i++) {
        const next = await service.get('/v1/tenants/paused/token');
        expect(next.status).toBe(502);
        expect(Number(next.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      expect(misconfigured.signIns()).toBe(1);
    } finally {
      await service.close();
      await misconfigured.close();
    }
  });
});
