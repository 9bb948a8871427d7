import fc from 'fast-check';

import {
  backoffDelayMs,
  jitteredDelayMs,
  LOCKOUT_BACKOFF,
  UNUSABLE_SIGN_IN_BACKOFF,
} from '../../../lambdas/core/backoff';

const minutes = (n: number) => n * 60_000;

describe('backoffDelayMs (lockout guard)', () => {
  it('pauses 5 minutes after the first failure, doubling up to an hour', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((failures) => backoffDelayMs(failures))).toEqual([
      minutes(5),
      minutes(10),
      minutes(20),
      minutes(40),
      minutes(60),
      minutes(60),
      minutes(60),
    ]);
  });

  it('treats zero or negative counts as the first failure and never overflows', () => {
    expect(backoffDelayMs(0)).toBe(LOCKOUT_BACKOFF.baseMs);
    expect(backoffDelayMs(-3)).toBe(LOCKOUT_BACKOFF.baseMs);
    expect(backoffDelayMs(10_000)).toBe(LOCKOUT_BACKOFF.maxMs);
  });

  it('is monotonic and bounded for any policy', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 0, max: 200 }),
        (baseMs, factor, failures) => {
          const policy = { baseMs, maxMs: baseMs * factor };
          const delay = backoffDelayMs(failures, policy);
          expect(delay).toBeGreaterThanOrEqual(baseMs);
          expect(delay).toBeLessThanOrEqual(policy.maxMs);
          expect(backoffDelayMs(failures + 1, policy)).toBeGreaterThanOrEqual(delay);
        },
      ),
    );
  });
});

describe('jitteredDelayMs (full jitter)', () => {
  it('spans 0 up to the exponential ceiling, capped', () => {
    expect(jitteredDelayMs(0, 100, 1000, () => 0)).toBe(0);
    expect(jitteredDelayMs(0, 100, 1000, () => 0.999)).toBe(99);
    expect(jitteredDelayMs(2, 100, 1000, () => 0.5)).toBe(200);
    expect(jitteredDelayMs(10, 100, 1000, () => 0.5)).toBe(500);
  });

  it('stays within [0, min(cap, base * 2^attempt)) for any random value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseMs, capMs, random) => {
          const delay = jitteredDelayMs(attempt, baseMs, capMs, () => random);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(Math.max(1, Math.min(capMs, baseMs * 2 ** attempt)));
        },
      ),
    );
  });
});

describe('UNUSABLE_SIGN_IN_BACKOFF', () => {
  it('starts at 30 s and stops doubling at 5 minutes (no account lockout at stake)', () => {
    expect([1, 2, 3, 4, 5, 6, 20].map((failures) => backoffDelayMs(failures, UNUSABLE_SIGN_IN_BACKOFF) / 1000)).toEqual(
      [30, 60, 120, 240, 300, 300, 300],
    );
  });
});
