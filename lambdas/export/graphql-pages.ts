// GraphQL pages: POST {query, variables: {...variables, from, to, <cursorVariable>}}; the next cursor is read
// from `pagination.cursorPath` (AppSync-style nextToken). An answer with GraphQL `errors` (anything but an empty
// array), without `data` or with `data: null`, or without an array at `itemsPath`, fails the window.
import type { GraphqlExportJob } from '../core/export-job';
import type { ExportWindow } from '../core/export-windows';
import { ExportFailedError } from './export-errors';
import { cursorAt, keysExcerpt, kindOf, pageNamer, recordsAt, valueAt } from './json-path';
import type { PageSource } from './page-source';

/** At most this much of an upstream's error messages goes into ours. */
const MESSAGE_LIMIT = 300;
/** At most this many of an answer's GraphQL errors are quoted. */
const MESSAGES_SHOWN = 5;

/** A GraphQL error's `message` when it is a string (as the spec says), else what it is instead. */
function errorMessageOf(error: unknown): string {
  const message = typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : undefined;
  if (typeof message === 'string') return message.slice(0, MESSAGE_LIMIT);
  return message === undefined ? 'unknown' : `(a message that is ${kindOf(message)})`;
}

export function graphqlPages(job: GraphqlExportJob, window: ExportWindow): PageSource {
  const from = window.from.toISOString();
  const to = window.to.toISOString();
  const pageName = pageNamer(job.name);
  return {
    request(cursor) {
      const variables: Record<string, unknown> = { ...job.variables, from, to };
      if (job.pagination) variables[job.pagination.cursorVariable] = cursor ?? null;
      return { url: job.url, method: 'POST', body: JSON.stringify({ query: job.query, variables }) };
    },
    next(answer, _items, cursor) {
      const where = pageName(cursor);
      const json = answer.json;
      if (typeof json !== 'object' || json === null || Array.isArray(json))
        throw new ExportFailedError('upstream_invalid_answer', `${where}: the GraphQL answer is ${kindOf(json)}.`);
      // Any `errors` fails the window, whatever its shape (the spec: absent when there are none); only an
      // empty array counts as none.
      if (Object.hasOwn(json, 'errors')) {
        const errors = (json as { errors: unknown }).errors;
        if (!Array.isArray(errors))
          throw new ExportFailedError(
            'upstream_invalid_answer',
            `${where}: the GraphQL errors of the answer are ${kindOf(errors)}, not an array.`,
          );
        if (errors.length > 0) {
          const messages = errors.slice(0, MESSAGES_SHOWN).map(errorMessageOf).join('; ');
          throw new ExportFailedError(
            'upstream_invalid_answer',
            `The upstream returned GraphQL errors for ${where}: ${messages.slice(0, MESSAGE_LIMIT)}`,
          );
        }
      }
      const data = valueAt(json, 'data');
      if (typeof data !== 'object' || data === null || Array.isArray(data))
        throw new ExportFailedError(
          'upstream_invalid_answer',
          `${where}: the GraphQL answer's data is ${kindOf(data)} (${keysExcerpt(json)}).`,
        );
      // The records must be an array (the runner's itemsOf refused anything else already), except `data` itself:
      // the one record of the earlier job shape (see itemsOf), an object as checked just above.
      if (job.itemsPath !== 'data') recordsAt(json, job.itemsPath, where);
      return job.pagination ? cursorAt(json, job.pagination.cursorPath) : null;
    },
  };
}
