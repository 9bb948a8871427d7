// OAuth 2.0 client credentials grant (RFC 6749 §4.4): machine-to-machine tokens from a token endpoint,
// e.g. a Cognito M2M app client at `https://<domain>/oauth2/token`. There is no refresh token: renewal is a
// new grant, under the vendor's budget and lockout rules like any sign-in.

import * as z from 'zod/mini';

import { genericExpectation, type UpstreamJwtVerifier } from '../adapters/jwt-verifier';
import {
  UpstreamAuthFailedError,
  UpstreamTokenInvalidError,
  UpstreamUnavailableError,
  type AuthFailureReason,
} from '../core/errors';
import type { AuthProvider, ProviderSession, Session, UpstreamCall } from '../core/ports';
import type { OAuth2ClientCredentialsTenantConfig, TenantConfig } from '../core/tenant-config';
import { decodeJwtPayload } from './login-endpoint';
import { requestSignal } from './request-signal';
import {
  AnswerUnreadableError,
  isInterruptedAnswer,
  postWithoutRedirect,
  readBoundedText,
  unavailableAnswer,
  type FetchLike,
} from './upstream-http';

/** Longest token answer read; anything bigger is not a token response. */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** Longest lifetime believed from `expires_in`. */
const MAX_EXPIRES_IN_SECONDS = 86_400;

const tokenResponse = z.object({
  access_token: z.string().check(z.minLength(1), z.maxLength(16_384)),
  token_type: z.string().check(z.regex(/^bearer$/i, 'must be Bearer')),
  expires_in: z.optional(z.union([z.number(), z.pipe(z.string().check(z.regex(/^\d+$/)), z.transform(Number))])),
});

const errorResponse = z.object({ error: z.string().check(z.maxLength(100)) });

/** RFC 6749 §5.2 error codes: what each means for the tenant. All need an operator; none is retried. */
const GRANT_ERRORS: Readonly<Record<string, { reason: AuthFailureReason; hint: string }>> = {
  invalid_client: {
    reason: 'not_authorized',
    hint: 'the client id or secret is wrong, or the client auth method (clientAuth) does not match',
  },
  unauthorized_client: {
    reason: 'client_rejected',
    hint: 'the client may not use the client_credentials grant; enable it for the app client',
  },
  invalid_scope: { reason: 'client_rejected', hint: 'a requested scope is unknown or not allowed for the client' },
  invalid_grant: { reason: 'client_rejected', hint: 'the token endpoint refused the grant' },
  unsupported_grant_type: {
    reason: 'client_rejected',
    hint: 'the token endpoint does not support client_credentials',
  },
  invalid_request: {
    reason: 'client_rejected',
    hint: 'the token endpoint refused the request; check audience, resource and scopes',
  },
};

function oauth2Config(config: TenantConfig): OAuth2ClientCredentialsTenantConfig {
  if (config.provider !== 'oauth2-client-credentials')
    throw new Error(`oauth2-client-credentials provider given a ${config.provider} tenant`);
  return config;
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded. */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

/** What the answer's body held: its JSON (undefined when not JSON or too long), and whether it was undecodable. */
interface Answer {
  readonly body: unknown;
  /** The body could not be decoded (e.g. `content-encoding: gzip` over bytes that are not gzip). */
  readonly undecodable?: AnswerUnreadableError;
}

/** The answer's body, at most MAX_RESPONSE_BYTES; a body that stalls past the signal or breaks off is an outage. */
async function readAnswer(tenantId: string, response: Response, signal: AbortSignal): Promise<Answer> {
  let text: string;
  try {
    text = await readBoundedText(response, MAX_RESPONSE_BYTES, signal);
  } catch (error) {
    if (isInterruptedAnswer(error, signal)) {
      const what = signal.aborted ? 'timed out sending' : 'broke off';
      throw new UpstreamUnavailableError(`The token endpoint of tenant '${tenantId}' ${what} its answer.`, undefined, {
        cause: error,
      });
    }
    if (error instanceof AnswerUnreadableError && error.kind === 'undecodable') {
      return { body: undefined, undecodable: error };
    }
    return { body: undefined };
  }
  try {
    return { body: JSON.parse(text) as unknown };
  } catch {
    return { body: undefined };
  }
}

export class OAuth2ClientCredentialsProvider implements AuthProvider {
  constructor(
    private readonly verifier: UpstreamJwtVerifier,
    private readonly fetchFn: FetchLike = (url, init) => fetch(url, init),
    private readonly clock: { now(): number } = Date,
  ) {}

  async signIn(tenantId: string, tenantConfig: TenantConfig, call?: UpstreamCall): Promise<ProviderSession> {
    const config = oauth2Config(tenantConfig);
    // Without the signing keys the answer could not be verified: do not spend a grant on it.
    if (config.jwt)
      await this.verifier.ensureKeys(tenantId, genericExpectation(config.jwt, config.maxTokenLifetimeSeconds));
    const signal = requestSignal(config.timeoutMs, call);
    const response = await this.post(tenantId, config, signal);
    const answer = await readAnswer(tenantId, response, signal);
    if (!response.ok) throw this.refusal(tenantId, response, answer.body);
    // A body its content-encoding cannot decode is a bad answer, like malformed JSON: not an outage to retry.
    if (answer.undecodable) {
      throw new UpstreamTokenInvalidError(
        `The token endpoint of tenant '${tenantId}' answered with a body that could not be decoded.`,
        { cause: answer.undecodable },
      );
    }

    const parsed = tokenResponse.safeParse(answer.body);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(body)').join(', ');
      throw new UpstreamTokenInvalidError(
        `The token endpoint of tenant '${tenantId}' did not answer a bearer token (${fields}).`,
      );
    }
    const accessToken = parsed.data.access_token;
    const { expiresAt, claims } = await this.expiry(tenantId, config, accessToken, parsed.data.expires_in);
    return { tokens: { accessToken }, claims, expiresAt };
  }

  /** Client credentials have no refresh token: renewal is a new grant. */
  async refresh(
    tenantId: string,
    tenantConfig: TenantConfig,
    _session?: Session,
    call?: UpstreamCall,
  ): Promise<ProviderSession> {
    return this.signIn(tenantId, tenantConfig, call);
  }

  private async post(
    tenantId: string,
    config: OAuth2ClientCredentialsTenantConfig,
    signal: AbortSignal,
  ): Promise<Response> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (config.scopes.length > 0) form.set('scope', config.scopes.join(' '));
    if (config.audience) form.set('audience', config.audience);
    if (config.resource) form.set('resource', config.resource);
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (config.clientAuth === 'client_secret_post') {
      form.set('client_id', config.clientId);
      form.set('client_secret', config.clientSecret);
    } else {
      headers.authorization = basicAuthorization(config.clientId, config.clientSecret);
    }
    return postWithoutRedirect(
      this.fetchFn,
      config.tokenUrl,
      { headers, body: form.toString(), signal },
      { tenantId, upstream: 'token endpoint', during: '', redirectHint: 'set tokenUrl to the final token endpoint' },
    );
  }

  private refusal(tenantId: string, response: Response, body: unknown): Error {
    const status = response.status;
    if (status === 429 || status >= 500) {
      return unavailableAnswer(`The token endpoint of tenant '${tenantId}' answered HTTP ${status}.`, response);
    }
    const code = errorResponse.safeParse(body).data?.error;
    // Own entries only: an answer's `constructor` or `__proto__` is no known grant error.
    const known = code !== undefined && Object.hasOwn(GRANT_ERRORS, code) ? GRANT_ERRORS[code] : undefined;
    if (known) {
      return new UpstreamAuthFailedError(
        `The token endpoint rejected the grant for tenant '${tenantId}' (${code}): ${known.hint}.`,
        known.reason,
      );
    }
    const reason: AuthFailureReason = status === 401 || status === 403 ? 'not_authorized' : 'client_rejected';
    return new UpstreamAuthFailedError(
      `The token endpoint rejected the grant for tenant '${tenantId}' (HTTP ${status}): check tokenUrl, the client id and secret.`,
      reason,
    );
  }

  /**
   * With `jwt` configured the token must verify (issuer, signature, audience) and its `exp` is the
   * expiry, cut short by `expires_in`. Otherwise it is opaque: `expires_in` (capped), else tokenTtlSeconds.
   */
  private async expiry(
    tenantId: string,
    config: OAuth2ClientCredentialsTenantConfig,
    token: string,
    expiresIn: number | undefined,
  ): Promise<{ expiresAt: number; claims: Record<string, unknown> }> {
    const now = Math.floor(this.clock.now() / 1000);
    if (expiresIn !== undefined && !(Number.isInteger(expiresIn) && expiresIn > 0)) {
      throw new UpstreamTokenInvalidError(`The token endpoint of tenant '${tenantId}' sent an invalid expires_in.`);
    }
    const stated = expiresIn !== undefined ? now + Math.min(expiresIn, MAX_EXPIRES_IN_SECONDS) : undefined;
    if (config.jwt) {
      if (!decodeJwtPayload(token)) {
        throw new UpstreamTokenInvalidError(`The access token for tenant '${tenantId}' is not a JWT.`);
      }
      const claims = await this.verifier.verifyJwt(
        tenantId,
        token,
        genericExpectation(config.jwt, config.maxTokenLifetimeSeconds),
      );
      if (typeof claims.exp !== 'number')
        throw new UpstreamTokenInvalidError(`The access token for tenant '${tenantId}' has no exp claim.`);
      return { expiresAt: stated !== undefined ? Math.min(claims.exp, stated) : claims.exp, claims };
    }
    return { expiresAt: stated ?? now + config.tokenTtlSeconds, claims: {} };
  }
}
