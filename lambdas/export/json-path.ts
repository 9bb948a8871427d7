// Dotted paths into upstream answers (`data.flights.items`), read defensively: the answer is hostile input.
import { ExportFailedError } from './export-errors';

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

/** The records of an answer: an array at `itemsPath`; null or missing is none, an object is one record. */
export function itemsOf(answer: unknown, itemsPath: string): unknown[] {
  const value = valueAt(answer, itemsPath);
  if (Array.isArray(value)) return value;
  if (value === undefined || value === null) return [];
  if (typeof value === 'object') return [value];
  throw new ExportFailedError(
    'upstream_invalid_answer',
    `The answer's ${itemsPath || 'body'} is a ${typeof value}, not an array of records.`,
  );
}

/** A cursor read from an answer: a non-empty string (or number) continues, null/""/missing ends the window. */
export function cursorAt(answer: unknown, path: string): string | number | null {
  const value = valueAt(answer, path);
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) return value;
  throw new ExportFailedError('upstream_invalid_answer', `The answer's ${path} is not a cursor (string or number).`);
}
