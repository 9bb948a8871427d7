import * as z from 'zod';

import { TenantMisconfiguredError } from './errors';

/**
 * The tenant secret: one JSON document per tenant, stored in Secrets Manager as
 * `<prefix>/<tenantId>` (or in the local tenants file). One schema serves every
 * store, so a secret that works locally works deployed.
 */

export const TENANT_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

const COGNITO_PLACEHOLDERS = ['idToken', 'accessToken', 'identityId'] as const;
const LOGIN_ENDPOINT_PLACEHOLDERS = ['token', 'identityId', 'apiKey'] as const;

const nonEmpty = z.string().min(1, 'must not be empty');
const headerTemplates = z.record(
  z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a valid HTTP header name'),
  z.string(),
);
const claimNames = z.array(nonEmpty).max(50);

function checkPlaceholders(allowed: readonly string[]) {
  return (headers: Record<string, string> | undefined, ctx: z.RefinementCtx) => {
    for (const [name, template] of Object.entries(headers ?? {})) {
      for (const match of template.matchAll(/\{([^}]*)\}/g)) {
        const placeholder = match[1] ?? '';
        if (!allowed.includes(placeholder)) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `unknown placeholder {${placeholder}}; use one of ${allowed.map((p) => `{${p}}`).join(', ')}`,
          });
        }
      }
    }
  };
}

const cognitoTenant = z.strictObject({
  provider: z.literal('cognito'),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as ap-southeast-2'),
  userPoolId: z.string().regex(/^[\w-]+_[0-9a-zA-Z]+$/, 'must look like <region>_<id>'),
  clientId: z.string().regex(/^[\w+]+$/, 'must be an app client id'),
  clientSecret: nonEmpty.optional(),
  username: nonEmpty,
  password: nonEmpty,
  /** The app client rotates refresh tokens: refresh with GetTokensFromRefreshToken and keep the new one. */
  refreshTokenRotation: z.boolean().default(false),
  /** A Cognito-compatible endpoint (cognito-local, LocalStack). Unset for real Cognito. */
  endpoint: z.url({ protocol: /^https?$/ }).optional(),
  /** Expected `iss` of the tokens; defaults to real Cognito's, or `<endpoint>/<userPoolId>` with an endpoint. */
  issuer: z.url({ protocol: /^https?$/ }).optional(),
  headers: headerTemplates
    .superRefine(checkPlaceholders(COGNITO_PLACEHOLDERS))
    .default({ authorization: '{idToken}', 'X-Amz-Cognito-Security-Token': '{idToken}' }),
  claims: claimNames.default([]),
});

const loginEndpointTenant = z.strictObject({
  provider: z.literal('login-endpoint'),
  baseUrl: z.url({ protocol: /^https?$/ }),
  loginPath: z.string().startsWith('/', 'must start with /').default('/auth/login'),
  /** POSTed `{refreshToken, identityId}` to renew without the password; unset: sign in again. */
  refreshPath: z.string().startsWith('/', 'must start with /').optional(),
  apiKey: nonEmpty,
  username: nonEmpty,
  password: nonEmpty,
  /** Lifetime assumed for opaque (non-JWT) tokens. */
  tokenTtlSeconds: z.number().int().min(60).max(86_400).default(3600),
  timeoutMs: z.number().int().min(100).max(30_000).default(5000),
  /** How to verify the upstream's token when it is a JWT. */
  jwt: z
    .strictObject({
      issuer: nonEmpty,
      jwksUri: z.url({ protocol: /^https?$/ }),
      audience: nonEmpty.optional(),
    })
    .optional(),
  headers: headerTemplates
    .superRefine(checkPlaceholders(LOGIN_ENDPOINT_PLACEHOLDERS))
    .default({ Authorization: '{token}', identityId: '{identityId}', 'x-api-key': '{apiKey}' }),
  claims: claimNames.default([]),
});

export const tenantConfigSchema = z.discriminatedUnion('provider', [cognitoTenant, loginEndpointTenant]);

export type CognitoTenantConfig = z.infer<typeof cognitoTenant>;
export type LoginEndpointTenantConfig = z.infer<typeof loginEndpointTenant>;
export type TenantConfig = z.infer<typeof tenantConfigSchema>;
export type ProviderKind = TenantConfig['provider'];

/** Field-level problems, e.g. `password: must not be empty`. Never includes the offending value. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = issue.path.map(String).join('.') || '(root)';
    if (issue.code === 'invalid_union' && issue.path.length === 0) {
      return `provider: must be "cognito" or "login-endpoint"`;
    }
    return `${path}: ${issue.message}`;
  });
}

/** Parse secret text into a tenant config, or throw `tenant_misconfigured` naming the tenant and fields. */
export function parseTenantConfig(tenantId: string, secretText: string): TenantConfig {
  let json: unknown;
  try {
    json = JSON.parse(secretText);
  } catch {
    throw new TenantMisconfiguredError(tenantId, ['secret is not valid JSON']);
  }
  const result = tenantConfigSchema.safeParse(json);
  if (!result.success) {
    throw new TenantMisconfiguredError(tenantId, describeIssues(result.error.issues));
  }
  return result.data;
}
