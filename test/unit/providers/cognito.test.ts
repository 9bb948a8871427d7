import {
  CognitoIdentityProviderClient,
  GetTokensFromRefreshTokenCommand,
  InitiateAuthCommand,
  InternalErrorException,
  NotAuthorizedException,
  PasswordResetRequiredException,
  ResourceNotFoundException,
  TooManyRequestsException,
  UserNotConfirmedException,
  UserNotFoundException,
} from '@aws-sdk/client-cognito-identity-provider';
import { mockClient } from 'aws-sdk-client-mock';

import 'aws-sdk-client-mock-jest';

import {
  KeySetUnavailableError,
  toErrorResponse,
  UpstreamAuthFailedError,
  UpstreamChallengeRequiredError,
  UpstreamTokenInvalidError,
  UpstreamUnavailableError,
} from '../../../lambdas/core/errors';
import type { Session } from '../../../lambdas/core/ports';
import { parseTenantConfig, type TenantConfig } from '../../../lambdas/core/tenant-config';
import { classifyCognitoError, CognitoProvider, secretHash } from '../../../lambdas/providers/cognito';
import { fakeJwt, RecordingVerifier } from '../../support/fake-verifier';
import { cognitoSecret } from '../../support/fakes';

const cognito = mockClient(CognitoIdentityProviderClient);
const meta = { $metadata: { httpStatusCode: 400 } };

function config(overrides: Record<string, unknown> = {}): TenantConfig {
  return parseTenantConfig('acme', JSON.stringify({ ...cognitoSecret, ...overrides }));
}

function tokens(exp = 2_000_000_000, extra: Record<string, unknown> = {}, accessExtra: Record<string, unknown> = {}) {
  return {
    IdToken: fakeJwt({
      token_use: 'id',
      sub: 'b1f0-sub',
      exp,
      'cognito:username': 'b1f0-sub',
      'custom:identityId': 'ap-southeast-2:abc',
      ...extra,
    }),
    AccessToken: fakeJwt({ token_use: 'access', sub: 'b1f0-sub', exp: exp - 10, ...accessExtra }),
    RefreshToken: 'refresh-token-1',
    ExpiresIn: 3600,
  };
}

function sessionFrom(refreshToken = 'refresh-token-1'): Session {
  return {
    tenantId: 'acme',
    provider: 'cognito',
    secretVersion: 'v1',
    tokens: {},
    refreshToken,
    claims: { sub: 'b1f0-sub', 'cognito:username': 'b1f0-sub' },
    expiresAt: 0,
    issuedAt: 0,
  };
}

let verifier: RecordingVerifier;
let provider: CognitoProvider;

beforeEach(() => {
  cognito.reset();
  verifier = new RecordingVerifier();
  provider = new CognitoProvider(verifier);
});

describe('CognitoProvider sign-in', () => {
  it('calls InitiateAuth USER_PASSWORD_AUTH and returns verified tokens', async () => {
    cognito.on(InitiateAuthCommand).resolves({ AuthenticationResult: tokens() });
    const session = await provider.signIn('acme', config());
    expect(cognito).toHaveReceivedCommandWith(InitiateAuthCommand, {
      AuthFlow: 'USER_PASSWORD_AUTH',
      ClientId: cognitoSecret.clientId,
      AuthParameters: { USERNAME: cognitoSecret.username, PASSWORD: cognitoSecret.password },
    });
    expect(session.refreshToken).toBe('refresh-token-1');
    expect(session.identityId).toBe('ap-southeast-2:abc');
    expect(session.expiresAt).toBe(2_000_000_000 - 10); // the earlier of the two tokens
    // Real Cognito: no issuer override, so CognitoJwtVerifier derives it from the pool id.
    expect(verifier.cognitoCalls).toEqual([
      {
        userPoolId: cognitoSecret.userPoolId,
        clientId: cognitoSecret.clientId,
        tokenUse: 'id',
        maxLifetimeSeconds: 86400,
      },
      {
        userPoolId: cognitoSecret.userPoolId,
        clientId: cognitoSecret.clientId,
        tokenUse: 'access',
        maxLifetimeSeconds: 86400,
      },
    ]);
  });

  it('adds SECRET_HASH for an app client with a secret', async () => {
    cognito.on(InitiateAuthCommand).resolves({ AuthenticationResult: tokens() });
    await provider.signIn('acme', config({ clientSecret: 'client-secret-xyz' }));
    const expected = secretHash('client-secret-xyz', cognitoSecret.username, cognitoSecret.clientId);
    expect(cognito).toHaveReceivedCommandWith(InitiateAuthCommand, {
      AuthParameters: { USERNAME: cognitoSecret.username, PASSWORD: cognitoSecret.password, SECRET_HASH: expected },
    });
  });

  it('computes SECRET_HASH as Base64(HMAC-SHA256(secret, username + clientId))', () => {
    // Reference value computed independently: printf 'userclient' | openssl dgst -sha256 -hmac secret -binary | base64
    expect(secretHash('secret', 'user', 'client')).toBe('wvW87lzZoI+qQCVGmWVBJLlucdJ65huAVP1z+0MgA6E=');
  });

  it('pins the emulator issuer when the tenant names an endpoint', async () => {
    cognito.on(InitiateAuthCommand).resolves({ AuthenticationResult: tokens() });
    await provider.signIn('acme', config({ endpoint: 'http://127.0.0.1:9229' }));
    expect(verifier.cognitoCalls[0]).toMatchObject({ issuer: `http://127.0.0.1:9229/${cognitoSecret.userPoolId}` });
  });

  it('turns a NEW_PASSWORD_REQUIRED challenge into 502 upstream_challenge_required', async () => {
    cognito.on(InitiateAuthCommand).resolves({ ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: 'opaque' });
    const error = await provider.signIn('acme', config()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamChallengeRequiredError);
    expect(toErrorResponse(error)).toMatchObject({ status: 502, code: 'upstream_challenge_required' });
    expect((error as Error).message).toMatch(/NEW_PASSWORD_REQUIRED.*permanent password/);
  });

  it('never caches tokens that fail verification', async () => {
    cognito.on(InitiateAuthCommand).resolves({ AuthenticationResult: tokens() });
    verifier.reject = true;
    await expect(provider.signIn('acme', config())).rejects.toBeInstanceOf(UpstreamTokenInvalidError);
  });

  it('rejects an incomplete token set', async () => {
    cognito.on(InitiateAuthCommand).resolves({ AuthenticationResult: { AccessToken: tokens().AccessToken } });
    await expect(provider.signIn('acme', config())).rejects.toBeInstanceOf(UpstreamTokenInvalidError);
  });
});

describe('CognitoProvider error shapes of real Cognito', () => {
  const network = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' });
  const timeout = Object.assign(new Error('Request timed out'), { name: 'TimeoutError' });
  const cases: Array<[string, string, number, string | null, Error]> = [
    [
      'NotAuthorizedException',
      'upstream_auth_failed',
      502,
      'not_authorized',
      new NotAuthorizedException({ message: 'Incorrect username or password.', ...meta }),
    ],
    [
      'PasswordResetRequiredException',
      'upstream_auth_failed',
      502,
      'password_reset_required',
      new PasswordResetRequiredException({ message: 'Password reset required', ...meta }),
    ],
    [
      'UserNotConfirmedException',
      'upstream_auth_failed',
      502,
      'user_not_confirmed',
      new UserNotConfirmedException({ message: 'User is not confirmed.', ...meta }),
    ],
    [
      'UserNotFoundException',
      'upstream_auth_failed',
      502,
      'user_not_found',
      new UserNotFoundException({ message: 'User does not exist.', ...meta }),
    ],
    [
      'ResourceNotFoundException',
      'upstream_auth_failed',
      502,
      'client_rejected',
      new ResourceNotFoundException({ message: 'User pool client does not exist.', ...meta }),
    ],
    [
      'TooManyRequestsException',
      'upstream_unavailable',
      503,
      null,
      new TooManyRequestsException({ message: 'Rate exceeded', ...meta }),
    ],
    [
      'InternalErrorException',
      'upstream_unavailable',
      503,
      null,
      new InternalErrorException({ message: 'Internal', $metadata: { httpStatusCode: 500 } }),
    ],
    ['a network error', 'upstream_unavailable', 503, null, network],
    ['a timeout', 'upstream_unavailable', 503, null, timeout],
  ];

  it.each(cases)('%s -> %s (%d)', async (_name, code, status, reason, thrown) => {
    cognito.on(InitiateAuthCommand).rejects(thrown);
    const error = await provider.signIn('acme', config()).catch((e: unknown) => e);
    expect(toErrorResponse(error)).toMatchObject({ code, status });
    if (reason) expect((error as UpstreamAuthFailedError).reason).toBe(reason);
    if (status === 503) expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as Error).message).not.toContain(cognitoSecret.password);
  });
});

describe('CognitoProvider refresh', () => {
  it('uses REFRESH_TOKEN_AUTH and keeps the refresh token Cognito does not reissue', async () => {
    const { RefreshToken: _none, ...renewed } = tokens(2_000_000_500);
    cognito.on(InitiateAuthCommand).resolves({ AuthenticationResult: renewed });
    const session = await provider.refresh('acme', config(), sessionFrom());
    expect(cognito).toHaveReceivedCommandWith(InitiateAuthCommand, {
      AuthFlow: 'REFRESH_TOKEN_AUTH',
      AuthParameters: { REFRESH_TOKEN: 'refresh-token-1' },
    });
    expect(cognito).not.toHaveReceivedCommand(GetTokensFromRefreshTokenCommand);
    expect(session.refreshToken).toBe('refresh-token-1');
  });

  it('hashes the internal username (cognito:username) for a client with a secret', async () => {
    cognito.on(InitiateAuthCommand).resolves({ AuthenticationResult: tokens() });
    await provider.refresh('acme', config({ clientSecret: 's3cr3t' }), sessionFrom());
    expect(cognito).toHaveReceivedCommandWith(InitiateAuthCommand, {
      AuthParameters: {
        REFRESH_TOKEN: 'refresh-token-1',
        SECRET_HASH: secretHash('s3cr3t', 'b1f0-sub', cognitoSecret.clientId),
      },
    });
  });

  it('uses GetTokensFromRefreshToken for a rotating client and keeps the new refresh token', async () => {
    cognito
      .on(GetTokensFromRefreshTokenCommand)
      .resolves({ AuthenticationResult: { ...tokens(), RefreshToken: 'refresh-token-2' } });
    const session = await provider.refresh(
      'acme',
      config({ refreshTokenRotation: true, clientSecret: 's3cr3t' }),
      sessionFrom(),
    );
    expect(cognito).toHaveReceivedCommandWith(GetTokensFromRefreshTokenCommand, {
      RefreshToken: 'refresh-token-1',
      ClientId: cognitoSecret.clientId,
      ClientSecret: 's3cr3t',
    });
    expect(cognito).not.toHaveReceivedCommand(InitiateAuthCommand);
    expect(session.refreshToken).toBe('refresh-token-2');
  });

  it('reports an expired or revoked refresh token as not authorised, so the vendor signs in again', async () => {
    cognito
      .on(GetTokensFromRefreshTokenCommand)
      .rejects(new NotAuthorizedException({ message: 'Refresh Token has been revoked', ...meta }));
    const error = await provider
      .refresh('acme', config({ refreshTokenRotation: true }), sessionFrom())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamAuthFailedError);
    expect((error as UpstreamAuthFailedError).reason).toBe('not_authorized');
  });
});

describe('CognitoProvider integrity', () => {
  it('does not sign in when the signing keys cannot be fetched', async () => {
    cognito.on(InitiateAuthCommand).resolves({ AuthenticationResult: tokens() });
    verifier.keysUnavailable = true;
    const error = await provider.signIn('acme', config()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeySetUnavailableError);
    expect(cognito).not.toHaveReceivedCommand(InitiateAuthCommand);
    await expect(provider.refresh('acme', config(), sessionFrom())).rejects.toBeInstanceOf(KeySetUnavailableError);
    expect(cognito).not.toHaveReceivedCommand(InitiateAuthCommand);
  });

  it('pins the tenant jwksUri and lifetime cap in every expectation', async () => {
    cognito.on(InitiateAuthCommand).resolves({ AuthenticationResult: tokens() });
    const realIssuer = `https://cognito-idp.ap-southeast-2.amazonaws.com/${cognitoSecret.userPoolId}`;
    await provider.signIn(
      'acme',
      config({
        endpoint: 'http://127.0.0.1:4566',
        issuer: realIssuer,
        jwksUri: 'http://127.0.0.1:4566/keys.json',
        maxTokenLifetimeSeconds: 3600,
      }),
    );
    const pinned = { issuer: realIssuer, jwksUri: 'http://127.0.0.1:4566/keys.json', maxLifetimeSeconds: 3600 };
    expect(verifier.ensureKeysCalls).toEqual([expect.objectContaining(pinned)]);
    expect(verifier.cognitoCalls).toEqual([expect.objectContaining(pinned), expect.objectContaining(pinned)]);
  });

  it('refuses ID and access tokens of different subjects', async () => {
    cognito.on(InitiateAuthCommand).resolves({ AuthenticationResult: tokens(2_000_000_000, {}, { sub: 'other' }) });
    await expect(provider.signIn('acme', config())).rejects.toBeInstanceOf(UpstreamTokenInvalidError);
  });

  it('refuses tokens without a subject', async () => {
    cognito
      .on(InitiateAuthCommand)
      .resolves({ AuthenticationResult: tokens(2_000_000_000, { sub: undefined }, { sub: undefined }) });
    await expect(provider.signIn('acme', config())).rejects.toBeInstanceOf(UpstreamTokenInvalidError);
  });

  it('refuses a refresh that returns another subject', async () => {
    cognito
      .on(InitiateAuthCommand)
      .resolves({ AuthenticationResult: tokens(2_000_000_000, { sub: 'intruder' }, { sub: 'intruder' }) });
    const error = await provider.refresh('acme', config(), sessionFrom()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamTokenInvalidError);
    expect((error as Error).message).toContain('another subject');
  });

  it('refuses tokens or an identity id that are not header-safe, before verifying them', async () => {
    cognito
      .on(InitiateAuthCommand)
      .resolvesOnce({ AuthenticationResult: { ...tokens(), IdToken: `${tokens().IdToken}\r\nX-Injected: 1` } })
      .resolves({ AuthenticationResult: tokens(2_000_000_000, { 'custom:identityId': 'ap-southeast-2:a\nb' }) });
    await expect(provider.signIn('acme', config())).rejects.toBeInstanceOf(UpstreamTokenInvalidError);
    expect(verifier.cognitoCalls).toHaveLength(0);
    await expect(provider.signIn('acme', config())).rejects.toBeInstanceOf(UpstreamTokenInvalidError);
  });

  it('reports a redirect as a rejected client (never followed, never retried)', () => {
    const redirect = Object.assign(new Error('Found'), { name: 'Unknown', $metadata: { httpStatusCode: 302 } });
    const error = classifyCognitoError('acme', 'sign-in', redirect);
    expect(error).toBeInstanceOf(UpstreamAuthFailedError);
    expect((error as UpstreamAuthFailedError).reason).toBe('client_rejected');
    expect(error.message).toContain('redirect (HTTP 302)');
  });
});
