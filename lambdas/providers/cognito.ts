import { createHmac } from 'node:crypto';

import {
  CognitoIdentityProviderClient,
  GetTokensFromRefreshTokenCommand,
  InitiateAuthCommand,
  type AuthenticationResultType,
} from '@aws-sdk/client-cognito-identity-provider';

import { awsClientOptions, singleCallOptions } from '../adapters/aws-client-options';
import type { CognitoExpectation, UpstreamJwtVerifier } from '../adapters/jwt-verifier';
import { challengeRequired } from '../core/challenges';
import { UpstreamAuthFailedError, UpstreamTokenInvalidError } from '../core/errors';
import { assertHeaderSafe } from '../core/header-safety';
import type { AuthProvider, ProviderSession, Session, UpstreamCall } from '../core/ports';
import type { CognitoTenantConfig, TenantConfig } from '../core/tenant-config';
import { classifyCognitoError } from './cognito-errors';
import { srpSignIn, type CognitoCall, type SrpOutcome } from './cognito-srp';

export { classifyCognitoError };

/**
 * Amazon Cognito user pools: InitiateAuth USER_PASSWORD_AUTH to sign in,
 * REFRESH_TOKEN_AUTH (or GetTokensFromRefreshToken for app clients that rotate
 * refresh tokens) to renew. Works against any Cognito-compatible endpoint.
 */

export type CognitoClientFactory = (region: string, endpoint: string | undefined) => CognitoIdentityProviderClient;

/**
 * One client per region and endpoint, reused across invocations. Retries are the vendor's job, so the SDK makes one
 * attempt, with timeouts that fire. The SDK's Node handler follows no redirect: a 3xx is an error (see classifyCognitoError).
 */
export function cachedCognitoClients(): CognitoClientFactory {
  const clients = new Map<string, CognitoIdentityProviderClient>();
  return (region, endpoint) => {
    const key = `${region}|${endpoint ?? ''}`;
    let client = clients.get(key);
    if (!client) {
      client = new CognitoIdentityProviderClient({
        region,
        ...(endpoint ? { endpoint } : {}),
        ...awsClientOptions('cognito'),
      });
      clients.set(key, client);
    }
    return client;
  };
}

/** SECRET_HASH = Base64(HMAC-SHA256(clientSecret, username + clientId)). */
export function secretHash(clientSecret: string, username: string, clientId: string): string {
  return createHmac('sha256', clientSecret)
    .update(username + clientId)
    .digest('base64');
}

/** SDK call options that abort the request at its own timeout, or when the vend's budget is spent. */
function abortWith(call: UpstreamCall | undefined): { abortSignal: AbortSignal } {
  return singleCallOptions('cognito', call?.signal);
}

function cognitoConfig(config: TenantConfig): CognitoTenantConfig {
  if (config.provider !== 'cognito') throw new Error(`cognito provider given a ${config.provider} tenant`);
  return config;
}

/** The issuer the tokens must carry: real Cognito's URL, or `<endpoint>/<userPoolId>` for an emulator. */
export function expectedIssuer(config: CognitoTenantConfig): string | undefined {
  if (config.issuer) return config.issuer;
  if (config.endpoint) return `${config.endpoint.replace(/\/$/, '')}/${config.userPoolId}`;
  return undefined;
}

export class CognitoProvider implements AuthProvider {
  constructor(
    private readonly verifier: UpstreamJwtVerifier,
    private readonly clientFor: CognitoClientFactory = cachedCognitoClients(),
  ) {}

  async signIn(tenantId: string, tenantConfig: TenantConfig, call?: UpstreamCall): Promise<ProviderSession> {
    const config = cognitoConfig(tenantConfig);
    // Without the signing keys the answer could not be verified: do not spend a sign-in on it.
    await this.verifier.ensureKeys(tenantId, expectation(config, 'id'));
    if (config.authFlow === 'USER_SRP_AUTH') {
      const client = this.clientFor(config.region, config.endpoint);
      const hashFor = (username: string) =>
        config.clientSecret ? secretHash(config.clientSecret, username, config.clientId) : undefined;
      const send: CognitoCall = (operation, work) => this.send(tenantId, operation, work);
      const outcome = await srpSignIn(tenantId, config, client, send, hashFor, call?.signal);
      return this.toSession(tenantId, config, this.authenticationResult(tenantId, outcome), undefined);
    }
    const parameters: Record<string, string> = { USERNAME: config.username, PASSWORD: config.password };
    if (config.clientSecret) parameters.SECRET_HASH = secretHash(config.clientSecret, config.username, config.clientId);
    const output = await this.send(tenantId, 'sign-in', () =>
      this.clientFor(config.region, config.endpoint).send(
        new InitiateAuthCommand({
          AuthFlow: 'USER_PASSWORD_AUTH',
          ClientId: config.clientId,
          AuthParameters: parameters,
        }),
        abortWith(call),
      ),
    );
    return this.toSession(tenantId, config, this.authenticationResult(tenantId, output), undefined);
  }

  async refresh(
    tenantId: string,
    tenantConfig: TenantConfig,
    session: Session,
    call?: UpstreamCall,
  ): Promise<ProviderSession> {
    const config = cognitoConfig(tenantConfig);
    const refreshToken = session.refreshToken;
    if (!refreshToken)
      throw new UpstreamAuthFailedError(`Tenant '${tenantId}' has no refresh token.`, 'not_authorized');
    await this.verifier.ensureKeys(tenantId, expectation(config, 'id'));
    const client = this.clientFor(config.region, config.endpoint);

    if (config.refreshTokenRotation) {
      const output = await this.send(tenantId, 'refresh', () =>
        client.send(
          new GetTokensFromRefreshTokenCommand({
            RefreshToken: refreshToken,
            ClientId: config.clientId,
            ...(config.clientSecret ? { ClientSecret: config.clientSecret } : {}),
          }),
          abortWith(call),
        ),
      );
      if (!output.AuthenticationResult)
        throw new UpstreamTokenInvalidError(`Cognito returned no tokens for tenant '${tenantId}'.`);
      return this.toSession(tenantId, config, output.AuthenticationResult, session);
    }

    const parameters: Record<string, string> = { REFRESH_TOKEN: refreshToken };
    if (config.clientSecret) {
      // With a client secret, REFRESH_TOKEN_AUTH hashes the user's internal username (often the sub), not the alias.
      const username =
        typeof session.claims['cognito:username'] === 'string' ? session.claims['cognito:username'] : config.username;
      parameters.SECRET_HASH = secretHash(config.clientSecret, username, config.clientId);
    }
    const output = await this.send(tenantId, 'refresh', () =>
      client.send(
        new InitiateAuthCommand({
          AuthFlow: 'REFRESH_TOKEN_AUTH',
          ClientId: config.clientId,
          AuthParameters: parameters,
        }),
        abortWith(call),
      ),
    );
    return this.toSession(tenantId, config, this.authenticationResult(tenantId, output), session);
  }

  private async send<T>(tenantId: string, operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw classifyCognitoError(tenantId, operation, error);
    }
  }

  private authenticationResult(tenantId: string, output: SrpOutcome): AuthenticationResultType {
    if (output.AuthenticationResult) return output.AuthenticationResult;
    if (output.ChallengeName) throw challengeRequired(tenantId, output.ChallengeName);
    throw new UpstreamTokenInvalidError(`Cognito returned neither tokens nor a challenge for tenant '${tenantId}'.`);
  }

  /**
   * Accept an answer only when both tokens verify, belong to one subject (the subject of `previous` on a refresh)
   * and are header-safe; otherwise nothing is cached and the previous session stays as it was.
   */
  private async toSession(
    tenantId: string,
    config: CognitoTenantConfig,
    result: AuthenticationResultType,
    previous: Session | undefined,
  ): Promise<ProviderSession> {
    const { IdToken: idToken, AccessToken: accessToken } = result;
    if (!idToken || !accessToken)
      throw new UpstreamTokenInvalidError(`Cognito returned an incomplete token set for tenant '${tenantId}'.`);
    assertHeaderSafe(tenantId, 'ID token', idToken);
    assertHeaderSafe(tenantId, 'access token', accessToken);
    const [idClaims, accessClaims] = await Promise.all([
      this.verifier.verifyCognito(tenantId, idToken, expectation(config, 'id')),
      this.verifier.verifyCognito(tenantId, accessToken, expectation(config, 'access')),
    ]);
    const subject = idClaims.sub;
    if (typeof subject !== 'string' || subject === '' || accessClaims.sub !== subject) {
      throw new UpstreamTokenInvalidError(
        `Cognito returned an ID token and an access token of different subjects for tenant '${tenantId}'.`,
      );
    }
    if (previous && previous.claims.sub !== undefined && previous.claims.sub !== subject) {
      throw new UpstreamTokenInvalidError(
        `Cognito renewed the session of tenant '${tenantId}' with tokens of another subject; the answer is refused.`,
      );
    }
    const identityId = idClaims['custom:identityId'];
    if (typeof identityId === 'string') assertHeaderSafe(tenantId, 'identity id', identityId);
    return {
      tokens: { idToken, accessToken },
      refreshToken: result.RefreshToken ?? previous?.refreshToken,
      ...(typeof identityId === 'string' ? { identityId } : {}),
      claims: idClaims,
      // Both verified with exp required: the session ends with the first of them.
      expiresAt: Math.min(Number(idClaims.exp), Number(accessClaims.exp)),
    };
  }
}

/** What a token of this tenant must satisfy: pool, client, token use, issuer, key set and lifetime cap. */
export function expectation(config: CognitoTenantConfig, tokenUse: 'id' | 'access'): CognitoExpectation {
  const issuer = expectedIssuer(config);
  return {
    userPoolId: config.userPoolId,
    clientId: config.clientId,
    tokenUse,
    ...(issuer ? { issuer } : {}),
    ...(config.jwksUri ? { jwksUri: config.jwksUri } : {}),
    maxLifetimeSeconds: config.maxTokenLifetimeSeconds,
  };
}
