/**
 * Refresh-token rotation across containers: Cognito's rotating app clients answer
 * GetTokensFromRefreshToken with a new refresh token each time (aws-sdk-client-mock,
 * since cognito-local lacks it). The shared cache must end with the newest one and
 * never go back to an older one.
 */
import {
  CognitoIdentityProviderClient,
  GetTokensFromRefreshTokenCommand,
  InitiateAuthCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { mockClient } from 'aws-sdk-client-mock';

import { StaticTenantStore } from '../../lambdas/adapters/file-tenant-store';
import { MemorySessionCache } from '../../lambdas/adapters/memory-cache';
import type { LeaseStore } from '../../lambdas/core/ports';
import { startLocalDynamo, type LocalDynamo } from '../../lambdas/local/dynalite';
import { composeRuntime, sharedStateFor, type Runtime } from '../../lambdas/runtime/compose';
import { loadRuntimeConfig } from '../../lambdas/runtime/config';
import { fakeJwt, RecordingVerifier } from '../support/fake-verifier';
import { cognitoSecret, OffsetClock } from '../support/fakes';

const cognito = mockClient(CognitoIdentityProviderClient);
const clock = new OffsetClock();
let dynamo: LocalDynamo;

function tokens(refreshToken: string | undefined) {
  const exp = Math.floor(clock.now() / 1000) + 3600;
  return {
    IdToken: fakeJwt({ token_use: 'id', sub: 'user-1', exp, rt: refreshToken }),
    AccessToken: fakeJwt({ token_use: 'access', sub: 'user-1', exp }),
    ...(refreshToken ? { RefreshToken: refreshToken } : {}),
  };
}

/** A lease table that always says yes: both containers refresh at the same moment. */
const noLease: LeaseStore = { tryAcquire: async () => true, release: async () => undefined };

function containers(leases?: LeaseStore): [Runtime, Runtime] {
  const config = loadRuntimeConfig({ TVM_CONSUMERS: '[]' });
  const make = () => {
    // The lease kept with the session is left out when the test brings its own lease store.
    const { sessionLeases, ...withoutSessionLeases } = sharedStateFor(dynamo.tableName, clock, dynamo.client());
    const shared = leases ? { ...withoutSessionLeases, leases } : { ...withoutSessionLeases, sessionLeases };
    return composeRuntime(config, {
      tenants: new StaticTenantStore({ acme: { ...cognitoSecret, refreshTokenRotation: true } }),
      cache: new MemorySessionCache(),
      shared,
      verifier: new RecordingVerifier(),
      clock,
    });
  };
  return [make(), make()];
}

beforeEach(async () => {
  cognito.reset();
  dynamo = await startLocalDynamo();
});
afterEach(() => dynamo.close());

async function storedRefreshToken(): Promise<string | undefined> {
  return (await sharedStateFor(dynamo.tableName, clock, dynamo.client()).cache.get('acme'))?.refreshToken;
}

it('two containers refreshing at once: the shared cache keeps one newest refresh token, and the next refresh uses it', async () => {
  const [a, b] = containers(noLease);
  cognito.on(InitiateAuthCommand).resolves({ AuthenticationResult: tokens('RT-1') });
  await a.vendor.vend('acme', 0);
  await b.vendor.vend('acme', 0);
  clock.advance(3500);

  let issued = 1;
  const seen: string[] = [];
  cognito.on(GetTokensFromRefreshTokenCommand).callsFake(async (input: { RefreshToken: string }) => {
    seen.push(input.RefreshToken);
    const next = `RT-${++issued}`;
    await new Promise((resolve) => setTimeout(resolve, 30));
    return { AuthenticationResult: tokens(next) };
  });
  const [fromA, fromB] = await Promise.all([a.vendor.vend('acme', 600), b.vendor.vend('acme', 600)]);
  expect(seen).toEqual(['RT-1', 'RT-1']);
  const stored = await storedRefreshToken();
  expect(['RT-2', 'RT-3']).toContain(stored);
  // Both containers now hold the winner's session: the loser adopted it instead of overwriting it.
  expect(fromA.session.refreshToken).toBe(stored);
  expect(fromB.session.refreshToken).toBe(stored);

  // The next renewal, from either container, presents the stored (newest) token and stores its successor.
  clock.advance(3500);
  await b.vendor.vend('acme', 600);
  expect(seen[2]).toBe(stored);
  expect(await storedRefreshToken()).toBe('RT-4');
});

it('with the lease, a simultaneous renewal across containers makes a single GetTokensFromRefreshToken call', async () => {
  const [a, b] = containers();
  cognito.on(InitiateAuthCommand).resolves({ AuthenticationResult: tokens('RT-1') });
  await a.vendor.vend('acme', 0);
  clock.advance(3500);
  cognito.on(GetTokensFromRefreshTokenCommand).callsFake(async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    return { AuthenticationResult: tokens('RT-2') };
  });
  await Promise.all([
    ...Array.from({ length: 10 }, () => a.vendor.vend('acme', 600)),
    ...Array.from({ length: 10 }, () => b.vendor.vend('acme', 600)),
  ]);
  expect(cognito.commandCalls(GetTokensFromRefreshTokenCommand)).toHaveLength(1);
  expect(await storedRefreshToken()).toBe('RT-2');
});
