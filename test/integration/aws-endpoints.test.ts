/**
 * AWS clients honour AWS_ENDPOINT_URL and the per-service variables, so the whole
 * service can point at LocalStack or an emulator. Here: Secrets Manager answered by
 * a local stand-in, Cognito by cognito-local, both reached only through the variables.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { AwsJwtVerifier } from '../../lambdas/adapters/jwt-verifier';
import { SecretsManagerTenantStore } from '../../lambdas/adapters/secrets-manager-tenant-store';
import { parseTenantConfig } from '../../lambdas/core/tenant-config';
import { startCognitoEmulator, type CognitoEmulator } from '../../lambdas/local/cognito-emulator';
import { seedCognitoTenant } from '../../lambdas/local/seed-cognito';
import { CognitoProvider } from '../../lambdas/providers/cognito';
import { cognitoSecret } from '../support/fakes';

const saved = { ...process.env };
let secretsServer: Server;
let secretsUrl: string;
const targets: string[] = [];
let cognito: CognitoEmulator;

beforeAll(async () => {
  secretsServer = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      targets.push(String(request.headers['x-amz-target']));
      const { SecretId } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { SecretId: string };
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(
        JSON.stringify({ Name: SecretId, VersionId: 'local-v1', SecretString: JSON.stringify(cognitoSecret) }),
      );
    });
  });
  await new Promise<void>((resolve) => secretsServer.listen(0, '127.0.0.1', () => resolve()));
  secretsUrl = `http://127.0.0.1:${(secretsServer.address() as AddressInfo).port}`;
  cognito = await startCognitoEmulator();
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_REGION: 'ap-southeast-2',
  });
});

afterAll(async () => {
  process.env = saved;
  await new Promise<void>((resolve) => secretsServer.close(() => resolve()));
  await cognito.close();
});

it('Secrets Manager is reached through AWS_ENDPOINT_URL_SECRETS_MANAGER', async () => {
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secretsUrl;
  try {
    const record = await new SecretsManagerTenantStore({ prefix: 'tvm/tenants' }).get('acme');
    expect(record).toMatchObject({ tenantId: 'acme', version: 'local-v1', config: { provider: 'cognito' } });
    expect(targets).toEqual(['secretsmanager.GetSecretValue']);
  } finally {
    delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
  }
});

it('Cognito is reached through AWS_ENDPOINT_URL when the tenant names no endpoint', async () => {
  const seeded = await seedCognitoTenant(cognito.endpoint);
  // A LocalStack-style tenant: no endpoint in the secret, only the issuer its tokens carry.
  const { endpoint: _unused, ...secret } = seeded.secret as Record<string, unknown>;
  const config = parseTenantConfig(
    'acme',
    JSON.stringify({ ...secret, issuer: `${cognito.endpoint}/${seeded.userPoolId}` }),
  );
  process.env.AWS_ENDPOINT_URL = cognito.endpoint;
  try {
    const session = await new CognitoProvider(new AwsJwtVerifier()).signIn('acme', config);
    expect(session.tokens.idToken).toBeDefined();
    expect(cognito.authFlows.get('USER_PASSWORD_AUTH')).toBe(1);
  } finally {
    delete process.env.AWS_ENDPOINT_URL;
  }
});
