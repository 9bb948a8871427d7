// The vocabulary of identity pool credentials: what is vended and cached, the identity pool port, the caches'
// port, and the route's body. The vending itself is in credentials-vendor.ts.

import type { AwsCredentialsResponseBody } from '../../contract/api';
import { InvalidRequestError } from './errors';
import type { TenantRecord } from './ports';
import type { CognitoTenantConfig } from './tenant-config';

/** Temporary AWS credentials as the identity pool hands them out. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

/** What is cached per tenant. The identity id is stable for the user: it is reused for every renewal. */
export interface CredentialsSession {
  readonly tenantId: string;
  readonly secretVersion: string;
  readonly identityPoolId: string;
  readonly identityId: string;
  readonly credentials: AwsCredentials;
  /** Epoch seconds when the credentials were obtained. */
  readonly issuedAt: number;
}

/** A Cognito tenant with an identity pool. */
export type IdentityPoolTenantConfig = CognitoTenantConfig & { readonly identityPoolId: string };

/** The identity pool (GetId, GetCredentialsForIdentity). Implementations treat every answer as hostile. */
export interface IdentityPool {
  /**
   * Credentials for the identity of the ID token's user. With `knownIdentityId`, GetId is skipped (and called
   * again only if the pool no longer knows that identity). Throws the service's error classes.
   */
  credentials(
    tenantId: string,
    config: IdentityPoolTenantConfig,
    idToken: string,
    knownIdentityId: string | undefined,
    /** Aborts the requests when the vend's time budget is spent. */
    signal?: AbortSignal,
  ): Promise<{ readonly identityId: string; readonly credentials: AwsCredentials }>;
}

/** Per-tenant credentials cache: L1 (memory) or L2 (shared table). */
export interface CredentialsCache {
  get(tenantId: string): Promise<CredentialsSession | undefined>;
  put(session: CredentialsSession): Promise<void>;
}

/** Identity pool credentials last one hour: a longer minTtl can never be met. */
export const IDENTITY_POOL_CREDENTIALS_SECONDS = 3600;

/** The tenant's identity pool config, or undefined for a tenant that has none. */
export function identityPoolOf(tenant: TenantRecord): IdentityPoolTenantConfig | undefined {
  const config = tenant.config;
  return config.provider === 'cognito' && config.identityPoolId ? (config as IdentityPoolTenantConfig) : undefined;
}

/** The tenant's identity pool config, or 400 for a tenant that has none. */
export function identityPoolConfig(tenant: TenantRecord): IdentityPoolTenantConfig {
  const config = identityPoolOf(tenant);
  if (!config) {
    throw new InvalidRequestError(
      `Tenant '${tenant.tenantId}' has no identity pool: AWS credentials are vended only for cognito tenants with identityPoolId.`,
    );
  }
  return config;
}

/** The 200 body of the aws-credentials route. */
export function presentCredentials(session: CredentialsSession): AwsCredentialsResponseBody {
  return {
    accessKeyId: session.credentials.accessKeyId,
    secretAccessKey: session.credentials.secretAccessKey,
    sessionToken: session.credentials.sessionToken,
    expiration: new Date(session.credentials.expiresAt * 1000).toISOString(),
    identityId: session.identityId,
  };
}
