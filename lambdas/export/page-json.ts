// A page's JSON, numbers kept exactly. `JSON.parse` reads every number into a double: an id of 2^53 or more
// (`12345678901234567891`), a decimal of more than about 15 significant digits, or an exponent beyond a double's
// range would be written to the export changed (rounded, or `null` for Infinity), with nothing to show it.
//
// So a page that may hold such a number is read with the native parser still: each number token a double cannot
// carry is first wrapped into a string under a marker this process chose at random (JSON strings are skipped whole,
// so digits inside them are never touched), JSON.parse reads the page, and a walk of the result turns each marked
// string into an ExactNumber. Written back (recordLine), an ExactNumber is its digits as received. Such a page takes
// about ten times as long as JSON.parse alone (a 5 MB page of 40,000 big ids: about 230 ms), and its peak heap is
// about 7 times its size, within PAGE_MEMORY_FACTOR. lossless-json, which parses in JavaScript, was no faster and
// kept 3.5 times the memory of JSON.parse's result.
//
// The rewrite cannot turn text that is not JSON into JSON: a number token becomes a string token, which may stand
// wherever a number may (one where a key must be, before a colon, is left alone), and a marker read outside a
// string (had the rewrite met a broken one) starts with `~`, which no JSON token does. A page cannot forge a
// marker: it would have to guess this process's random one.
import { randomBytes } from 'node:crypto';

/** Marks a number token rewritten as a string; random per process, so no page can write one. */
const MARKER = `~tvm-exact-number:${randomBytes(12).toString('hex')}:`;
const MARKED_IN_LINE = new RegExp(`"${MARKER}(-?[0-9][0-9.eE+-]*)"`, 'g');

/** A number a double cannot carry exactly, as the upstream wrote it. */
export class ExactNumber {
  constructor(readonly text: string) {}

  toString(): string {
    return this.text;
  }

  /** Marked, so recordLine can put the digits back in place of the string. */
  toJSON(): string {
    return `${MARKER}${this.text}`;
  }
}

/**
 * Text that may hold a number a double cannot carry: 16 digits in a row (a dot among them allowed), or an exponent
 * of three digits. Every such number matches; so may a long run of digits inside a string, which costs only the
 * rewrite pass.
 */
const MAYBE_INEXACT_NUMBER = /[0-9][0-9.]{15}|[eE][+-]?[0-9]{3}/;

/** JSON tokens left to right: a whole string (skipped), or a number. */
const STRING_OR_NUMBER = /"[^"\\]*(?:\\.[^"\\]*)*"|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/g;

/** Whether a colon follows (whitespace aside): a token where an object key must be, which JSON.parse refuses. */
function isKey(text: string, end: number): boolean {
  let at = end;
  while (at < text.length && ' \t\n\r'.includes(text.charAt(at))) at++;
  return text.charAt(at) === ':';
}

/** The digits that carry a number's value: no sign, dot, exponent, nor leading and trailing zeros. */
function significantDigits(token: string): string {
  return token
    .replace(/^-/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
}

/** Whether a double holds the value of this JSON number token (JSON.stringify then writes that value). */
export function carriesExactly(token: string): boolean {
  if (token.length <= 15 && !/[eE]/.test(token)) return true; // at most 15 digits, no exponent
  const value = Number(token);
  if (!Number.isFinite(value)) return false;
  return significantDigits(token) === significantDigits(String(value));
}

export interface PageJson {
  readonly json: unknown;
  /** Whether `json` holds ExactNumbers: write its records with `recordLine(record, true)`. */
  readonly exactNumbers: boolean;
}

/** Parses a page as JSON.parse does (it is JSON.parse), numbers a double cannot carry kept as ExactNumber. */
export function parsePageJson(text: string): PageJson {
  if (!MAYBE_INEXACT_NUMBER.test(text)) return { json: JSON.parse(text) as unknown, exactNumbers: false };
  // The tokens are walked with exec, the text copied only around the numbers rewritten (String.replace with a
  // function is several times slower on a page of hundreds of thousands of tokens).
  const pieces: string[] = [];
  let copied = 0;
  const tokens = new RegExp(STRING_OR_NUMBER.source, 'g');
  for (let match = tokens.exec(text); match !== null; match = tokens.exec(text)) {
    const token = match[0];
    const end = match.index + token.length;
    if (token.startsWith('"') || carriesExactly(token) || isKey(text, end)) continue;
    pieces.push(text.slice(copied, match.index), `"${MARKER}${token}"`);
    copied = end;
  }
  if (pieces.length === 0) return { json: JSON.parse(text) as unknown, exactNumbers: false };
  pieces.push(text.slice(copied));
  const json = JSON.parse(pieces.join('')) as unknown;
  return { json: withExactNumbers(json), exactNumbers: true };
}

/** Replaces every marked string in the parsed page by its ExactNumber; walked without recursion. */
function withExactNumbers(root: unknown): unknown {
  const exact = (value: unknown) =>
    typeof value === 'string' && value.startsWith(MARKER) ? new ExactNumber(value.slice(MARKER.length)) : undefined;
  const top = exact(root);
  if (top !== undefined) return top;
  const stack: unknown[] = [root];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (typeof node !== 'object' || node === null) continue;
    // Own keys only (JSON.parse makes no others); an own "__proto__" is a data property, so assigning it is safe.
    const holder = node as Record<string, unknown>;
    for (const key of Object.keys(holder)) {
      const value = holder[key];
      if (typeof value === 'object' && value !== null) stack.push(value);
      else {
        const replaced = exact(value);
        if (replaced !== undefined) holder[key] = replaced;
      }
    }
  }
  return root;
}

/** One record as a line of JSON; with `exactNumbers`, its ExactNumbers are written as received. */
export function recordLine(record: unknown, exactNumbers: boolean): string {
  const line = JSON.stringify(record);
  return exactNumbers ? line.replace(MARKED_IN_LINE, '$1') : line;
}
