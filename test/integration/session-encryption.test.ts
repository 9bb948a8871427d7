/**
 * Session items in the shared cache are sealed with KMS (aws-sdk-client-mock over the real KMS client, with
 * KMS's context semantics and error names): the raw item holds no refresh token and no JWT, two containers
 * still share one session through dynalite, and a container without the key still vends (it signs in itself).
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';

import { StaticTenantStore } from '../../lambdas/adapters/file-tenant-store';
import { kmsEnvelope } from '../../lambdas/adapters/kms-envelope';
import { MemorySessionCache } from '../../lambdas/adapters/memory-cache';
import type { VendorEvent } from '../../lambdas/core/ports';
import { startCognitoEmulator, type CognitoEmulator } from '../../lambdas/local/cognito-emulator';
import { startLocalDynamo, type LocalDynamo } from '../../lambdas/local/dynalite';
import { seedCognitoTenant } from '../../lambdas/local/seed-cognito';
import { composeRuntime, sharedStateFor, type Runtime } from '../../lambdas/runtime/compose';
import { loadRuntimeConfig } from '../../lambdas/runtime/config';
import { fakeKms, KEY_ARN, type FakeKms } from '../support/fake-kms';
import { OffsetClock } from '../support/fakes';

const clock = new OffsetClock();
const JWT = /eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/;
let cognito: CognitoEmulator;
let dynamo: LocalDynamo;
let kms: FakeKms;
let secrets: Record<string, Record<string, unknown>>;
const events: VendorEvent[] = [];

beforeAll(async () => {
  cognito = await startCognitoEmulator({ clock });
  dynamo = await startLocalDynamo();
  kms = fakeKms();
  secrets = { acme: (await seedCognitoTenant(cognito.endpoint, { username: 'ops@example.com' })).secret };
});
afterAll(async () => {
  kms.restore();
  await dynamo.close();
  await cognito.close();
});

/** One Lambda container: its own memory cache and KMS client, the shared table. */
function container(keyId = KEY_ARN): Runtime {
  return composeRuntime(loadRuntimeConfig({}), {
    tenants: new StaticTenantStore(secrets),
    cache: new MemorySessionCache(),
    shared: sharedStateFor(dynamo.tableName, clock, dynamo.client(), kmsEnvelope({ keyId, client: kms.client() })),
    clock,
    onEvent: (event) => events.push(event),
  });
}

async function rawItem() {
  const output = await dynamo
    .client()
    .send(
      new GetItemCommand({ TableName: dynamo.tableName, Key: { pk: { S: 'acme#session' } }, ConsistentRead: true }),
    );
  return output.Item ?? {};
}

it('keeps no readable credential in the item, and two containers share the session through it', async () => {
  const first = container();
  const second = container();
  const signedIn = await first.vendor.vend('acme', 600);
  expect(signedIn.source).toBe('upstream');
  const refreshToken = signedIn.session.refreshToken as string;
  expect(refreshToken.length).toBeGreaterThan(20);

  const item = await rawItem();
  const sealed = Buffer.from(item.sealed?.B ?? []);
  const readable = [JSON.stringify(item), sealed.toString('utf8'), sealed.toString('latin1')].join('\n');
  expect(sealed.length).toBeGreaterThan(200);
  expect(readable).not.toContain(refreshToken);
  expect(readable).not.toContain(signedIn.session.tokens.idToken as string);
  expect(readable).not.toMatch(JWT);
  expect(readable).not.toContain('ops@example.com');
  expect(item.secretVersion?.S).toBe(signedIn.tenant.version);

  const adopted = await second.vendor.vend('acme', 600);
  expect(adopted.source).toBe('shared');
  expect(adopted.session.tokens.idToken).toBe(signedIn.session.tokens.idToken);
  expect(cognito.authFlows.get('USER_PASSWORD_AUTH')).toBe(1);

  // Renewal due at once: the second container renews with the refresh token it decrypted from the item.
  expect(await second.vendor.refreshIfDue('acme', 1e-9)).toBe('renewed');
  expect(cognito.authFlows.get('REFRESH_TOKEN_AUTH')).toBe(1);
  expect(cognito.authFlows.get('USER_PASSWORD_AUTH')).toBe(1);
  expect((await rawItem()).rev?.N).toBe('2');
  const renewed = await container().vendor.vend('acme', 600);
  expect(renewed.source).toBe('shared');
  expect(renewed.session.refreshToken).toBe(refreshToken); // Cognito keeps it; the item still holds it, sealed
});

it('a container whose KMS calls are refused still vends, without replacing the sealed item', async () => {
  const before = await rawItem();
  kms.fail('AccessDeniedException');
  events.length = 0;
  try {
    const cold = container();
    const result = await cold.vendor.vend('acme', 600);
    expect(result.source).toBe('upstream'); // signed in itself: the item gave it nothing usable
    expect(
      events.filter((e) => e.type === 'shared_cache_error').map((e) => e.type === 'shared_cache_error' && e.error),
    ).toEqual(expect.arrayContaining([expect.stringMatching(/^AccessDeniedException/)]));
  } finally {
    kms.fail(undefined);
  }
  expect((await rawItem()).rev).toEqual(before.rev);
});

it('a container configured with another key sees nothing usable in the item and still vends', async () => {
  const other = container('arn:aws:kms:ap-southeast-2:123456789012:key/other');
  const before = Number((await rawItem()).rev?.N);
  const result = await other.vendor.vend('acme', 600);
  expect(result.source).toBe('upstream');
  expect(events.some((e) => e.type === 'shared_cache_error' && /IncorrectKeyException/.test(e.error))).toBe(true);
  expect(Number((await rawItem()).rev?.N)).toBe(before); // nor can it write: that key does not exist for it
});
