/**
 * Consumers of identity pool credentials, over HTTP against the local server: the TokenClient's AWS SDK
 * credential provider (as an S3Client resolves it), `tvm credentials` in its three formats, and the AWS CLI's
 * `credential_process` contract run through the SDK's own `fromProcess` provider with the real `tvm` bin.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { S3Client } from '@aws-sdk/client-s3';
import { fromProcess } from '@aws-sdk/credential-provider-process';

import { main } from '../../bin/tvm';
import { TokenClient } from '../../client/token-client';
import { StaticTenantStore } from '../../lambdas/adapters/file-tenant-store';
import type { AwsCredentials, IdentityPool } from '../../lambdas/core/credentials-vendor';
import { createHttpHandler } from '../../lambdas/handlers/http-handler';
import { createObservability } from '../../lambdas/handlers/observability';
import { serveHandler, type LocalHttpServer } from '../../lambdas/local/http-adapter';
import { composeRuntime } from '../../lambdas/runtime/compose';
import { loadRuntimeConfig } from '../../lambdas/runtime/config';
import { cognitoSecret, FakeProvider, OffsetClock } from '../support/fakes';
import { capturedLogLines, capturedLogRecords } from '../support/log-capture';

const POOL_ID = 'ap-southeast-2:11111111-2222-4333-8444-555555555555';
const IDENTITY_ID = 'ap-southeast-2:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';

/** An identity pool that hands out numbered one-hour credentials on the shared clock. */
class CountingIdentityPool implements IdentityPool {
  calls = 0;
  constructor(private readonly clock: OffsetClock) {}
  async credentials(): Promise<{ identityId: string; credentials: AwsCredentials }> {
    this.calls++;
    return {
      identityId: IDENTITY_ID,
      credentials: {
        accessKeyId: `ASIALOCAL${String(this.calls).padStart(11, '0')}`,
        secretAccessKey: `secret/${this.calls}+key`,
        sessionToken: `session-token-${this.calls}`,
        expiresAt: Math.floor(this.clock.now() / 1000) + 3600,
      },
    };
  }
}

const clock = new OffsetClock();
const pool = new CountingIdentityPool(clock);
let server: LocalHttpServer;

beforeAll(async () => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const config = loadRuntimeConfig({ TVM_CONSUMERS: JSON.stringify([{ principal: 'local', tenants: ['*'] }]) });
  const runtime = composeRuntime(config, {
    tenants: new StaticTenantStore({ acme: { ...cognitoSecret, identityPoolId: POOL_ID } }),
    clock,
    shared: null,
    providers: { cognito: new FakeProvider(clock) },
    identityPool: pool,
  });
  server = await serveHandler(createHttpHandler(runtime, createObservability()), {
    host: '127.0.0.1',
    port: 0,
    callerArn: 'local',
  });
});

afterAll(() => server.close());

function client(): TokenClient {
  return new TokenClient({
    endpoint: server.url,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    clock,
  });
}

describe('TokenClient.awsCredentials', () => {
  it('is an AWS SDK v3 credential provider: an S3Client resolves the vended keys, cached until near expiry', async () => {
    const tokens = client();
    const s3 = new S3Client({ region: 'ap-southeast-2', credentials: tokens.awsCredentials('acme') });
    const before = pool.calls;
    const resolved = await s3.config.credentials();
    expect(resolved).toMatchObject({
      accessKeyId: expect.stringMatching(/^ASIALOCAL/),
      secretAccessKey: expect.stringMatching(/^secret\//),
      sessionToken: expect.stringMatching(/^session-token-/),
    });
    expect(resolved.expiration).toBeInstanceOf(Date);
    const direct = await tokens.getAwsCredentials('acme');
    expect(direct.accessKeyId).toBe(resolved.accessKeyId);
    expect(pool.calls - before).toBe(1);

    clock.advance(3600 - 300); // 300 s left: below minTtl 300 + skew 30 for the client and the service
    const renewed = await tokens.awsCredentials('acme')();
    expect(renewed.accessKeyId).not.toBe(resolved.accessKeyId);
    expect(pool.calls - before).toBe(2);
    s3.destroy();
  });
});

describe('tvm credentials', () => {
  async function run(...argv: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await main(argv, {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      isTTY: false,
      env: {},
    });
    return { code, stdout, stderr };
  }

  it('--format process prints the credential_process JSON', async () => {
    const { code, stdout } = await run('credentials', 'acme', '--format', 'process', '--endpoint', server.url);
    expect(code).toBe(0);
    const parsed = JSON.parse(stdout);
    expect(Object.keys(parsed)).toEqual(['Version', 'AccessKeyId', 'SecretAccessKey', 'SessionToken', 'Expiration']);
    expect(parsed.Version).toBe(1);
    expect(new Date(parsed.Expiration).toISOString()).toBe(parsed.Expiration);
  });

  it('--format env prints quoted exports, --format json the API body', async () => {
    const env = await run('credentials', 'acme', '--endpoint', server.url);
    expect(env.code).toBe(0);
    expect(env.stdout).toMatch(/^export AWS_ACCESS_KEY_ID='ASIALOCAL\d{11}'$/m);
    expect(env.stdout).toMatch(/^export AWS_SECRET_ACCESS_KEY='secret\/\d+\+key'$/m);
    expect(env.stdout).toMatch(/^export AWS_SESSION_TOKEN='session-token-\d+'$/m);
    const json = await run('credentials', 'acme', '--format', 'json', '--endpoint', server.url);
    expect(Object.keys(JSON.parse(json.stdout)).sort()).toEqual([
      'accessKeyId',
      'expiration',
      'identityId',
      'secretAccessKey',
      'sessionToken',
    ]);
  });

  it('rejects an unknown format as a usage error', async () => {
    const { code, stderr } = await run('credentials', 'acme', '--format', 'yaml', '--endpoint', server.url);
    expect(code).toBe(2);
    expect(stderr).toMatch(/env, json, process/);
  });
});

describe('credential_process through the SDK', () => {
  it('fromProcess runs `tvm credentials --format process` and returns the vended keys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tvm-credential-process-'));
    const bin = resolve(__dirname, '../../bin/tvm-bin.js');
    const configFile = join(dir, 'config');
    writeFileSync(
      configFile,
      `[profile tvm-acme]\ncredential_process = "${process.execPath}" "${bin}" credentials acme --format process --endpoint ${server.url}\n`,
    );
    const credentialsFile = join(dir, 'credentials');
    writeFileSync(credentialsFile, '');
    const provided = await fromProcess({
      profile: 'tvm-acme',
      configFilepath: configFile,
      filepath: credentialsFile,
      ignoreCache: true,
    })();
    const served = await client().getAwsCredentials('acme');
    expect(provided).toMatchObject({
      accessKeyId: served.accessKeyId,
      secretAccessKey: served.secretAccessKey,
      sessionToken: served.sessionToken,
    });
    expect(provided.expiration?.toISOString()).toBe(served.expiration);
  }, 60_000);
});

describe('audit', () => {
  it('logs each vend with the session token fingerprint and never a key or token', () => {
    const records = capturedLogRecords().filter((record) => record.message === 'aws credentials vended');
    expect(records.length).toBeGreaterThan(0);
    for (const record of records) {
      expect(record).toMatchObject({ tenantId: 'acme', identityId: IDENTITY_ID, caller: 'local' });
      expect(record.credentialsFingerprint).toMatch(/^[0-9a-f]{16}$/);
    }
    const everything = capturedLogLines().join('\n');
    expect(everything).not.toMatch(/secret\/\d+\+key|session-token-\d+/);
  });
});
