import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordRun, previousRun, lastRun } from '../src/pipeline/runHistory';
import { makeReport } from './fixtures/report';
import { loadSettings } from '../src/config/settings';
import { runPipeline } from '../src/pipeline/run';

describe('run history', () => {
  let dir: string;
  let db: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'hist-')); db = join(dir, 'kpi.duckdb'); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function reportAt(asOf: string, runId: string, backlog: number) {
    const r = makeReport();
    r.meta = { ...r.meta, asOf, asOfDate: asOf.slice(0, 10), runId };
    r.dailyOps = { ...r.dailyOps, open_backlog: backlog, sla_compliance_pct: null };
    return r;
  }

  test('records runs and finds the previous one', async () => {
    expect(await lastRun(db)).toBeNull();
    await recordRun(db, reportAt('2026-11-21T08:00:00Z', 'r1', 100), { trigger: 'schedule', ok: true, startedAt: new Date('2026-11-21T08:00:01Z') });
    await recordRun(db, reportAt('2026-11-22T08:00:00Z', 'r2', 110), { trigger: 'schedule', ok: true, startedAt: new Date('2026-11-22T08:00:01Z') });
    await recordRun(db, reportAt('2026-11-23T07:45:00Z', 'r3', 111), { trigger: 'alert', ok: true, startedAt: new Date('2026-11-23T07:45:01Z') });
    await recordRun(db, null, { trigger: 'cli', ok: false, error: 'boom', asOf: '2026-11-23T08:30:00Z', runId: 'r4', source: 'demo', startedAt: new Date('2026-11-23T08:30:01Z') });
    // same run id again: ignored
    await recordRun(db, reportAt('2026-11-22T08:00:00Z', 'r2', 999), { trigger: 'schedule', ok: true });

    const last = await lastRun(db);
    expect(last).toMatchObject({ run_id: 'r4', ok: false, error: 'boom', as_of: '2026-11-23T08:30:00Z', open_backlog: null });
    expect((await lastRun(db, { okOnly: true }))!.run_id).toBe('r3');

    const prev = await previousRun(db, '2026-11-23T09:00:00Z');
    expect(prev).toMatchObject({ run_id: 'r3', trigger: 'alert', as_of_date: '2026-11-23', ok: true, open_backlog: 111, sla_compliance_pct: null });
    const yesterday = await previousRun(db, '2026-11-23T09:00:00Z', { beforeDate: '2026-11-23', triggers: ['schedule'] });
    expect(yesterday).toMatchObject({ run_id: 'r2', open_backlog: 110, started_at: '2026-11-22T08:00:01Z', data_quality_score: 97.4, backlog_spike: false });
    expect(yesterday!.timings).toEqual({ total: 120 });
    expect(await previousRun(db, '2026-11-21T08:00:00Z')).toBeNull();
  });
});

describe('run history of a pipeline run', () => {
  const fixture = join(__dirname, 'fixtures', 'cases_small.csv');
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'hist-run-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const settingsFor = (db: string) => loadSettings({ KPI_SOURCE: 'csv', KPI_CSV_PATH: fixture, KPI_DB_PATH: db, KPI_STATE_PATH: db, KPI_LOG_DIR: join(dir, 'logs') });

  test('a run that fails after its history store opened records the failure only, and leaves the store usable', async () => {
    // The history store opens while the reports are computed; here the write then fails
    // (the output folder is a file).
    const db = join(dir, 'kpi.duckdb');
    const notADir = join(dir, 'output');
    writeFileSync(notADir, 'a file, not a folder');
    await expect(runPipeline({ settings: settingsFor(db), asOf: new Date('2026-11-23T12:00:00Z'), outDir: notADir, trigger: 'test' }))
      .rejects.toThrow(/EEXIST|ENOTDIR|not a directory/i);
    const failed = await lastRun(db);
    expect(failed).toMatchObject({ ok: false, trigger: 'test' });
    expect(await lastRun(db, { okOnly: true })).toBeNull();

    // The store is not left locked: the next run records itself.
    const ok = await runPipeline({ settings: settingsFor(db), asOf: new Date('2026-11-23T12:00:00Z'), outDir: join(dir, 'out'), trigger: 'test' });
    const last = await lastRun(db);
    expect(last).toMatchObject({ run_id: ok.report.meta.runId, ok: true });
    expect(last!.timings).toMatchObject({ write: expect.any(Number), kpis: expect.any(Number) });
  });
});
