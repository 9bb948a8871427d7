import * as z from 'zod/mini';

import { TenantMisconfiguredError } from './errors';
import { headerValueProblem, MAX_HEADER_VALUE_LENGTH } from './header-safety';

import './zod-messages';

/**
 * The tenant secret: one JSON document per tenant, stored in Secrets Manager as
 * `<prefix>/<tenantId>` (or in the local tenants file). One schema serves every
 * store, so a secret that works locally works deployed.
 */

export { TENANT_ID_PATTERN } from '../../contract/api';

const COGNITO_PLACEHOLDERS = ['idToken', 'accessToken', 'identityId'] as const;
const LOGIN_ENDPOINT_PLACEHOLDERS = ['token', 'identityId', 'apiKey'] as const;
const OAUTH2_PLACEHOLDERS = ['accessToken'] as const;

const nonEmpty = z.string().check(z.minLength(1, 'must not be empty'));
const headerTemplates = z.record(
  z.string().check(z.regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a valid HTTP header name')),
  z
    .string()
    .check(
      z.regex(/^[\x20-\x7E]*$/, 'must contain printable ASCII characters only'),
      z.maxLength(MAX_HEADER_VALUE_LENGTH),
    ),
);
const claimNames = z.array(nonEmpty).check(z.maxLength(50));

/** 127.0.0.0/8, ::1 and localhost: the only hosts an upstream URL may reach over plain http (emulators). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export const HTTPS_ONLY_MESSAGE =
  'must be an https: URL (plain http: only to a loopback address: 127.0.0.0/8, ::1 or localhost)';

/** Why an upstream URL is refused, or undefined when it is acceptable. Never echoes the URL. */
export function upstreamUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a URL';
  }
  if (url.username || url.password) return 'must not carry a user name or password';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return undefined;
  return HTTPS_ONLY_MESSAGE;
}

/**
 * Every URL the service sends credentials to or fetches keys from (`baseUrl`, `endpoint`, `issuer`,
 * `jwksUri`, `tokenUrl`): https, or plain http to this machine only (emulators, local upstreams).
 */
export const httpsOrLoopbackUrl = z.string().check(
  z.superRefine((value: string, ctx) => {
    const problem = upstreamUrlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
);

/**
 * `\` and control characters in a path: the URL parser reads `\` as `/` and drops tab, CR and LF, so `/\host`,
 * `/\t/host` or `/\n/host` would resolve to another host although they start with a single `/`.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE_PATH_CHARACTERS = /[\\\x00-\x1F\x7F]/;

/** Why a path on the upstream's host (`loginPath`, `refreshPath`) is refused, or undefined. Never echoes the path. */
export function upstreamPathProblem(path: string): string | undefined {
  if (!path.startsWith('/') || path.startsWith('//')) return 'must start with a single /';
  if (UNSAFE_PATH_CHARACTERS.test(path)) return 'must not contain a backslash or control character';
  return undefined;
}

/**
 * The URL a request for `path` on `base` goes to, or why it is refused: a bad path, or a URL that is not on `base`'s
 * origin (scheme, host and port) or not https-or-loopback. Checked on the URL actually built, so no trick of the
 * URL parser can send credentials to another host. `baseName` names `base` in the problem; neither value is echoed.
 */
export function upstreamRequestUrl(
  base: string,
  path: string,
  baseName: string,
): { readonly url: string } | { readonly problem: string } {
  const pathProblem = upstreamPathProblem(path);
  if (pathProblem) return { problem: pathProblem };
  let origin: string;
  let url: URL;
  try {
    origin = new URL(base).origin;
    url = new URL(path, base);
  } catch {
    return { problem: `must make a URL with ${baseName}` };
  }
  if (origin === 'null' || url.origin !== origin) {
    return { problem: `must stay on the scheme, host and port of ${baseName}` };
  }
  const urlProblem = upstreamUrlProblem(url.href);
  return urlProblem ? { problem: urlProblem } : { url: url.href };
}

/** A path on the upstream's host: `//other-host/...`, `/\\other-host/...` and the like would leave it. */
const upstreamPath = z.string().check(
  z.superRefine((value: string, ctx) => {
    const problem = upstreamPathProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
);

/**
 * Each of `fields` (paths) must resolve, against the URL in `baseField`, to a URL on that URL's origin. Paths that
 * are bad on their own and bases that are bad are reported by their own checks, once.
 */
function checkPathsStayOn<T extends Record<string, unknown>>(
  baseField: keyof T & string,
  fields: Array<keyof T & string>,
) {
  return z.superRefine((tenant: T, ctx) => {
    const base = tenant[baseField];
    if (typeof base !== 'string' || upstreamUrlProblem(base)) return;
    for (const field of fields) {
      const path = tenant[field];
      if (typeof path !== 'string' || upstreamPathProblem(path)) continue;
      const built = upstreamRequestUrl(base, path, baseField);
      if ('problem' in built) ctx.addIssue({ code: 'custom', path: [field], message: built.problem });
    }
  });
}

/** Upper bound of a vended token's lifetime (`exp` - `iat`) a tenant may allow; its default is one day. */
const maxTokenLifetimeSeconds = z._default(z.number().check(z.int(), z.minimum(60), z.maximum(604_800)), 86_400);
/** Lifetime assumed for an opaque (non-JWT) token. */
const opaqueTokenTtlSeconds = z._default(z.number().check(z.int(), z.minimum(60), z.maximum(86_400)), 3600);
/** One HTTP request's timeout; the vend's time budget cuts it short too. */
const upstreamTimeoutMs = z._default(z.number().check(z.int(), z.minimum(100), z.maximum(30_000)), 5000);
/** How to verify an upstream token as a JWT: issuer, key set and optional audience. */
const jwtVerification = z.strictObject({
  issuer: nonEmpty,
  jwksUri: httpsOrLoopbackUrl,
  audience: z.optional(nonEmpty),
});

function checkPlaceholders(allowed: readonly string[]) {
  return z.superRefine((headers: Record<string, string>, ctx) => {
    for (const [name, template] of Object.entries(headers)) {
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
  });
}

const cognitoTenant = z.strictObject({
  provider: z.literal('cognito'),
  region: z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as ap-southeast-2')),
  userPoolId: z.string().check(z.regex(/^[\w-]+_[0-9a-zA-Z]+$/, 'must look like <region>_<id>')),
  clientId: z.string().check(z.regex(/^[\w+]+$/, 'must be an app client id')),
  clientSecret: z.optional(nonEmpty),
  username: nonEmpty,
  password: nonEmpty,
  /** The app client rotates refresh tokens: refresh with GetTokensFromRefreshToken and keep the new one. */
  refreshTokenRotation: z._default(z.boolean(), false),
  /** How to sign in: the password itself (USER_PASSWORD_AUTH) or an SRP proof of it (USER_SRP_AUTH). */
  authFlow: z._default(z.enum(['USER_PASSWORD_AUTH', 'USER_SRP_AUTH']), 'USER_PASSWORD_AUTH'),
  /** Identity pool trusting this user pool: vend its identityId and, on request, temporary AWS credentials. */
  identityPoolId: z.optional(
    z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d:[0-9a-f-]{36}$/, 'must look like <region>:<uuid>')),
  ),
  /** A Cognito-compatible endpoint (cognito-local, LocalStack). Unset for real Cognito. */
  endpoint: z.optional(httpsOrLoopbackUrl),
  /** Expected `iss` of the tokens; defaults to real Cognito's, or `<endpoint>/<userPoolId>` with an endpoint. */
  issuer: z.optional(httpsOrLoopbackUrl),
  /**
   * Where the pool's signing keys are; defaults to `<issuer>/.well-known/jwks.json`. Set it when `endpoint` points
   * elsewhere but the tokens carry real Cognito's issuer, so keys are not fetched from the public internet.
   */
  jwksUri: z.optional(httpsOrLoopbackUrl),
  maxTokenLifetimeSeconds,
  headers: z._default(headerTemplates.check(checkPlaceholders(COGNITO_PLACEHOLDERS)), {
    authorization: '{idToken}',
    'X-Amz-Cognito-Security-Token': '{idToken}',
  }),
  claims: z._default(claimNames, []),
});

const loginEndpointFields = z.strictObject({
  provider: z.literal('login-endpoint'),
  baseUrl: httpsOrLoopbackUrl,
  loginPath: z._default(upstreamPath, '/auth/login'),
  /** POSTed `{refreshToken, identityId}` to renew without the password; unset: sign in again. */
  refreshPath: z.optional(upstreamPath),
  /** Sent as `x-api-key` and usable in header templates, so it must be header-safe. */
  apiKey: z.string().check(
    z.superRefine((value: string, ctx) => {
      const problem = headerValueProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: `must be header-safe: it ${problem}` });
    }),
  ),
  username: nonEmpty,
  password: nonEmpty,
  /** Lifetime assumed for opaque (non-JWT) tokens. */
  tokenTtlSeconds: opaqueTokenTtlSeconds,
  timeoutMs: upstreamTimeoutMs,
  /** The upstream's token is a JWT, verified against these; with `jwt` set any other token is refused (502). */
  jwt: z.optional(jwtVerification),
  maxTokenLifetimeSeconds,
  headers: z._default(headerTemplates.check(checkPlaceholders(LOGIN_ENDPOINT_PLACEHOLDERS)), {
    Authorization: '{token}',
    identityId: '{identityId}',
    'x-api-key': '{apiKey}',
  }),
  claims: z._default(claimNames, []),
});

/** The fields, and the request URLs built from them: loginPath and refreshPath stay on baseUrl's origin. */
const loginEndpointTenant = loginEndpointFields.check(checkPathsStayOn('baseUrl', ['loginPath', 'refreshPath']));

/** RFC 6749 §4.4: a machine-to-machine grant; no refresh token, renewal is a new grant. */
const oauth2ClientCredentialsTenant = z.strictObject({
  provider: z.literal('oauth2-client-credentials'),
  /** The token endpoint, e.g. `https://<domain>/oauth2/token` for a Cognito M2M app client. */
  tokenUrl: httpsOrLoopbackUrl,
  clientId: nonEmpty,
  clientSecret: nonEmpty,
  /** How the client authenticates (RFC 6749 §2.3.1): HTTP Basic, or id and secret in the form body. */
  clientAuth: z._default(z.enum(['client_secret_basic', 'client_secret_post']), 'client_secret_basic'),
  scopes: z._default(
    z
      .array(z.string().check(z.regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a valid scope token')))
      .check(z.maxLength(50)),
    [],
  ),
  /** Sent as `audience` (Auth0 style) and `resource` (RFC 8707) when set. */
  audience: z.optional(nonEmpty),
  resource: z.optional(z.url({ protocol: /^https?$/ })),
  /** Lifetime assumed for an opaque token whose answer has no expires_in. */
  tokenTtlSeconds: opaqueTokenTtlSeconds,
  timeoutMs: upstreamTimeoutMs,
  /** Verify the access token as a JWT (issuer, JWKS, audience); unset: opaque, expiry from expires_in. */
  jwt: z.optional(jwtVerification),
  maxTokenLifetimeSeconds,
  headers: z._default(headerTemplates.check(checkPlaceholders(OAUTH2_PLACEHOLDERS)), {
    Authorization: 'Bearer {accessToken}',
  }),
  claims: z._default(claimNames, []),
});

export const tenantConfigSchema = z.discriminatedUnion('provider', [
  cognitoTenant,
  loginEndpointTenant,
  oauth2ClientCredentialsTenant,
]);

export type CognitoTenantConfig = z.infer<typeof cognitoTenant>;
export type LoginEndpointTenantConfig = z.infer<typeof loginEndpointTenant>;
export type OAuth2ClientCredentialsTenantConfig = z.infer<typeof oauth2ClientCredentialsTenant>;
export type TenantConfig = z.infer<typeof tenantConfigSchema>;
export type ProviderKind = TenantConfig['provider'];

/** Field-level problems, e.g. `password: must not be empty`. Never includes the offending value. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = issue.path.map(String).join('.') || '(root)';
    if (issue.code === 'invalid_union' && issue.path.length === 0) {
      return `provider: must be "cognito", "login-endpoint" or "oauth2-client-credentials"`;
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
