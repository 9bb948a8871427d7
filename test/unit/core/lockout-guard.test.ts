// Which lockout mark rules when this container's and the fleet's disagree (found by the model test: a container
// that recorded a rejection while the table was down signed in again once the table answered with an older mark).
import { MemoryFailureMarks } from '../../../lambdas/adapters/memory-cache';
import { backoffDelayMs } from '../../../lambdas/core/backoff';
import { challengeRequired } from '../../../lambdas/core/challenges';
import { Deadline } from '../../../lambdas/core/deadline';
import {
  toErrorResponse,
  UpstreamAuthFailedError,
  UpstreamBusyError,
  UpstreamChallengeRequiredError,
  UpstreamTokenInvalidError,
  UpstreamUnavailableError,
} from '../../../lambdas/core/errors';
import { LockoutGuard } from '../../../lambdas/core/lockout-guard';
import type { FailureMark, TenantRecord } from '../../../lambdas/core/ports';
import { SharedLayer, type SharedState } from '../../../lambdas/core/shared-layer';
import { parseTenantConfig } from '../../../lambdas/core/tenant-config';
import { cognitoSecret, FakeClock } from '../../support/fakes';

const clock = new FakeClock();
const tenant: TenantRecord = {
  tenantId: 'acme',
  version: 'v2',
  config: parseTenantConfig('acme', JSON.stringify(cognitoSecret)),
};

function guardWith(local: FailureMark | undefined, fleet: FailureMark | undefined) {
  const marks = new MemoryFailureMarks();
  if (local) void marks.put('acme', local);
  const fleetMarks = new MemoryFailureMarks();
  if (fleet) void fleetMarks.put('acme', fleet);
  const unused = async () => {
    throw new Error('not used');
  };
  const state: SharedState = {
    cache: { get: unused, putIfUnchanged: unused },
    leases: { tryAcquire: unused, release: unused },
    failureMarks: fleetMarks,
  };
  const guard = new LockoutGuard(marks, clock, () => undefined);
  const shared = new SharedLayer(state, new Deadline(clock, 10_000, 'test'), () => undefined);
  return { guard, shared };
}

const mark = (failures: number, blockedUntil: number, secretVersion = 'v2'): FailureMark => ({
  secretVersion,
  failures,
  blockedUntil,
  reason: 'not_authorized',
});

describe('LockoutGuard.activeMark', () => {
  it('a newer pause with fewer failures is not hidden by an older one that has ended', async () => {
    const now = clock.now();
    const { guard, shared } = guardWith(mark(1, now + 60_000), mark(3, now - 1_000));
    const active = await guard.activeMark(tenant, shared);
    expect(active).toMatchObject({ blockedUntil: now + 60_000, failures: 3 });
    expect(() => guard.throwIfPaused(tenant, active)).toThrow(UpstreamAuthFailedError);
  });

  it('the next rejection backs off from the most failures either mark counted', async () => {
    const now = clock.now();
    const { guard, shared } = guardWith(mark(3, now - 1_000), mark(1, now + 30_000));
    const active = await guard.activeMark(tenant, shared);
    expect(active).toMatchObject({ blockedUntil: now + 30_000, failures: 3 });
    const recorded = await guard.record(
      tenant,
      new UpstreamAuthFailedError('Incorrect username or password.', 'not_authorized'),
      active,
      shared,
    );
    // The fourth failure: 5 min doubled three times.
    expect(recorded.retryAfterSeconds).toBe(backoffDelayMs(4) / 1000);
    expect(await guard.activeMark(tenant, shared)).toMatchObject({ failures: 4 });
  });

  it('ignores marks of another secret version, and answers nothing without a mark', async () => {
    const now = clock.now();
    const alone = guardWith(mark(5, now + 60_000, 'v1'), undefined);
    expect(await alone.guard.activeMark(tenant, alone.shared)).toBeUndefined();
    const { guard, shared } = guardWith(mark(5, now + 60_000, 'v1'), mark(1, now + 10_000));
    expect(await guard.activeMark(tenant, shared)).toEqual(mark(1, now + 10_000));
  });
});

describe('LockoutGuard marks of challenges and unusable sign-in answers', () => {
  it('answers a challenge mark, in any container, with the challenge and its hint, and Retry-After', () => {
    const now = clock.now();
    const { guard } = guardWith(undefined, undefined);
    const paused = (() => {
      try {
        guard.throwIfPaused(tenant, { ...mark(1, now + 120_000), reason: 'challenge:NEW_PASSWORD_REQUIRED' });
      } catch (error) {
        return error;
      }
    })();
    expect(paused).toBeInstanceOf(UpstreamChallengeRequiredError);
    expect((paused as Error).message).toMatch(/NEW_PASSWORD_REQUIRED.*permanent password.*paused for 120 s/);
    expect(toErrorResponse(paused)).toMatchObject({
      status: 502,
      code: 'upstream_challenge_required',
      headers: { 'Retry-After': '120' },
    });
  });

  it('answers a token_invalid mark with upstream_token_invalid and Retry-After', () => {
    const { guard } = guardWith(undefined, undefined);
    expect(() => guard.throwIfPaused(tenant, { ...mark(2, clock.now() + 61_000), reason: 'token_invalid' })).toThrow(
      UpstreamTokenInvalidError,
    );
  });

  it('records a challenge for the fleet under the lockout backoff, and unusable answers from 30 s', async () => {
    const { guard, shared } = guardWith(undefined, undefined);
    const challenge = await guard.record(tenant, challengeRequired('acme', 'SMS_MFA'), undefined, shared);
    expect(challenge).toBeInstanceOf(UpstreamChallengeRequiredError);
    expect(challenge.retryAfterSeconds).toBe(300);
    expect(await shared.getMark('acme')).toMatchObject({ reason: 'challenge:SMS_MFA', failures: 1 });
    const invalid = await guard.record(
      tenant,
      new UpstreamTokenInvalidError('bad answer'),
      await guard.activeMark(tenant, shared),
      shared,
    );
    // The second failure, under the shorter policy: 30 s doubled once.
    expect(invalid.retryAfterSeconds).toBe(60);
    expect(await shared.getMark('acme')).toMatchObject({ reason: 'token_invalid', failures: 2 });
  });

  it('pauses for challenges and unusable answers, not for outages or other refusals', () => {
    const { guard } = guardWith(undefined, undefined);
    expect(guard.pauses(challengeRequired('acme', 'SMS_MFA'))).toBe(true);
    expect(guard.pauses(new UpstreamTokenInvalidError('bad'))).toBe(true);
    expect(guard.pauses(new UpstreamAuthFailedError('no', 'not_authorized'))).toBe(true);
    expect(guard.pauses(new UpstreamAuthFailedError('paused', 'locked_out'))).toBe(false);
    expect(guard.pauses(new UpstreamUnavailableError('down'))).toBe(false);
  });
});

describe('LockoutGuard.recordBusy', () => {
  it("keeps the upstream's wait beside a pause, which goes on as it was, and stops refreshes too", async () => {
    const now = clock.now();
    const { guard, shared } = guardWith(undefined, mark(2, now + 600_000));
    await guard.recordBusy(tenant, new UpstreamBusyError('429', 60), await guard.activeMark(tenant, shared), shared);
    const both = await guard.activeMark(tenant, shared);
    expect(both).toEqual({ ...mark(2, now + 600_000), busyUntil: now + 60_000 });
    // A refresh (the tenant's only way to tokens while its password is refused) waits for the upstream too...
    expect(() => guard.throwIfBusy(tenant, both)).toThrow(UpstreamBusyError);
    // ...and sign-in still answers with the pause, its reason and its end.
    expect(() => guard.throwIfPaused(tenant, both)).toThrow(UpstreamAuthFailedError);
    // Once the wait is over, refreshes go on; the pause holds.
    clock.advance(61);
    expect(() => guard.throwIfBusy(tenant, both)).not.toThrow();
    expect(() => guard.throwIfPaused(tenant, both)).toThrow(UpstreamAuthFailedError);
  });

  it('a wait alone pauses nothing else, and is not shortened by a shorter one', async () => {
    const now = clock.now();
    const { guard, shared } = guardWith(undefined, undefined);
    await guard.recordBusy(tenant, new UpstreamBusyError('429', 120), undefined, shared);
    await guard.recordBusy(tenant, new UpstreamBusyError('429', 5), await guard.activeMark(tenant, shared), shared);
    const waiting = await guard.activeMark(tenant, shared);
    expect(waiting).toMatchObject({ failures: 0, busyUntil: now + 120_000 });
    expect(() => guard.throwIfPaused(tenant, waiting)).toThrow(UpstreamBusyError);
    expect(() => guard.throwIfBusy(tenant, mark(2, now + 60_000))).not.toThrow();
    // A rejection after it counts as the first, and keeps the wait.
    const recorded = await guard.record(tenant, new UpstreamAuthFailedError('no', 'not_authorized'), waiting, shared);
    expect(recorded.retryAfterSeconds).toBe(300);
    expect(await guard.activeMark(tenant, shared)).toMatchObject({ failures: 1, busyUntil: now + 120_000 });
  });
});
