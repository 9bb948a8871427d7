// USER_SRP_AUTH for Cognito user pools: the password never leaves the service, only an SRP proof of it.
// The big-number work is srp-proof.ts's (Cognito's 3072-bit group, HKDF "Caldera Derived Key",
// PASSWORD_CLAIM_SIGNATURE); this module drives the two calls and treats every answer as hostile.

import {
  InitiateAuthCommand,
  RespondToAuthChallengeCommand,
  type CognitoIdentityProviderClient,
  type InitiateAuthCommandOutput,
  type RespondToAuthChallengeCommandOutput,
} from '@aws-sdk/client-cognito-identity-provider';
import * as z from 'zod/mini';

import { singleCallOptions } from '../adapters/aws-client-options';
import { UpstreamTokenInvalidError } from '../core/errors';
import type { CognitoTenantConfig } from '../core/tenant-config';
import { cognitoTimestamp, passwordClaimSignature, srpLargeA, srpSmallA } from './srp-proof';

/** The answer of the last call: tokens, or a challenge the service cannot answer. */
export type SrpOutcome = Pick<InitiateAuthCommandOutput, 'AuthenticationResult' | 'ChallengeName'>;

/** Runs one Cognito call and maps its errors (the provider's classification). */
export type CognitoCall = <T>(operation: string, call: () => Promise<T>) => Promise<T>;

/** SECRET_HASH for a user name, present when the app client has a secret. */
export type SecretHashFor = (username: string) => string | undefined;

/** PASSWORD_VERIFIER parameters, checked before any arithmetic: hex numbers and a bounded secret block. */
const passwordVerifierParameters = z.object({
  SRP_B: z.string().check(z.regex(/^[0-9a-fA-F]{1,1024}$/)),
  SALT: z.string().check(z.regex(/^[0-9a-fA-F]{1,256}$/)),
  SECRET_BLOCK: z.string().check(z.regex(/^[A-Za-z0-9+/=]{1,8192}$/)),
  USER_ID_FOR_SRP: z.string().check(z.minLength(1), z.maxLength(256)),
});

/**
 * InitiateAuth(USER_SRP_AUTH, SRP_A) -> PASSWORD_VERIFIER(SRP_B, SALT, SECRET_BLOCK, USER_ID_FOR_SRP)
 * -> RespondToAuthChallenge(PASSWORD_CLAIM_SIGNATURE, PASSWORD_CLAIM_SECRET_BLOCK, TIMESTAMP).
 * Returns the last answer; a further challenge (MFA, device, new password) is the caller's to refuse.
 */
export async function srpSignIn(
  tenantId: string,
  config: CognitoTenantConfig,
  client: CognitoIdentityProviderClient,
  call: CognitoCall,
  secretHashFor: SecretHashFor,
  /** Aborts both requests when the vend's time budget is spent. */
  abortSignal?: AbortSignal,
): Promise<SrpOutcome> {
  // Each request gets its own timeout (and the budget's signal).
  const options = () => singleCallOptions('cognito', abortSignal);
  const smallA = srpSmallA();
  const largeA = srpLargeA(smallA);
  const initiateHash = secretHashFor(config.username);
  const initiated = await call('sign-in', () =>
    client.send(
      new InitiateAuthCommand({
        AuthFlow: 'USER_SRP_AUTH',
        ClientId: config.clientId,
        AuthParameters: {
          USERNAME: config.username,
          ...(initiateHash ? { SECRET_HASH: initiateHash } : {}),
          SRP_A: largeA,
        },
      }),
      options(),
    ),
  );
  if (initiated.AuthenticationResult || initiated.ChallengeName !== 'PASSWORD_VERIFIER') return initiated;

  const parsed = passwordVerifierParameters.safeParse(initiated.ChallengeParameters ?? {});
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.')).join(', ');
    throw new UpstreamTokenInvalidError(`Cognito sent tenant '${tenantId}' a malformed SRP challenge (${fields}).`);
  }
  const parameters = parsed.data;
  // Cognito answers to its internal user name (often the sub); the proof and SECRET_HASH must use it too.
  const userId = parameters.USER_ID_FOR_SRP;
  const timestamp = cognitoTimestamp(new Date());
  let signature: string;
  try {
    signature = passwordClaimSignature({
      userPoolId: config.userPoolId,
      userIdForSrp: userId,
      password: config.password,
      smallA,
      largeA,
      srpB: parameters.SRP_B,
      salt: parameters.SALT,
      secretBlock: parameters.SECRET_BLOCK,
      timestamp,
    });
  } catch (error) {
    // e.g. SRP_B = 0 mod N (AbortOnZeroBSrpError): an answer no honest server gives.
    const name = error instanceof Error ? error.name : 'Error';
    throw new UpstreamTokenInvalidError(`Cognito sent tenant '${tenantId}' an unusable SRP challenge (${name}).`);
  }
  const respondHash = secretHashFor(userId);
  const responded: RespondToAuthChallengeCommandOutput = await call('sign-in', () =>
    client.send(
      new RespondToAuthChallengeCommand({
        ClientId: config.clientId,
        ChallengeName: 'PASSWORD_VERIFIER',
        ChallengeResponses: {
          USERNAME: userId,
          ...(respondHash ? { SECRET_HASH: respondHash } : {}),
          PASSWORD_CLAIM_SECRET_BLOCK: parameters.SECRET_BLOCK,
          PASSWORD_CLAIM_SIGNATURE: signature,
          SRP_A: largeA,
          TIMESTAMP: timestamp,
        },
        ...(initiated.Session ? { Session: initiated.Session } : {}),
      }),
      options(),
    ),
  );
  return responded;
}
