/**
 * The 30-day trend chart (created and resolved per day as bars, end-of-day backlog as a
 * line on its own axis), drawn as hand-written SVG and rasterised to PNG by resvg: no
 * browser, no canvas. It only draws the report's volume_trend rows; it computes nothing.
 *
 * Fonts: DejaVu Sans is loaded from /usr/share/fonts when present (fast: system fonts are
 * not scanned). Without it the system fonts are tried; with no font at all the chart still
 * renders, only without text.
 */
import { existsSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import type { VolumeAnomalyRow, VolumeTrendRow } from '../../contract/report';

export const DEFAULT_FONT_FILES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
];

export interface ChartOptions {
  title?: string;
  subtitle?: string;
  /** Logical size in px (default 960 x 480). */
  width?: number;
  height?: number;
  /** Pixel ratio of the PNG (default 2: sharp on high-density screens). */
  scale?: number;
  /** Font files to load (default DejaVu Sans when present). */
  fontFiles?: string[];
  /** Scan system fonts when no font file is available (default true). */
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

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

export function trendChartSvg(rows: VolumeTrendRow[], opts: ChartOptions = {}): string {
  const W = opts.width ?? 960;
  const H = opts.height ?? 480;
  const title = opts.title ?? `Support volume, last ${rows.length} days`;
  const partial = opts.lastDayPartial ?? true;
  const font = `font-family="DejaVu Sans, sans-serif"`;
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
  out.push(`<text x="${(m.left + slot * (rows.length - 1) + slot / 2).toFixed(1)}" y="${(yR(last.backlog_end_of_day) - 8).toFixed(1)}" ${font} font-size="11" font-weight="bold" text-anchor="end" fill="${COLORS.backlog}">${last.backlog_end_of_day}</text>`);

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

/** Renders the trend chart to PNG bytes. */
export function renderTrendChart(rows: VolumeTrendRow[], opts: ChartOptions = {}): Buffer {
  const svg = trendChartSvg(rows, opts);
  const fontFiles = (opts.fontFiles ?? DEFAULT_FONT_FILES).filter((f) => existsSync(f));
  const resvg = new Resvg(svg, {
    font: {
      fontFiles,
      loadSystemFonts: fontFiles.length === 0 && (opts.systemFontsFallback ?? true),
      defaultFontFamily: fontFiles.length ? 'DejaVu Sans' : undefined,
    },
    fitTo: { mode: 'zoom', value: opts.scale ?? 2 },
    background: COLORS.bg,
    logLevel: 'off',
  });
  return resvg.render().asPng();
}
