import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordRun, previousRun, lastRun } from '../src/store/history';
import { makeReport } from './fixtures/report';

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
