import fc from 'fast-check';

import { carriesExactly, ExactNumber, parsePageJson, recordLine } from '../../../lambdas/export/page-json';

/** A page's records as the export writes them. */
const linesOf = (text: string): string[] => {
  const { json, exactNumbers } = parsePageJson(text);
  return (json as unknown[]).map((record) => recordLine(record, exactNumbers));
};

describe('numbers a double cannot carry', () => {
  it('are written as received: ids past 2^53, long decimals, exponents beyond a double', () => {
    const record =
      '{"id":12345678901234567891,"negative":-9007199254740993,"amount":0.12345678901234567891,' +
      '"mixed":1234567.123456789012,"huge":1e400,"tiny":-2.5E-400,"safe":42,"name":"x"}';
    expect(linesOf(`[${record}]`)).toEqual([record]);
    // JSON.parse would have written them changed (rounded, or null for Infinity).
    expect(JSON.stringify(JSON.parse(`[${record}]`))).not.toBe(`[${record}]`);
  });

  it('leave every other number a number, and the page on the fast path when it has none', () => {
    const fast = parsePageJson('[{"id":900719925474099,"v":1.5,"s":"123456789012345"}]');
    expect(fast).toEqual({ json: [{ id: 900719925474099, v: 1.5, s: '123456789012345' }], exactNumbers: false });
    const slow = parsePageJson('[{"id":18446744073709551615,"v":1.5,"n":9007199254740991}]');
    expect(slow.exactNumbers).toBe(true);
    const [row] = slow.json as Array<Record<string, unknown>>;
    expect(row?.v).toBe(1.5);
    expect(row?.n).toBe(9007199254740991);
    expect(row?.id).toBeInstanceOf(ExactNumber);
    expect(String(row?.id)).toBe('18446744073709551615');
  });

  it('digits inside strings are never read as numbers, however the string is escaped', () => {
    const text = String.raw`[{"phone":"00441234567890123456","q":"say \"12345678901234567891\" \\","n":1}]`;
    expect(parsePageJson(text)).toEqual({ json: JSON.parse(text), exactNumbers: false });
    expect(linesOf(text)).toEqual([JSON.stringify(JSON.parse(text)[0])]);
  });

  it('a page cannot write a marked number itself: a string is a string', () => {
    const line = recordLine(parsePageJson('[1e400]').json, true);
    const marker = JSON.stringify(new ExactNumber('5')).slice(1, -6); // the marker, without the digit
    expect(line).toBe('[1e400]');
    expect(marker.length).toBeGreaterThan(30);
    const forged = `[{"s":"~tvm-exact-number:000000000000000000000000:7","n":1e400}]`;
    expect(linesOf(forged)).toEqual(['{"s":"~tvm-exact-number:000000000000000000000000:7","n":1e400}']);
  });

  it('tells which number tokens a double carries', () => {
    for (const exact of ['0', '-1', '1.5', '1E5', '9007199254740991', '0.1', '123456789012345e-3', '1e-300', '0.0'])
      expect([exact, carriesExactly(exact)]).toEqual([exact, true]);
    for (const inexact of ['9007199254740993', '12345678901234567891', '0.12345678901234567891', '1e400', '1e-400'])
      expect([inexact, carriesExactly(inexact)]).toEqual([inexact, false]);
  });
});

describe('the exact parser reads JSON as JSON.parse does', () => {
  const BIG = '12345678901234567890'; // puts every page below on the exact parser

  it('the last of duplicate keys wins, and __proto__ is an own key (it is JSON.parse)', () => {
    const { json, exactNumbers } = parsePageJson(`{"a":1,"a":2,"__proto__":{"x":1},"big":${BIG}}`);
    expect(exactNumbers).toBe(true);
    expect((json as Record<string, unknown>).a).toBe(2);
    expect(Object.getPrototypeOf(json)).toBe(Object.prototype);
    expect(Object.hasOwn(json as object, '__proto__')).toBe(true);
  });

  it('refuses what is not JSON with a SyntaxError: the rewrite never makes JSON of it', () => {
    const broken = [
      `{"a":${BIG},}`,
      `[${BIG}`,
      `{'a':${BIG}}`,
      `[${BIG}] x`,
      `[0${BIG}]`,
      `[NaN, ${BIG}]`,
      `["open ${BIG} ]`, // an unterminated string: the marker would stand outside a string
      `[+${BIG}]`,
      `[--${BIG}]`,
      `[${BIG}.]`,
      String.raw`{"items":[{"a":"x\${BIG}}]}`, // a backslash before the number: a marker's quote would be escaped
      `{${BIG}:1}`, // a number where a key must be: a string there would be one
      `{"a":1, ${BIG} : 2}`,
    ];
    for (const bad of broken) {
      expect(() => parsePageJson(bad)).toThrow(SyntaxError);
      expect(() => JSON.parse(bad)).toThrow(SyntaxError);
    }
  });

  it('reads long strings of escapes and long runs of zeros, which a backtracking or quadratic scan could not', () => {
    const escapes = `["${'\\n'.repeat(3_500_000)}",${BIG}]`;
    expect(linesOf(`[${escapes}]`)).toEqual([escapes]);
    const zeros = `0.1${'0'.repeat(400_000)}1`;
    expect(linesOf(`[${zeros}]`)).toEqual([zeros]);
  });

  it('property: any JSON value round-trips to the line JSON.stringify writes, on either parser', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (value, exact) => {
        const text = `[${JSON.stringify(value)},${exact ? BIG : 0}]`;
        const { json, exactNumbers } = parsePageJson(text);
        expect(exactNumbers || !exact).toBe(true);
        const [first] = json as unknown[];
        expect(recordLine(first, exactNumbers)).toBe(JSON.stringify(value));
      }),
      { numRuns: 300 },
    );
  });

  it('property: any integer, however long, is written with its digits', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }), (n) => {
        expect(linesOf(`[{"n":${n}}]`)).toEqual([`{"n":${n}}`]);
      }),
      { numRuns: 300 },
    );
  });
});
