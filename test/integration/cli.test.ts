/** The `tvm` CLI, run in-process with captured output (and once as a real child process). */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import {
  CreateSecretCommand,
  PutResourcePolicyCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';

import 'aws-sdk-client-mock-jest';

import { EXIT, main } from '../../bin/tvm';
import { startLocalService, type LocalService } from '../../lambdas/local/local-service';
import { cognitoSecret, loginEndpointSecret } from '../support/fakes';

const secrets = mockClient(SecretsManagerClient);
const dir = mkdtempSync(join(tmpdir(), 'tvm-cli-'));
let service: LocalService;

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

async function run(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    isTTY: false,
    env: { AWS_REGION: 'ap-southeast-2' },
  });
  return { code, stdout, stderr, all: stdout + stderr };
}

beforeAll(async () => {
  service = await startLocalService({ port: 0 });
});
afterAll(() => service.close());
beforeEach(() => secrets.reset());

describe('tvm tenant check', () => {
  it('accepts a good secret', async () => {
    const result = await run('tenant', 'check', file('acme.json', cognitoSecret));
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toMatch(/^ok acme: cognito \(ap-southeast-2 ap-southeast-2_AbC123\)/);
    expect(result.all).not.toContain(cognitoSecret.password);
  });

  it('rejects a bad secret naming the fields, never echoing values', async () => {
    const result = await run(
      'tenant',
      'check',
      file('bad.json', {
        ...loginEndpointSecret,
        baseUrl: 'not a url',
        password: '',
        apiKey: 42,
        extra: 'Sup3r-Secret',
      }),
    );
    expect(result.code).toBe(EXIT.invalid);
    for (const field of ['baseUrl', 'password', 'apiKey', 'extra']) expect(result.stderr).toContain(field);
    for (const value of ['not a url', 'Sup3r-Secret', loginEndpointSecret.username])
      expect(result.all).not.toContain(value);
  });

  it('checks every tenant of a tenants file', async () => {
    const result = await run(
      'tenant',
      'check',
      file('tenants.json', { acme: cognitoSecret, globex: { ...loginEndpointSecret, provider: 'okta' } }),
    );
    expect(result.code).toBe(EXIT.invalid);
    expect(result.stdout).toContain('ok acme');
    expect(result.stderr).toContain('invalid globex');
  });

  it('does not quote a file that is not JSON', async () => {
    const result = await run('tenant', 'check', file('broken.json', '{"password": "Sup3r-Secret"'));
    expect(result.code).toBe(EXIT.invalid);
    expect(result.all).not.toContain('Sup3r-Secret');
  });
});

describe('tvm token', () => {
  it('prints a token from the local server', async () => {
    const result = await run('token', 'demo', '--endpoint', service.url);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout.trim()).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('prints headers or JSON on request', async () => {
    const headers = await run('token', 'demo-rest', '--endpoint', service.url, '--headers');
    expect(headers.stdout).toMatch(/^Authorization: eyJ/m);
    expect(headers.stdout).toMatch(/^x-api-key: local-/m);
    const json = await run('token', 'demo', '--endpoint', service.url, '--json', '--min-ttl', '600');
    expect(JSON.parse(json.stdout)).toMatchObject({ tenantId: 'demo', provider: 'cognito' });
  });

  it('reports API errors with their code and exit 1', async () => {
    const result = await run('token', 'nobody', '--endpoint', service.url);
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toContain('404 tenant_not_found');
  });

  it('rejects bad usage with exit 2 and the command help', async () => {
    const result = await run('token', 'demo', '--min-ttl', 'soon', '--endpoint', service.url);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('Usage: tvm token');
    expect((await run('token', 'Bad_Id')).code).toBe(EXIT.usage);
    expect((await run('frobnicate')).code).toBe(EXIT.usage);
  });

  it('works as the installed bin, in a child process', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      join(__dirname, '..', '..', 'bin', 'tvm-bin.js'),
      'token',
      'demo',
      '--endpoint',
      service.url,
    ]);
    expect(stdout.trim()).toMatch(/^eyJ/);
  }, 30_000);
});

describe('tvm tenant put', () => {
  const VEND = 'arn:aws:iam::123456789012:role/Tvm-VendRole-AbC';
  const REFRESH = 'arn:aws:iam::123456789012:role/Tvm-RefreshRole-XyZ';

  it('validates, then creates the secret under the prefix, printing no values', async () => {
    secrets.on(CreateSecretCommand).resolves({ VersionId: 'v-1' });
    const result = await run(
      'tenant',
      'put',
      'acme',
      '--file',
      file('put.json', cognitoSecret),
      '--prefix',
      'prod/tvm',
      '--reader-role',
      VEND,
      '--reader-role',
      REFRESH,
    );
    expect(result.code).toBe(EXIT.ok);
    expect(secrets).toHaveReceivedCommandWith(CreateSecretCommand, {
      Name: 'prod/tvm/acme',
      SecretString: JSON.stringify(cognitoSecret),
    });
    expect(result.stdout).toContain('created prod/tvm/acme (version v-1)');
    expect(result.all).not.toContain(cognitoSecret.password);
    // Only the service roles may read the value.
    const [policyCall] = secrets.commandCalls(PutResourcePolicyCommand);
    expect(policyCall?.args[0].input).toMatchObject({ SecretId: 'prod/tvm/acme', BlockPublicPolicy: true });
    expect(JSON.parse(String(policyCall?.args[0].input.ResourcePolicy)).Statement).toEqual([
      expect.objectContaining({
        Effect: 'Deny',
        Action: 'secretsmanager:GetSecretValue',
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': [VEND, REFRESH] } },
      }),
    ]);
    expect(result.stdout).toContain('restricted prod/tvm/acme');
  });

  it('refuses to write without reader roles (or --no-resource-policy), or with a session ARN', async () => {
    const none = await run('tenant', 'put', 'acme', '--file', file('put4.json', cognitoSecret));
    expect(none.code).toBe(EXIT.usage);
    expect(none.stderr).toContain('--reader-role');
    const session = await run(
      'tenant',
      'put',
      'acme',
      '--file',
      file('put5.json', cognitoSecret),
      '--reader-role',
      'arn:aws:sts::123456789012:assumed-role/Tvm-VendRole-AbC/i-1',
    );
    expect(session.code).toBe(EXIT.usage);
    expect(session.stderr).toContain('give the role ARN');
    expect(secrets.calls()).toHaveLength(0);
  });

  it('adds a new version when the secret exists', async () => {
    secrets.on(CreateSecretCommand).rejects(new ResourceExistsException({ message: 'exists', $metadata: {} }));
    secrets.on(PutSecretValueCommand).resolves({ VersionId: 'v-2' });
    const result = await run(
      'tenant',
      'put',
      'acme',
      '--file',
      file('put2.json', cognitoSecret),
      '--no-resource-policy',
    );
    expect(result.code).toBe(EXIT.ok);
    expect(secrets).not.toHaveReceivedCommand(PutResourcePolicyCommand);
    expect(secrets).toHaveReceivedCommandWith(PutSecretValueCommand, { SecretId: 'tvm/tenants/acme' });
    expect(result.stdout).toContain('updated tvm/tenants/acme (version v-2)');
  });

  it('sends nothing when the secret is invalid', async () => {
    const result = await run(
      'tenant',
      'put',
      'acme',
      '--file',
      file('put3.json', { ...cognitoSecret, region: 'moon' }),
    );
    expect(result.code).toBe(EXIT.invalid);
    expect(result.stderr).toContain('region');
    expect(secrets.calls()).toHaveLength(0);
  });
});

describe('tvm tenant test', () => {
  it('signs in once and reports provider, claims and expiry, never the tokens', async () => {
    const demo = service.upstreams?.tenants.demo as Record<string, unknown>;
    const before = service.upstreams?.cognito.count('InitiateAuth') ?? 0;
    const result = await run('tenant', 'test', 'demo', '--file', file('demo.json', demo));
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain('ok demo: signed in to cognito');
    expect(result.stdout).toContain('"custom:companyId":"company-demo"');
    expect(result.stdout).toMatch(/expires: \d{4}-\d\d-\d\dT/);
    expect(result.all).not.toMatch(/eyJ/);
    expect(result.all).not.toContain(String(demo.password));
    expect(service.upstreams?.cognito.count('InitiateAuth')).toBe(before + 1);
  });

  it('accepts a tenants file, as tenant check does, and names the tenants it holds when one is missing', async () => {
    const demo = service.upstreams?.tenants.demo as Record<string, unknown>;
    const tenantsFile = file('tenants.json', { other: cognitoSecret, demo });
    const result = await run('tenant', 'test', 'demo', '--file', tenantsFile);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain('ok demo: signed in to cognito');
    const missing = await run('tenant', 'test', 'acme', '--file', tenantsFile);
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toContain("holds neither a tenant secret nor tenant 'acme' (it has: other, demo)");
  });

  it('reports a rejected password with exit 1', async () => {
    const demo = service.upstreams?.tenants.demo as Record<string, unknown>;
    const result = await run(
      'tenant',
      'test',
      'demo',
      '--file',
      file('wrong.json', { ...demo, password: 'Wrong-Pa55!' }),
    );
    expect(result.code).toBe(EXIT.failed);
    expect(result.stderr).toContain('upstream_auth_failed');
  });
});
