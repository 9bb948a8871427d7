// The one middy chain every Lambda entry point runs in: the Lambda context on every log line, and metrics flushed
// (EMF) at the end of each invocation. Tracing is Lambda's own (active tracing), outside this chain.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddyfiedHandler } from '@middy/core';
import type { Context } from 'aws-lambda';

import type { Observability } from './observability';

export interface WithObservabilityOptions {
  /** Emit a `ColdStart` metric on the first invocation of a container. @default false */
  readonly captureColdStartMetric?: boolean;
  /** Log the incoming event (never for events that may carry secrets). @default false */
  readonly logEvent?: boolean;
}

/** Wrap a handler in the Powertools middlewares: logger context, metrics flush. */
export function withObservability<TEvent, TResult>(
  handler: (event: TEvent, context: Context) => Promise<TResult>,
  observability: Observability,
  options: WithObservabilityOptions = {},
): MiddyfiedHandler<TEvent, TResult> {
  return middy<TEvent, TResult>(handler)
    .use(injectLambdaContext(observability.logger, { resetKeys: true, logEvent: options.logEvent ?? false }))
    .use(logMetrics(observability.metrics, { captureColdStartMetric: options.captureColdStartMetric ?? false }));
}
