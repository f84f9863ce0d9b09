/** businessTimeSql, the generator of case_clocks.sql's B(t) expressions, evaluated in DuckDB. */
import { DuckDBInstance } from '@duckdb/node-api';
import { businessTimeSql } from '../src/kpi/staging/policyRows';

async function evaluate(calendar: string, t: string): Promise<number> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    // One bucket starting at t0 = 0 with 100 us of business time before it and pieces [10, 20) and [30, 50).
    const r = await conn.runAndReadAll(`
      WITH c AS (SELECT '${calendar}' AS calendar, make_timestamp(${t}::BIGINT) AS at),
      s AS (SELECT 0::BIGINT AS start_us, 100::BIGINT AS cum_us, 10::BIGINT AS a1, 20::BIGINT AS b1, 30::BIGINT AS a2, 50::BIGINT AS b2)
      SELECT ${businessTimeSql('c', 'at')} AS b FROM c, s`);
    return Number(r.getColumnsJS()[0][0]);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

test('B(t): the instant itself on 24x7; else the time before the bucket plus the pieces before t', async () => {
  expect(await evaluate('24x7', '12345')).toBe(12345);
  expect(await evaluate('office', '5')).toBe(100); // before both pieces
  expect(await evaluate('office', '15')).toBe(105); // inside the first
  expect(await evaluate('office', '25')).toBe(110); // between them
  expect(await evaluate('office', '40')).toBe(120); // inside the second
  expect(await evaluate('office', '60')).toBe(130); // after both
});
