// The stand-in for mnemonist's LRU map in the bundles (lambdas/runtime/lru-cache.ts) against mnemonist itself, which
// the SDK's endpoint cache would otherwise load: the same answers for any sequence of the calls that cache makes.
import fc from 'fast-check';
import MnemonistLru from 'mnemonist/lru-cache';

import LRUCache from '../../../lambdas/runtime/lru-cache';

type Call = { op: 'get' | 'peek' | 'has'; key: number } | { op: 'set'; key: number; value: string } | { op: 'clear' };

const call: fc.Arbitrary<Call> = fc.oneof(
  fc.record({
    op: fc.constantFrom('get' as const, 'peek' as const, 'has' as const),
    key: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({ op: fc.constant('set' as const), key: fc.integer({ min: 0, max: 7 }), value: fc.string() }),
  fc.record({ op: fc.constant('clear' as const) }),
);

describe('LRUCache (stand-in for mnemonist/lru-cache)', () => {
  it('answers every get, peek and has as mnemonist does, after any sequence of calls', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(call, { maxLength: 60 }), (capacity, calls) => {
        const ours = new LRUCache<number, string>(capacity);
        const theirs = new MnemonistLru<number, string>(capacity);
        for (const c of calls) {
          if (c.op === 'set') {
            ours.set(c.key, c.value);
            theirs.set(c.key, c.value);
          } else if (c.op === 'clear') {
            ours.clear();
            theirs.clear();
          } else {
            expect(ours[c.op](c.key)).toEqual(theirs[c.op](c.key));
          }
          expect(ours.size).toBe(theirs.size);
        }
      }),
    );
  });

  it('evicts the least recently used entry, where a get counts as a use and a peek does not', () => {
    const cache = new LRUCache<string, number>(2);
    cache.set('a', 1).set('b', 2);
    expect(cache.get('a')).toBe(1);
    cache.set('c', 3);
    expect([cache.has('a'), cache.has('b'), cache.has('c')]).toEqual([true, false, true]);
    expect(cache.peek('a')).toBe(1);
    cache.set('d', 4);
    expect([cache.has('a'), cache.has('c'), cache.has('d')]).toEqual([false, true, true]);
  });

  it('refuses a capacity that holds nothing', () => {
    expect(() => new LRUCache(0)).toThrow(/capacity/);
  });
});
