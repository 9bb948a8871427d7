// The fleet-wide layer as one vend sees it: which failures take the table out of the vend, and when a failed lease
// call means "wait and ask again" rather than "renew alone".
import { Deadline } from '../../../lambdas/core/deadline';
import type { SessionLeases, SharedSnapshot, VendorEvent } from '../../../lambdas/core/ports';
import {
  LEASE_FAILURES_BEFORE_RENEWING_ALONE,
  SHARED_LAYER_BUDGET_SHARE,
  SharedLayer,
  type SharedState,
} from '../../../lambdas/core/shared-layer';
import { FakeClock } from '../../support/fakes';

/** What the SDK's HTTP handler throws for a reset connection (fails at once) and for a request timeout. */
const reset = () => Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET' });
const timeout = () => Object.assign(new Error('Request timed out'), { name: 'TimeoutError' });

interface Script {
  snapshot: Array<() => Promise<SharedSnapshot>>;
  lease: Array<() => Promise<boolean>>;
}

function layerWith(script: Script, budgetMs = 20_000) {
  const calls = { snapshot: 0, lease: 0 };
  const next = <T>(queue: Array<() => Promise<T>>, fallback: () => Promise<T>) => (queue.shift() ?? fallback)();
  const sessionLeases: SessionLeases = {
    snapshot: async () => {
      calls.snapshot++;
      return next(script.snapshot, async () => ({ generation: 0 }));
    },
    tryAcquire: async () => {
      calls.lease++;
      return next(script.lease, async () => true);
    },
    release: async () => undefined,
  };
  const unused = async () => {
    throw new Error('not used by these tests');
  };
  const state: SharedState = {
    cache: { get: unused, putIfUnchanged: unused },
    leases: { tryAcquire: unused, release: unused },
    failureMarks: { get: unused, put: unused, clear: unused },
    sessionLeases,
  };
  const events: VendorEvent[] = [];
  const layer = new SharedLayer(state, new Deadline(new FakeClock(), budgetMs, 'test'), (event) => events.push(event));
  return { layer, calls, events };
}

describe('SharedLayer', () => {
  it('keeps using the table after a reset connection, but not after a timeout', async () => {
    const afterReset = layerWith({ snapshot: [() => Promise.reject(reset())], lease: [] });
    expect(await afterReset.layer.snapshot('acme')).toBeUndefined();
    expect(await afterReset.layer.snapshot('acme')).toEqual({ generation: 0 });
    expect(afterReset.calls.snapshot).toBe(2);
    expect(afterReset.events).toEqual([expect.objectContaining({ type: 'shared_cache_error', operation: 'get' })]);

    const afterTimeout = layerWith({ snapshot: [() => Promise.reject(timeout())], lease: [] });
    expect(await afterTimeout.layer.snapshot('acme')).toBeUndefined();
    expect(await afterTimeout.layer.snapshot('acme')).toBeUndefined();
    expect(afterTimeout.calls.snapshot).toBe(1); // down for the rest of the vend: one timeout per vend
  });

  it('answers a failed lease call with "not granted" while reads are answered, then renews alone', async () => {
    const failing = Array.from({ length: 10 }, () => () => Promise.reject(reset()));
    const { layer, calls } = layerWith({ snapshot: [], lease: failing });
    const seen = await layer.snapshot('acme');
    const outcomes = [];
    for (let i = 0; i < LEASE_FAILURES_BEFORE_RENEWING_ALONE; i++)
      outcomes.push(await layer.tryLease('acme', 'me', 1, seen));
    expect(outcomes.map((o) => o.granted)).toEqual([false, false, true]);
    expect(outcomes.at(-1)).toEqual({ granted: true, confirmed: false });
    expect(calls.lease).toBe(LEASE_FAILURES_BEFORE_RENEWING_ALONE);
  });

  it('renews alone at once when the table answered no read in this vend', async () => {
    const { layer } = layerWith({ snapshot: [() => Promise.reject(reset())], lease: [() => Promise.reject(reset())] });
    expect(await layer.snapshot('acme')).toBeUndefined();
    expect(await layer.tryLease('acme', 'me', 1, undefined)).toEqual({ granted: true, confirmed: false });
  });

  it('spends at most its share of the vend budget inside table calls, then skips the table for the vend', async () => {
    const slow = () => new Promise<SharedSnapshot>((resolve) => setTimeout(() => resolve({ generation: 0 }), 500));
    // A 2 s budget leaves the table 800 ms: the first slow read (500 ms) is answered; the second is given up when
    // the share is spent (300 ms later), and nothing more is asked of the table in this vend.
    expect(SHARED_LAYER_BUDGET_SHARE * 2000).toBe(800);
    const { layer, calls, events } = layerWith({ snapshot: [slow, slow, slow], lease: [] }, 2000);
    expect(await layer.snapshot('acme')).toEqual({ generation: 0 });
    // Undefined, not the answer that comes at 500 ms: the call was given up.
    expect(await layer.snapshot('acme')).toBeUndefined();
    expect(await layer.snapshot('acme')).toBeUndefined();
    expect(await layer.tryLease('acme', 'me', 1, undefined)).toEqual({ granted: true, confirmed: false });
    expect(calls).toEqual({ snapshot: 2, lease: 0 });
    expect(events).toEqual([
      expect.objectContaining({
        type: 'shared_cache_error',
        error: expect.stringMatching(/^SharedLayerShareSpentError/),
      }),
    ]);
  });

  it('confirms the snapshot only for a lease taken against it', async () => {
    const { layer } = layerWith({ snapshot: [], lease: [async () => true, async () => true, async () => false] });
    const seen = await layer.snapshot('acme');
    expect(await layer.tryLease('acme', 'me', 1, seen)).toEqual({ granted: true, confirmed: true });
    expect(await layer.tryLease('acme', 'me', 1, undefined)).toEqual({ granted: true, confirmed: false });
    expect(await layer.tryLease('acme', 'me', 1, seen)).toEqual({ granted: false, confirmed: false });
  });
});
