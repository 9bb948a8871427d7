// HTTP API v1 bodies: what the service answers and what the client reads, and the shape of a tenant id, shared by
// `lambdas/` (presenter, handlers) and `client/`, so the two cannot drift apart.

import type { ErrorCode } from './error-codes';

/** A tenant id: 1-64 lowercase letters, digits or hyphens, starting and ending with a letter or digit. */
export const TENANT_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

/** Upstream sign-in flows a tenant can use (the `provider` field of a tenant secret and of a token response). */
export type TokenProvider = 'cognito' | 'login-endpoint' | 'oauth2-client-credentials';

/** The tokens a caller may receive; which are set depends on the provider. */
export interface VendedTokens {
  readonly idToken?: string;
  readonly accessToken?: string;
  readonly token?: string;
}

/**
 * The 200 body of `GET /v1/tenants/{tenantId}/token`. Holds no refresh token, password or secret other than
 * what a header template asks for.
 */
export interface TokenResponseBody extends VendedTokens {
  readonly tenantId: string;
  readonly provider: TokenProvider;
  /** The Cognito identity id (or the login endpoint's), when known. */
  readonly identityId?: string;
  /** ISO 8601 expiry of the earliest-expiring vended token. */
  readonly expiresAt: string;
  /** Seconds until `expiresAt` when the answer was made. */
  readonly expiresIn: number;
  /** The tenant's header templates, rendered: use them as they are on the upstream call. */
  readonly headers: Record<string, string>;
  /** The claims the tenant selects, from the verified ID token. */
  readonly claims: Record<string, unknown>;
}

/** The body of every error answer, from the handler and from API Gateway's own gateway responses. */
export interface ErrorResponseBody {
  readonly error: { readonly code: ErrorCode; readonly message: string };
  readonly requestId?: string;
}

/** The 200 body of `GET /v1/health`. */
export interface HealthResponseBody {
  readonly status: 'ok';
}

/** Query parameters of the token route. */
export interface TokenQuery {
  /** Seconds the token must stay valid, 0..3600. @default 300 */
  readonly minTtl?: number;
  /** Fingerprint ({@link fingerprint}) of a token the upstream refused: renew instead of vending it again. */
  readonly rejected?: string;
}

/**
 * The 200 body of `GET /v1/tenants/{tenantId}/aws-credentials` (tenants with a Cognito identity pool): temporary
 * AWS credentials of the tenant's identity, valid for at least the requested `minTtl`.
 */
export interface AwsCredentialsResponseBody {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  /** ISO 8601 expiry of the credentials. */
  readonly expiration: string;
  /** The Cognito identity id the credentials belong to. */
  readonly identityId: string;
}
