/**
 * The result-chunk row parser: rows split anywhere across network buffers, escapes,
 * non-ASCII text, nulls, numbers read from bytes, and malformed bodies.
 */
import { ChunkFormatError, ChunkRowParser, type RowSink } from '../src/sources/snowflake/rowParser';

function collector(width: number): RowSink & { out: (number | string | null)[][] } {
  const columns: (number | string | null)[][] = Array.from({ length: width }, () => []);
  const sink = {
    columns,
    n: 0,
    out: [] as (number | string | null)[][],
    commit() {
      sink.out.push(columns.map((c) => c[sink.n]));
    },
  };
  return sink;
}

/** Parses `body` fed in pieces of `step` bytes. */
function parse(body: string, numeric: boolean[], step: number): (number | string | null)[][] {
  const sink = collector(numeric.length);
  const parser = new ChunkRowParser(numeric.length, numeric, sink);
  const bytes = Buffer.from(body, 'utf8');
  for (let i = 0; i < bytes.length; i += step) parser.push(bytes.subarray(i, i + step));
  parser.end();
  expect(parser.rows).toBe(sink.out.length);
  return sink.out;
}

describe('Snowflake result chunk row parser', () => {
  const rows = [
    ['1', '1767254400000', 'plain', null],
    ['-2', null, 'quote " and backslash \\ and \n newline, comma ] bracket', 'Zürich ✓ 東京'],
    ['1234567890123456789', '0', '', '\u0001'],
  ];
  const body = rows.map((r) => JSON.stringify(r)).join(',\n');
  const numeric = [true, true, false, false];
  const expected = [
    [1, 1767254400000, 'plain', null],
    [-2, null, 'quote " and backslash \\ and \n newline, comma ] bracket', 'Zürich ✓ 東京'],
    [1234567890123456789, 0, '', '\u0001'],
  ];

  test.each([1, 2, 3, 7, 64, 1 << 20])('rows cut every %i bytes come out whole', (step) => {
    expect(parse(body, numeric, step)).toEqual(expected);
  });

  test('numbers: signs, long and decimal values, bare literals', () => {
    expect(parse('["12.5", 7, null],["1e3", -4, "x"]', [true, true, false], 5)).toEqual([[12.5, 7, null], [1000, -4, 'x']]);
  });

  test('malformed bodies are errors naming the row', () => {
    expect(() => parse('["1","2"],["3"]', [false, false], 4)).toThrow(new ChunkFormatError('row 2 has 1 values, expected 2'));
    expect(() => parse('["1","2","3"]', [false, false], 4)).toThrow(/row 1 has more than 2 values/);
    expect(() => parse('["1","2"],x', [false, false], 100)).toThrow(/expected '\[' at the start of row 2/);
    expect(() => parse('["1","2"],["3",', [false, false], 3)).toThrow(/the chunk ends inside row 2/);
    expect(() => parse('[]', [false], 3)).toThrow(/row 1 is empty/);
  });
});
