/**
 * Generated demo cases (src/sources/demo) as a table of the fake Snowflake in execute mode:
 * the DuckDB file's support_cases copied into the fake's warehouse database under
 * Snowflake-style upper-case column names, typed as a warehouse would store them
 * (TIMESTAMP -> TIMESTAMP_NTZ, TIMESTAMP WITH TIME ZONE -> TIMESTAMP_LTZ, the rest as text).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBInstance } from '@duckdb/node-api';
import type { FakeColumn, FakeTable } from './snowflakeServer';

export async function demoWarehouseTable(dbPath: string, key: string): Promise<{ table: FakeTable; setup: (conn: DuckDBConnection) => Promise<void> }> {
  const db = await DuckDBInstance.create(dbPath, { access_mode: 'READ_ONLY' });
  const conn = await db.connect();
  const reader = await conn.runAndReadAll('DESCRIBE support_cases');
  const described = reader.getRowObjectsJS() as { column_name: string; column_type: string }[];
  conn.closeSync();
  db.closeSync();
  const columns: FakeColumn[] = described.map((c) => ({
    name: c.column_name.toUpperCase(),
    type: c.column_type === 'TIMESTAMP' ? 'timestamp_ntz' : c.column_type === 'TIMESTAMP WITH TIME ZONE' ? 'timestamp_ltz' : 'text',
  }));
  const select = described.map((c, i) => {
    const col = `"${c.column_name}"`;
    const typed = columns[i].type === 'text' && c.column_type !== 'VARCHAR' ? `CAST(${col} AS VARCHAR)` : col;
    return `${typed} AS "${columns[i].name}"`;
  });
  const [dbName, schema, name] = key.split('.').map((p) => `"${p}"`);
  return {
    table: { columns },
    setup: async (c) => {
      await c.run(`ATTACH '${dbPath.replace(/'/g, "''")}' AS demo_source (READ_ONLY)`);
      await c.run(`CREATE TABLE ${dbName}.${schema}.${name} AS SELECT ${select.join(', ')} FROM demo_source.support_cases`);
      await c.run('DETACH demo_source');
    },
  };
}
