// A Cognito endpoint that answers its headers at once and then drips the body a byte a second: the SDK's HTTP
// handler timeouts do not end that (requestTimeout stops at the headers, socketTimeout is an idle timer), so each
// call carries its own timeout from start to finish (singleCallOptions), with or without a vend's budget.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { UpstreamUnavailableError } from '../../lambdas/core/errors';
import { parseTenantConfig } from '../../lambdas/core/tenant-config';
import { CognitoProvider } from '../../lambdas/providers/cognito';
import { RecordingVerifier } from '../support/fake-verifier';
import { cognitoSecret } from '../support/fakes';

let server: Server;
let endpoint: string;
let requests = 0;

beforeAll(async () => {
  server = createServer((request, response) => {
    requests++;
    request.resume();
    response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
    response.write('{"AuthenticationResult":');
    const drip = setInterval(() => response.write(' '), 1000);
    response.on('close', () => clearInterval(drip));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const config = () => parseTenantConfig('acme', JSON.stringify({ ...cognitoSecret, endpoint }));

describe('a Cognito answer that drips', () => {
  it('is cut at the call timeout (3 s to connect + 5 s to answer) without a budget, as an outage to retry', async () => {
    const started = performance.now();
    const outcome = await new CognitoProvider(new RecordingVerifier()).signIn('acme', config()).catch((e) => e);
    const elapsed = performance.now() - started;
    expect(outcome).toBeInstanceOf(UpstreamUnavailableError);
    expect(elapsed).toBeGreaterThan(7_500);
    expect(elapsed).toBeLessThan(12_000);
  }, 20_000);

  it('is cut when the vend budget ends first', async () => {
    const before = requests;
    const started = performance.now();
    const outcome = await new CognitoProvider(new RecordingVerifier())
      .signIn('acme', config(), { signal: AbortSignal.timeout(500) } as never)
      .catch((e) => e);
    expect(outcome).toBeInstanceOf(UpstreamUnavailableError);
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(requests - before).toBe(1);
  });
});
