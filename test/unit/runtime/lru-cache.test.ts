// The stand-in for mnemonist's LRU map in the bundles (lambdas/runtime/lru-cache.ts) against mnemonist itself, which
// the SDK's endpoint cache would otherwise load: the same answers for any sequence of the calls that cache makes.
import fc from 'fast-check';
import MnemonistLru from 'mnemonist/lru-cache';

import LRUCache from '../../../lambdas/runtime/lru-cache';

type Call = { op: 'get' | 'peek' | 'has'; key: string } | { op: 'set'; key: string; value: string } | { op: 'clear' };

// String keys, as the endpoint cache's are (its key names the credentials and the operation), from a small set so
// that sequences hit, update and evict the same keys. (Not names of Object.prototype's members: mnemonist keeps its
// index in a plain object, and gets those wrong.)
const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'key with spaces', '');
const call: fc.Arbitrary<Call> = fc.oneof(
  fc.record({ op: fc.constantFrom('get' as const, 'peek' as const, 'has' as const), key }),
  fc.record({ op: fc.constant('set' as const), key, value: fc.string() }),
  fc.record({ op: fc.constant('clear' as const) }),
);

describe('LRUCache (stand-in for mnemonist/lru-cache)', () => {
  it('answers every get, peek and has as mnemonist does, after any sequence of calls', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(call, { maxLength: 60 }), (capacity, calls) => {
        const ours = new LRUCache<string, string>(capacity);
        const theirs = new MnemonistLru<string, string>(capacity);
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

  it('keeps any string as a key, where mnemonist would confuse one with its own members', () => {
    const cache = new LRUCache<string, number>(2);
    expect(cache.has('toString')).toBe(false);
    cache.set('__proto__', 1).set('toString', 2);
    expect([cache.get('__proto__'), cache.get('toString'), cache.size]).toEqual([1, 2, 2]);
  });

  it('refuses a capacity that holds nothing', () => {
    expect(() => new LRUCache(0)).toThrow(/capacity/);
  });
});
