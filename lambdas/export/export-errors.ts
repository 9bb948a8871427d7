// Errors of the export runner. Each has a stable `code`; none carries a token or a header value.

/** Why a window could not be exported. */
export type ExportErrorCode =
  | 'upstream_unavailable' // 429 / 5xx / network errors after every attempt
  | 'upstream_unauthorized' // 401 or 403 even after one token renewal
  | 'upstream_rejected' // another 4xx
  | 'upstream_invalid_answer' // not JSON, too large, items not an array, GraphQL errors, a looping cursor
  | 'too_many_pages' // more pages than maxPagesPerWindow
  | 'invalid_job' // the job definition failed validation
  | 'invalid_range' // a backfill range that is empty or too long
  | 'invalid_state'; // the job's _state.json is not what a run writes (corrupt, another job's, in the future)

export class ExportFailedError extends Error {
  override readonly name = 'ExportFailedError';

  constructor(
    readonly code: ExportErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The run's time budget ended (or a Retry-After reaches past it) before the window was done. Not a failure:
 * the runner checkpoints the window and the next run resumes it.
 */
export class OutOfTimeError extends Error {
  override readonly name = 'OutOfTimeError';
}
