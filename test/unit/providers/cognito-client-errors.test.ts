// Operator-action failures pause too (issue 18, item 10): an app client that rejects the request is paused
// with backoff like a rejected password. Real Cognito error names and messages, through the real SDK client
// (aws-sdk-client-mock), the real provider and the real vendor: exact InitiateAuth counts.
import {
  CognitoIdentityProviderClient,
  InitiateAuthCommand,
  InvalidParameterException,
  NotAuthorizedException,
  ResourceNotFoundException,
} from '@aws-sdk/client-cognito-identity-provider';
import { mockClient } from 'aws-sdk-client-mock';

import 'aws-sdk-client-mock-jest';

import { StaticTenantStore } from '../../../lambdas/adapters/file-tenant-store';
import { MemoryFailureMarks, MemorySessionCache } from '../../../lambdas/adapters/memory-cache';
import { toErrorResponse, UpstreamAuthFailedError } from '../../../lambdas/core/errors';
import { TokenVendor } from '../../../lambdas/core/vendor';
import { classifyCognitoError, CognitoProvider } from '../../../lambdas/providers/cognito';
import { RecordingVerifier } from '../../support/fake-verifier';
import { cognitoSecret, FakeClock } from '../../support/fakes';

const cognito = mockClient(CognitoIdentityProviderClient);
const meta = { $metadata: { httpStatusCode: 400 } };
const clientId = cognitoSecret.clientId;

/** The errors real Cognito answers when the app client, not the user, is misconfigured. */
const CLIENT_ERRORS = [
  {
    what: 'unknown app client',
    error: () => new ResourceNotFoundException({ ...meta, message: `User pool client ${clientId} does not exist.` }),
  },
  {
    what: 'auth flow not enabled',
    error: () =>
      new InvalidParameterException({ ...meta, message: 'USER_PASSWORD_AUTH flow not enabled for this client' }),
  },
  {
    what: 'bad secret hash',
    error: () =>
      new NotAuthorizedException({ ...meta, message: `Unable to verify secret hash for client ${clientId}` }),
  },
] as const;

function vendorWith(clock: FakeClock) {
  const client = new CognitoIdentityProviderClient({ region: 'ap-southeast-2' });
  const provider = new CognitoProvider(new RecordingVerifier(), () => client);
  return new TokenVendor({
    tenants: new StaticTenantStore({ acme: { ...cognitoSecret, clientSecret: 'app-client-secret' } }),
    providers: { cognito: provider, 'login-endpoint': provider, 'oauth2-client-credentials': provider },
    cache: new MemorySessionCache(),
    failureMarks: new MemoryFailureMarks(),
    clock,
    sleep: async () => undefined,
  });
}

beforeEach(() => cognito.reset());

describe.each(CLIENT_ERRORS)('Cognito app client rejection: $what', ({ error }) => {
  it('is classified as client_rejected, naming the error but never the request', () => {
    const classified = classifyCognitoError('acme', 'sign-in', error());
    expect(classified).toBeInstanceOf(UpstreamAuthFailedError);
    expect((classified as UpstreamAuthFailedError).reason).toBe('client_rejected');
    expect(classified.message).toContain(error().name);
    expect(classified.message).toMatch(/client id, its auth flows and secret/);
    expect(classified.message).not.toContain('app-client-secret');
  });

  it('pauses sign-in: one InitiateAuth for 10 requests, 502 with Retry-After, then doubling after the pause', async () => {
    cognito.on(InitiateAuthCommand).rejects(error());
    const clock = new FakeClock();
    const vendor = vendorWith(clock);
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(toErrorResponse(await vendor.vend('acme', 300).catch((e: unknown) => e)));
    expect(cognito).toHaveReceivedCommandTimes(InitiateAuthCommand, 1);
    expect(answers[0]).toMatchObject({ status: 502, code: 'upstream_auth_failed', headers: { 'Retry-After': '300' } });
    for (const answer of answers.slice(1)) {
      expect(answer.status).toBe(502);
      expect(Number(answer.headers['Retry-After'])).toBeGreaterThan(0);
      expect(answer.message).toMatch(/paused/);
    }

    clock.advance(300);
    const next = toErrorResponse(await vendor.vend('acme', 300).catch((e: unknown) => e));
    expect(cognito).toHaveReceivedCommandTimes(InitiateAuthCommand, 2);
    expect(next.headers['Retry-After']).toBe('600');
  });
});

describe('the cause of a classified Cognito error', () => {
  it("keeps an answer's error name and status only, never the endpoint's text; a network error whole", () => {
    const sdkError = new NotAuthorizedException({ ...meta, message: 'Incorrect username or password.' });
    const classified = classifyCognitoError('acme', 'sign-in', sdkError);
    expect(classified.cause).toMatchObject({
      name: 'NotAuthorizedException',
      message: `NotAuthorizedException (HTTP ${meta.$metadata.httpStatusCode})`,
      $metadata: { httpStatusCode: meta.$metadata.httpStatusCode },
    });
    const echo = Object.assign(new Error('could not process {"PASSWORD":"Sup3r-Secret"}'), {
      name: 'InternalErrorException',
      $metadata: { httpStatusCode: 500 },
    });
    const unavailable = classifyCognitoError('acme', 'sign-in', echo);
    expect(JSON.stringify({ ...unavailable, cause: String(unavailable.cause) }) + unavailable.message).not.toContain(
      'Sup3r-Secret',
    );
    expect(String(unavailable.cause)).toBe('InternalErrorException: InternalErrorException (HTTP 500)');
    const network = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    expect(classifyCognitoError('acme', 'sign-in', network).cause).toBe(network);
  });

  it('drops it for an answer that failed to parse, whose message or body text may quote a token', () => {
    const parse = new SyntaxError('Unexpected token \'e\', "eyJraWQiOi"... is not valid JSON');
    expect(classifyCognitoError('acme', 'sign-in', parse).cause).toBeUndefined();
    const deserialization = Object.assign(new Error('Deserialization error: inspect {error}.$response'), {
      $responseBodyText: '{"AuthenticationResult":{"IdToken":"eyJ',
      $metadata: { httpStatusCode: 200 },
    });
    const classified = classifyCognitoError('acme', 'sign-in', deserialization);
    expect(classified.cause).toBeUndefined();
    expect(JSON.stringify(classified) + classified.message).not.toContain('eyJ');
  });
});

describe('a Cognito endpoint whose answer is broken, not a rejection', () => {
  it('a 200 whose body is not JSON (an HTML page, garbage) is upstream_token_invalid, which pauses no tenant', () => {
    const html = Object.assign(new SyntaxError('Unexpected token \'<\', "<html>" is not valid JSON'), {
      $metadata: { httpStatusCode: 200 },
    });
    const classified = classifyCognitoError('acme', 'sign-in', html);
    expect(classified).toMatchObject({ code: 'upstream_token_invalid' });
    expect(classified.message).toContain('answered sign-in with HTTP 200 and a body that is not Cognito');
  });

  it('an answer cut off mid-body (a reset) is upstream_unavailable, retried', () => {
    const reset = Object.assign(new Error('aborted: Deserialization error'), {
      code: 'ECONNRESET',
      $metadata: { httpStatusCode: 200 },
    });
    expect(classifyCognitoError('acme', 'sign-in', reset)).toMatchObject({ code: 'upstream_unavailable' });
  });

  it('a pool trigger that failed (UnexpectedLambdaException, HTTP 400) is upstream_unavailable, not a rejection', () => {
    const trigger = Object.assign(new Error('PreAuthentication failed with error Task timed out.'), {
      name: 'UnexpectedLambdaException',
      $metadata: { httpStatusCode: 400 },
    });
    expect(classifyCognitoError('acme', 'sign-in', trigger)).toMatchObject({ code: 'upstream_unavailable' });
  });

  it('an error named like an Object property is no known rejection reason', () => {
    const odd = Object.assign(new Error('odd'), { name: 'constructor', $metadata: { httpStatusCode: 400 } });
    expect(classifyCognitoError('acme', 'sign-in', odd)).toMatchObject({ reason: 'client_rejected' });
  });

  it('a 400 with an unknown error name still rejects the app client', () => {
    const odd = Object.assign(new Error('odd'), { name: 'SomethingNewException', $metadata: { httpStatusCode: 400 } });
    expect(classifyCognitoError('acme', 'sign-in', odd)).toMatchObject({
      code: 'upstream_auth_failed',
      reason: 'client_rejected',
    });
  });
});
