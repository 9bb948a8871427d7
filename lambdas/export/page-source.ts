// How a job walks the pages of one window: the request for a cursor, and the cursor after an answer.
// A cursor is plain JSON (string or number) so a window that runs out of time can resume from a checkpoint.
import type { ExportJob } from '../core/export-job';
import type { ExportWindow } from '../core/export-windows';
import { graphqlPages } from './graphql-pages';
import type { PageAnswer, PageRequest } from './page-fetcher';
import { restPages } from './rest-pages';

/** Where the next page starts: a token, a URL, a page number or an offset; undefined for the first page. */
export type PageCursor = string | number | undefined;

export interface PageSource {
  request(cursor: PageCursor): PageRequest;
  /**
   * The cursor of the page after this answer, or `null` when this was the last page. `items` are the answer's
   * records (itemsOf). Throws ExportFailedError `upstream_invalid_answer` when the answer is no valid page (an
   * error body with HTTP 200: no array at itemsPath, GraphQL `errors` or no `data`): the runner calls it before
   * the page is written, so such a page never becomes records nor the end of the window.
   */
  next(answer: PageAnswer, items: readonly unknown[], cursor: PageCursor): PageCursor | null;
}

export function pageSource(job: ExportJob, window: ExportWindow): PageSource {
  return job.kind === 'graphql' ? graphqlPages(job, window) : restPages(job, window);
}
