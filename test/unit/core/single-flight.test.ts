import { SingleFlight } from '../../../lambdas/core/single-flight';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('SingleFlight', () => {
  it('runs the work once for callers that arrive while it runs, and shares its result', async () => {
    const flight = new SingleFlight<string>();
    const gate = deferred<string>();
    let calls = 0;
    const work = () => {
      calls++;
      return gate.promise;
    };
    const joined = [flight.run('acme', work), flight.run('acme', work), flight.run('acme', work)];
    expect(flight.running('acme')).toBe(true);
    gate.resolve('token');
    expect(await Promise.all(joined)).toEqual(['token', 'token', 'token']);
    expect(calls).toBe(1);
  });

  it('keeps keys apart', async () => {
    const flight = new SingleFlight<string>();
    const results = await Promise.all([flight.run('acme', async () => 'a'), flight.run('globex', async () => 'g')]);
    expect(results).toEqual(['a', 'g']);
  });

  it('shares an error with every waiter, then lets the next call run afresh', async () => {
    const flight = new SingleFlight<string>();
    const gate = deferred<string>();
    const first = flight.run('acme', () => gate.promise);
    const second = flight.run('acme', async () => 'never');
    gate.reject(new Error('upstream down'));
    await expect(first).rejects.toThrow('upstream down');
    await expect(second).rejects.toThrow('upstream down');
    expect(flight.running('acme')).toBe(false);
    await expect(flight.run('acme', async () => 'again')).resolves.toBe('again');
  });

  it('contains a synchronous throw in the work like a rejection', async () => {
    const flight = new SingleFlight<string>();
    await expect(
      flight.run('acme', () => {
        throw new Error('bug');
      }),
    ).rejects.toThrow('bug');
    expect(flight.running('acme')).toBe(false);
  });

  it('forgets a finished call: later callers start new work', async () => {
    const flight = new SingleFlight<number>();
    let calls = 0;
    await flight.run('acme', async () => ++calls);
    await flight.run('acme', async () => ++calls);
    expect(calls).toBe(2);
  });
});
