// GraphQL pages: POST {query, variables: {...variables, from, to, <cursorVariable>}}; the next cursor is read
// from `pagination.cursorPath` (AppSync-style nextToken). GraphQL errors fail the window.
import type { GraphqlExportJob } from '../core/export-job';
import type { ExportWindow } from '../core/export-windows';
import { ExportFailedError } from './export-errors';
import { cursorAt } from './json-path';
import type { PageSource } from './page-source';

/** At most this much of an upstream's error messages goes into ours. */
const MESSAGE_LIMIT = 300;

export function graphqlPages(job: GraphqlExportJob, window: ExportWindow): PageSource {
  const from = window.from.toISOString();
  const to = window.to.toISOString();
  return {
    request(cursor) {
      const variables: Record<string, unknown> = { ...job.variables, from, to };
      if (job.pagination) variables[job.pagination.cursorVariable] = cursor ?? null;
      return { url: job.url, method: 'POST', body: JSON.stringify({ query: job.query, variables }) };
    },
    next(answer) {
      const errors = (answer.json as { errors?: unknown } | null)?.errors;
      if (Array.isArray(errors) && errors.length > 0) {
        const messages = errors
          .map((e) => String((e as { message?: unknown } | null)?.message ?? 'unknown'))
          .join('; ');
        throw new ExportFailedError(
          'upstream_invalid_answer',
          `The upstream returned GraphQL errors for ${job.name}: ${messages.slice(0, MESSAGE_LIMIT)}`,
        );
      }
      return job.pagination ? cursorAt(answer.json, job.pagination.cursorPath) : null;
    },
  };
}
