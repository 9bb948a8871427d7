import {
  CognitoIdentityProviderClient,
  InitiateAuthCommand,
  NotAuthorizedException,
  RespondToAuthChallengeCommand,
  type InitiateAuthCommandInput,
  type RespondToAuthChallengeCommandInput,
} from '@aws-sdk/client-cognito-identity-provider';
import { mockClient } from 'aws-sdk-client-mock';

import 'aws-sdk-client-mock-jest';

import { StaticTenantStore } from '../../../lambdas/adapters/file-tenant-store';
import { MemoryFailureMarks, MemorySessionCache } from '../../../lambdas/adapters/memory-cache';
import { challengeRequired } from '../../../lambdas/core/challenges';
import {
  toErrorResponse,
  UpstreamAuthFailedError,
  UpstreamChallengeRequiredError,
  UpstreamTokenInvalidError,
} from '../../../lambdas/core/errors';
import type { AuthProvider } from '../../../lambdas/core/ports';
import { parseTenantConfig, type TenantConfig } from '../../../lambdas/core/tenant-config';
import { TokenVendor } from '../../../lambdas/core/vendor';
import { CognitoProvider, secretHash } from '../../../lambdas/providers/cognito';
import { fakeJwt, RecordingVerifier } from '../../support/fake-verifier';
import { cognitoSecret, FakeClock } from '../../support/fakes';
import { registerUser, SrpServerSession, type SrpUser } from '../../support/srp-server';

const cognito = mockClient(CognitoIdentityProviderClient);
const USER_ID = 'b1f0c3d2-0000-4000-8000-0000000000aa'; // Cognito's internal user name (the sub)
const POOL = cognitoSecret.userPoolId;

function config(overrides: Record<string, unknown> = {}): TenantConfig {
  return parseTenantConfig('acme', JSON.stringify({ ...cognitoSecret, authFlow: 'USER_SRP_AUTH', ...overrides }));
}

function tokens() {
  return {
    IdToken: fakeJwt({ token_use: 'id', sub: USER_ID, exp: 2_000_000_000, 'cognito:username': USER_ID }),
    AccessToken: fakeJwt({ token_use: 'access', sub: USER_ID, exp: 2_000_000_000 }),
    RefreshToken: 'refresh-token-srp',
  };
}

/** Cognito's two SRP calls, answered by the independent server for `user` (registered with the right password). */
function serveSrp(user: SrpUser, after: { challenge?: string } = {}) {
  let session: SrpServerSession | undefined;
  cognito.on(InitiateAuthCommand).callsFake((input: InitiateAuthCommandInput) => {
    session = new SrpServerSession(POOL, user);
    const challenge = session.challenge(input.AuthParameters?.SRP_A ?? '');
    return {
      ChallengeName: 'PASSWORD_VERIFIER',
      ChallengeParameters: { ...challenge, USERNAME: USER_ID },
      Session: 's-1',
    };
  });
  cognito.on(RespondToAuthChallengeCommand).callsFake((input: RespondToAuthChallengeCommandInput) => {
    const responses = input.ChallengeResponses ?? {};
    const ok =
      session?.verify({
        PASSWORD_CLAIM_SIGNATURE: responses.PASSWORD_CLAIM_SIGNATURE ?? '',
        PASSWORD_CLAIM_SECRET_BLOCK: responses.PASSWORD_CLAIM_SECRET_BLOCK ?? '',
        TIMESTAMP: responses.TIMESTAMP ?? '',
      }) ?? false;
    if (!ok) {
      throw new NotAuthorizedException({
        message: 'Incorrect username or password.',
        $metadata: { httpStatusCode: 400 },
      });
    }
    if (after.challenge) return { ChallengeName: after.challenge, ChallengeParameters: {}, Session: 's-2' };
    return { AuthenticationResult: tokens() };
  });
}

let verifier: RecordingVerifier;
let provider: CognitoProvider;

beforeEach(() => {
  cognito.reset();
  verifier = new RecordingVerifier();
  provider = new CognitoProvider(verifier);
});

describe('USER_SRP_AUTH against an independent SRP verifier', () => {
  it('completes the exchange with the right password, which never leaves the service', async () => {
    serveSrp(registerUser(POOL, USER_ID, cognitoSecret.password));
    const session = await provider.signIn('acme', config());
    expect(session.tokens.idToken).toBe(tokens().IdToken);
    expect(session.refreshToken).toBe('refresh-token-srp');
    expect(verifier.cognitoCalls.map((call) => call.tokenUse).sort()).toEqual(['access', 'id']);
    const sent = JSON.stringify(cognito.calls().map((call) => call.args[0].input));
    expect(sent).not.toContain(cognitoSecret.password);
  });

  it('sends real Cognito parameter names in both calls', async () => {
    serveSrp(registerUser(POOL, USER_ID, cognitoSecret.password));
    await provider.signIn('acme', config());
    const initiate = cognito.commandCalls(InitiateAuthCommand)[0]?.args[0].input;
    expect(initiate).toEqual({
      AuthFlow: 'USER_SRP_AUTH',
      ClientId: cognitoSecret.clientId,
      AuthParameters: { USERNAME: cognitoSecret.username, SRP_A: expect.stringMatching(/^[0-9a-f]{600,}$/) },
    });
    const respond = cognito.commandCalls(RespondToAuthChallengeCommand)[0]?.args[0].input;
    expect(respond).toEqual({
      ClientId: cognitoSecret.clientId,
      ChallengeName: 'PASSWORD_VERIFIER',
      Session: 's-1',
      ChallengeResponses: {
        USERNAME: USER_ID,
        SRP_A: initiate?.AuthParameters?.SRP_A,
        PASSWORD_CLAIM_SIGNATURE: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/),
        PASSWORD_CLAIM_SECRET_BLOCK: expect.any(String),
        TIMESTAMP: expect.stringMatching(/^\w{3} \w{3} \d{1,2} \d\d:\d\d:\d\d UTC \d{4}$/),
      },
    });
  });

  it('adds SECRET_HASH for the alias on InitiateAuth and for USER_ID_FOR_SRP on the challenge', async () => {
    serveSrp(registerUser(POOL, USER_ID, cognitoSecret.password));
    await provider.signIn('acme', config({ clientSecret: 'client-secret-1' }));
    expect(cognito).toHaveReceivedCommandWith(InitiateAuthCommand, {
      AuthParameters: expect.objectContaining({
        SECRET_HASH: secretHash('client-secret-1', cognitoSecret.username, cognitoSecret.clientId),
      }),
    });
    expect(cognito).toHaveReceivedCommandWith(RespondToAuthChallengeCommand, {
      ChallengeResponses: expect.objectContaining({
        SECRET_HASH: secretHash('client-secret-1', USER_ID, cognitoSecret.clientId),
      }),
    });
  });

  it("gives both calls a signal of their own that the vend's abort signal also aborts", async () => {
    serveSrp(registerUser(POOL, USER_ID, cognitoSecret.password));
    const budget = new AbortController();
    await provider.signIn('acme', config(), { signal: budget.signal });
    const signals = cognito
      .calls()
      .map((call) => ((call.args as unknown[])[1] as { abortSignal: AbortSignal }).abortSignal);
    expect(signals).toHaveLength(2);
    expect(signals[0]).not.toBe(signals[1]); // each request its own timeout
    expect(signals.map((signal) => signal.aborted)).toEqual([false, false]);
    budget.abort();
    expect(signals.map((signal) => signal.aborted)).toEqual([true, true]);
  });

  it('answers a wrong password as not_authorized', async () => {
    serveSrp(registerUser(POOL, USER_ID, 'the-real-password'));
    const error = await provider.signIn('acme', config()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamAuthFailedError);
    expect((error as UpstreamAuthFailedError).reason).toBe('not_authorized');
  });

  it('locks the tenant out after a wrong password: the next request does not call Cognito', async () => {
    serveSrp(registerUser(POOL, USER_ID, 'the-real-password'));
    const clock = new FakeClock();
    const vendor = new TokenVendor({
      tenants: new StaticTenantStore({ acme: { ...cognitoSecret, authFlow: 'USER_SRP_AUTH' } }),
      providers: { cognito: provider } as unknown as Record<TenantConfig['provider'], AuthProvider>,
      cache: new MemorySessionCache(),
      failureMarks: new MemoryFailureMarks(),
      clock,
      sleep: async () => undefined,
    });
    await expect(vendor.vend('acme', 300)).rejects.toMatchObject({ reason: 'not_authorized', retryAfterSeconds: 300 });
    const calls = cognito.calls().length;
    const locked = await vendor.vend('acme', 300).catch((e: unknown) => e);
    expect(locked).toMatchObject({ code: 'upstream_auth_failed', reason: 'locked_out' });
    expect(cognito.calls()).toHaveLength(calls);
  });
});

describe('USER_SRP_AUTH challenges and hostile answers', () => {
  it('refuses a challenge after PASSWORD_VERIFIER (here MFA) with an operator message', async () => {
    serveSrp(registerUser(POOL, USER_ID, cognitoSecret.password), { challenge: 'SOFTWARE_TOKEN_MFA' });
    const error = await provider.signIn('acme', config()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamChallengeRequiredError);
    expect(toErrorResponse(error)).toMatchObject({ status: 502, code: 'upstream_challenge_required' });
    expect((error as Error).message).toMatch(/SOFTWARE_TOKEN_MFA.*without MFA/);
  });

  it.each([
    ['SMS_MFA', /without MFA/],
    ['EMAIL_OTP', /without MFA/],
    ['DEVICE_SRP_AUTH', /device tracking off/],
    ['NEW_PASSWORD_REQUIRED', /permanent password/],
    ['CUSTOM_CHALLENGE', /custom auth/],
    ['SOMETHING_NEW', /an operator must complete it/],
  ])('names what to do about %s', (challenge, hint) => {
    const error = challengeRequired('acme', challenge);
    expect(error.code).toBe('upstream_challenge_required');
    expect(error.message).toContain(challenge);
    expect(error.message).toMatch(hint);
  });

  it('refuses a challenge other than PASSWORD_VERIFIER on InitiateAuth', async () => {
    cognito.on(InitiateAuthCommand).resolves({ ChallengeName: 'CUSTOM_CHALLENGE', ChallengeParameters: {} });
    await expect(provider.signIn('acme', config())).rejects.toBeInstanceOf(UpstreamChallengeRequiredError);
    expect(cognito).not.toHaveReceivedCommand(RespondToAuthChallengeCommand);
  });

  it.each([
    ['a missing SRP_B', { SALT: 'ab', SECRET_BLOCK: 'c2VjcmV0', USER_ID_FOR_SRP: USER_ID }],
    ['a non-hex SRP_B', { SRP_B: 'zz', SALT: 'ab', SECRET_BLOCK: 'c2VjcmV0', USER_ID_FOR_SRP: USER_ID }],
    ['SRP_B = 0 mod N', { SRP_B: '0', SALT: 'ab', SECRET_BLOCK: 'c2VjcmV0', USER_ID_FOR_SRP: USER_ID }],
    ['a missing USER_ID_FOR_SRP', { SRP_B: 'ab', SALT: 'ab', SECRET_BLOCK: 'c2VjcmV0' }],
  ])('rejects %s as upstream_token_invalid without answering', async (_what, parameters) => {
    cognito.on(InitiateAuthCommand).resolves({ ChallengeName: 'PASSWORD_VERIFIER', ChallengeParameters: parameters });
    await expect(provider.signIn('acme', config())).rejects.toBeInstanceOf(UpstreamTokenInvalidError);
    expect(cognito).not.toHaveReceivedCommand(RespondToAuthChallengeCommand);
  });

  it('refreshes an SRP tenant with REFRESH_TOKEN_AUTH as before', async () => {
    cognito.on(InitiateAuthCommand).resolves({ AuthenticationResult: { ...tokens(), RefreshToken: undefined } });
    const session = await provider.refresh('acme', config(), {
      tenantId: 'acme',
      provider: 'cognito',
      secretVersion: 'v1',
      tokens: {},
      refreshToken: 'refresh-token-srp',
      claims: {},
      expiresAt: 0,
      issuedAt: 0,
    });
    expect(cognito).toHaveReceivedCommandWith(InitiateAuthCommand, {
      AuthFlow: 'REFRESH_TOKEN_AUTH',
      AuthParameters: { REFRESH_TOKEN: 'refresh-token-srp' },
    });
    expect(session.refreshToken).toBe('refresh-token-srp');
  });
});
