import { StaticTenantStore } from '../../../lambdas/adapters/file-tenant-store';
import type { UpstreamJwtVerifier } from '../../../lambdas/adapters/jwt-verifier';
import type { Clock, SessionCache, TenantStore } from '../../../lambdas/core/ports';
import type { VendorOptions } from '../../../lambdas/core/vendor';
import { createHttpHandler } from '../../../lambdas/handlers/http-handler';
import { createObservability } from '../../../lambdas/handlers/observability';
import { serveHandler } from '../../../lambdas/local/http-adapter';
import { composeRuntime, type Runtime } from '../../../lambdas/runtime/compose';
import { loadRuntimeConfig } from '../../../lambdas/runtime/config';

/**
 * The real service (handler, vendor, providers, verifier) over HTTP on 127.0.0.1,
 * for tenants that point at hostile upstreams. Memory cache only; retry delays
 * shortened so failing cases stay fast.
 */

export interface ServiceUnderTest {
  readonly url: string;
  readonly runtime: Runtime;
  get(path: string): Promise<{ status: number; headers: Headers; body: Record<string, any> }>;
  close(): Promise<void>;
}

export interface ServiceOptions {
  /** Tenant secrets by id, or a store (e.g. Secrets Manager with a mocked client). */
  readonly tenants: Record<string, unknown> | TenantStore;
  readonly vendorOptions?: VendorOptions;
  readonly verifier?: UpstreamJwtVerifier;
  readonly cache?: SessionCache;
  readonly clock?: Clock;
}

export async function startServiceUnderTest(options: ServiceOptions): Promise<ServiceUnderTest> {
  const config = loadRuntimeConfig({ TVM_CONSUMERS: JSON.stringify([{ principal: 'local', tenants: ['*'] }]) });
  const tenants =
    typeof (options.tenants as TenantStore).get === 'function'
      ? (options.tenants as TenantStore)
      : new StaticTenantStore(options.tenants as Record<string, unknown>);
  const runtime = composeRuntime(config, {
    tenants,
    shared: null,
    ...(options.verifier ? { verifier: options.verifier } : {}),
    ...(options.cache ? { cache: options.cache } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    vendorOptions: { retryBaseMs: 1, retryCapMs: 5, ...options.vendorOptions },
  });
  const http = await serveHandler(createHttpHandler(runtime, createObservability()), {
    host: '127.0.0.1',
    port: 0,
    callerArn: 'local',
  });
  return {
    url: http.url,
    runtime,
    get: async (path) => {
      const response = await fetch(`${http.url}${path}`);
      return {
        status: response.status,
        headers: response.headers,
        body: (await response.json()) as Record<string, any>,
      };
    },
    close: () => http.close(),
  };
}
