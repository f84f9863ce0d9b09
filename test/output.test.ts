import { mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { csvField, formatCell, neutralise, renderCsv, writeAtomic, writeReportFiles } from '../src/render/files/csv';
import { makeReport } from './fixtures/report';
import { tmpDir } from './helpers/kpi';

describe('CSV cells', () => {
  test('numbers: hours 2 decimals, percentages 1 decimal, counts whole, null empty', () => {
    expect(formatCell('avg_resolution_hours', 4)).toBe('4.00');
    expect(formatCell('sla_compliance_pct', 66.66)).toBe('66.7');
    expect(formatCell('sla_compliance_pct', null)).toBe('');
    expect(formatCell('hours_to_breach', -0.001)).toBe('0.00');
    expect(formatCell('open_cases', 12)).toBe('12');
    expect(formatCell('is_spike', false)).toBe('false');
  });

  test('text cells that a spreadsheet would run as a formula are neutralised', () => {
    for (const t of ['=1+1', '+SUM(A1)', '-2+3', '@cmd', '\tx']) expect(neutralise(t)).toBe(`'${t}`);
    expect(neutralise('agent_1')).toBe('agent_1');
    const r = makeReport();
    r.atRiskCases[0].assignee = '=HYPERLINK("http://x","y")';
    r.atRiskCases[0].team = 'a,b "quoted"';
    const csv = renderCsv(r, 'sla_at_risk_cases');
    expect(csv).toContain(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csv).toContain('"a,b ""quoted"""');
    expect(csv.endsWith('\r\n')).toBe(true);
  });
});

test('fields round-trip through an RFC 4180 parser', () => {
  const tricky = ['plain', 'a,b', 'say "hi"', 'line\nbreak', 'cr\r\nlf', '', ' spaced ', 'é ü 日本', '"', ',,'];
  const text = `${tricky.map(csvField).join(',')}\r\n`;
  expect(parse(text, { relax_quotes: false })).toEqual([tricky]);
});

describe('atomic files', () => {
  test('writeAtomic replaces a file without leaving temp files', () => {
    const dir = tmpDir();
    const p = join(dir, 'f.csv');
    writeFileSync(p, 'old');
    writeAtomic(p, 'new');
    expect(readFileSync(p, 'utf8')).toBe('new');
    expect(readdirSync(dir)).toEqual(['f.csv']);
  });

  test('a failure while writing leaves the previous files and no temp file', () => {
    const dir = tmpDir();
    writeReportFiles(makeReport(), dir);
    const before = Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
    // A temp file that cannot be created (its name is taken by a folder) fails the write midway.
    const realNow = Date.now;
    Date.now = () => 42;
    mkdirSync(join(dir, `volume_trend.csv.${process.pid}.42.tmp`));
    try {
      expect(() => writeReportFiles(makeReport({ meta: { ...makeReport().meta, asOf: '2030-01-01T00:00:00Z' } }), dir)).toThrow(/EISDIR|illegal operation/);
    } finally {
      Date.now = realNow;
    }
    rmdirSync(join(dir, `volume_trend.csv.${process.pid}.42.tmp`));
    const after = Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
    expect(after).toEqual(before);
  });

  test('a rendering failure touches nothing', () => {
    const dir = tmpDir();
    writeReportFiles(makeReport(), dir);
    const before = readFileSync(join(dir, 'sla_summary.csv'), 'utf8');
    expect(() => writeReportFiles({ ...makeReport(), slaSummary: null as never }, dir)).toThrow();
    expect(readFileSync(join(dir, 'sla_summary.csv'), 'utf8')).toBe(before);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('writes every contract CSV and the text summary', () => {
    const dir = tmpDir();
    const files = writeReportFiles(makeReport(), dir).map((f) => f.slice(dir.length + 1)).sort();
    expect(files).toEqual(['backlog_spike_summary.csv', 'backlog_summary.csv', 'daily_ops_summary.csv', 'daily_ops_summary.txt', 'data_quality_score.csv', 'sla_at_risk_cases.csv', 'sla_policy_summary.csv', 'sla_summary.csv', 'volume_anomaly_summary.csv', 'volume_trend.csv']);
  });
});
