/** The DuckDB file source on real files: its table found by name, a missing one named. */
import { join } from 'node:path';
import { loadSettings } from '../src/config/settings';
import { runPipeline } from '../src/pipeline/run';
import { withStore } from '../src/db/stateStore';
import { tmpDir } from './helpers/kpi';

const AS_OF = new Date('2026-11-23T12:00:00Z');

async function fileWith(sql: string): Promise<string> {
  const db = join(tmpDir(), 'cases.duckdb');
  await withStore(db, async (c) => { await c.run(sql); });
  return db;
}

const run = (db: string, table: string, env: Record<string, string> = {}) => runPipeline({
  settings: loadSettings({ KPI_SOURCE: 'duckdb', KPI_DB_PATH: db, KPI_STATE_PATH: db, KPI_DUCKDB_TABLE: table, ...env }),
  asOf: AS_OF, outDir: null, recordHistory: false,
});

describe('duckdb source', () => {
  test('a table in another schema, with a column mapping', async () => {
    const db = await fileWith(`
      CREATE SCHEMA crm;
      CREATE TABLE crm.tickets (ticket VARCHAR, opened TIMESTAMP, "State" VARCHAR, priority VARCHAR);
      INSERT INTO crm.tickets VALUES ('T1', TIMESTAMP '2026-11-23 08:00:00', 'open', 'P2'), ('T2', TIMESTAMP '2026-11-22 08:00:00', 'open', 'P3')`);
    const { report } = await run(db, 'crm.tickets', { KPI_COLUMN_MAP: 'ticket:case_id,opened:created_at,State:status' });
    expect(report.dailyOps).toMatchObject({ cases_in_window: 2, open_backlog: 2 });
    expect(report.meta.source).toBe(`duckdb:${db}#crm.tickets`);
  });

  test('a missing table is named, with the setting that picks another', async () => {
    const db = await fileWith('CREATE TABLE other (a INTEGER)');
    await expect(run(db, 'support_cases')).rejects.toThrow(`DuckDB source ${db} has no table support_cases (set KPI_DUCKDB_TABLE, or run \`kpi seed-demo --db ${db}\`)`);
    await expect(run(db, 'nowhere.support_cases')).rejects.toThrow(/has no table nowhere\.support_cases/);
  });
});
