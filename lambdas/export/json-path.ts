// Dotted paths into upstream answers (`data.flights.items`), read defensively: the answer is hostile input.
import { ExportFailedError } from './export-errors';
import { ExactNumber } from './page-json';

/** The value at `path` (empty path: the value itself), or undefined when any step is missing or not an object. */
export function valueAt(value: unknown, path: string): unknown {
  if (path === '') return value;
  let current: unknown = value;
  for (const step of path.split('.')) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, step)) return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}

/** What a value is, never what it holds: "missing", "null", "an object", "a string", … */
export function kindOf(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof ExactNumber) return 'a number';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** At most this many of an answer's keys, each cut and reduced to plain characters, go into a message. */
const KEYS_SHOWN = 5;
const KEY_LENGTH = 24;

/** A short, bounded excerpt of an answer's top-level keys (never its values), e.g. `keys: error, status`. */
export function keysExcerpt(answer: unknown): string {
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) return `the answer is ${kindOf(answer)}`;
  const keys = Object.keys(answer);
  if (keys.length === 0) return 'the answer has no keys';
  const shown = keys.slice(0, KEYS_SHOWN).map((k) => k.slice(0, KEY_LENGTH).replace(/[^\w.$-]/g, '?'));
  return `keys: ${shown.join(', ')}${keys.length > KEYS_SHOWN ? `, … (${keys.length})` : ''}`;
}

/** Where a walk along `path` stopped, when an earlier step is what is missing or not an object. */
function brokenStep(answer: unknown, path: string): string | undefined {
  const steps = path === '' ? [] : path.split('.');
  let current: unknown = answer;
  for (let i = 0; i < steps.length - 1; i++) {
    const step = steps[i] as string;
    const next =
      typeof current === 'object' && current !== null && Object.hasOwn(current, step)
        ? (current as Record<string, unknown>)[step]
        : undefined;
    if (typeof next !== 'object' || next === null) return `${steps.slice(0, i + 1).join('.')} is ${kindOf(next)}`;
    current = next;
  }
  return undefined;
}

/**
 * The upstream_invalid_answer error for an answer whose `itemsPath` is not an array of records. `where` names
 * the job and the page (e.g. `users, page 3`). The message quotes no value of the answer, only its kind and a
 * bounded excerpt of its top-level keys: an error body can hold anything.
 */
export function invalidItems(answer: unknown, itemsPath: string, where?: string): ExportFailedError {
  const value = valueAt(answer, itemsPath);
  const path = itemsPath === '' ? 'body' : itemsPath;
  const broken = value === undefined ? brokenStep(answer, itemsPath) : undefined;
  return new ExportFailedError(
    'upstream_invalid_answer',
    `${where ? `${where}: the` : 'The'} answer's ${path} is ${kindOf(value)}${broken ? ` (${broken})` : ''}, ` +
      `not an array of records (${keysExcerpt(answer)}).`,
  );
}

/**
 * The records of an answer: the array at `itemsPath` (an empty array is an empty page). Anything else — the
 * path missing, null, an object, a string — is an invalid answer, never "no records" nor "one record": a 200
 * carrying an error body (`{"error": "quota exceeded"}`, `{"message": …}`, `{"data": null}`) must fail the
 * window, not end it or become data. With an empty `itemsPath` the answer itself must be the array (REST's
 * default, documented as such); an answer that is a single object is refused like any other.
 *
 * One exception: `itemsPath` "data" holding an object is that one record. It is the earlier GraphQL-only job
 * shape (`graphqlUrl`, documented in the README as "a GraphQL job whose `data` is one record"), and GraphQL's
 * `data` is always an object, never an array. Only GraphQL answers may be read so: the REST page source refuses
 * an object at its itemsPath, and the GraphQL one refuses `errors` and a missing or null `data`, both before the
 * page is written (the runner calls `next` before writing).
 */
export function itemsOf(answer: unknown, itemsPath: string, where?: string): unknown[] {
  if (itemsPath === 'data') {
    const data = valueAt(answer, 'data');
    if (typeof data === 'object' && data !== null && !Array.isArray(data)) return [data];
  }
  return recordsAt(answer, itemsPath, where);
}

/** The array at `itemsPath`, without itemsOf's exception: anything else throws invalidItems. */
export function recordsAt(answer: unknown, itemsPath: string, where?: string): unknown[] {
  const value = valueAt(answer, itemsPath);
  if (Array.isArray(value)) return value;
  throw invalidItems(answer, itemsPath, where);
}

/**
 * Names the pages a source reads, for its error messages: `<job>, page <n>`, counting the answers it was given
 * (call it once per answer). A run that resumed a window from a checkpoint counts from there.
 */
export function pageNamer(job: string): (cursor: unknown) => string {
  let pages = 0;
  let resumed: boolean | undefined;
  return (cursor) => {
    pages++;
    resumed ??= cursor !== undefined;
    return `${job}, page ${pages}${resumed ? ' since the run resumed' : ''}`;
  };
}

/** A cursor read from an answer: a non-empty string (or number) continues, null/""/missing ends the window. */
/** The longest cursor taken from an answer (real ones are tokens of a few hundred characters at most). */
export const MAX_CURSOR_CHARS = 16_384;

export function cursorAt(answer: unknown, path: string): string | number | null {
  const value = valueAt(answer, path);
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'string' && value.length > MAX_CURSOR_CHARS)
    throw new ExportFailedError(
      'upstream_invalid_answer',
      `The answer's ${path} is a cursor of ${value.length} characters, over ${MAX_CURSOR_CHARS}.`,
    );
  if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) return value;
  // A number a double cannot carry (read exactly, page-json.ts) would ask for another page than the one named.
  if (value instanceof ExactNumber)
    throw new ExportFailedError(
      'upstream_invalid_answer',
      `The answer's ${path} is a number of ${value.toString().length} characters that a JSON number cannot carry ` +
        'exactly; a cursor must be a string, or a number a double holds (integers below 2^53).',
    );
  throw new ExportFailedError('upstream_invalid_answer', `The answer's ${path} is not a cursor (string or number).`);
}
