/**
 * The contract's files: CSV (header row, UTF-8, comma, RFC 4180) rendered from the typed
 * report, written atomically (temp file + rename: a reader never sees half a file).
 */
import { renameSync, writeFileSync, rmSync } from 'node:fs';
import type { KpiReport } from '../../contract/report';
import { renderDailyOpsText } from './text';
import { writeReportSet, type FaultHook } from './reportSet';

type Cell = string | number | boolean | null | undefined;

/** Column lists, in the contract's order. */
export const REPORT_FILES = {
  sla_summary: ['priority', 'total_cases', 'resolved_cases', 'open_cases', 'met', 'breached', 'pending', 'sla_compliance_pct', 'avg_resolution_hours', 'median_resolution_hours', 'p90_resolution_hours', 'first_response_compliance_pct'],
  backlog_summary: ['priority', 'open_cases', 'at_risk', 'breached', 'avg_age_hours', 'max_age_hours', 'age_0_1d', 'age_1_3d', 'age_3_7d', 'age_7d_plus'],
  volume_trend: ['date', 'created', 'resolved', 'net_change', 'backlog_end_of_day'],
  sla_at_risk_cases: ['case_id', 'priority', 'region', 'team', 'assignee', 'status', 'created_at', 'due_at', 'sla_target_hours', 'elapsed_hours', 'sla_elapsed_pct', 'hours_to_breach', 'risk_level', 'policy', 'calendar', 'clock_state', 'risk_stage'],
  backlog_spike_summary: ['scope', 'as_of_date', 'backlog_today', 'baseline_avg', 'growth_pct', 'threshold_pct', 'is_spike'],
  daily_ops_summary: ['as_of', 'as_of_date', 'cases_in_window', 'created_today', 'resolved_today', 'open_backlog', 'sla_compliance_pct', 'first_response_compliance_pct', 'at_risk_cases', 'breached_open_cases', 'backlog_growth_pct', 'backlog_spike', 'data_quality_score'],
  volume_anomaly_summary: ['scope', 'date', 'weekday', 'created', 'baseline_median', 'baseline_low', 'baseline_high', 'z_score', 'is_anomaly', 'direction', 'baseline_days'],
  data_quality_score: ['as_of', 'total_rows', 'missing_rows', 'missing_pct', 'duplicate_rows', 'duplicate_pct', 'invalid_sla_rows', 'invalid_sla_pct', 'quality_score', 'history_rows', 'invalid_history_rows'],
  sla_policy_summary: ['policy', 'calendar', 'total_cases', 'met', 'breached', 'pending', 'sla_compliance_pct', 'first_response_met', 'first_response_breached', 'first_response_compliance_pct'],
} as const;
export type ReportFile = keyof typeof REPORT_FILES;

/** Decimals per numeric column; other numbers are integers. */
const DECIMALS: Record<string, number> = {
  sla_compliance_pct: 1, first_response_compliance_pct: 1, growth_pct: 1, backlog_growth_pct: 1,
  missing_pct: 1, duplicate_pct: 1, invalid_sla_pct: 1, quality_score: 1, data_quality_score: 1,
  sla_elapsed_pct: 1, threshold_pct: 1,
  avg_resolution_hours: 2, median_resolution_hours: 2, p90_resolution_hours: 2, avg_age_hours: 2,
  max_age_hours: 2, sla_target_hours: 2, elapsed_hours: 2, hours_to_breach: 2, baseline_avg: 2,
  baseline_median: 2, baseline_low: 2, baseline_high: 2, z_score: 2,
};

/** Text cells a spreadsheet would run as a formula get a leading apostrophe. */
export function neutralise(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

export function formatCell(column: string, v: Cell): string {
  return cellFormatter(column)(v);
}

const formatters = new Map<string, (v: Cell) => string>();

/** The formatter of a column (decimals looked up once per column, not once per cell). */
function cellFormatter(column: string): (v: Cell) => string {
  let f = formatters.get(column);
  if (f) return f;
  const d = DECIMALS[column];
  f = (v: Cell): string => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return '';
      if (d === undefined) return String(Math.round(v));
      const s = v.toFixed(d);
      return s.charCodeAt(0) === 45 /* - */ && Number(s) === 0 ? s.slice(1) : s;
    }
    return neutralise(v);
  };
  formatters.set(column, f);
  return f;
}

function rowsOf(report: KpiReport, file: ReportFile): Record<string, Cell>[] {
  switch (file) {
    case 'sla_summary': return report.slaSummary as unknown as Record<string, Cell>[];
    case 'backlog_summary': return report.backlogSummary as unknown as Record<string, Cell>[];
    case 'volume_trend': return report.volumeTrend as unknown as Record<string, Cell>[];
    case 'sla_at_risk_cases': return report.atRiskCases as unknown as Record<string, Cell>[];
    case 'backlog_spike_summary': return report.backlogSpike as unknown as Record<string, Cell>[];
    case 'daily_ops_summary': return [report.dailyOps as unknown as Record<string, Cell>];
    case 'data_quality_score': return [report.dataQuality as unknown as Record<string, Cell>];
    case 'volume_anomaly_summary': return report.volumeAnomaly as unknown as Record<string, Cell>[];
    case 'sla_policy_summary': return (report.slaPolicySummary ?? []) as unknown as Record<string, Cell>[];
  }
}

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

const NEEDS_CARE = /^[=+\-@\t\r]|[",\r\n]/;

/** One contract file as CSV text (also what slash commands upload). CRLF line ends. */
export function renderCsv(report: KpiReport, file: ReportFile): string {
  const cols = REPORT_FILES[file] as readonly string[];
  const fmts = cols.map(cellFormatter);
  const rows = rowsOf(report, file);
  const lines = new Array<string>(rows.length + 1);
  lines[0] = cols.join(',');
  const cells = new Array<string>(cols.length);
  for (let j = 0; j < rows.length; j++) {
    const r = rows[j];
    for (let i = 0; i < cols.length; i++) {
      const v = r[cols[i]];
      // Most text needs neither neutralising nor quoting: one test decides.
      cells[i] = typeof v === 'string' ? (NEEDS_CARE.test(v) ? csvField(neutralise(v)) : v) : fmts[i](v);
    }
    lines[j + 1] = cells.join(',');
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** Writes a file atomically: a temp file in the same folder, then rename. */
export function writeAtomic(path: string, content: string | Buffer): void {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Writes the contract's CSVs and daily_ops_summary.txt as one set (reportSet.ts): everything
 * is rendered first, then staged, then swapped in with a rollback; a failure at any step
 * leaves the previous set whole and no temp file behind.
 */
export function writeReportFiles(report: KpiReport, outDir: string, fault?: FaultHook): string[] {
  const rendered: [string, string][] = (Object.keys(REPORT_FILES) as ReportFile[]).map((f) => [`${f}.csv`, renderCsv(report, f)]);
  rendered.push(['daily_ops_summary.txt', renderDailyOpsText(report)]);
  return writeReportSet(outDir, rendered, { runId: report.meta.runId, asOf: report.meta.asOf }, fault);
}
