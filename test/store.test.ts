import { join } from 'node:path';
import { withStore } from '../src/db/stateStore';
import { openMemoryEngine, query } from '../src/db/engine';
import { loadSettings } from '../src/config/settings';
import { tmpDir } from './helpers/kpi';

describe('the shared database file', () => {
  test('concurrent accesses in one process are queued: no write is lost', async () => {
    const db = join(tmpDir(), 'kpi.duckdb');
    await withStore(db, (c) => c.run('CREATE TABLE t (k INTEGER PRIMARY KEY)').then(() => undefined));
    const attempts = await Promise.all(Array.from({ length: 6 }, () => withStore(db, async (c) => {
      const r = await query<{ n: number }>(c, 'SELECT count(*) AS n FROM t WHERE k = 1');
      if (r[0].n > 0) return false;
      await c.run('INSERT INTO t VALUES (1)');
      return true;
    })));
    expect(attempts.filter(Boolean)).toHaveLength(1);
    const inc = await Promise.all(Array.from({ length: 10 }, (_, i) => withStore(db, (c) => c.run(`INSERT INTO t VALUES (${i + 10})`))));
    expect(inc).toHaveLength(10);
    expect((await withStore(db, (c) => query<{ n: number }>(c, 'SELECT count(*) AS n FROM t')))[0].n).toBe(11);
  });

  test('a nested access to the same file reuses the connection', async () => {
    const db = join(tmpDir(), 'kpi.duckdb');
    const n = await withStore(db, async (c) => {
      await c.run('CREATE TABLE x AS SELECT 1 AS v');
      return withStore(db, async (inner) => (await query<{ v: number }>(inner, 'SELECT v FROM x'))[0].v);
    });
    expect(n).toBe(1);
  });
});

describe('the in-memory engine of a run', () => {
  test('runs in UTC and never checkpoints on its own', async () => {
    const engine = await openMemoryEngine();
    try {
      const [r] = await query<{ tz: string; threshold: string }>(engine.conn,
        `SELECT current_setting('TimeZone') AS tz, current_setting('checkpoint_threshold') AS threshold`);
      expect(r.tz).toBe('UTC');
      // A checkpoint makes nothing durable in memory and took 400-540 ms at 1M cases.
      expect(r.threshold).toBe('1.0 TiB');
    } finally {
      engine.close();
    }
  });

  test('a run\'s engine is bounded by KPI_MEMORY_LIMIT (default 1GB), the rest spilled to its temp folder', async () => {
    expect(loadSettings({}).KPI_MEMORY_LIMIT).toBe('1GB');
    const engine = await openMemoryEngine({ memoryLimit: loadSettings({}).KPI_MEMORY_LIMIT });
    try {
      const [r] = await query<{ limit: string; temp: string }>(engine.conn, `SELECT current_setting('memory_limit') AS "limit", current_setting('temp_directory') AS temp`);
      expect(r.limit).toBe('953.6 MiB');
      expect(r.temp).toMatch(/automate-kpi-calc-\d+-\d+$/);
    } finally {
      engine.close();
    }
  });
});
