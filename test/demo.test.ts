import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { loadSettings } from '../src/config/settings';
import { runPipeline } from '../src/pipeline/run';
import { demoSeededAt, seedDemo } from '../src/sources/demo/seed';
import { withStore } from '../src/db/stateStore';
import { query } from '../src/db/engine';
import { recordRun } from '../src/pipeline/runHistory';
import { tmpDir } from './helpers/kpi';

describe('demo data', () => {
  test('generated on first use, realistic, with defects of every kind and a backlog rise', async () => {
    const dir = tmpDir();
    const db = join(dir, 'kpi.duckdb');
    const settings = loadSettings({ KPI_DB_PATH: db, KPI_STATE_PATH: db, KPI_DEMO_CASES: '5000' });
    const { report } = await runPipeline({ settings, outDir: null, recordHistory: false });
    expect(existsSync(db)).toBe(true);
    expect(report.warnings).toEqual([]);
    const dq = report.dataQuality;
    expect(dq.missing_rows).toBeGreaterThan(0);
    expect(dq.duplicate_rows).toBeGreaterThan(0);
    expect(dq.invalid_sla_rows).toBeGreaterThan(0);
    expect(dq.quality_score).toBeGreaterThan(95);
    expect(report.slaSummary.map((r) => r.priority)).toEqual(['P1', 'P2', 'P3', 'P4', 'ALL']);
    const all = report.slaSummary[4];
    expect(all.sla_compliance_pct).toBeGreaterThan(70);
    expect(all.sla_compliance_pct).toBeLessThan(95);
    expect(report.backlogSummary.find((b) => b.priority === 'ALL')!.age_7d_plus).toBeGreaterThan(0); // old open cases
    expect(report.backlogSpike[0]).toMatchObject({ scope: 'ALL', is_spike: true });
    // The volume rise of the last four days puts yesterday far above its weekday (with the
    // default 20,000 cases an anomaly on every weekday; with 5,000 a quiet Sunday is borderline).
    const y = report.volumeAnomaly[0];
    expect(y).toMatchObject({ scope: 'ALL', baseline_days: 6 });
    expect(y.z_score).toBeGreaterThan(2.5);
    // weekday seasonality: weekends are quieter than weekdays
    const byDow = new Map<number, number[]>();
    for (const d of report.volumeTrend.slice(0, -1)) {
      const dow = new Date(`${d.date}T00:00:00Z`).getUTCDay();
      byDow.set(dow, [...(byDow.get(dow) ?? []), d.created]);
    }
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(avg(byDow.get(0)!)).toBeLessThan(avg(byDow.get(3)!) * 0.6);
  });

  test('regenerated when more than a day old, keeping run history', async () => {
    const dir = tmpDir();
    const db = join(dir, 'kpi.duckdb');
    const old = new Date(Date.now() - 3 * 86_400_000);
    await seedDemo({ dbPath: db, cases: 300, seed: 1, now: old });
    await recordRun(db, null, { trigger: 'test', ok: false, error: 'x', asOf: old });
    expect((await demoSeededAt(db))!.getTime()).toBe(Math.floor(old.getTime() / 1000) * 1000);
    await runPipeline({ settings: loadSettings({ KPI_DB_PATH: db, KPI_STATE_PATH: db, KPI_DEMO_CASES: '300' }), outDir: null, recordHistory: false });
    expect(Date.now() - (await demoSeededAt(db))!.getTime()).toBeLessThan(60_000);
    const runs = await withStore(db, (c) => query<{ n: number }>(c, 'SELECT count(*) AS n FROM run_history'));
    expect(runs[0].n).toBe(1);
  });
});
