// `tvm tenants` and `tvm tenant status` against dynalite (the shared cache table, written by the real adapters)
// and Secrets Manager (aws-sdk-client-mock on the real client), with tenants in several states.
import { GetSecretValueCommand, ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';

import { defaultDeps } from '../../cli/deps';
import { EXIT, main, type Io } from '../../cli/index';
import { tableRow, tenantState } from '../../cli/tenant-states';
import { DynamoDbFailureMarks, DynamoDbSessionCache } from '../../lambdas/adapters/dynamodb-cache';
import { localEnvelope } from '../../lambdas/adapters/envelope';
import type { FailureMark, Session } from '../../lambdas/core/ports';
import { startLocalDynamo, type LocalDynamo } from '../../lambdas/local/dynalite';
import { cognitoSecret, loginEndpointSecret } from '../support/fakes';

const secretsManager = mockClient(SecretsManagerClient);
const now = Math.floor(Date.now() / 1000);
let dynamo: LocalDynamo;

const secrets: Record<string, { value: object; version: string }> = {
  acme: { value: cognitoSecret, version: 'v-acme-0001' },
  globex: { value: loginEndpointSecret, version: 'v-globex-01' },
  initech: { value: cognitoSecret, version: 'v-initech-2' },
  hooli: { value: { ...cognitoSecret, region: 'moon' }, version: 'v-hooli-001' },
};

function session(tenantId: string, issuedAgo: number, expiresIn: number, refreshToken?: string): Session {
  return {
    tenantId,
    provider: 'cognito',
    secretVersion: secrets[tenantId]?.version ?? 'v-gone',
    tokens: { idToken: `ID-TOKEN-SECRET-${tenantId}`, accessToken: `ACCESS-TOKEN-SECRET-${tenantId}` },
    ...(refreshToken ? { refreshToken } : {}),
    claims: { sub: 'user' },
    issuedAt: now - issuedAgo,
    expiresAt: now + expiresIn,
  };
}

const io = (out: { stdout: string; stderr: string }): Io => ({
  stdout: (text) => (out.stdout += text),
  stderr: (text) => (out.stderr += text),
  isTTY: false,
  env: { AWS_REGION: 'ap-southeast-2', TVM_CACHE_TABLE: dynamo.tableName },
});

async function run(...argv: string[]) {
  const out = { stdout: '', stderr: '' };
  const cliIo = io(out);
  const clock = { now: () => now * 1000 };
  const code = await main(argv, cliIo, { ...defaultDeps(cliIo), dynamodb: () => dynamo.client(), clock });
  return { code, ...out, all: out.stdout + out.stderr };
}

const FORBIDDEN = ['TOKEN-SECRET', 'REFRESH-SECRET', cognitoSecret.password, loginEndpointSecret.password];

beforeAll(async () => {
  dynamo = await startLocalDynamo('tvm-cache');
  const options = { tableName: dynamo.tableName, client: dynamo.client(), envelope: localEnvelope({}) };
  const cache = new DynamoDbSessionCache(options);
  // acme: renewed 10 minutes ago, valid for 50 more: fresh, with a refresh token.
  await cache.putIfUnchanged(session('acme', 600, 3000, 'REFRESH-SECRET-acme'), undefined);
  // globex: 90% of its lifetime used: due for renewal; no refresh token.
  await cache.putIfUnchanged(session('globex', 3240, 360), undefined);
  // ... and a container renewing it right now (the lease kept on the session item).
  expect(await cache.tryAcquire('globex', 'container-1', 600_000)).toBe(true);
  // initech: a session, and password sign-in paused for 5 minutes after two rejections.
  await cache.putIfUnchanged(session('initech', 4000, -400, 'REFRESH-SECRET-initech'), undefined);
  await new DynamoDbFailureMarks(options).put('initech', {
    secretVersion: secrets.initech!.version,
    failures: 2,
    blockedUntil: now * 1000 + 300_000,
    reason: 'not_authorized',
  });
  // umbrella: a session left in the table after its secret was deleted.
  await cache.putIfUnchanged(session('umbrella', 100, 3500, 'REFRESH-SECRET-umbrella'), undefined);
  // hooli: a secret (an invalid one) and no session yet.
});

afterAll(() => dynamo.close());

beforeEach(() => {
  secretsManager.reset();
  secretsManager.on(ListSecretsCommand).resolves({
    SecretList: Object.entries(secrets).map(([id, { version }]) => ({
      Name: `tvm/tenants/${id}`,
      SecretVersionsToStages: { [version]: ['AWSCURRENT'] },
    })),
  });
  for (const [id, { value, version }] of Object.entries(secrets))
    secretsManager
      .on(GetSecretValueCommand, { SecretId: `tvm/tenants/${id}` })
      .resolves({ SecretString: JSON.stringify(value), VersionId: version, Name: `tvm/tenants/${id}` });
});

describe('tvm tenants', () => {
  it('shows every tenant of Secrets Manager and of the table with its state, as JSON', async () => {
    const result = await run('tenants', '--json');
    expect(result.code).toBe(EXIT.ok);
    const rows = JSON.parse(result.stdout) as Array<Record<string, any>>;
    const byId = Object.fromEntries(rows.map((row) => [row.tenantId, row]));
    expect(Object.keys(byId)).toEqual(['acme', 'globex', 'hooli', 'initech', 'umbrella']);
    expect(byId.acme).toMatchObject({
      state: 'fresh',
      provider: 'cognito',
      secretVersion: 'v-acme-0001',
      secret: 'ok',
      session: { expiresIn: 3000, renewedAgo: 600, refreshToken: true, secretVersion: 'v-acme-0001' },
    });
    expect(byId.acme.lockout).toBeUndefined();
    expect(byId.globex).toMatchObject({
      state: 'near expiry',
      provider: 'login-endpoint',
      session: { refreshToken: false },
    });
    expect(byId.initech).toMatchObject({
      state: 'locked out',
      lockout: { active: true, failures: 2, reason: 'not_authorized', clearedByNewVersion: false },
    });
    expect(byId.initech.lockout.retryIn).toBe(300);
    expect(byId.hooli).toMatchObject({ state: 'no session', secret: 'invalid', secretVersion: 'v-hooli-001' });
    expect(byId.hooli.session).toBeUndefined();
    expect(byId.umbrella).toMatchObject({ state: 'no secret', secret: 'missing', session: { refreshToken: true } });
    for (const value of FORBIDDEN) expect(result.all).not.toContain(value);
  });

  it('prints a table, one line per tenant, without any token', async () => {
    const result = await run('tenants');
    expect(result.code).toBe(EXIT.ok);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TENANT\s+STATE\s+PROVIDER\s+VERSION\s+EXPIRES\s+RENEWED\s+LOCKOUT\s+REFRESH TOKEN$/);
    expect(lines).toHaveLength(6);
    expect(lines[1]).toMatch(/^acme\s+fresh\s+cognito\s+v-acme-0\s+in 50m\s+10m ago\s+no\s+yes$/);
    expect(lines[2]).toMatch(/^globex\s+near expiry\s+login-endpoint\s+v-globex\s+in 6m\s+54m ago\s+no\s+no$/);
    expect(lines[3]).toMatch(/^hooli\s+no session\s+invalid\s+v-hooli-\s+-\s+-\s+no\s+-$/);
    expect(lines[4]).toMatch(/^initech\s+locked out\s+cognito\s+.*until \d\d:\d\d:\d\dZ \(2x not_authorized\)\s+yes$/);
    expect(lines[5]).toMatch(/^umbrella\s+no secret\s+missing\s+-\s+in 58m/);
    for (const value of FORBIDDEN) expect(result.all).not.toContain(value);
  });

  it('reads no secret value with --no-secrets', async () => {
    const result = await run('tenants', '--no-secrets', '--json');
    expect(result.code).toBe(EXIT.ok);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    const acme = (JSON.parse(result.stdout) as Array<Record<string, any>>).find((row) => row.tenantId === 'acme');
    expect(acme).toMatchObject({ state: 'fresh', secret: 'not read', secretVersion: 'v-acme-0001' });
  });
});

describe('tvm tenant status', () => {
  it('shows a locked-out tenant with its recent failures and retry time', async () => {
    const result = await run('tenant', 'status', 'initech');
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain('initech: locked out');
    expect(result.stdout).toContain('secret: ok, provider cognito, version v-initech-2');
    expect(result.stdout).toMatch(/recent failures: 2 \(not_authorized\); password sign-in paused until \S+ \(in 5m\)/);
    expect(result.stdout).toContain('refresh token present');
    for (const value of FORBIDDEN) expect(result.all).not.toContain(value);
  });

  it('shows a renewal in progress from the lease on the session item', async () => {
    const result = await run('tenant', 'status', 'globex');
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain('globex: near expiry (renewing now)');
    expect((await run('tenant', 'status', 'acme')).stdout).toContain('acme: fresh\n');
  });

  it('shows a tenant without a session, and a bad tenant id as a usage error', async () => {
    const hooli = await run('tenant', 'status', 'hooli', '--json');
    expect(JSON.parse(hooli.stdout)).toMatchObject({ tenantId: 'hooli', state: 'no session', secret: 'invalid' });
    const bad = await run('tenant', 'status', 'Not_A_Tenant');
    expect(bad.code).toBe(EXIT.usage);
  });
});

describe('tenantState with an upstream that asked to wait', () => {
  const nowMs = Date.parse('2026-11-25T08:00:00Z');
  const secret = { version: 'v1', provider: 'cognito', secret: 'ok' as const };
  const mark = (fields: Partial<FailureMark>): FailureMark => ({
    secretVersion: 'v1',
    failures: 0,
    blockedUntil: 0,
    reason: 'upstream_busy',
    ...fields,
  });

  it('is "upstream busy" until the wait ends, and no lockout when no pause was recorded', () => {
    const state = tenantState(
      'acme',
      secret,
      { tenantId: 'acme', mark: mark({ busyUntil: nowMs + 90_000 }) },
      { nowMs },
    );
    expect(state).toMatchObject({ state: 'upstream busy', upstreamBusy: { in: 90 } });
    expect(state.lockout).toBeUndefined();
    const over = tenantState('acme', secret, { tenantId: 'acme', mark: mark({ busyUntil: nowMs - 1 }) }, { nowMs });
    expect(over.upstreamBusy).toBeUndefined();
    expect(tableRow(state)[6]).toBe('no');
  });

  it('shows a lockout first, with the wait beside it', () => {
    const state = tenantState(
      'acme',
      secret,
      {
        tenantId: 'acme',
        mark: mark({ reason: 'not_authorized', failures: 1, blockedUntil: nowMs + 300_000, busyUntil: nowMs + 60_000 }),
      },
      { nowMs },
    );
    expect(state).toMatchObject({ state: 'locked out', lockout: { active: true }, upstreamBusy: { in: 60 } });
  });
});
