/** ReportService: freshness, one shared run, slices, closing replaced case sets, failures. */
import { ReportService } from '../src/pipeline/runCache';
import { fakePipeline, testSettings } from './slack-app.helpers';

function clock(start = Date.parse('2026-11-23T09:00:00Z')) {
  let t = start;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
}

describe('ReportService', () => {
  test('answers from the fresh run; a new run after KPI_CACHE_MINUTES', async () => {
    const pipe = fakePipeline();
    const c = clock();
    const svc = new ReportService({ settings: testSettings({ KPI_CACHE_MINUTES: '10' }), runPipeline: pipe.run, now: c.now });
    expect(svc.isFresh()).toBe(false);
    const a = await svc.get();
    expect(a.cached).toBe(false);
    expect(svc.isFresh()).toBe(true);
    c.advance(9 * 60_000);
    const b = await svc.get();
    expect(b.cached).toBe(true);
    expect(b.report).toBe(a.report);
    expect(pipe.runs).toHaveLength(1);
    c.advance(2 * 60_000);
    expect(svc.isFresh()).toBe(false);
    const d = await svc.get();
    expect(d.cached).toBe(false);
    expect(pipe.runs).toHaveLength(2);
    expect(pipe.closed).toBe(1); // the first run's cases were released
    expect(pipe.runs[0]).toMatchObject({ trigger: 'slack', keepData: true });
    await svc.close();
    expect(pipe.closed).toBe(2);
  });

  test("a run made elsewhere (the digest's) is adopted: /kpi answers from it while fresh, its cases are closed when replaced", async () => {
    const pipe = fakePipeline();
    const c = clock();
    const svc = new ReportService({ settings: testSettings({ KPI_CACHE_MINUTES: '10' }), runPipeline: pipe.run, now: c.now });
    const digestRun = await pipe.run({ settings: testSettings(), trigger: 'schedule', keepData: true });
    svc.adopt(digestRun, 1234);
    expect(svc.isFresh()).toBe(true);
    const a = await svc.get({ filter: { priority: 'P1' } });
    expect(a.cached).toBe(true);
    expect(a.run).toMatchObject({ runId: 'run-1', durationMs: 1234 });
    expect(pipe.runs).toHaveLength(1); // only the digest's own run
    expect(pipe.computes).toEqual([{ filter: { priority: 'P1' }, windowDays: undefined }]);
    c.advance(11 * 60_000);
    const b = await svc.get();
    expect(b.cached).toBe(false);
    expect(pipe.closed).toBe(1); // the adopted cases, once replaced
    await svc.close();
    expect(pipe.closed).toBe(2);
    // While shutting down, an adopted run's cases are closed at once.
    svc.adopt(await pipe.run({ settings: testSettings(), trigger: 'schedule', keepData: true }));
    expect(pipe.closed).toBe(3);
  });

  test('a run no longer fresh releases its kept cases even when no newer run replaces it', async () => {
    const pipe = fakePipeline();
    const svc = new ReportService({ settings: testSettings({ KPI_CACHE_MINUTES: '0.001' }), runPipeline: pipe.run });
    await svc.get();
    expect(pipe.closed).toBe(0);
    await new Promise((ok) => setTimeout(ok, 1200));
    expect(pipe.closed).toBe(1);
    expect(svc.isFresh()).toBe(false);
    const again = await svc.get();
    expect(again.cached).toBe(false);
    expect(pipe.runs).toHaveLength(2);
    await svc.close();
    expect(pipe.closed).toBe(2);
  });

  test('concurrent requests share one in-flight run (no stampede)', async () => {
    const pipe = fakePipeline(50);
    const svc = new ReportService({ settings: testSettings(), runPipeline: pipe.run });
    const answers = await Promise.all(Array.from({ length: 25 }, (_, i) => svc.get(i % 2 ? { filter: { priority: 'P1' } } : {})));
    expect(pipe.runs).toHaveLength(1);
    expect(new Set(answers.map((a) => a.run.runId))).toEqual(new Set(['run-1']));
    // Identical slices were computed once.
    expect(pipe.computes).toHaveLength(1);
    await svc.close();
  });

  test('a replaced case set is closed only after the requests using it finish', async () => {
    const pipe = fakePipeline();
    pipe.computeDelayMs = 100;
    const c = clock();
    const svc = new ReportService({ settings: testSettings({ KPI_CACHE_MINUTES: '1' }), runPipeline: pipe.run, now: c.now });
    await svc.get();
    const slow = svc.get({ filter: { region: 'EMEA' } }); // holds run-1's cases for 100 ms
    await new Promise((ok) => setTimeout(ok, 10));
    c.advance(2 * 60_000);
    await svc.refresh(); // run-2 replaces run-1 while the slice is still computing
    expect(pipe.closed).toBe(0);
    const s = await slow;
    expect(s.report.meta.filter).toEqual({ region: 'EMEA' });
    expect(pipe.closed).toBe(1);
    await svc.close();
  });

  test('refresh forces a run even when fresh; force joins a run in flight', async () => {
    const pipe = fakePipeline(30);
    const svc = new ReportService({ settings: testSettings(), runPipeline: pipe.run });
    await svc.get();
    await Promise.all([svc.refresh(), svc.refresh(), svc.get()]);
    expect(pipe.runs).toHaveLength(2);
    await svc.close();
  });

  test('days within the run window use compute; a longer window gets its own run for the same as_of', async () => {
    const pipe = fakePipeline();
    const svc = new ReportService({ settings: testSettings({ KPI_WINDOW_DAYS: '30' }), runPipeline: pipe.run });
    const a = await svc.get({ windowDays: 7 });
    expect(a.report.meta.windowDays).toBe(7);
    expect(pipe.computes).toEqual([{ filter: undefined, windowDays: 7 }]);
    const same = await svc.get({ windowDays: 30 });
    expect(same.report).toBe((await svc.get()).report);
    const wide = await svc.get({ windowDays: 90, filter: { team: 'core' } });
    expect(pipe.runs).toHaveLength(2);
    expect(pipe.runs[1].settings.KPI_WINDOW_DAYS).toBe(90);
    expect(pipe.runs[1]).toMatchObject({ outDir: null, recordHistory: false });
    expect(pipe.runs[1].asOf!.toISOString()).toBe('2026-11-23T09:00:00.000Z');
    expect(wide.report.meta).toMatchObject({ windowDays: 90, filter: { team: 'core' } });
    expect(pipe.closed).toBe(1); // the wide run's cases were closed right away
    await svc.close();
  });

  test('a failed run is reported to every waiter and in status; the next request retries', async () => {
    const pipe = fakePipeline(20);
    pipe.failNext = new Error('source unreachable');
    const c = clock();
    const svc = new ReportService({ settings: testSettings(), runPipeline: pipe.run, now: c.now });
    const results = await Promise.allSettled([svc.get(), svc.get()]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(pipe.runs).toHaveLength(1);
    expect(svc.status()).toMatchObject({ health: 'failing', lastRun: { ok: false, error: 'Error: source unreachable' } });
    await svc.get();
    expect(svc.status()).toMatchObject({ health: 'ok', lastRun: { ok: true, asOf: '2026-11-23T09:00:00Z', source: 'demo' }, cacheFresh: true });
    c.advance(25 * 3600_000);
    expect(svc.status().health).toBe('stale');
    await svc.close();
  });

  test('status lists schedules', async () => {
    const svc = new ReportService({ settings: testSettings(), runPipeline: fakePipeline().run });
    svc.addSchedule('digest', () => new Date('2026-11-24T08:00:00.000Z'));
    svc.addSchedule('alerts', () => { throw new Error('x'); });
    expect(svc.status().nextRuns).toEqual([{ name: 'digest', at: '2026-11-24T08:00:00Z' }, { name: 'alerts', at: null }]);
    expect(svc.status().health).toBe('unknown');
  });

  test('after close, requests are refused', async () => {
    const svc = new ReportService({ settings: testSettings(), runPipeline: fakePipeline().run });
    await svc.close();
    await expect(svc.get()).rejects.toThrow('shutting down');
  });
});
