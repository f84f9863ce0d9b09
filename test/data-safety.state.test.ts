/**
 * The source is never written to: run history, the digest log and alert state live in the
 * state file (KPI_STATE_PATH / --state), a DuckDB source is only attached read-only.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { runCli } from './helpers/cli';
import { tmpDir } from './helpers/kpi';

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

async function tables(path: string): Promise<string[]> {
  const i = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
  const c = await i.connect();
  try {
    const r = await c.runAndReadAll('SELECT table_name FROM duckdb_tables() ORDER BY 1');
    return r.getRowObjectsJson().map((x) => String(x.table_name));
  } finally {
    c.closeSync();
    i.closeSync();
  }
}

describe('the state file', () => {
  test('--source duckdb --db warehouse.duckdb leaves the warehouse byte-identical', async () => {
    const cwd = tmpDir('kpi-state-');
    expect(runCli(['seed-demo', '--cases', '2000', '--db', 'warehouse.duckdb'], cwd).code).toBe(0);
    const before = sha(join(cwd, 'warehouse.duckdb'));
    const r = runCli(['run', '--source', 'duckdb', '--db', 'warehouse.duckdb', '--as-of', '2026-11-23T00:00:00Z'], cwd);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const r2 = runCli(['run', '--source', 'duckdb', '--db', 'warehouse.duckdb', '--state', 'own.duckdb', '--as-of', '2026-11-23T00:00:00Z'], cwd);
    expect(r2.code).toBe(0);
    expect(sha(join(cwd, 'warehouse.duckdb'))).toBe(before);
    expect(existsSync(join(cwd, 'warehouse.duckdb.wal'))).toBe(false);
    const t = await tables(join(cwd, 'warehouse.duckdb'));
    expect(t).not.toContain('run_history');
    expect(t).not.toContain('digest_log');
    // The history went to the state files: the default one and the one named by --state.
    expect(await tables(join(cwd, 'data/kpi.duckdb'))).toContain('run_history');
    expect(await tables(join(cwd, 'own.duckdb'))).toContain('run_history');
  }, 180_000);

  test('a --db that does not exist fails without creating it or its folder', () => {
    const cwd = tmpDir('kpi-state-');
    const r = runCli(['run', '--source', 'duckdb', '--db', 'nowhere/warehouse.duckdb', '--state', 'st.duckdb'], cwd);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^kpi: DuckDB source nowhere\/warehouse\.duckdb does not exist/);
    expect(existsSync(join(cwd, 'nowhere'))).toBe(false);
  }, 60_000);

  test('KPI_STATE_PATH is where the history goes; the demo data stays in KPI_DB_PATH', async () => {
    const cwd = tmpDir('kpi-state-');
    const r = runCli(['run', '--as-of', '2026-11-23T00:00:00Z'], cwd, { KPI_DEMO_CASES: '1000', KPI_STATE_PATH: 'state/s.duckdb', KPI_DB_PATH: 'demo.duckdb' });
    expect(r.code).toBe(0);
    expect(await tables(join(cwd, 'state/s.duckdb'))).toContain('run_history');
    const demo = await tables(join(cwd, 'demo.duckdb'));
    expect(demo).toContain('support_cases');
    expect(demo).not.toContain('run_history');
  }, 120_000);
});
