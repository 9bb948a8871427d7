// One time budget per vend: every wait on the vend path (tenant store, shared cache, lease, upstream calls,
// retry backoff) ends when it is spent, so the caller gets 503 `upstream_unavailable` with Retry-After
// before the Lambda timeout and API Gateway's 29 s, never a 500 or a timeout of the platform.
//
// A cache hit needs none of the signal machinery: the budget is two numbers until a wait asks for more. The
// AbortSignal is created on first use (only upstream calls take it), and `race` arms a plain timer only while
// its work is pending. `AbortSignal.timeout` per vend cost a timer, a weak reference and a finalizer living for
// the whole budget (20 s): about 4 us of every cache hit, and garbage that showed in its p99.

import { clearTimeout, setTimeout } from 'node:timers';

import { TimeBudgetExceededError } from './errors';
import type { Clock } from './ports';

/** Seconds a caller is told to wait after a vend ran out of budget. */
export const BUDGET_RETRY_AFTER_SECONDS = 5;

/** What `AbortSignal.timeout` aborts with. */
const timeoutReason = () => new DOMException('The operation was aborted due to timeout', 'TimeoutError');

/**
 * `work`'s result, or the error `onTimeout` makes once `ms` (real time) have passed, whichever comes first. The
 * timer is unref'd (a pending wait never keeps the process alive) and cleared when the work settles; the work is
 * not cancelled, its late result is ignored.
 */
export function raceTimer<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), Math.ceil(ms)).unref();
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

export class Deadline {
  /** Epoch milliseconds (on the injected clock) at which the budget is spent. */
  readonly endsAt: number;
  /** `performance.now()` at which the budget is spent in real time (whatever the injected clock says). */
  private readonly realEndsAt: number;
  private controller: AbortController | undefined;

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
    this.realEndsAt = performance.now() + Math.max(1, budgetMs);
  }

  /**
   * Aborts (with a `TimeoutError`, like `AbortSignal.timeout`) when the budget is spent in real time: handed to
   * providers so their requests stop too. Created on first use; aborts at the same instant as one created with
   * the deadline, and before any `race` of this deadline rejects.
   */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      const left = this.realRemainingMs();
      if (left <= 0) this.expire();
      // Unref'd like AbortSignal.timeout's timer: a pending wait never keeps the process alive.
      else setTimeout(() => this.expire(), Math.ceil(left)).unref();
    }
    return this.controller.signal;
  }

  remainingMs(): number {
    return Math.max(0, this.endsAt - this.clock.now());
  }

  expired(): boolean {
    return this.remainingMs() <= 0 || this.realExpired();
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
    return !this.realExpired() && ms < this.remainingMs();
  }

  /**
   * `work`'s result, or a TimeBudgetExceededError as soon as the budget is spent (real time), whichever comes
   * first. The work itself is not cancelled here (pass `signal` to it for that); its late result is ignored.
   */
  race<T>(work: Promise<T>, stage: string): Promise<T> {
    if (this.realExpired()) {
      work.catch(() => undefined);
      return Promise.reject(this.exceeded(stage));
    }
    // A plain timer while the work is pending (cheaper than listening on a signal); when it fires, the signal
    // (if anyone holds it) aborts first, so the work's requests stop before the caller hears of it.
    return raceTimer(work, this.realRemainingMs(), () => {
      this.expire();
      return this.exceeded(stage);
    });
  }

  private realRemainingMs(): number {
    return this.realEndsAt - performance.now();
  }

  private realExpired(): boolean {
    return this.realRemainingMs() <= 0 || this.controller?.signal.aborted === true;
  }

  /** Abort the signal, if one was handed out. */
  private expire(): void {
    if (this.controller && !this.controller.signal.aborted) this.controller.abort(timeoutReason());
  }
}
