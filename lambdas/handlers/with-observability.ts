// The one middy chain every Lambda entry point runs in: X-Ray tracing (when the Observability has a tracer),
// the Lambda context on every log line, and metrics flushed (EMF) at the end of each invocation.
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy, { type MiddyfiedHandler } from '@middy/core';
import type { Context } from 'aws-lambda';

import type { Observability } from './observability';

export interface WithObservabilityOptions {
  /** Emit a `ColdStart` metric on the first invocation of a container. @default false */
  readonly captureColdStartMetric?: boolean;
  /** Log the incoming event (never for events that may carry secrets). @default false */
  readonly logEvent?: boolean;
}

/** Wrap a handler in the Powertools middlewares: tracer (if any), logger context, metrics flush. */
export function withObservability<TEvent, TResult>(
  handler: (event: TEvent, context: Context) => Promise<TResult>,
  observability: Observability,
  options: WithObservabilityOptions = {},
): MiddyfiedHandler<TEvent, TResult> {
  const chain = middy<TEvent, TResult>(handler);
  if (observability.tracer) chain.use(captureLambdaHandler(observability.tracer, { captureResponse: false }));
  return chain
    .use(injectLambdaContext(observability.logger, { resetKeys: true, logEvent: options.logEvent ?? false }))
    .use(logMetrics(observability.metrics, { captureColdStartMetric: options.captureColdStartMetric ?? false }));
}
