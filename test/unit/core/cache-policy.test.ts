import fc from 'fast-check';

import { remainingSeconds, satisfies } from '../../../lambdas/core/cache-policy';

const nowMs = Date.UTC(2026, 10, 23, 12, 0, 0);
const nowSeconds = nowMs / 1000;

describe('cache policy', () => {
  it('counts whole seconds left, negative once expired', () => {
    expect(remainingSeconds({ expiresAt: nowSeconds + 90 }, nowMs)).toBe(90);
    expect(remainingSeconds({ expiresAt: nowSeconds + 90 }, nowMs + 999)).toBe(90);
    expect(remainingSeconds({ expiresAt: nowSeconds + 90 }, nowMs + 1000)).toBe(89);
    expect(remainingSeconds({ expiresAt: nowSeconds - 5 }, nowMs)).toBe(-5);
  });

  it('serves a session only while exp - now >= minTtl + skew (boundary included)', () => {
    const session = { expiresAt: nowSeconds + 330 };
    expect(satisfies(session, nowMs, 300, 30)).toBe(true);
    expect(satisfies(session, nowMs + 1000, 300, 30)).toBe(false);
    expect(satisfies(session, nowMs, 301, 30)).toBe(false);
    expect(satisfies(session, nowMs, 0, 0)).toBe(true);
    expect(satisfies({ expiresAt: nowSeconds }, nowMs, 0, 0)).toBe(true);
    expect(satisfies({ expiresAt: nowSeconds - 1 }, nowMs, 0, 0)).toBe(false);
  });

  it('whatever it serves stays valid for at least minTtl seconds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -10_000, max: 100_000 }),
        fc.integer({ min: 0, max: 3600 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 999 }),
        (lifetime, minTtl, skew, subSecondMs) => {
          const now = nowMs + subSecondMs;
          const session = { expiresAt: nowSeconds + lifetime };
          if (satisfies(session, now, minTtl, skew)) {
            expect(session.expiresAt * 1000 - now).toBeGreaterThan((minTtl + skew - 1) * 1000);
          }
        },
      ),
    );
  });
});
