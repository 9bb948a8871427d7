// One time budget per vend: every wait on the vend path (tenant store, shared cache, lease, upstream calls,
// retry backoff) ends when it is spent, so the caller gets 503 `upstream_unavailable` with Retry-After
// before the Lambda timeout and API Gateway's 29 s, never a 500 or a timeout of the platform.

import { TimeBudgetExceededError } from './errors';
import type { Clock } from './ports';

/** Seconds a caller is told to wait after a vend ran out of budget. */
export const BUDGET_RETRY_AFTER_SECONDS = 5;

export class Deadline {
  /** Epoch milliseconds (on the injected clock) at which the budget is spent. */
  readonly endsAt: number;
  /** Aborts when the budget is spent (real time): handed to providers so their requests stop too. */
  readonly signal: AbortSignal;

  /**
   * @param clock decides what remains (a fake clock in unit tests)
   * @param budgetMs the whole budget, from now
   * @param describe names the work in the error, e.g. `tenant 'acme'`
   */
  constructor(
    private readonly clock: Clock,
    readonly budgetMs: number,
    private readonly describe: string,
  ) {
    this.endsAt = clock.now() + budgetMs;
    this.signal = AbortSignal.timeout(Math.max(1, budgetMs));
  }

  remainingMs(): number {
    return Math.max(0, this.endsAt - this.clock.now());
  }

  expired(): boolean {
    return this.remainingMs() <= 0 || this.signal.aborted;
  }

  /** The error a vend ends with when the budget is spent during `stage`. */
  exceeded(stage: string): TimeBudgetExceededError {
    return new TimeBudgetExceededError(
      `No answer for ${this.describe} within the ${this.budgetMs} ms time budget (${stage}); try again later.`,
      BUDGET_RETRY_AFTER_SECONDS,
      stage,
    );
  }

  /** Throw when the budget is spent. */
  check(stage: string): void {
    if (this.expired()) throw this.exceeded(stage);
  }

  /** Whether a wait of `ms` would still end inside the budget. */
  allows(ms: number): boolean {
    return !this.signal.aborted && ms < this.remainingMs();
  }

  /**
   * `work`'s result, or a TimeBudgetExceededError as soon as the budget is spent, whichever comes first.
   * The work itself is not cancelled here (pass `signal` to it for that); its late result is ignored.
   */
  race<T>(work: Promise<T>, stage: string): Promise<T> {
    if (this.signal.aborted) {
      work.catch(() => undefined);
      return Promise.reject(this.exceeded(stage));
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(this.exceeded(stage));
      this.signal.addEventListener('abort', onAbort, { once: true });
      work.then(
        (value) => {
          this.signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (error: unknown) => {
          this.signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }
}
