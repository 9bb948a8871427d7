import {
  CognitoIdentityClient,
  GetCredentialsForIdentityCommand,
  GetIdCommand,
  NotAuthorizedException,
  ResourceNotFoundException,
  TooManyRequestsException,
} from '@aws-sdk/client-cognito-identity';
import { mockClient } from 'aws-sdk-client-mock';

import 'aws-sdk-client-mock-jest';

import { BodyTooLongError } from '../../../contract/bounded-body';
import type { IdentityPoolTenantConfig } from '../../../lambdas/core/credentials-vendor';
import { toErrorResponse, UpstreamTokenInvalidError } from '../../../lambdas/core/errors';
import { parseTenantConfig } from '../../../lambdas/core/tenant-config';
import { CognitoIdentityPool, userPoolLogin } from '../../../lambdas/providers/identity-pool';
import { cognitoSecret } from '../../support/fakes';

const identity = mockClient(CognitoIdentityClient);
const POOL_ID = 'ap-southeast-2:11111111-2222-4333-8444-555555555555';
const IDENTITY_ID = 'ap-southeast-2:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

const config = parseTenantConfig(
  'acme',
  JSON.stringify({ ...cognitoSecret, identityPoolId: POOL_ID }),
) as IdentityPoolTenantConfig;

function credentialsAnswer(identityId = IDENTITY_ID) {
  return {
    IdentityId: identityId,
    Credentials: {
      AccessKeyId: 'ASIAEXAMPLE0123456789',
      SecretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      SessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE//session+token=',
      Expiration: new Date('2026-11-23T13:00:00Z'),
    },
  };
}

beforeEach(() => identity.reset());

describe('CognitoIdentityPool', () => {
  it('calls GetId with the user pool login, then GetCredentialsForIdentity', async () => {
    identity.on(GetIdCommand).resolves({ IdentityId: IDENTITY_ID });
    identity.on(GetCredentialsForIdentityCommand).resolves(credentialsAnswer());
    const result = await new CognitoIdentityPool().credentials('acme', config, 'id-token', undefined);
    const logins = { 'cognito-idp.ap-southeast-2.amazonaws.com/ap-southeast-2_AbC123': 'id-token' };
    expect(userPoolLogin(config)).toBe('cognito-idp.ap-southeast-2.amazonaws.com/ap-southeast-2_AbC123');
    expect(identity).toHaveReceivedCommandWith(GetIdCommand, { IdentityPoolId: POOL_ID, Logins: logins });
    expect(identity).toHaveReceivedCommandWith(GetCredentialsForIdentityCommand, {
      IdentityId: IDENTITY_ID,
      Logins: logins,
    });
    expect(result).toEqual({
      identityId: IDENTITY_ID,
      credentials: {
        accessKeyId: 'ASIAEXAMPLE0123456789',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE//session+token=',
        expiresAt: Date.parse('2026-11-23T13:00:00Z') / 1000,
      },
    });
  });

  it('skips GetId for a known identity id', async () => {
    identity.on(GetCredentialsForIdentityCommand).resolves(credentialsAnswer());
    await new CognitoIdentityPool().credentials('acme', config, 'id-token', IDENTITY_ID);
    expect(identity).not.toHaveReceivedCommand(GetIdCommand);
  });

  it('looks the identity up again once when the pool no longer knows a remembered one', async () => {
    const fresh = 'ap-southeast-2:ffffffff-bbbb-4ccc-8ddd-eeeeeeeeeeee';
    identity.on(GetIdCommand).resolves({ IdentityId: fresh });
    identity
      .on(GetCredentialsForIdentityCommand, { IdentityId: IDENTITY_ID })
      .rejects(new ResourceNotFoundException({ message: 'Identity not found', ...meta(400) }))
      .on(GetCredentialsForIdentityCommand, { IdentityId: fresh })
      .resolves(credentialsAnswer(fresh));
    const result = await new CognitoIdentityPool().credentials('acme', config, 'id-token', IDENTITY_ID);
    expect(result.identityId).toBe(fresh);
    expect(identity).toHaveReceivedCommandTimes(GetIdCommand, 1);
  });

  it.each([
    [
      'NotAuthorizedException on GetId',
      GetIdCommand,
      new NotAuthorizedException({ message: 'Invalid login token', ...meta(400) }),
      502,
      'upstream_auth_failed',
    ],
    [
      'NotAuthorizedException on GetCredentialsForIdentity',
      GetCredentialsForIdentityCommand,
      new NotAuthorizedException({ message: 'Token is expired', ...meta(400) }),
      502,
      'upstream_auth_failed',
    ],
    [
      'ResourceNotFoundException on GetId (no such pool)',
      GetIdCommand,
      new ResourceNotFoundException({ message: 'IdentityPool not found', ...meta(400) }),
      500,
      'tenant_misconfigured',
    ],
    [
      'TooManyRequestsException (throttling)',
      GetCredentialsForIdentityCommand,
      new TooManyRequestsException({ message: 'Rate exceeded', ...meta(400) }),
      503,
      'upstream_unavailable',
    ],
  ])('maps %s to %s %s', async (_what, command, error, status, code) => {
    identity.on(GetIdCommand).resolves({ IdentityId: IDENTITY_ID });
    identity.on(GetCredentialsForIdentityCommand).resolves(credentialsAnswer());
    identity.on(command as typeof GetIdCommand).rejects(error);
    const thrown = await new CognitoIdentityPool().credentials('acme', config, 'id-token', undefined).catch((e) => e);
    expect(toErrorResponse(thrown)).toMatchObject({ status, code });
    expect((thrown as Error).message).not.toContain('id-token');
  });

  it.each([
    [
      'another identity id',
      { ...credentialsAnswer(), IdentityId: 'ap-southeast-2:00000000-bbbb-4ccc-8ddd-eeeeeeeeeeee' },
    ],
    [
      'no session token',
      { IdentityId: IDENTITY_ID, Credentials: { ...credentialsAnswer().Credentials, SessionToken: undefined } },
    ],
    [
      'a secret with a line break',
      { IdentityId: IDENTITY_ID, Credentials: { ...credentialsAnswer().Credentials, SecretKey: 'abc\r\nX-Evil: 1' } },
    ],
    [
      'no expiration',
      { IdentityId: IDENTITY_ID, Credentials: { ...credentialsAnswer().Credentials, Expiration: undefined } },
    ],
  ])('refuses an answer with %s as upstream_token_invalid', async (_what, answer) => {
    identity.on(GetIdCommand).resolves({ IdentityId: IDENTITY_ID });
    identity.on(GetCredentialsForIdentityCommand).resolves(answer);
    await expect(new CognitoIdentityPool().credentials('acme', config, 'id-token', undefined)).rejects.toBeInstanceOf(
      UpstreamTokenInvalidError,
    );
  });

  it('answers an answer cut at the client cap (over 1 MB) as upstream_token_invalid, not a refusal', async () => {
    identity.on(GetIdCommand).resolves({ IdentityId: IDENTITY_ID });
    identity
      .on(GetCredentialsForIdentityCommand)
      .rejects(Object.assign(new BodyTooLongError(1_048_576), { $metadata: { httpStatusCode: 200 } }));
    const outcome = await new CognitoIdentityPool().credentials('acme', config, 'id-token', undefined).catch((e) => e);
    expect(outcome).toBeInstanceOf(UpstreamTokenInvalidError);
    expect((outcome as Error).message).toMatch(/more than 1048576 bytes/);
  });

  it('refuses a GetId answer without a valid identity id', async () => {
    identity.on(GetIdCommand).resolves({ IdentityId: '../../etc' });
    await expect(new CognitoIdentityPool().credentials('acme', config, 'id-token', undefined)).rejects.toBeInstanceOf(
      UpstreamTokenInvalidError,
    );
    expect(identity).not.toHaveReceivedCommand(GetCredentialsForIdentityCommand);
  });
});
