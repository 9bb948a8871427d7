import { ENV } from '../../contract/names';
import { DynamoDbCredentialsCache, MemoryCredentialsCache } from '../adapters/credentials-cache';
import {
  cacheTableClient,
  DynamoDbFailureMarks,
  DynamoDbLeases,
  DynamoDbRenewalMarks,
  DynamoDbSessionCache,
} from '../adapters/dynamodb-cache';
import { DynamoDbSessionSchedules } from '../adapters/dynamodb-session-schedules';
import { localEnvelope, type Envelope } from '../adapters/envelope';
import type { UpstreamJwtVerifier } from '../adapters/jwt-verifier';
import { kmsEnvelope } from '../adapters/kms-envelope';
import { MemoryFailureMarks, MemorySessionCache } from '../adapters/memory-cache';
import { SecretsManagerTenantDirectory } from '../adapters/secrets-manager-tenant-directory';
import { SecretsManagerTenantStore } from '../adapters/secrets-manager-tenant-store';
import { systemClock } from '../adapters/system-clock';
import { AccessPolicy } from '../core/access-policy';
import { TokenApi } from '../core/api';
import { CredentialsVendor, type CredentialsCache, type IdentityPool } from '../core/credentials-vendor';
import type { AuthProvider, Clock, FailureMarks, SessionCache, TenantStore, VendorEvent } from '../core/ports';
import { staticDirectory, type RefreshSources } from '../core/refresher';
import type { ProviderKind } from '../core/tenant-config';
import { TokenVendor, type SharedState, type VendorOptions } from '../core/vendor';
import type { CognitoClientFactory } from '../providers/cognito';
import type { FetchLike } from '../providers/login-endpoint';
import { ConfigError, type RuntimeConfig } from './config';
import { lazyAuthProvider, lazyIdentityPool } from './lazy-sign-in';
import type { SignInParts } from './sign-in';

/** Composition root: the one place that picks adapters and wires them into the core. */

export interface Overrides {
  readonly tenants?: TenantStore;
  readonly cache?: SessionCache;
  readonly failureMarks?: FailureMarks;
  /** The fleet-wide layer; `null` turns it off even when TVM_CACHE_TABLE is set. */
  readonly shared?: SharedState | null;
  readonly clock?: Clock;
  readonly verifier?: UpstreamJwtVerifier;
  readonly cognitoClients?: CognitoClientFactory;
  readonly fetch?: FetchLike;
  readonly providers?: Partial<Record<ProviderKind, AuthProvider>>;
  readonly vendorOptions?: VendorOptions;
  readonly onEvent?: (event: VendorEvent) => void;
  /** Identity pool calls (GetId, GetCredentialsForIdentity). @default real Cognito identity pools */
  readonly identityPool?: IdentityPool;
  /** L2 of AWS credentials; `null` turns it off. @default the cache table when TVM_CACHE_TABLE is set and `shared` is not overridden */
  readonly sharedCredentials?: CredentialsCache | null;
}

/** What the refresher needs: the vendors and their tenant store, without the HTTP API. */
export interface Services {
  readonly vendor: TokenVendor;
  readonly credentials: CredentialsVendor;
  readonly tenants: TenantStore;
  readonly clock: Clock;
}

/** The services and the HTTP API over them (the vend function, the local server). */
export interface Runtime extends Services {
  readonly api: TokenApi;
}

/**
 * Tenant secrets from Secrets Manager. A tenants file (`TVM_TENANTS_FILE`) is local mode's (lambdas/local/, which
 * passes its store in): a deployed function that names one fails at start rather than read passwords from a file in
 * its package, and its bundle leaves the file store out.
 */
export function tenantStoreFor(config: RuntimeConfig, clock: Clock): TenantStore {
  if (config.tenantsFile) {
    throw new ConfigError(
      `${ENV.tenantsFile} is read by local mode only (npm start, tvm serve); deployed functions read tenant secrets from Secrets Manager.`,
    );
  }
  return new SecretsManagerTenantStore({
    prefix: config.secretPrefix,
    ttlSeconds: config.secretCacheTtlSeconds,
    clock,
  });
}

/**
 * The fleet-wide layer on one table. `envelope` seals the session items: KMS in Lambda; by default the local
 * in-process stand-in (local mode, tests, benchmarks), which every `sharedStateFor` of a process shares.
 */
export function sharedStateFor(
  tableName: string,
  clock: Clock,
  client = cacheTableClient(),
  envelope: Envelope = localEnvelope(),
): SharedState {
  const options = { tableName, client, clock };
  const cache = new DynamoDbSessionCache({ ...options, envelope });
  return {
    cache,
    sessionLeases: cache,
    leases: new DynamoDbLeases(options),
    failureMarks: new DynamoDbFailureMarks(options),
    renewals: new DynamoDbRenewalMarks(options),
  };
}

/**
 * The refresher's tenants: a fixed `TVM_TENANTS` list when one is set, the tenants file in local mode, else every
 * secret under the prefix (so adding a tenant needs no redeploy). With the shared cache, the sessions' schedules
 * come from the table, so tenants that are not due cost no call.
 */
export function refreshSourcesFor(config: RuntimeConfig, runtime: Pick<Services, 'tenants'>): RefreshSources {
  const store = runtime.tenants as TenantStore & { tenantIds?: () => string[] };
  const directory =
    config.tenants.length > 0
      ? staticDirectory(config.tenants)
      : typeof store.tenantIds === 'function'
        ? { list: async () => (store.tenantIds?.() ?? []).map((tenantId) => ({ tenantId })) }
        : new SecretsManagerTenantDirectory({ prefix: config.secretPrefix });
  return {
    directory,
    ...(config.cacheTable ? { schedules: new DynamoDbSessionSchedules({ tableName: config.cacheTable }) } : {}),
  };
}

/** KMS when a key is configured (always in Lambda: the config requires it with the table), else local. */
export function cacheEnvelopeFor(config: Pick<RuntimeConfig, 'cacheKeyId'>): Envelope {
  return config.cacheKeyId ? kmsEnvelope({ keyId: config.cacheKeyId }) : localEnvelope();
}

/**
 * The services with the HTTP API over them. The refresher composes {@link composeServices} alone, so its bundle leaves
 * the API (routes, presenters, access policy) out.
 */
export function composeRuntime(config: RuntimeConfig, overrides: Overrides = {}): Runtime {
  const services = composeServices(config, overrides);
  const api = new TokenApi(services.vendor, new AccessPolicy(config.consumers), services.clock, services.credentials);
  return { ...services, api };
}

/** The vendors wired to their adapters: the fleet-wide layer, the sign-in code (loaded on first use), the caches. */
export function composeServices(config: RuntimeConfig, overrides: Overrides = {}): Services {
  const clock = overrides.clock ?? systemClock;
  const tenants = overrides.tenants ?? tenantStoreFor(config, clock);
  // Loaded on first use (see sign-in.ts), once per runtime. If building the parts fails, the calls waiting for them
  // fail and the next call tries again. (A module that failed to load is kept failed by Node's loader for the
  // process's life: every miss then fails with internal_error and the cause logged. test/integration/deployed-bundle
  // loads the real chunk, so a bundling change that breaks it fails `npm test`.)
  let signIn: Promise<SignInParts> | undefined;
  const loadSignIn = () => {
    signIn ??= import('./sign-in.js')
      .then((module) =>
        module.signInParts({
          clock,
          clockSkewSeconds: config.clockSkewSeconds,
          ...(overrides.verifier ? { verifier: overrides.verifier } : {}),
          ...(overrides.cognitoClients ? { cognitoClients: overrides.cognitoClients } : {}),
          ...(overrides.fetch ? { fetch: overrides.fetch } : {}),
        }),
      )
      .catch((error: unknown) => {
        signIn = undefined;
        throw error;
      });
    return signIn;
  };
  const provider = (kind: ProviderKind): AuthProvider =>
    overrides.providers?.[kind] ?? lazyAuthProvider(async () => (await loadSignIn()).providers[kind]);
  const shared =
    overrides.shared === undefined
      ? config.cacheTable
        ? sharedStateFor(config.cacheTable, clock, cacheTableClient(), cacheEnvelopeFor(config))
        : undefined
      : (overrides.shared ?? undefined);
  const vendor = new TokenVendor({
    tenants,
    providers: {
      cognito: provider('cognito'),
      'login-endpoint': provider('login-endpoint'),
      'oauth2-client-credentials': provider('oauth2-client-credentials'),
    },
    cache: overrides.cache ?? new MemorySessionCache(),
    failureMarks: overrides.failureMarks ?? new MemoryFailureMarks(),
    ...(shared ? { shared } : {}),
    clock,
    ...(overrides.onEvent ? { onEvent: overrides.onEvent } : {}),
    options: {
      clockSkewSeconds: config.clockSkewSeconds,
      maxUpstreamAttempts: config.upstreamAttempts,
      budgetMs: config.vendBudgetMs,
      forcedRenewalIntervalMs: config.forcedRenewalIntervalSeconds * 1000,
      ...overrides.vendorOptions,
    },
  });
  const sharedCredentials =
    overrides.sharedCredentials === undefined
      ? overrides.shared === undefined && config.cacheTable
        ? new DynamoDbCredentialsCache({ tableName: config.cacheTable, envelope: cacheEnvelopeFor(config) })
        : undefined
      : (overrides.sharedCredentials ?? undefined);
  const credentials = new CredentialsVendor({
    tenants,
    tokens: vendor,
    identityPool: overrides.identityPool ?? lazyIdentityPool(async () => (await loadSignIn()).identityPool),
    cache: new MemoryCredentialsCache(),
    ...(sharedCredentials ? { shared: sharedCredentials } : {}),
    ...(sharedCredentials && shared ? { leases: shared.leases } : {}),
    clock,
    ...(overrides.onEvent ? { onEvent: overrides.onEvent } : {}),
    options: {
      clockSkewSeconds: config.clockSkewSeconds,
      maxUpstreamAttempts: config.upstreamAttempts,
      budgetMs: config.vendBudgetMs,
      ...(overrides.vendorOptions?.retryBaseMs !== undefined
        ? { retryBaseMs: overrides.vendorOptions.retryBaseMs }
        : {}),
    },
  });
  return { vendor, credentials, tenants, clock };
}
