/**
 * At most one in-flight call per key: callers that arrive while a call for the
 * same key is running share its result (or its error).
 */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  /** Whether a call for `key` is running now (a `run` would join it). */
  running(key: string): boolean {
    return this.inFlight.has(key);
  }

  run(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key);
    if (running) return running;
    let settled = false;
    const started = (async () => {
      try {
        return await work();
      } finally {
        settled = true;
        this.inFlight.delete(key);
      }
    })();
    // Work that threw synchronously has settled already (its `finally` ran above): registering it now would
    // hand its error to every later caller for this key.
    if (!settled) this.inFlight.set(key, started);
    return started;
  }
}
