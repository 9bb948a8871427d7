import { createHmac } from 'node:crypto';

import {
  CognitoIdentityProviderClient,
  GetTokensFromRefreshTokenCommand,
  InitiateAuthCommand,
  type AuthenticationResultType,
  type InitiateAuthCommandOutput,
} from '@aws-sdk/client-cognito-identity-provider';

import type { UpstreamJwtVerifier } from '../adapters/jwt-verifier';
import {
  UpstreamAuthFailedError,
  UpstreamChallengeRequiredError,
  UpstreamTokenInvalidError,
  UpstreamUnavailableError,
  type AuthFailureReason,
} from '../core/errors';
import type { AuthProvider, ProviderSession, Session } from '../core/ports';
import type { CognitoTenantConfig, TenantConfig } from '../core/tenant-config';

/**
 * Amazon Cognito user pools: InitiateAuth USER_PASSWORD_AUTH to sign in,
 * REFRESH_TOKEN_AUTH (or GetTokensFromRefreshToken for app clients that rotate
 * refresh tokens) to renew. Works against any Cognito-compatible endpoint.
 */

export type CognitoClientFactory = (region: string, endpoint: string | undefined) => CognitoIdentityProviderClient;

/** One client per region and endpoint, reused across invocations. Retries are the vendor's job, so the SDK makes one attempt. */
export function cachedCognitoClients(): CognitoClientFactory {
  const clients = new Map<string, CognitoIdentityProviderClient>();
  return (region, endpoint) => {
    const key = `${region}|${endpoint ?? ''}`;
    let client = clients.get(key);
    if (!client) {
      client = new CognitoIdentityProviderClient({
        region,
        ...(endpoint ? { endpoint } : {}),
        maxAttempts: 1,
        requestHandler: { connectionTimeout: 3000, requestTimeout: 5000 },
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

const AUTH_FAILURES: Readonly<Record<string, AuthFailureReason>> = {
  NotAuthorizedException: 'not_authorized',
  // cognito-local answers a wrong password with this; real Cognito uses it for password-policy violations.
  InvalidPasswordException: 'not_authorized',
  UserNotFoundException: 'user_not_found',
  PasswordResetRequiredException: 'password_reset_required',
  UserNotConfirmedException: 'user_not_confirmed',
};

const OPERATOR_HINTS: Readonly<Record<AuthFailureReason, string>> = {
  not_authorized: 'the username or password is wrong, or the user is disabled or locked',
  user_not_found: 'the user does not exist in the pool',
  password_reset_required: 'the user must reset the password; store the new one in the tenant secret',
  user_not_confirmed: 'the user is not confirmed; confirm it in the user pool',
  client_rejected: 'the app client rejected the request; check the client id, its auth flows and secret',
  locked_out: 'sign-in is paused',
};

const UNAVAILABLE = new Set([
  'TooManyRequestsException',
  'LimitExceededException',
  'InternalErrorException',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
]);

interface SdkErrorShape {
  name?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** Map an SDK or network error to the service's error classes. Never includes request parameters. */
export function classifyCognitoError(tenantId: string, operation: string, error: unknown): Error {
  const shape = (error ?? {}) as SdkErrorShape;
  const name = shape.name ?? 'Error';
  const status = shape.$metadata?.httpStatusCode;
  const reason = AUTH_FAILURES[name];
  if (reason) {
    return new UpstreamAuthFailedError(
      `Cognito rejected ${operation} for tenant '${tenantId}' (${name}): ${OPERATOR_HINTS[reason]}.`,
      reason,
    );
  }
  if (UNAVAILABLE.has(name) || status === undefined || status >= 500 || status === 429 || shape.$retryable) {
    return new UpstreamUnavailableError(`Cognito is unavailable for tenant '${tenantId}' (${name}).`);
  }
  return new UpstreamAuthFailedError(
    `Cognito rejected ${operation} for tenant '${tenantId}' (${name}): ${OPERATOR_HINTS.client_rejected}.`,
    'client_rejected',
  );
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

  async signIn(tenantId: string, tenantConfig: TenantConfig): Promise<ProviderSession> {
    const config = cognitoConfig(tenantConfig);
    const parameters: Record<string, string> = { USERNAME: config.username, PASSWORD: config.password };
    if (config.clientSecret) parameters.SECRET_HASH = secretHash(config.clientSecret, config.username, config.clientId);
    const output = await this.send(tenantId, 'sign-in', () =>
      this.clientFor(config.region, config.endpoint).send(
        new InitiateAuthCommand({
          AuthFlow: 'USER_PASSWORD_AUTH',
          ClientId: config.clientId,
          AuthParameters: parameters,
        }),
      ),
    );
    return this.toSession(tenantId, config, this.authenticationResult(tenantId, output), undefined);
  }

  async refresh(tenantId: string, tenantConfig: TenantConfig, session: Session): Promise<ProviderSession> {
    const config = cognitoConfig(tenantConfig);
    const refreshToken = session.refreshToken;
    if (!refreshToken)
      throw new UpstreamAuthFailedError(`Tenant '${tenantId}' has no refresh token.`, 'not_authorized');
    const client = this.clientFor(config.region, config.endpoint);

    if (config.refreshTokenRotation) {
      const output = await this.send(tenantId, 'refresh', () =>
        client.send(
          new GetTokensFromRefreshTokenCommand({
            RefreshToken: refreshToken,
            ClientId: config.clientId,
            ...(config.clientSecret ? { ClientSecret: config.clientSecret } : {}),
          }),
        ),
      );
      if (!output.AuthenticationResult)
        throw new UpstreamTokenInvalidError(`Cognito returned no tokens for tenant '${tenantId}'.`);
      return this.toSession(tenantId, config, output.AuthenticationResult, refreshToken);
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
      ),
    );
    return this.toSession(tenantId, config, this.authenticationResult(tenantId, output), refreshToken);
  }

  private async send<T>(tenantId: string, operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw classifyCognitoError(tenantId, operation, error);
    }
  }

  private authenticationResult(tenantId: string, output: InitiateAuthCommandOutput): AuthenticationResultType {
    if (output.AuthenticationResult) return output.AuthenticationResult;
    if (output.ChallengeName) throw new UpstreamChallengeRequiredError(tenantId, output.ChallengeName);
    throw new UpstreamTokenInvalidError(`Cognito returned neither tokens nor a challenge for tenant '${tenantId}'.`);
  }

  private async toSession(
    tenantId: string,
    config: CognitoTenantConfig,
    result: AuthenticationResultType,
    previousRefreshToken: string | undefined,
  ): Promise<ProviderSession> {
    const { IdToken: idToken, AccessToken: accessToken } = result;
    if (!idToken || !accessToken)
      throw new UpstreamTokenInvalidError(`Cognito returned an incomplete token set for tenant '${tenantId}'.`);
    const issuer = expectedIssuer(config);
    const expectation = { userPoolId: config.userPoolId, clientId: config.clientId, ...(issuer ? { issuer } : {}) };
    const [idClaims, accessClaims] = await Promise.all([
      this.verifier.verifyCognito(tenantId, idToken, { ...expectation, tokenUse: 'id' }),
      this.verifier.verifyCognito(tenantId, accessToken, { ...expectation, tokenUse: 'access' }),
    ]);
    const identityId = idClaims['custom:identityId'];
    return {
      tokens: { idToken, accessToken },
      refreshToken: result.RefreshToken ?? previousRefreshToken,
      ...(typeof identityId === 'string' ? { identityId } : {}),
      claims: idClaims,
      expiresAt: Math.min(Number(idClaims.exp), Number(accessClaims.exp)),
    };
  }
}
