import { randomBytes } from 'node:crypto';

import { ENV, SERVICE_NAME } from '../../contract/names';
import { FileTenantStore, StaticTenantStore } from '../adapters/file-tenant-store';
import { systemClock } from '../adapters/system-clock';
import type { Consumer } from '../core/access-policy';
import type { Clock, SessionCache, TenantStore } from '../core/ports';
import type { VendorOptions } from '../core/vendor';
import { createHttpHandler } from '../handlers/http-handler';
import { createObservability, vendorEventSink } from '../handlers/observability';
import { composeRuntime, sharedStateFor, type Runtime } from '../runtime/compose';
import { loadRuntimeConfig } from '../runtime/config';
import { startCognitoEmulator, type CognitoEmulator } from './cognito-emulator';
import { startLocalDynamo, type LocalDynamo } from './dynalite';
import { serveHandler } from './http-adapter';
import { startLoginEndpointEmulator, type LoginEndpointEmulator } from './login-endpoint-emulator';
import { seedCognitoTenant } from './seed-cognito';

// Local mode: the same handler as in Lambda, served on 127.0.0.1. Without a
// tenants file it embeds two upstreams: cognito-local (tenant `demo`) and a
// login-endpoint emulator (tenant `demo-rest`). Every local caller is the
// principal `local`, allowed all tenants.

export const LOCAL_PRINCIPAL = 'local';

export interface LocalServiceOptions {
  /** Address to bind. @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 8787 */
  readonly port?: number;
  /** Tenants file (tenant id -> secret): vend for real upstreams instead of the embedded ones. */
  readonly tenantsFile?: string;
  /** Shared by the embedded upstreams and the vendor, so tests can move time. */
  readonly clock?: Clock;
  /** Extra tenant secrets added beside the demo tenants, given the demo secrets to derive from (tests). */
  readonly extraTenants?: (demoTenants: Readonly<Record<string, Record<string, unknown>>>) => Record<string, unknown>;
  /** Session cache to use instead of a fresh in-memory one (tests inspect it). */
  readonly cache?: SessionCache;
  /** Access policy of the local server. @default principal `local` allowed every tenant */
  readonly consumers?: readonly Consumer[];
  /** Vendor options (skew, retries, budget) instead of those from the environment (tests). */
  readonly vendorOptions?: VendorOptions;
  /** Run an in-process dynalite as the shared (fleet-wide) cache. @default env TVM_LOCAL_SHARED_CACHE === 'true' */
  readonly sharedCache?: boolean;
  /** Lifetime of the demo tenants' tokens. @default 60 */
  readonly tokenValidityMinutes?: number;
}

export interface DemoUpstreams {
  readonly cognito: CognitoEmulator;
  readonly loginEndpoint: LoginEndpointEmulator;
  readonly tenants: Record<string, Record<string, unknown>>;
}

export interface LocalService {
  readonly url: string;
  readonly port: number;
  readonly runtime: Runtime;
  readonly upstreams?: DemoUpstreams;
  readonly tenantIds: readonly string[];
  /** The in-process DynamoDB when the shared cache is on. */
  readonly dynamo?: LocalDynamo;
  close(): Promise<void>;
}

export async function startDemoUpstreams(clock: Clock, tokenValidityMinutes = 60): Promise<DemoUpstreams> {
  const cognito = await startCognitoEmulator({ clock });
  const seeded = await seedCognitoTenant(cognito.endpoint, {
    username: 'demo@example.com',
    customAttributes: {
      identityId: 'ap-southeast-2:00000000-0000-4000-8000-000000000001',
      companyId: 'company-demo',
      teamId: 'team-demo',
    },
    tokenValidityMinutes,
  });
  const restUser = 'demo-rest@example.com';
  const restPassword = `Tvm-${randomBytes(12).toString('base64url')}`;
  const apiKey = `local-${randomBytes(16).toString('hex')}`;
  const loginEndpoint = await startLoginEndpointEmulator({
    users: { [restUser]: restPassword },
    apiKey,
    clock,
    tokenTtlSeconds: tokenValidityMinutes * 60,
  });
  return {
    cognito,
    loginEndpoint,
    tenants: {
      demo: seeded.secret,
      'demo-rest': {
        provider: 'login-endpoint',
        baseUrl: loginEndpoint.baseUrl,
        loginPath: '/auth/login',
        refreshPath: '/auth/refresh',
        apiKey,
        username: restUser,
        password: restPassword,
        jwt: { issuer: loginEndpoint.issuer, jwksUri: loginEndpoint.jwksUri },
      },
    },
  };
}

export async function startLocalService(options: LocalServiceOptions = {}): Promise<LocalService> {
  process.env[ENV.powertoolsMetricsDisabled] ??= 'true';
  process.env[ENV.powertoolsServiceName] ??= SERVICE_NAME;
  const clock = options.clock ?? systemClock;
  const config = loadRuntimeConfig({
    ...process.env,
    [ENV.consumers]: JSON.stringify(options.consumers ?? [{ principal: LOCAL_PRINCIPAL, tenants: ['*'] }]),
  });

  let upstreams: DemoUpstreams | undefined;
  let tenants: TenantStore & { tenantIds(): string[] };
  const tenantsFile = options.tenantsFile ?? config.tenantsFile;
  if (tenantsFile) {
    tenants = new FileTenantStore(tenantsFile, clock);
  } else {
    upstreams = await startDemoUpstreams(clock, options.tokenValidityMinutes);
    tenants = new StaticTenantStore({ ...upstreams.tenants, ...options.extraTenants?.(upstreams.tenants) });
  }

  const useSharedCache = options.sharedCache ?? process.env[ENV.localSharedCache] === 'true';
  const dynamo = useSharedCache ? await startLocalDynamo() : undefined;

  const observability = createObservability({ tracing: false });
  const runtime = composeRuntime(config, {
    tenants,
    clock,
    shared: dynamo ? sharedStateFor(dynamo.tableName, clock, dynamo.client()) : null,
    onEvent: vendorEventSink(observability),
    ...(options.cache ? { cache: options.cache } : {}),
    ...(options.vendorOptions ? { vendorOptions: options.vendorOptions } : {}),
  });
  const handler = createHttpHandler(runtime, observability);
  const port = options.port ?? Number(process.env.PORT ?? 8787);
  const http = await serveHandler(handler, { host: options.host ?? '127.0.0.1', port, callerArn: LOCAL_PRINCIPAL });

  return {
    url: http.url,
    port: http.port,
    runtime,
    ...(upstreams ? { upstreams } : {}),
    ...(dynamo ? { dynamo } : {}),
    tenantIds: tenants.tenantIds(),
    close: async () => {
      await http.close();
      await dynamo?.close();
      await upstreams?.cognito.close();
      await upstreams?.loginEndpoint.close();
    },
  };
}
