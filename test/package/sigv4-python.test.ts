// The README's Python consumer (examples/sigv4/get_token.py, botocore's SigV4 signer) against the local server,
// through a recording proxy: it gets a token, and its Authorization header is the SigV4 signature the AWS SDK
// for JavaScript computes for the same request (service execute-api), so API Gateway would accept it.
import { execFile } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { Hash } from '@smithy/core/serde';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

import { startLocalService, type LocalService } from '../../lambdas/local/local-service';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
let service: LocalService;
let proxy: Server;
let proxyUrl: string;
const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = [];

beforeAll(async () => {
  service = await startLocalService({ port: 0 });
  proxy = createServer(async (request, response) => {
    seen.push({ url: request.url ?? '', headers: request.headers });
    const answer = await fetch(`${service.url}${request.url}`);
    response.writeHead(answer.status, { 'content-type': 'application/json' });
    response.end(await answer.text());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise((resolve) => proxy.close(resolve));
  await service.close();
});

it('gets a token with a valid SigV4 signature from botocore', async () => {
  const { stdout } = await promisify(execFile)(
    'python3',
    [join(__dirname, '..', '..', 'examples', 'sigv4', 'get_token.py'), proxyUrl, 'demo', '600'],
    {
      env: {
        PATH: process.env.PATH,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_REGION: 'ap-southeast-2',
        AWS_CONFIG_FILE: '/nonexistent',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    },
  );
  expect(JSON.parse(stdout)).toMatchObject({
    tenantId: 'demo',
    provider: 'cognito',
    idToken: expect.stringMatching(/^eyJ/),
  });

  const request = seen.at(-1)!;
  expect(request.url).toBe('/v1/tenants/demo/token?minTtl=600');
  const amzDate = String(request.headers['x-amz-date']);
  const authorization = String(request.headers.authorization);
  expect(authorization).toMatch(
    /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/ap-southeast-2\/execute-api\/aws4_request, SignedHeaders=\S+, Signature=[0-9a-f]{64}$/,
  );
  // Re-sign the same request with the JavaScript SDK's signer at the same instant, over the same headers.
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)![1]!.split(';');
  const headers = Object.fromEntries(signedHeaders.map((name) => [name, String(request.headers[name])]));
  // applyChecksum: false: botocore does not sign x-amz-content-sha256 for execute-api (both forms are valid SigV4).
  const signer = new SignatureV4({
    service: 'execute-api',
    region: 'ap-southeast-2',
    credentials,
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: false,
  });
  const expected = await signer.sign(
    new HttpRequest({
      method: 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: Number(new URL(proxyUrl).port),
      path: '/v1/tenants/demo/token',
      query: { minTtl: '600' },
      headers,
    }),
    {
      signingDate: new Date(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z')),
      unsignableHeaders: new Set(),
    },
  );
  expect(expected.headers.authorization).toBe(authorization);
}, 60_000);
