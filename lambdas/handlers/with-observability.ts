// What every Lambda entry point runs in: the Lambda context on every log line, and metrics flushed (EMF) at the
// end of each invocation, whether the handler returns or throws. Tracing is Lambda's own (active tracing).
//
// Written by hand with Powertools' manual API, doing what its middy middlewares did (injectLambdaContext with
// resetKeys, logMetrics; the same calls as their class-method decorators) without middy: middy's per-invocation
// request object, middleware loop and early-timeout timer cost more than the two calls they wrap, on a cache hit
// that is otherwise tens of microseconds. The early-timeout error middy raised 5 ms before the Lambda timeout is
// not needed: the vend budget (20 s) ends well before the function's timeout, and the refresh and export
// handlers stop on `getRemainingTimeInMillis()` themselves.
import type { Context } from 'aws-lambda';

import type { Observability } from './observability';

export interface WithObservabilityOptions {
  /** Emit a `ColdStart` metric on the first invocation of a container. @default false */
  readonly captureColdStartMetric?: boolean;
  /** Log the incoming event (never for events that may carry secrets). @default false */
  readonly logEvent?: boolean;
}

/** A Lambda handler: the event and the invocation's context in, a promise of the result out. */
export type ObservedHandler<TEvent, TResult> = (event: TEvent, context: Context) => Promise<TResult>;

/** Wrap a handler: logger context (keys appended during an invocation reset after it), metrics flush. */
export function withObservability<TEvent, TResult>(
  handler: (event: TEvent, context: Context) => Promise<TResult>,
  { logger, metrics }: Observability,
  options: WithObservabilityOptions = {},
): ObservedHandler<TEvent, TResult> {
  const logEvent = options.logEvent ?? false;
  const captureColdStartMetric = options.captureColdStartMetric ?? false;
  return async (event, context) => {
    logger.refreshSampleRateCalculation();
    logger.addContext(context);
    logger.logEventIfEnabled(event, logEvent);
    // Once per container: Metrics remembers the cold start itself.
    if (captureColdStartMetric) metrics.captureColdStartMetric(context.functionName);
    try {
      return await handler(event, context);
    } finally {
      // As the middlewares ran (metrics, then logger): the flush's own diagnostics still carry the request keys.
      metrics.publishStoredMetrics();
      logger.clearBuffer();
      logger.resetKeys();
    }
  };
}
