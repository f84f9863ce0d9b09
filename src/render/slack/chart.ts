/**
 * The 30-day trend chart (created and resolved per day as bars, end-of-day backlog as a
 * line on its own axis), drawn as hand-written SVG and rasterised to PNG by resvg: no
 * browser, no canvas. It only draws the report's volume_trend rows; it computes nothing.
 *
 * Fonts: the chart carries its own, Inter (SIL Open Font License 1.1, the TTF files of the
 * @expo-google-fonts/inter package), loaded by file with system fonts off: the text looks
 * the same on a laptop and in a slim container without any font installed, and no system
 * font scan slows the render. Without a font file the chart still renders, only without
 * text (`kpi doctor` reports that).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import type { SlaComplianceDayRow, VolumeAnomalyRow, VolumeTrendRow } from '../../contract/report';

/** The family name inside the bundled font files. */
export const CHART_FONT_FAMILY = 'Inter';

function bundledFontFiles(): string[] {
  try {
    const dir = dirname(require.resolve('@expo-google-fonts/inter/package.json'));
    return [join(dir, '400Regular', 'Inter_400Regular.ttf'), join(dir, '700Bold', 'Inter_700Bold.ttf')];
  } catch {
    return [];
  }
}

/** Inter regular and bold, from the npm package (empty when the package is missing). */
export const DEFAULT_FONT_FILES: string[] = bundledFontFiles();

export interface ChartOptions {
  title?: string;
  subtitle?: string;
  /** Logical size in px (default 960 x 480). */
  width?: number;
  height?: number;
  /** Pixel ratio of the PNG (default 2: sharp on high-density screens). */
  scale?: number;
  /** Font files to load (default: the bundled Inter). */
  fontFiles?: string[];
  /** Scan system fonts when no font file is available (default false: the chart carries its font). */
  systemFontsFallback?: boolean;
  /** Treat the last row as a partial day (drawn lighter). Default true. */
  lastDayPartial?: boolean;
  /** Days with a volume anomaly (contract 7): marked above their created bar, with a legend entry. */
  anomalies?: Pick<VolumeAnomalyRow, 'date' | 'direction' | 'scope'>[];
}

const COLORS = {
  created: '#3b82f6',
  resolved: '#22c55e',
  backlog: '#f97316',
  anomalyHigh: '#dc2626',
  anomalyLow: '#7c3aed',
  axis: '#6b7280',
  grid: '#e5e7eb',
  text: '#111827',
  muted: '#6b7280',
  bg: '#ffffff',
};

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** "2026-11-23" -> "Nov 23" (dates are already days in the report's zone). */
export function shortDate(d: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(d);
  if (!m) return d;
  return `${MONTHS[Number(m[2]) - 1] ?? m[2]} ${Number(m[3])}`;
}

/** A round axis maximum and step for `ticks` intervals (axis drawing, not a KPI). */
export function niceScale(max: number, ticks = 5): { max: number; step: number } {
  if (!Number.isFinite(max) || max <= 0) return { max: ticks, step: 1 };
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const nice = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10;
  let step = nice * mag;
  if (step < 1) step = 1;
  return { max: Math.ceil(max / step) * step, step };
}

/** A nice step so that `intervals` steps cover `max` (right axis shares the left axis's grid lines). */
export function alignedScale(max: number, intervals: number): { max: number; step: number } {
  const n = Math.max(1, intervals);
  const raw = Math.max(max, 1) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((c) => c >= raw - 1e-9) ?? 10 * mag;
  if (step < 1) step = 1;
  return { max: step * n, step };
}

/** Axis and value labels: counts with thousands separators, like every other output. */
function fmt(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(1);
}

const FONT_ATTR = `font-family="${CHART_FONT_FAMILY}, sans-serif"`;

export function trendChartSvg(rows: VolumeTrendRow[], opts: ChartOptions = {}): string {
  const W = opts.width ?? 960;
  const H = opts.height ?? 480;
  const title = opts.title ?? `Support volume, last ${rows.length} days`;
  const partial = opts.lastDayPartial ?? true;
  const font = FONT_ATTR;
  const m = { top: 78, right: 70, bottom: 58, left: 62 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="${COLORS.bg}"/>`);
  out.push(`<text x="${m.left}" y="28" ${font} font-size="18" font-weight="bold" fill="${COLORS.text}">${xmlEscape(title)}</text>`);
  if (opts.subtitle) {
    out.push(`<text x="${m.left}" y="48" ${font} font-size="12" fill="${COLORS.muted}">${xmlEscape(opts.subtitle)}</text>`);
  }

  // Legend (top right)
  const legend: [string, string, 'bar' | 'line'][] = [
    ['Created', COLORS.created, 'bar'],
    ['Resolved', COLORS.resolved, 'bar'],
    ['Backlog (end of day, right axis)', COLORS.backlog, 'line'],
  ];
  let lx = m.left;
  const ly = 64;
  // Anomaly days: one marker per day (high wins over low when scopes disagree), drawn only
  // when there are some, so a quiet chart is unchanged.
  const marked = new Map<string, 'high' | 'low'>();
  for (const a of opts.anomalies ?? []) {
    if (a.direction && rows.some((r) => r.date === a.date) && marked.get(a.date) !== 'high') marked.set(a.date, a.direction);
  }
  if (marked.size) legend.push(['Volume anomaly', COLORS.anomalyHigh, 'bar']);
  for (const [label, color, kind] of legend) {
    if (kind === 'bar') out.push(`<rect x="${lx}" y="${ly - 9}" width="12" height="12" fill="${color}"/>`);
    else out.push(`<line x1="${lx - 2}" y1="${ly - 3}" x2="${lx + 14}" y2="${ly - 3}" stroke="${color}" stroke-width="3"/><circle cx="${lx + 6}" cy="${ly - 3}" r="3" fill="${color}"/>`);
    out.push(`<text x="${lx + 18}" y="${ly + 1}" ${font} font-size="12" fill="${COLORS.text}">${xmlEscape(label)}</text>`);
    lx += 18 + label.length * 7 + 22;
  }

  if (rows.length === 0) {
    out.push(`<text x="${W / 2}" y="${m.top + ph / 2}" ${font} font-size="16" text-anchor="middle" fill="${COLORS.muted}">No data in the window</text>`);
    out.push('</svg>');
    return out.join('\n');
  }

  const barMax = niceScale(Math.max(...rows.map((r) => Math.max(r.created, r.resolved)), 1));
  const intervals = Math.round(barMax.max / barMax.step);
  const lineMax = alignedScale(Math.max(...rows.map((r) => r.backlog_end_of_day), 1), intervals);
  const yL = (v: number) => m.top + ph - (v / barMax.max) * ph;
  const yR = (v: number) => m.top + ph - (v / lineMax.max) * ph;
  const slot = pw / rows.length;
  const barW = Math.max(1, Math.min(14, (slot * 0.8) / 2));

  // Grid and left axis labels
  for (let v = 0; v <= barMax.max + 1e-9; v += barMax.step) {
    const y = yL(v).toFixed(1);
    out.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="${COLORS.grid}" stroke-width="1"/>`);
    out.push(`<text x="${m.left - 8}" y="${(Number(y) + 4).toFixed(1)}" ${font} font-size="11" text-anchor="end" fill="${COLORS.axis}">${fmt(v)}</text>`);
  }
  // Right axis labels (backlog)
  const rightTicks = Math.round(lineMax.max / lineMax.step);
  for (let i = 0; i <= rightTicks; i++) {
    const v = i * lineMax.step;
    out.push(`<text x="${m.left + pw + 8}" y="${(yR(v) + 4).toFixed(1)}" ${font} font-size="11" fill="${COLORS.backlog}">${fmt(v)}</text>`);
  }
  out.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" ${font} font-size="11" text-anchor="middle" fill="${COLORS.axis}">cases per day</text>`);
  out.push(`<text transform="translate(${W - 14} ${m.top + ph / 2}) rotate(90)" ${font} font-size="11" text-anchor="middle" fill="${COLORS.backlog}">open backlog</text>`);

  // Bars
  rows.forEach((r, i) => {
    const cx = m.left + slot * i + slot / 2;
    const op = partial && i === rows.length - 1 ? ' fill-opacity="0.45"' : '';
    const yc = yL(r.created);
    const yr = yL(r.resolved);
    out.push(`<rect x="${(cx - barW).toFixed(1)}" y="${yc.toFixed(1)}" width="${barW.toFixed(1)}" height="${(m.top + ph - yc).toFixed(1)}" fill="${COLORS.created}"${op}/>`);
    out.push(`<rect x="${cx.toFixed(1)}" y="${yr.toFixed(1)}" width="${barW.toFixed(1)}" height="${(m.top + ph - yr).toFixed(1)}" fill="${COLORS.resolved}"${op}/>`);
  });

  // Anomaly markers: a triangle above the day's created bar, pointing up (high) or down (low)
  rows.forEach((r, i) => {
    const dir = marked.get(r.date);
    if (!dir) return;
    const cx = m.left + slot * i + slot / 2 - barW / 2;
    const y = Math.max(m.top - 4, yL(Math.max(r.created, r.resolved)) - 8);
    const pts = dir === 'high'
      ? `${(cx - 6).toFixed(1)},${y.toFixed(1)} ${(cx + 6).toFixed(1)},${y.toFixed(1)} ${cx.toFixed(1)},${(y - 10).toFixed(1)}`
      : `${(cx - 6).toFixed(1)},${(y - 10).toFixed(1)} ${(cx + 6).toFixed(1)},${(y - 10).toFixed(1)} ${cx.toFixed(1)},${y.toFixed(1)}`;
    out.push(`<polygon points="${pts}" fill="${dir === 'high' ? COLORS.anomalyHigh : COLORS.anomalyLow}"><title>${xmlEscape(`Volume anomaly (${dir}) on ${r.date}`)}</title></polygon>`);
  });

  // Backlog line
  const pts = rows.map((r, i) => `${(m.left + slot * i + slot / 2).toFixed(1)},${yR(r.backlog_end_of_day).toFixed(1)}`);
  out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${COLORS.backlog}" stroke-width="2.5" stroke-linejoin="round"/>`);
  rows.forEach((r, i) => {
    const x = (m.left + slot * i + slot / 2).toFixed(1);
    out.push(`<circle cx="${x}" cy="${yR(r.backlog_end_of_day).toFixed(1)}" r="2.5" fill="${COLORS.backlog}"/>`);
  });
  const last = rows[rows.length - 1];
  out.push(`<text x="${(m.left + slot * (rows.length - 1) + slot / 2).toFixed(1)}" y="${(yR(last.backlog_end_of_day) - 8).toFixed(1)}" ${font} font-size="11" font-weight="bold" text-anchor="end" fill="${COLORS.backlog}">${fmt(last.backlog_end_of_day)}</text>`);

  // Axes
  out.push(`<line x1="${m.left}" y1="${m.top + ph}" x2="${m.left + pw}" y2="${m.top + ph}" stroke="${COLORS.axis}" stroke-width="1"/>`);
  out.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + ph}" stroke="${COLORS.axis}" stroke-width="1"/>`);
  out.push(`<line x1="${m.left + pw}" y1="${m.top}" x2="${m.left + pw}" y2="${m.top + ph}" stroke="${COLORS.backlog}" stroke-width="1"/>`);

  // Date labels: about 8 of them, always the last day
  const every = Math.max(1, Math.ceil(rows.length / 8));
  rows.forEach((r, i) => {
    const fromEnd = rows.length - 1 - i;
    if (fromEnd % every !== 0) return;
    const x = (m.left + slot * i + slot / 2).toFixed(1);
    out.push(`<line x1="${x}" y1="${m.top + ph}" x2="${x}" y2="${m.top + ph + 5}" stroke="${COLORS.axis}"/>`);
    out.push(`<text x="${x}" y="${m.top + ph + 20}" ${font} font-size="11" text-anchor="middle" fill="${COLORS.axis}">${xmlEscape(shortDate(r.date))}</text>`);
  });
  if (partial) {
    out.push(`<text x="${m.left + pw}" y="${m.top + ph + 40}" ${font} font-size="11" text-anchor="end" fill="${COLORS.muted}">Last day is partial (up to the run time)</text>`);
  }
  out.push('</svg>');
  return out.join('\n');
}

/** SVG to PNG with the chart's own fonts (system fonts only when asked for and no file is there). */
export function svgToPng(svg: string, opts: Pick<ChartOptions, 'fontFiles' | 'systemFontsFallback' | 'scale'> = {}): Buffer {
  const fontFiles = (opts.fontFiles ?? DEFAULT_FONT_FILES).filter((f) => existsSync(f));
  const resvg = new Resvg(svg, {
    font: {
      fontFiles,
      loadSystemFonts: fontFiles.length === 0 && (opts.systemFontsFallback ?? false),
      defaultFontFamily: fontFiles.length ? CHART_FONT_FAMILY : undefined,
      sansSerifFamily: fontFiles.length ? CHART_FONT_FAMILY : undefined,
    },
    fitTo: { mode: 'zoom', value: opts.scale ?? 2 },
    background: COLORS.bg,
    logLevel: 'off',
  });
  return resvg.render().asPng();
}

/** Renders the trend chart to PNG bytes. */
export function renderTrendChart(rows: VolumeTrendRow[], opts: ChartOptions = {}): Buffer {
  return svgToPng(trendChartSvg(rows, opts), opts);
}

/**
 * Can the chart draw text? Renders a label and an empty label with the chart's fonts (no
 * system fonts) and compares: identical images mean no glyph was drawn. For `kpi doctor`.
 */
export function chartFontCheck(fontFiles: string[] = DEFAULT_FONT_FILES): { ok: boolean; files: string[]; missing: string[] } {
  const present = fontFiles.filter((f) => existsSync(f));
  const missing = fontFiles.filter((f) => !existsSync(f));
  const svg = (label: string) => `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="30"><text x="4" y="20" ${FONT_ATTR} font-size="14">${label}</text></svg>`;
  const withText = svgToPng(svg('Backlog 1,234'), { fontFiles: present, scale: 1 });
  const blank = svgToPng(svg(''), { fontFiles: present, scale: 1 });
  return { ok: present.length > 0 && !withText.equals(blank), files: present, missing };
}

/* ---- SLA compliance per day against the goal -------------------------------------- */

export interface ComplianceChartOptions extends Pick<ChartOptions, 'title' | 'subtitle' | 'width' | 'height' | 'scale' | 'fontFiles' | 'systemFontsFallback' | 'lastDayPartial'> {
  /** The compliance goal in percent (a dashed line). */
  goalPct: number;
}

/**
 * One bar per day: the resolution SLA compliance of the cases resolved that day (green at
 * or above the goal, red below), the goal as a dashed line, the day's resolved count under
 * each labelled date. Days without resolved cases are left empty. Draws the report's rows.
 */
export function complianceChartSvg(rows: SlaComplianceDayRow[], opts: ComplianceChartOptions): string {
  const W = opts.width ?? 960;
  const H = opts.height ?? 480;
  const title = opts.title ?? `SLA compliance per day, last ${rows.length} days`;
  const partial = opts.lastDayPartial ?? true;
  const font = FONT_ATTR;
  const m = { top: 78, right: 40, bottom: 58, left: 62 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const goal = Math.min(100, Math.max(0, opts.goalPct));
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="${COLORS.bg}"/>`);
  out.push(`<text x="${m.left}" y="28" ${font} font-size="18" font-weight="bold" fill="${COLORS.text}">${xmlEscape(title)}</text>`);
  if (opts.subtitle) out.push(`<text x="${m.left}" y="48" ${font} font-size="12" fill="${COLORS.muted}">${xmlEscape(opts.subtitle)}</text>`);
  const ly = 64;
  out.push(`<rect x="${m.left}" y="${ly - 9}" width="12" height="12" fill="${COMPLIANCE.met}"/>`);
  out.push(`<text x="${m.left + 18}" y="${ly + 1}" ${font} font-size="12" fill="${COLORS.text}">At or above goal</text>`);
  out.push(`<rect x="${m.left + 140}" y="${ly - 9}" width="12" height="12" fill="${COMPLIANCE.missed}"/>`);
  out.push(`<text x="${m.left + 158}" y="${ly + 1}" ${font} font-size="12" fill="${COLORS.text}">Below goal</text>`);
  out.push(`<line x1="${m.left + 250}" y1="${ly - 3}" x2="${m.left + 270}" y2="${ly - 3}" stroke="${COMPLIANCE.goal}" stroke-width="2" stroke-dasharray="5 3"/>`);
  out.push(`<text x="${m.left + 276}" y="${ly + 1}" ${font} font-size="12" fill="${COLORS.text}">Goal ${xmlEscape(fmt(goal))}%</text>`);

  const y = (pct: number) => m.top + ph - (pct / 100) * ph;
  for (let v = 0; v <= 100; v += 20) {
    out.push(`<line x1="${m.left}" y1="${y(v).toFixed(1)}" x2="${m.left + pw}" y2="${y(v).toFixed(1)}" stroke="${COLORS.grid}" stroke-width="1"/>`);
    out.push(`<text x="${m.left - 8}" y="${(y(v) + 4).toFixed(1)}" ${font} font-size="11" text-anchor="end" fill="${COLORS.axis}">${v}%</text>`);
  }
  out.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" ${font} font-size="11" text-anchor="middle" fill="${COLORS.axis}">resolved within SLA</text>`);
  if (rows.length === 0 || rows.every((r) => r.sla_compliance_pct === null)) {
    out.push(`<text x="${W / 2}" y="${m.top + ph / 2}" ${font} font-size="16" text-anchor="middle" fill="${COLORS.muted}">No resolved cases with an SLA in the window</text>`);
  }
  const slot = pw / Math.max(rows.length, 1);
  const barW = Math.max(1, Math.min(22, slot * 0.7));
  rows.forEach((r, i) => {
    if (r.sla_compliance_pct === null) return;
    const cx = m.left + slot * i + slot / 2;
    const top = y(r.sla_compliance_pct);
    const op = partial && i === rows.length - 1 ? ' fill-opacity="0.45"' : '';
    const color = r.sla_compliance_pct >= goal ? COMPLIANCE.met : COMPLIANCE.missed;
    out.push(`<rect x="${(cx - barW / 2).toFixed(1)}" y="${top.toFixed(1)}" width="${barW.toFixed(1)}" height="${(m.top + ph - top).toFixed(1)}" fill="${color}"${op}/>`);
  });
  out.push(`<line x1="${m.left}" y1="${y(goal).toFixed(1)}" x2="${m.left + pw}" y2="${y(goal).toFixed(1)}" stroke="${COMPLIANCE.goal}" stroke-width="2" stroke-dasharray="6 4"/>`);
  out.push(`<line x1="${m.left}" y1="${m.top + ph}" x2="${m.left + pw}" y2="${m.top + ph}" stroke="${COLORS.axis}" stroke-width="1"/>`);
  out.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + ph}" stroke="${COLORS.axis}" stroke-width="1"/>`);
  const every = Math.max(1, Math.ceil(rows.length / 8));
  rows.forEach((r, i) => {
    if ((rows.length - 1 - i) % every !== 0) return;
    const x = (m.left + slot * i + slot / 2).toFixed(1);
    out.push(`<text x="${x}" y="${m.top + ph + 20}" ${font} font-size="11" text-anchor="middle" fill="${COLORS.axis}">${xmlEscape(shortDate(r.date))}</text>`);
    out.push(`<text x="${x}" y="${m.top + ph + 34}" ${font} font-size="10" text-anchor="middle" fill="${COLORS.muted}">${fmt(r.met + r.breached)} resolved</text>`);
  });
  if (partial && rows.length) {
    out.push(`<text x="${m.left + pw}" y="${m.top + ph + 50}" ${font} font-size="11" text-anchor="end" fill="${COLORS.muted}">Last day is partial (up to the run time)</text>`);
  }
  out.push('</svg>');
  return out.join('\n');
}

const COMPLIANCE = { met: '#22c55e', missed: '#ef4444', goal: '#111827' };

/** Renders the compliance chart to PNG bytes. */
export function renderComplianceChart(rows: SlaComplianceDayRow[], opts: ComplianceChartOptions): Buffer {
  return svgToPng(complianceChartSvg(rows, opts), opts);
}
