// A page's JSON, numbers kept exactly. `JSON.parse` reads every number into a double: an id of 2^53 or more
// (`12345678901234567891`), a decimal of more than about 15 significant digits, or an exponent beyond a double's
// range would be written to the export changed (rounded, or `null` for Infinity), with nothing to show it.
//
// So a page that may hold such a number, once JSON.parse has found it to be JSON, is read again: each number token
// a double cannot carry is wrapped into a string under a marker this process chose at random, JSON.parse reads the
// rewritten text, and a walk of the result turns each marked string into an ExactNumber. Written back
// (recordLine), an ExactNumber is its digits as received. Such a page takes about ten times as long as JSON.parse
// alone (a 5 MB page of 40,000 big ids: 220-470 ms on the 2-core build machine), and needs about 6 times its size
// of heap (a 31 MB page of 240,000 big ids ran in 185 MB of old space, not in 170; JSON.parse alone in 120), within
// PAGE_MEMORY_FACTOR. lossless-json, which parses in JavaScript, was no faster and kept 3.5 times the memory of
// JSON.parse's result.
//
// The rewrite reads only text that is JSON, so its tokens are JSON's: strings are skipped whole (digits inside them
// are never touched), and a number where a key must be cannot occur. Every step is linear in the page: strings are
// skipped with indexOf, never with a regular expression (one that backtracks per escape overflows its stack on a
// long string of escapes). A page cannot forge a marker: it would have to guess this process's random one, which
// never leaves the process (only marked tokens JSON.parse has read as whole strings carry it).
import { randomBytes } from 'node:crypto';

/** Marks a number token rewritten as a string; random per process, so no page can write one. */
const MARKER = `~tvm-exact-number:${randomBytes(12).toString('hex')}:`;
/** A JSON number token, whole. */
const NUMBER_TOKEN = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
/** A marked number as JSON.stringify writes it: a whole value, after `:`, `,`, `[` or at the start of the line. */
const MARKED_IN_LINE = new RegExp(`(?<=^|[:,[])"${MARKER}(-?[0-9][0-9.eE+-]*)"(?=$|[,\\]}])`, 'g');

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

/** The digits that carry a number's value: no sign, dot, exponent, nor leading and trailing zeros (linear). */
function significantDigits(token: string): string {
  const exponent = token.search(/[eE]/);
  const digits = token.slice(token.startsWith('-') ? 1 : 0, exponent < 0 ? token.length : exponent).replace('.', '');
  let first = 0;
  while (first < digits.length && digits.charCodeAt(first) === 0x30) first++;
  let end = digits.length;
  while (end > first && digits.charCodeAt(end - 1) === 0x30) end--;
  return digits.slice(first, end);
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
  let json = JSON.parse(text) as unknown; // not JSON: a SyntaxError, as before
  if (!MAYBE_INEXACT_NUMBER.test(text)) return { json, exactNumbers: false };
  const rewritten = markInexactNumbers(text);
  if (rewritten === undefined) return { json, exactNumbers: false };
  json = undefined; // the first reading goes before the second is made: never two of a large page at once
  return { json: withExactNumbers(JSON.parse(rewritten) as unknown), exactNumbers: true };
}

/** Where the string starting at `open` (a quote) ends, past its closing quote; `text` is JSON. */
function endOfString(text: string, open: number): number {
  for (let quote = text.indexOf('"', open + 1); quote >= 0; quote = text.indexOf('"', quote + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
  }
  return text.length;
}

/** `text` (JSON) with every number token a double cannot carry marked as a string; undefined when there is none. */
function markInexactNumbers(text: string): string | undefined {
  const pieces: string[] = [];
  let copied = 0;
  const next = /["0-9-]/g; // where a string or a number starts
  for (let found = next.exec(text); found !== null; found = next.exec(text)) {
    const at = found.index;
    if (text.charCodeAt(at) === 0x22) {
      next.lastIndex = endOfString(text, at);
      continue;
    }
    NUMBER_TOKEN.lastIndex = at;
    const token = NUMBER_TOKEN.exec(text)?.[0] ?? '-';
    next.lastIndex = at + token.length;
    if (carriesExactly(token)) continue;
    pieces.push(text.slice(copied, at), `"${MARKER}${token}"`);
    copied = at + token.length;
  }
  if (pieces.length === 0) return undefined;
  pieces.push(text.slice(copied));
  return pieces.join('');
}

function isNumberToken(text: string): boolean {
  NUMBER_TOKEN.lastIndex = 0;
  return NUMBER_TOKEN.exec(text)?.[0] === text;
}

/** Replaces every marked string in the parsed page by its ExactNumber; walked without recursion. */
function withExactNumbers(root: unknown): unknown {
  const exact = (value: unknown) =>
    typeof value === 'string' && value.startsWith(MARKER) && isNumberToken(value.slice(MARKER.length))
      ? new ExactNumber(value.slice(MARKER.length))
      : undefined;
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
