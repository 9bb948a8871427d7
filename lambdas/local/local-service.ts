import { randomBytes } from 'node:crypto';

import { ENV, SERVICE_NAME } from '../../contract/names';
import { FileTenantStore, StaticTenantStore, TenantsFileError } from '../adapters/file-tenant-store';
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
import { listenError, LocalStartError, resolvePort } from './local-start';
import { startLoginEndpointEmulator, type LoginEndpointEmulator } from './login-endpoint-emulator';
import type { OAuth2Emulator } from './oauth2-emulator';
import { seedCognitoTenant } from './seed-cognito';
import { DEMO_OAUTH2_TENANT, seedOAuth2Tenant } from './seed-oauth2';

// Local mode: the same handler as in Lambda, served on 127.0.0.1. Without a
// tenants file it embeds two upstreams: cognito-local (tenant `demo`) and a
// login-endpoint emulator (tenant `demo-rest`). Every local caller is the
// principal `local`, allowed all tenants.

export { LocalStartError, resolvePort } from './local-start';

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
  /** Told about problems met while serving (e.g. the tenants file became invalid). @default a line on stderr */
  readonly warn?: (message: string) => void;
}

export interface DemoUpstreams {
  readonly cognito: CognitoEmulator;
  readonly loginEndpoint: LoginEndpointEmulator;
  /** OAuth 2.0 token endpoint of the `demo-oauth2` tenant (client credentials). */
  readonly oauth2: OAuth2Emulator;
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
  /** Tenants whose secrets are invalid, found at start (they answer 500 tenant_misconfigured). */
  readonly tenantProblems: readonly { tenantId: string; message: string }[];
  /** Stop serving and stop every embedded upstream; temporary directories are removed. */
  close(): Promise<void>;
}

export async function startDemoUpstreams(clock: Clock, tokenValidityMinutes = 60): Promise<DemoUpstreams> {
  // The OAuth2 server starts alongside the others (key generation takes a moment); stopped if anything else fails.
  const oauth2Started = seedOAuth2Tenant(tokenValidityMinutes * 60);
  oauth2Started.catch(() => undefined); // handled where awaited below; never an unhandled rejection meanwhile
  const stopOAuth2 = async () => (await oauth2Started.catch(() => undefined))?.emulator.close();
  const cognito = await startCognitoEmulator({ clock }).catch(async (error: unknown) => {
    await stopOAuth2();
    throw error;
  });
  const stopCognito = async (error: unknown): Promise<never> => {
    await cognito.close();
    await stopOAuth2();
    throw error;
  };
  const seeded = await seedCognitoTenant(cognito.endpoint, {
    username: 'demo@example.com',
    customAttributes: {
      identityId: 'ap-southeast-2:00000000-0000-4000-8000-000000000001',
      companyId: 'company-demo',
      teamId: 'team-demo',
    },
    tokenValidityMinutes,
  }).catch(stopCognito);
  const restUser = 'demo-rest@example.com';
  const restPassword = `Tvm-${randomBytes(12).toString('base64url')}`;
  const apiKey = `local-${randomBytes(16).toString('hex')}`;
  const loginEndpoint = await startLoginEndpointEmulator({
    users: { [restUser]: restPassword },
    apiKey,
    clock,
    tokenTtlSeconds: tokenValidityMinutes * 60,
  }).catch(stopCognito);
  const oauth2 = await oauth2Started.catch(async (error: unknown) => {
    await loginEndpoint.close();
    return stopCognito(error);
  });
  return {
    cognito,
    loginEndpoint,
    oauth2: oauth2.emulator,
    tenants: {
      demo: seeded.secret,
      [DEMO_OAUTH2_TENANT]: oauth2.secret,
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
  const host = options.host ?? '127.0.0.1';
  // Checked before anything starts, so a bad PORT costs nothing.
  const port = resolvePort(options.port, process.env.PORT);
  const clock = options.clock ?? systemClock;
  const config = loadRuntimeConfig({
    ...process.env,
    [ENV.consumers]: JSON.stringify(options.consumers ?? [{ principal: LOCAL_PRINCIPAL, tenants: ['*'] }]),
  });
  const warn = options.warn ?? ((message: string) => process.stderr.write(`warning: ${message}\n`));

  // Everything started so far, stopped in reverse order if a later step fails (and by close()).
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  };
  try {
    let upstreams: DemoUpstreams | undefined;
    let tenants: TenantStore & { tenantIds(): string[]; problems(): { tenantId: string; message: string }[] };
    const tenantsFile = options.tenantsFile ?? config.tenantsFile;
    if (tenantsFile) {
      try {
        tenants = new FileTenantStore(tenantsFile, { clock, warn });
      } catch (error) {
        throw error instanceof TenantsFileError ? new LocalStartError(error.message, { cause: error }) : error;
      }
    } else {
      const started = await startDemoUpstreams(clock, options.tokenValidityMinutes);
      upstreams = started;
      closers.push(
        () => started.cognito.close(),
        () => started.loginEndpoint.close(),
        () => started.oauth2.close(),
      );
      tenants = new StaticTenantStore({ ...started.tenants, ...options.extraTenants?.(started.tenants) });
    }

    const useSharedCache = options.sharedCache ?? process.env[ENV.localSharedCache] === 'true';
    const dynamo = useSharedCache ? await startLocalDynamo() : undefined;
    if (dynamo) closers.push(() => dynamo.close());

    const observability = createObservability();
    const runtime = composeRuntime(config, {
      tenants,
      clock,
      shared: dynamo ? sharedStateFor(dynamo.tableName, clock, dynamo.client()) : null,
      onEvent: vendorEventSink(observability),
      ...(options.cache ? { cache: options.cache } : {}),
      ...(options.vendorOptions ? { vendorOptions: options.vendorOptions } : {}),
    });
    const handler = createHttpHandler(runtime, observability);
    const http = await serveHandler(handler, {
      host,
      port,
      callerArn: LOCAL_PRINCIPAL,
      onError: (error) => observability.logger.error('local server error', { error: error as Error }),
    }).catch((error: unknown) => {
      throw listenError(error, host, port);
    });
    closers.push(() => http.close());

    return {
      url: http.url,
      port: http.port,
      runtime,
      ...(upstreams ? { upstreams } : {}),
      ...(dynamo ? { dynamo } : {}),
      tenantIds: tenants.tenantIds(),
      tenantProblems: tenants.problems(),
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
