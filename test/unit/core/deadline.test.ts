// The vend's time budget: the injected clock decides what remains; real time ends the waits. The signal is
// created only when asked for, and then behaves like AbortSignal.timeout created with the deadline.
import { Deadline } from '../../../lambdas/core/deadline';
import { TimeBudgetExceededError } from '../../../lambdas/core/errors';

const realClock = { now: () => Date.now() };
const frozenClock = (at = 1_000_000) => ({ now: () => at });
const never = () => new Promise<never>(() => undefined);
const spend = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Deadline', () => {
  it('follows the injected clock for what remains', () => {
    let now = 5_000;
    const deadline = new Deadline({ now: () => now }, 1000, "tenant 'acme'");
    expect(deadline.remainingMs()).toBe(1000);
    expect(deadline.allows(999)).toBe(true);
    expect(deadline.allows(1000)).toBe(false);
    now += 1000;
    expect(deadline.expired()).toBe(true);
    expect(() => deadline.check('tenant secret')).toThrow(TimeBudgetExceededError);
  });

  it('ends in real time even when the injected clock stands still', async () => {
    const deadline = new Deadline(frozenClock(), 20, "tenant 'acme'");
    expect(deadline.expired()).toBe(false);
    await spend(40);
    expect(deadline.remainingMs()).toBe(20); // the clock did not move
    expect(deadline.expired()).toBe(true);
    expect(deadline.allows(0)).toBe(false);
  });

  it('hands out a signal that aborts with a TimeoutError when the budget is spent', async () => {
    const deadline = new Deadline(realClock, 20, "tenant 'acme'");
    const { signal } = deadline;
    expect(deadline.signal).toBe(signal); // one signal per deadline
    expect(signal.aborted).toBe(false);
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    expect((signal.reason as Error).name).toBe('TimeoutError');
  });

  it('hands out an aborted signal when asked after the budget is spent', async () => {
    const deadline = new Deadline(realClock, 10, "tenant 'acme'");
    await spend(30);
    expect(deadline.signal.aborted).toBe(true);
    expect((deadline.signal.reason as Error).name).toBe('TimeoutError');
  });

  it("race: the work's result or its error while the budget lasts", async () => {
    const deadline = new Deadline(frozenClock(), 20_000, "tenant 'acme'");
    await expect(deadline.race(Promise.resolve('tenant'), 'tenant secret')).resolves.toBe('tenant');
    const failure = new Error('unreachable');
    await expect(deadline.race(Promise.reject(failure), 'tenant secret')).rejects.toBe(failure);
  });

  it('race: a TimeBudgetExceededError naming the stage when the work outlasts the budget', async () => {
    const deadline = new Deadline(frozenClock(), 20, "tenant 'acme'");
    const error = await deadline.race(never(), 'tenant secret').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TimeBudgetExceededError);
    expect((error as TimeBudgetExceededError).stage).toBe('tenant secret');
    expect((error as Error).message).toContain("tenant 'acme'");
  });

  it('race: the signal handed to the work is aborted by the time the race is lost', async () => {
    const deadline = new Deadline(frozenClock(), 20, "tenant 'acme'");
    let signal: AbortSignal | undefined;
    const work = Promise.resolve().then(() => {
      signal = deadline.signal; // taken after the race started, as providers do
      return never();
    });
    await expect(deadline.race(work, 'renewal')).rejects.toBeInstanceOf(TimeBudgetExceededError);
    expect(signal?.aborted).toBe(true);
  });

  it('race: rejects at once when the budget is already spent, without an unhandled rejection of the work', async () => {
    const deadline = new Deadline(frozenClock(), 5, "tenant 'acme'");
    await spend(20);
    const work = Promise.reject(new Error('late'));
    await expect(deadline.race(work, 'shared cache get')).rejects.toBeInstanceOf(TimeBudgetExceededError);
  });
});
