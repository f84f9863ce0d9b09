/**
 * The digest looks the same everywhere: the preview (npm start) is what the digest job
 * posts (same comparison run, same blocks, same charts); the charts carry their own font
 * (text is drawn with system fonts off); the second chart draws the report's per-day SLA
 * compliance against the goal; counts carry thousands separators in the TXT.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '../src/config/settings';
import { silentLogger } from '../src/support/log';
import { createSlackClient } from '../src/slack-api/client';
import { createDigestJob, findPrevious } from '../src/jobs/digest';
import { recordRun } from '../src/pipeline/runHistory';
import { writeSlackPreview } from '../src/app/preview';
import { chartFontCheck, complianceChartSvg, renderComplianceChart, renderTrendChart } from '../src/render/slack/chart';
import { renderDailyOpsText } from '../src/render/files/text';
import { renderDigest } from '../src/render/slack/digest';
import type { KpiReport, SlaComplianceDayRow } from '../src/contract/report';
import { startFakeSlack } from './fakes/slackServer';
import { makeReport } from './fixtures/report';
import { row, runCsv } from './helpers/kpi';

function withCompliance(r: KpiReport): KpiReport {
  r.slaComplianceByDay = r.volumeTrend.map((d, i): SlaComplianceDayRow => {
    const met = 20 + (i % 5);
    const breached = i % 4;
    return { date: d.date, met, breached, sla_compliance_pct: Math.round((met * 1000) / (met + breached)) / 10 };
  });
  return r;
}

describe('SLA compliance per day (the model)', () => {
  test('resolved cases per resolved day, met and breached, compliance; days without any: null', async () => {
    const r = await runCsv([
      row({ id: 'A', created: '2026-11-22T00:00:00Z', resolved: '2026-11-22T10:00:00Z', status: 'solved', priority: 'P3' }),
      row({ id: 'B', created: '2026-11-20T00:00:00Z', resolved: '2026-11-22T12:00:00Z', status: 'solved', priority: 'P3' }),
      row({ id: 'C', created: '2026-11-23T01:00:00Z', resolved: '2026-11-23T02:00:00Z', status: 'solved', priority: 'P1' }),
      row({ id: 'D', created: '2026-11-23T03:00:00Z', status: 'open', priority: 'P2' }),
    ], '2026-11-23T12:00:00Z');
    const days = r.slaComplianceByDay!;
    expect(days).toHaveLength(30);
    expect(days.map((d) => d.date)).toEqual(r.volumeTrend.map((d) => d.date));
    expect(days.slice(-3)).toEqual([
      { date: '2026-11-21', met: 0, breached: 0, sla_compliance_pct: null },
      { date: '2026-11-22', met: 1, breached: 1, sla_compliance_pct: 50 },
      { date: '2026-11-23', met: 1, breached: 0, sla_compliance_pct: 100 },
    ]);
  });
});

describe('charts carry their own font', () => {
  test('text is drawn with system fonts off; without the font files nothing is', () => {
    const rows = makeReport().volumeTrend;
    expect(chartFontCheck().ok).toBe(true);
    const titled = renderTrendChart(rows, { title: 'Support volume', scale: 1 });
    const untitled = renderTrendChart(rows, { title: '', scale: 1 });
    expect(titled.equals(untitled)).toBe(false);
    // Control: no font file and no system fonts draws no text at all, so the difference
    // above comes from the bundled font, not from fonts installed on this machine.
    const bare = { fontFiles: [] as string[], systemFontsFallback: false, scale: 1 };
    expect(renderTrendChart(rows, { ...bare, title: 'Support volume' }).equals(renderTrendChart(rows, { ...bare, title: '' }))).toBe(true);
    expect(chartFontCheck([]).ok).toBe(false);
  });

  test('the compliance chart: a bar per day with a value, coloured against the goal, the goal line', () => {
    const rows: SlaComplianceDayRow[] = [
      { date: '2026-11-21', met: 0, breached: 0, sla_compliance_pct: null },
      { date: '2026-11-22', met: 1234, breached: 10, sla_compliance_pct: 99.2 },
      { date: '2026-11-23', met: 8, breached: 2, sla_compliance_pct: 80 },
    ];
    const svg = complianceChartSvg(rows, { goalPct: 95 });
    expect(svg.match(/<rect [^>]*fill="#22c55e"/g)).toHaveLength(1 + 1); // legend + the 99.2% day
    expect(svg.match(/<rect [^>]*fill="#ef4444"/g)).toHaveLength(1 + 1); // legend + the 80% day
    expect(svg).toContain('stroke-dasharray="6 4"');
    expect(svg).toContain('Goal 95%');
    expect(svg).toContain('1,244 resolved');
    const png = renderComplianceChart(rows, { goalPct: 95, scale: 1 });
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });
});

describe('the preview is what the digest job posts', () => {
  test('same blocks (same comparison run) and the same charts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'digest-looks-'));
    const fake = await startFakeSlack({ token: 'xoxb-looks' });
    try {
      const db = join(dir, 'kpi.duckdb');
      const settings = loadSettings({ SLACK_BOT_TOKEN: 'xoxb-looks', SLACK_API_URL: fake.url, KPI_DIGEST_CHANNEL: 'C0DIGEST01', KPI_DB_PATH: db, KPI_STATE_PATH: db, KPI_SLA_GOAL_PCT: '97' });
      // Yesterday's scheduled run and a later unscheduled one: the digest compares with the scheduled one.
      const prev = makeReport();
      prev.meta = { ...prev.meta, runId: 'yesterday', asOf: '2026-11-22T08:00:00Z', asOfDate: '2026-11-22' };
      prev.dailyOps = { ...prev.dailyOps, open_backlog: 1160 };
      await recordRun(db, prev, { trigger: 'schedule', ok: true });
      const later = makeReport();
      later.meta = { ...later.meta, runId: 'yesterday-late', asOf: '2026-11-22T20:00:00Z', asOfDate: '2026-11-22' };
      later.dailyOps = { ...later.dailyOps, open_backlog: 170 };
      await recordRun(db, later, { trigger: 'cli', ok: true });

      const report = withCompliance(makeReport());
      const log = silentLogger();
      const slack = createSlackClient(settings, log);
      const job = createDigestJob({ settings, log, slack, run: async () => ({ report, files: [] }), clock: () => new Date('2026-11-23T09:00:00Z'), outDir: null, maxRetries: 0 });
      const out = await job.runOnce('manual');
      expect(out.status).toBe('sent');
      if (out.status !== 'sent') return;
      const posted = fake.messagesIn('C0DIGEST01')[0];

      const written = writeSlackPreview(report, await findPrevious(db, report), join(dir, 'out'), { dqMin: settings.KPI_DQ_MIN, goalPct: settings.KPI_SLA_GOAL_PCT });
      const preview = JSON.parse(readFileSync(written.blocksPath, 'utf8')) as { blocks: unknown[] };
      expect(preview.blocks).toEqual(posted.blocks);
      expect(JSON.stringify(preview.blocks)).toContain('▼ −986'); // 174 vs the scheduled run's 1,160
      const uploads = fake.uploadsIn('C0DIGEST01', out.ts);
      expect(uploads.map((u) => u.filename)).toEqual(expect.arrayContaining(['trend.png', 'sla_compliance.png']));
      expect(readFileSync(written.chartPath).equals(uploads.find((u) => u.filename === 'trend.png')!.content!)).toBe(true);
      expect(readFileSync(written.compliancePath!).equals(uploads.find((u) => u.filename === 'sla_compliance.png')!.content!)).toBe(true);
      await job.stop();
    } finally {
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('demo data says so; counts have thousands separators', () => {
  test('the TXT: the first line names demo data; counts are grouped', () => {
    const r = makeReport();
    r.meta = { ...r.meta, demo: true };
    r.dailyOps = { ...r.dailyOps, cases_in_window: 12345, open_backlog: 2345 };
    const txt = renderDailyOpsText(r);
    expect(txt.split('\n')[0]).toBe('DEMO DATA: generated sample cases, not your support data (set KPI_SOURCE to read your own)');
    expect(txt).toContain('Cases in window ........ 12,345');
    expect(txt).toContain('- 2,345 cases are open;');
    const real = renderDailyOpsText(makeReport());
    expect(real.split('\n')[0]).toBe('Global support - daily ops summary for 2026-11-23');
  });

  test('the digest: its header, its first context line and the notification text', () => {
    const r = makeReport();
    r.meta = { ...r.meta, demo: true };
    const m = renderDigest(r, null, { dqMin: 90 });
    expect((m.blocks[0] as { text: { text: string } }).text.text).toBe(':bar_chart: Support KPIs · Mon 23 Nov 2026 · DEMO DATA');
    expect(JSON.stringify(m.blocks[1])).toContain('DEMO DATA: generated sample cases, not your support data');
    expect(m.text).toMatch(/^\[DEMO DATA\] Support KPIs 2026-11-23:/);
    // real data carries no such words
    const real = renderDigest(makeReport(), null, { dqMin: 90 });
    expect(JSON.stringify(real)).not.toContain('DEMO');
  });
});
