import { StaticTenantStore } from '../../../lambdas/adapters/file-tenant-store';
import { MemoryFailureMarks, MemorySessionCache } from '../../../lambdas/adapters/memory-cache';
import { challengeRequired } from '../../../lambdas/core/challenges';
import {
  InvalidRequestError,
  TenantNotFoundError,
  toErrorResponse,
  UpstreamAuthFailedError,
  UpstreamBusyError,
  UpstreamChallengeRequiredError,
  UpstreamTokenInvalidError,
  UpstreamUnavailableError,
} from '../../../lambdas/core/errors';
import { fingerprint, primaryToken } from '../../../lambdas/core/fingerprint';
import type { VendorEvent } from '../../../lambdas/core/ports';
import { TokenVendor, type VendorOptions } from '../../../lambdas/core/vendor';
import { cognitoSecret, FakeClock, FakeProvider } from '../../support/fakes';

function setup(options: VendorOptions = {}, secrets: Record<string, unknown> = { acme: cognitoSecret }) {
  const clock = new FakeClock();
  const provider = new FakeProvider(clock);
  const tenants = new StaticTenantStore(secrets);
  const cache = new MemorySessionCache();
  const events: VendorEvent[] = [];
  const sleeps: number[] = [];
  const failureMarks = new MemoryFailureMarks();
  const vendor = new TokenVendor({
    tenants,
    providers: { cognito: provider, 'login-endpoint': provider, 'oauth2-client-credentials': provider },
    cache,
    failureMarks,
    clock,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    onEvent: (event) => events.push(event),
    options,
  });
  return { clock, provider, tenants, cache, vendor, events, sleeps, failureMarks };
}

const notAuthorized = () => {
  throw new UpstreamAuthFailedError('rejected', 'not_authorized');
};
const unavailable = () => {
  throw new UpstreamUnavailableError('down', 7);
};

describe('TokenVendor cache', () => {
  it('signs in on a cold cache and serves the cached session afterwards', async () => {
    const { vendor, provider } = setup();
    const first = await vendor.vend('acme', 300);
    const second = await vendor.vend('acme', 300);
    expect(first.cacheHit).toBe(false);
    expect(second.cacheHit).toBe(true);
    expect(second.session.tokens.idToken).toBe(first.session.tokens.idToken);
    expect(provider.signIns).toBe(1);
  });

  it('serves from cache only while exp - now >= minTtl + skew', async () => {
    const { vendor, provider, clock } = setup({ clockSkewSeconds: 30 });
    await vendor.vend('acme', 0); // expires in 3600 s
    clock.advance(3600 - 330); // 330 s left: exactly minTtl 300 + skew 30
    expect((await vendor.vend('acme', 300)).cacheHit).toBe(true);
    clock.advance(1); // 329 s left
    const renewed = await vendor.vend('acme', 300);
    expect(renewed.cacheHit).toBe(false);
    expect(renewed.session.expiresAt - clock.nowSeconds()).toBeGreaterThanOrEqual(330);
    expect(provider.refreshes).toBe(1);
  });

  it('rejects a minTtl the upstream token lifetime can never meet', async () => {
    const { vendor, provider } = setup();
    provider.lifetimeSeconds = 600;
    await expect(vendor.vend('acme', 3600)).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it.each([
    ['a CR LF in a token', { idToken: 'id\r\nX-Injected: 1', accessToken: 'access' }, undefined],
    ['a NUL in a token', { token: 'tok\u0000en' }, undefined],
    ['non-ASCII in a token', { accessToken: 'tök' }, undefined],
    ['a token over 16 KB', { accessToken: 'a'.repeat(16_385) }, undefined],
    ['a line break in the identity id', { accessToken: 'access' }, 'eu-west-1:abc\nX: 1'],
  ])('never caches or vends a session from any provider with %s', async (_case, tokens, identityId) => {
    const { vendor, provider, clock } = setup();
    provider.signInSteps.push(() => ({
      tokens,
      ...(identityId ? { identityId } : {}),
      claims: {},
      expiresAt: clock.nowSeconds() + 3600,
    }));
    await expect(vendor.vend('acme', 300)).rejects.toMatchObject({ code: 'upstream_token_invalid', status: 502 });
    // Sign-in pauses (30 s at first) rather than repeating on every request; then it signs in again.
    await expect(vendor.vend('acme', 300)).rejects.toMatchObject({ code: 'upstream_token_invalid' });
    expect(provider.signIns).toBe(1);
    clock.advance(30);
    const next = await vendor.vend('acme', 300);
    expect(next.cacheHit).toBe(false);
    expect(next.session.tokens.idToken).toMatch(/^id-password-/);
    expect(provider.signIns).toBe(2);
  });

  it('propagates an unknown tenant without calling the upstream', async () => {
    const { vendor, provider } = setup();
    await expect(vendor.vend('nobody', 300)).rejects.toBeInstanceOf(TenantNotFoundError);
    expect(provider.signIns).toBe(0);
  });
});

describe('TokenVendor single flight', () => {
  it('makes one sign-in for 200 concurrent cold requests and hands all of them the same token', async () => {
    const { vendor, provider } = setup();
    provider.delayMs = 20;
    const results = await Promise.all(Array.from({ length: 200 }, () => vendor.vend('acme', 300)));
    expect(provider.signIns).toBe(1);
    expect(new Set(results.map((r) => r.session.tokens.idToken)).size).toBe(1);
  });

  it('runs flights for different tenants independently', async () => {
    const { vendor, provider } = setup({}, { a: cognitoSecret, b: cognitoSecret });
    provider.delayMs = 5;
    await Promise.all([vendor.vend('a', 0), vendor.vend('b', 0), vendor.vend('a', 0)]);
    expect(provider.signIns).toBe(2);
  });
});

describe('TokenVendor renewal', () => {
  it('prefers the refresh token and keeps it when the upstream returns none', async () => {
    const { vendor, provider, clock } = setup();
    const first = await vendor.vend('acme', 0);
    provider.refreshSteps.push(() => ({ ...provider.issue('refresh'), refreshToken: undefined }));
    clock.advance(3400);
    const renewed = await vendor.vend('acme', 300);
    expect(provider.signIns).toBe(1);
    expect(provider.refreshes).toBe(1);
    expect(renewed.session.tokens.idToken).toMatch(/^id-refresh-/);
    expect(renewed.session.refreshToken).toBe(first.session.refreshToken);
  });

  it('falls back to one password sign-in when the refresh token is rejected', async () => {
    const { vendor, provider, clock, events } = setup();
    await vendor.vend('acme', 0);
    provider.refreshSteps.push(notAuthorized);
    clock.advance(3400);
    const renewed = await vendor.vend('acme', 300);
    expect(provider.refreshes).toBe(1);
    expect(provider.signIns).toBe(2);
    expect(renewed.session.tokens.idToken).toMatch(/^id-password-/);
    expect(events.map((e) => e.type)).toContain('refresh_rejected');
  });

  it('drops the session and its refresh token when the secret version changes', async () => {
    const { vendor, provider, tenants } = setup();
    await vendor.vend('acme', 0);
    tenants.replace({ acme: { ...cognitoSecret, password: 'Rotated-Pa55!' } });
    const after = await vendor.vend('acme', 0);
    expect(after.cacheHit).toBe(false);
    expect(provider.refreshes).toBe(0);
    expect(provider.signIns).toBe(2);
  });

  it('never retries a challenge', async () => {
    const { vendor, provider } = setup();
    provider.signInSteps.push(() => {
      throw new UpstreamChallengeRequiredError('acme', 'NEW_PASSWORD_REQUIRED');
    });
    await expect(vendor.vend('acme', 300)).rejects.toBeInstanceOf(UpstreamChallengeRequiredError);
    expect(provider.signIns).toBe(1);
  });
});

describe('TokenVendor rejected tokens', () => {
  it('renews once when told the upstream refused the cached token, and serves the new one to others', async () => {
    const { vendor, provider } = setup();
    const first = await vendor.vend('acme', 300);
    const refused = fingerprint(primaryToken(first.session.tokens));
    const renewed = await vendor.vend('acme', 300, refused);
    expect(renewed.session.tokens.idToken).not.toBe(first.session.tokens.idToken);
    expect(provider.refreshes).toBe(1);
    // The same report again does not renew again: the cached token is already a different one.
    const again = await vendor.vend('acme', 300, refused);
    expect(again.cacheHit).toBe(true);
    expect(provider.refreshes).toBe(1);
  });
});

describe('TokenVendor upstream outages', () => {
  it('retries an unavailable upstream with jittered backoff, then succeeds', async () => {
    const { vendor, provider, sleeps } = setup({ maxUpstreamAttempts: 3, retryBaseMs: 100, retryCapMs: 1000 });
    provider.signInSteps.push(unavailable, unavailable);
    await expect(vendor.vend('acme', 300)).resolves.toMatchObject({ cacheHit: false });
    expect(provider.signIns).toBe(3);
    expect(sleeps).toEqual([100, 200]); // random 0.5 of 200 and 400
  });

  it('gives up after the bounded attempts with 503 and Retry-After', async () => {
    const { vendor, provider } = setup({ maxUpstreamAttempts: 2 });
    provider.signInSteps.push(unavailable, unavailable, unavailable);
    const error = await vendor.vend('acme', 300).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as UpstreamUnavailableError).retryAfterSeconds).toBe(7);
    expect(provider.signIns).toBe(2);
  });

  it('keeps serving a still-valid cached token while the upstream is down', async () => {
    const { vendor, provider, clock } = setup({ maxUpstreamAttempts: 1 });
    const first = await vendor.vend('acme', 0);
    clock.advance(3000); // 600 s left
    provider.refreshSteps.push(unavailable);
    provider.signInSteps.push(unavailable);
    await expect(vendor.vend('acme', 900)).rejects.toBeInstanceOf(UpstreamUnavailableError);
    const served = await vendor.vend('acme', 300);
    expect(served.cacheHit).toBe(true);
    expect(served.session.tokens.idToken).toBe(first.session.tokens.idToken);
  });
});

describe('TokenVendor lockout guard', () => {
  it('pauses password sign-in after a rejection and answers at once inside the window', async () => {
    const { vendor, provider, events } = setup();
    provider.signInSteps.push(notAuthorized);
    const first = await vendor.vend('acme', 300).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(UpstreamAuthFailedError);
    expect((first as UpstreamAuthFailedError).retryAfterSeconds).toBe(300);

    const next: unknown[] = [];
    for (let i = 0; i < 100; i++) next.push(await vendor.vend('acme', 300).catch((e: unknown) => e));
    expect(provider.signIns).toBe(1);
    expect(next.every((e) => e instanceof UpstreamAuthFailedError && e.reason === 'locked_out')).toBe(true);
    expect(events.filter((e) => e.type === 'locked_out')).toHaveLength(100);
  });

  it('doubles the pause on each rejection up to an hour', async () => {
    const { vendor, provider, clock } = setup();
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      provider.signInSteps.push(notAuthorized);
      const error = (await vendor.vend('acme', 300).catch((e: unknown) => e)) as UpstreamAuthFailedError;
      waits.push(error.retryAfterSeconds ?? -1);
      clock.advance(error.retryAfterSeconds ?? 0);
    }
    expect(waits).toEqual([300, 600, 1200, 2400, 3600, 3600]);
    expect(provider.signIns).toBe(6);
  });

  it('clears the pause when the secret gets a new version', async () => {
    const { vendor, provider, tenants } = setup();
    provider.signInSteps.push(notAuthorized);
    await vendor.vend('acme', 300).catch(() => undefined);
    tenants.replace({ acme: { ...cognitoSecret, password: 'Fixed-Pa55word!' } });
    await expect(vendor.vend('acme', 300)).resolves.toMatchObject({ cacheHit: false });
    expect(provider.signIns).toBe(2);
  });

  it('pauses sign-in after a challenge it cannot answer: one SMS, not one per request', async () => {
    const { vendor, provider, tenants, clock } = setup();
    provider.signInSteps.push(() => {
      throw challengeRequired('acme', 'SMS_MFA');
    });
    const first = await vendor.vend('acme', 300).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(UpstreamChallengeRequiredError);
    expect((first as UpstreamChallengeRequiredError).retryAfterSeconds).toBe(300);
    const next: unknown[] = [];
    for (let i = 0; i < 20; i++) next.push(await vendor.vend('acme', 300).catch((e: unknown) => e));
    expect(provider.signIns).toBe(1);
    for (const error of next) {
      expect(error).toBeInstanceOf(UpstreamChallengeRequiredError);
      expect((error as Error).message).toMatch(/SMS_MFA.*without MFA.*paused for 300 s/);
      expect(toErrorResponse(error)).toMatchObject({
        status: 502,
        code: 'upstream_challenge_required',
        headers: { 'Retry-After': '300' },
      });
    }
    // The pause grows like a rejection's; a new secret (a user without MFA) signs in at once.
    clock.advance(300);
    provider.signInSteps.push(() => {
      throw challengeRequired('acme', 'SMS_MFA');
    });
    const again = (await vendor.vend('acme', 300).catch((e: unknown) => e)) as UpstreamChallengeRequiredError;
    expect(again.retryAfterSeconds).toBe(600);
    expect(provider.signIns).toBe(2);
    tenants.replace({ acme: { ...cognitoSecret, username: 'service-user' } });
    await expect(vendor.vend('acme', 300)).resolves.toMatchObject({ source: 'upstream' });
    expect(provider.signIns).toBe(3);
  });

  it('pauses sign-in for 30 s, doubling, after a sign-in whose tokens fail verification', async () => {
    const { vendor, provider, clock } = setup();
    const unverifiable = () => {
      throw new UpstreamTokenInvalidError("The ID token's issuer is not the tenant's user pool.");
    };
    provider.signInSteps.push(unverifiable);
    const first = (await vendor.vend('acme', 300).catch((e: unknown) => e)) as UpstreamTokenInvalidError;
    expect(first).toBeInstanceOf(UpstreamTokenInvalidError);
    expect(first.retryAfterSeconds).toBe(30);
    expect(first.message).toMatch(/issuer is not the tenant's user pool\. Sign-in for this tenant is paused for 30 s/);
    const inside = await vendor.vend('acme', 300).catch((e: unknown) => e);
    expect(inside).toBeInstanceOf(UpstreamTokenInvalidError);
    expect(toErrorResponse(inside).headers).toEqual({ 'Retry-After': '30' });
    expect(provider.signIns).toBe(1);
    clock.advance(30);
    provider.signInSteps.push(unverifiable);
    expect(
      ((await vendor.vend('acme', 300).catch((e: unknown) => e)) as UpstreamTokenInvalidError).retryAfterSeconds,
    ).toBe(60);
    // Once the upstream answers properly again, the mark is cleared: the next failure starts from 30 s.
    clock.advance(60);
    await expect(vendor.vend('acme', 300)).resolves.toMatchObject({ source: 'upstream' });
    expect(provider.signIns).toBe(3);
  });

  it('also pauses after PasswordResetRequired-style failures', async () => {
    const { vendor, provider } = setup();
    provider.signInSteps.push(() => {
      throw new UpstreamAuthFailedError('reset', 'password_reset_required');
    });
    await vendor.vend('acme', 300).catch(() => undefined);
    await vendor.vend('acme', 300).catch(() => undefined);
    expect(provider.signIns).toBe(1);
  });
});

describe('TokenVendor busy upstream (Retry-After)', () => {
  const busy = (seconds: number) => () => {
    throw new UpstreamBusyError('429', seconds);
  };

  it('waits what a busy upstream asks, fleet-wide, rather than asking again on every request', async () => {
    const { vendor, provider, clock, sleeps, events } = setup();
    provider.signInSteps.push(busy(120));
    const first = (await vendor.vend('acme', 300).catch((e: unknown) => e)) as UpstreamBusyError;
    expect(toErrorResponse(first)).toMatchObject({ status: 503, headers: { 'Retry-After': '120' } });
    // No retry inside the vend: the wait is longer than the retry loop's.
    expect(provider.signIns).toBe(1);
    expect(sleeps).toEqual([]);
    clock.advance(100);
    for (let i = 0; i < 10; i++) {
      const inside = await vendor.vend('acme', 300).catch((e: unknown) => e);
      expect(toErrorResponse(inside)).toMatchObject({ code: 'upstream_unavailable', headers: { 'Retry-After': '20' } });
    }
    expect(provider.signIns).toBe(1);
    // Not a rejection: no lockout event.
    expect(events.filter((e) => e.type === 'locked_out')).toEqual([]);
    clock.advance(20);
    await expect(vendor.vend('acme', 300)).resolves.toMatchObject({ source: 'upstream' });
    expect(provider.signIns).toBe(2);
  });

  it('retries after a short asked wait in full, not after a shorter jittered one', async () => {
    const { vendor, provider, sleeps } = setup();
    provider.signInSteps.push(busy(1));
    await expect(vendor.vend('acme', 300)).resolves.toMatchObject({ source: 'upstream' });
    expect(provider.signIns).toBe(2);
    expect(sleeps).toEqual([1000]);
  });

  it('does not refresh either while the upstream asked to wait', async () => {
    const { vendor, provider, clock } = setup();
    await vendor.vend('acme', 0);
    clock.advance(3600 - 100);
    provider.refreshSteps.push(busy(60));
    await expect(vendor.vend('acme', 300)).rejects.toBeInstanceOf(UpstreamBusyError);
    await expect(vendor.vend('acme', 300)).rejects.toBeInstanceOf(UpstreamBusyError);
    expect({ refreshes: provider.refreshes, signIns: provider.signIns }).toEqual({ refreshes: 1, signIns: 1 });
    clock.advance(60);
    await expect(vendor.vend('acme', 300)).resolves.toMatchObject({ source: 'upstream' });
    expect(provider.refreshes).toBe(2);
  });

  it('stops refreshes while a rejected password pauses sign-in (the refresh token is then the only way)', async () => {
    const { vendor, provider, clock, failureMarks, tenants } = setup();
    await vendor.vend('acme', 0);
    const version = (await tenants.get('acme')).version;
    await failureMarks.put('acme', {
      secretVersion: version,
      failures: 1,
      blockedUntil: clock.now() + 3_600_000,
      reason: 'not_authorized',
    });
    clock.advance(3600 - 100);
    provider.refreshSteps.push(busy(120));
    for (let i = 0; i < 5; i++) await expect(vendor.vend('acme', 300)).rejects.toBeInstanceOf(UpstreamBusyError);
    expect({ refreshes: provider.refreshes, signIns: provider.signIns }).toEqual({ refreshes: 1, signIns: 1 });
    // The pause is still the rejection's.
    expect(await failureMarks.get('acme')).toMatchObject({ reason: 'not_authorized', failures: 1 });
    clock.advance(120);
    await expect(vendor.vend('acme', 300)).resolves.toMatchObject({ source: 'upstream' });
    expect(provider.refreshes).toBe(2);
  });

  it('neither shortens a lockout pause nor counts as a rejection', async () => {
    const { vendor, provider, clock } = setup();
    provider.signInSteps.push(busy(30));
    await vendor.vend('acme', 300).catch(() => undefined);
    clock.advance(30);
    provider.signInSteps.push(notAuthorized);
    const rejected = (await vendor.vend('acme', 300).catch((e: unknown) => e)) as UpstreamAuthFailedError;
    // The first rejection: 5 minutes, as without the busy answer before it.
    expect(rejected.retryAfterSeconds).toBe(300);
  });
});
