// A Cognito-compatible endpoint (a tenant secret may name one) that answers with an endless or oversized body: the
// client reads at most 1 MB (aws-client-options.ts, `maxAnswerBytes`), closes the connection, and the answer is a
// bad answer (502 upstream_token_invalid), not buffered, not an outage to retry.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { CognitoIdentityProviderClient, InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';

import { BodyTooLongError } from '../../contract/bounded-body';
import { awsClientOptions } from '../../lambdas/adapters/aws-client-options';
import { UpstreamTokenInvalidError, UpstreamUnavailableError } from '../../lambdas/core/errors';
import { parseTenantConfig } from '../../lambdas/core/tenant-config';
import { CognitoProvider } from '../../lambdas/providers/cognito';
import { RecordingVerifier } from '../support/fake-verifier';
import { cognitoSecret } from '../support/fakes';

type Answer = (response: ServerResponse) => void;

let server: Server;
let endpoint: string;
let answer: Answer;
/** Bytes the server managed to write before the client closed the connection. */
let written = 0;
let closed: Promise<void>;

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    written = 0;
    closed = new Promise((resolve) => response.on('close', () => resolve()));
    answer(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A JSON answer that never ends: 64 KB chunks, as fast as the client reads them. */
const endless =
  (status: number): Answer =>
  (response) => {
    response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
    response.write('{"AuthenticationResult":{"IdToken":"');
    const chunk = 'a'.repeat(65_536);
    const pump = () => {
      while (!response.destroyed && written < 200 * 1_048_576) {
        written += chunk.length;
        if (!response.write(chunk)) return void response.once('drain', pump);
      }
    };
    pump();
  };

const config = () => parseTenantConfig('acme', JSON.stringify({ ...cognitoSecret, endpoint }));

describe('a Cognito answer over 1 MB', () => {
  it.each([200, 400])(
    'HTTP %d streaming without end: cut after about 1 MB, 502 upstream_token_invalid',
    async (status) => {
      answer = endless(status);
      const outcome = await new CognitoProvider(new RecordingVerifier()).signIn('acme', config()).catch((e) => e);
      expect(outcome).toBeInstanceOf(UpstreamTokenInvalidError);
      expect((outcome as Error).message).toMatch(/more than 1048576 bytes/);
      await closed;
      // The client stopped reading and closed the connection: far less than the 200 MB on offer went out.
      expect(written).toBeLessThan(16 * 1_048_576);
    },
  );

  it('a declared content-length over the cap is refused before the body is read', async () => {
    answer = (response) => {
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': String(5_000_000) });
      response.write('{');
    };
    const client = new CognitoIdentityProviderClient({
      region: 'ap-southeast-2',
      endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      ...awsClientOptions('cognito'),
    });
    try {
      const outcome = await client
        .send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: 'c', AuthParameters: {} }))
        .catch((e: unknown) => e);
      expect(outcome).toBeInstanceOf(BodyTooLongError);
    } finally {
      client.destroy();
    }
  });

  it('an answer of normal size is read as before', async () => {
    answer = (response) => {
      response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify({ __type: 'NotAuthorizedException', message: 'Incorrect username or password.' }));
    };
    const outcome = await new CognitoProvider(new RecordingVerifier()).signIn('acme', config()).catch((e) => e);
    expect(outcome).toMatchObject({ code: 'upstream_auth_failed', reason: 'not_authorized' });
  });
});

describe('a Cognito outage page over 1 MB', () => {
  it.each([503, 429])('HTTP %d: an outage (retried), not a bad answer that pauses sign-in', async (status) => {
    answer = endless(status);
    const outcome = await new CognitoProvider(new RecordingVerifier()).signIn('acme', config()).catch((e) => e);
    expect(outcome).toBeInstanceOf(UpstreamUnavailableError);
  });
});
