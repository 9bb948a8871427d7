import * as z from 'zod/mini';

import { genericExpectation, type UpstreamJwtVerifier } from '../adapters/jwt-verifier';
import {
  TenantMisconfiguredError,
  UpstreamAuthFailedError,
  UpstreamTokenInvalidError,
  UpstreamUnavailableError,
} from '../core/errors';
import { assertHeaderSafe } from '../core/header-safety';
import type { AuthProvider, ProviderSession, Session, UpstreamCall } from '../core/ports';
import { upstreamRequestUrl, type LoginEndpointTenantConfig, type TenantConfig } from '../core/tenant-config';
import { requestSignal } from './request-signal';
import {
  AnswerUnreadableError,
  isInterruptedAnswer,
  postWithoutRedirect,
  readBoundedText,
  unavailableAnswer,
  type FetchLike,
} from './upstream-http';

/**
 * Upstreams with a login endpoint: `POST {baseUrl}{loginPath}` with
 * `{userName, password}` and `x-api-key`, answering
 * `{credentials: {identityId, token, refreshToken}}`. Renewal goes through
 * `refreshPath` (`{refreshToken, identityId}`) when the tenant configures one.
 */

export type { FetchLike } from './upstream-http';

/** Longest login answer read (1 MiB): a token is at most 16 KB. */
const MAX_ANSWER_LENGTH = 1024 * 1024;

const credentialsResponse = z.object({
  credentials: z.object({
    token: z.string().check(z.minLength(1)),
    identityId: z.optional(z.string().check(z.minLength(1))),
    refreshToken: z.optional(z.string().check(z.minLength(1))),
  }),
});

interface DecodedJwt {
  readonly exp?: number;
}

/** Decode a JWT's payload without trusting it, or undefined for an opaque token. */
export function decodeJwtPayload(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0] ?? '', 'base64url').toString('utf8')) as unknown;
    const payload = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')) as unknown;
    if (typeof header !== 'object' || header === null || !('alg' in header)) return undefined;
    if (typeof payload !== 'object' || payload === null) return undefined;
    const exp = (payload as { exp?: unknown }).exp;
    return typeof exp === 'number' ? { exp } : {};
  } catch {
    return undefined;
  }
}

function loginConfig(config: TenantConfig): LoginEndpointTenantConfig {
  if (config.provider !== 'login-endpoint')
    throw new Error(`login-endpoint provider given a ${config.provider} tenant`);
  return config;
}

export class LoginEndpointProvider implements AuthProvider {
  constructor(
    private readonly verifier: UpstreamJwtVerifier,
    private readonly fetchFn: FetchLike = (url, init) => fetch(url, init),
    private readonly clock: { now(): number } = Date,
  ) {}

  async signIn(tenantId: string, tenantConfig: TenantConfig, call?: UpstreamCall): Promise<ProviderSession> {
    const config = loginConfig(tenantConfig);
    const body = { userName: config.username, password: config.password };
    return this.exchange(tenantId, config, 'loginPath', 'sign-in', body, undefined, call);
  }

  async refresh(
    tenantId: string,
    tenantConfig: TenantConfig,
    session: Session,
    call?: UpstreamCall,
  ): Promise<ProviderSession> {
    const config = loginConfig(tenantConfig);
    if (!config.refreshPath || !session.refreshToken) {
      throw new UpstreamAuthFailedError(
        `Tenant '${tenantId}' cannot refresh without a refresh path and token.`,
        'not_authorized',
      );
    }
    const body = { refreshToken: session.refreshToken, identityId: session.identityId };
    return this.exchange(tenantId, config, 'refreshPath', 'refresh', body, session, call);
  }

  private async exchange(
    tenantId: string,
    config: LoginEndpointTenantConfig,
    pathField: 'loginPath' | 'refreshPath',
    operation: string,
    body: unknown,
    previous: Session | undefined,
    call: UpstreamCall | undefined,
  ): Promise<ProviderSession> {
    // Checked again on the URL actually built, whatever validated the config: the API key, password and refresh
    // token go to baseUrl's origin (scheme, host and port) only, and only over https or to this machine.
    const built = upstreamRequestUrl(config.baseUrl, config[pathField] ?? '', 'baseUrl');
    if ('problem' in built) throw new TenantMisconfiguredError(tenantId, [`${pathField}: ${built.problem}`]);
    const url = built.url;
    // Without the signing keys the answer could not be verified: do not spend a sign-in on it.
    if (config.jwt)
      await this.verifier.ensureKeys(tenantId, genericExpectation(config.jwt, config.maxTokenLifetimeSeconds));
    const signal = requestSignal(config.timeoutMs, call);
    const target = {
      tenantId,
      upstream: 'login endpoint',
      during: ` during ${operation}`,
      redirectHint: 'set baseUrl and the paths to the final URL',
    };
    const response = await postWithoutRedirect(
      this.fetchFn,
      url,
      {
        headers: { 'content-type': 'application/json', accept: 'application/json', 'x-api-key': config.apiKey },
        body: JSON.stringify(body),
        signal,
      },
      target,
    );
    // A refusal's body is never read: release it (and its connection) now rather than when it is collected.
    if (!response.ok) await response.body?.cancel().catch(() => undefined);
    if (response.status === 401 || response.status === 403) {
      throw new UpstreamAuthFailedError(
        `The login endpoint rejected ${operation} for tenant '${tenantId}' (HTTP ${response.status}): check the username, password and API key.`,
        'not_authorized',
      );
    }
    if (response.status === 429 || response.status >= 500) {
      throw unavailableAnswer(
        `The login endpoint of tenant '${tenantId}' answered HTTP ${response.status} during ${operation}.`,
        response,
      );
    }
    if (!response.ok) {
      throw new UpstreamAuthFailedError(
        `The login endpoint rejected ${operation} for tenant '${tenantId}' (HTTP ${response.status}): check loginPath and the request format.`,
        'client_rejected',
      );
    }

    let parsed: z.infer<typeof credentialsResponse>;
    try {
      parsed = credentialsResponse.parse(JSON.parse(await readBoundedText(response, MAX_ANSWER_LENGTH, signal)));
    } catch (error) {
      // The body stalled until the request's timeout or the vend's budget, or the connection broke mid-body:
      // an outage, not a bad answer.
      if (isInterruptedAnswer(error, signal)) {
        const what = signal.aborted ? 'timed out sending' : 'broke off';
        throw new UpstreamUnavailableError(
          `The login endpoint of tenant '${tenantId}' ${what} its answer to ${operation}.`,
          undefined,
          { cause: error },
        );
      }
      // A body its content-encoding cannot decode is a bad answer, like malformed JSON: not an outage to retry.
      if (error instanceof AnswerUnreadableError && error.kind === 'undecodable') {
        throw new UpstreamTokenInvalidError(
          `The login endpoint of tenant '${tenantId}' answered ${operation} with a body that could not be decoded.`,
          { cause: error },
        );
      }
      throw new UpstreamTokenInvalidError(
        `The login endpoint of tenant '${tenantId}' did not answer {credentials: {token, ...}}.`,
      );
    }
    const { token, identityId: answeredIdentityId, refreshToken } = parsed.credentials;
    assertHeaderSafe(tenantId, 'token', token);
    const { expiresAt, claims } = await this.expiry(tenantId, config, token);
    const identityId = answeredIdentityId ?? previous?.identityId;
    if (identityId !== undefined) assertHeaderSafe(tenantId, 'identity id', identityId);
    checkSubject(tenantId, { identityId: answeredIdentityId, claims }, previous);
    return {
      tokens: { token },
      // Keep the refresh token only when it can be used; otherwise renewal is a fresh sign-in.
      ...(config.refreshPath ? { refreshToken: refreshToken ?? previous?.refreshToken } : {}),
      ...(identityId !== undefined ? { identityId } : {}),
      claims,
      expiresAt,
    };
  }

  /**
   * With `jwt` configured the token must be a JWT that verifies (any other token is refused), and its `exp` is the
   * expiry. Without it the token is opaque: it lives `tokenTtlSeconds`, cut short by any `exp` it carries (used only
   * to shorten, never to trust its contents).
   */
  private async expiry(
    tenantId: string,
    config: LoginEndpointTenantConfig,
    token: string,
  ): Promise<{ expiresAt: number; claims: Record<string, unknown> }> {
    if (config.jwt) {
      const claims = await this.verifier.verifyJwt(
        tenantId,
        token,
        genericExpectation(config.jwt, config.maxTokenLifetimeSeconds),
      );
      if (typeof claims.exp !== 'number')
        throw new UpstreamTokenInvalidError(`The token for tenant '${tenantId}' has no exp claim.`);
      return { expiresAt: claims.exp, claims };
    }
    const decoded = decodeJwtPayload(token);
    const assumed = Math.floor(this.clock.now() / 1000) + config.tokenTtlSeconds;
    return { expiresAt: decoded?.exp !== undefined ? Math.min(assumed, decoded.exp) : assumed, claims: {} };
  }
}

/**
 * One subject per session: the answer's identityId must match the token's `identityId` claim, and a refresh must
 * return the identity (`identityId`, `sub`) of the session it renews: a different one, or none where the session's
 * token named a `sub`, is refused.
 */
function checkSubject(
  tenantId: string,
  answer: { readonly identityId: string | undefined; readonly claims: Readonly<Record<string, unknown>> },
  previous: Session | undefined,
): void {
  const claimed = answer.claims.identityId;
  const differ = (a: unknown, b: unknown) => a !== undefined && b !== undefined && a !== b;
  if (differ(answer.identityId, claimed)) {
    throw new UpstreamTokenInvalidError(
      `The login endpoint of tenant '${tenantId}' answered an identityId that is not the token's.`,
    );
  }
  if (!previous) return;
  // A verified token of the renewed session named its subject: the renewal's token must name the same one (a token
  // without `sub` is another subject as far as anyone can tell). An answer may leave identityId out: it is kept.
  const subjectLost = previous.claims.sub !== undefined && answer.claims.sub !== previous.claims.sub;
  if (differ(previous.identityId, answer.identityId ?? claimed) || subjectLost) {
    throw new UpstreamTokenInvalidError(
      `The login endpoint renewed the session of tenant '${tenantId}' for another identity; the answer is refused.`,
    );
  }
}
