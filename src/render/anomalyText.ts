/**
 * Volume anomalies (volume_anomaly_summary) in words, the way a person reads them, shared
 * by the TXT summary, the digest, `/kpi trend` and the alerts:
 *
 *   Sunday: 507 cases created, expected 263-390 from the last 6 Sundays (+55%)
 *   Sunday: intake dropped: 41 cases created, expected 120-170 from the last 6 Sundays (-71%)
 *
 * A priority scope names its priority ("120 P2 cases created", "P2 intake dropped"). The band
 * is the file's baseline_low..baseline_high in whole cases, the percentage the change against
 * the baseline median (left out when the median is 0). Rendering only.
 */
import type { VolumeAnomalyRow } from '../contract/report';
import { formatCount } from '../support/numbers';

/** The anomalous rows, ALL first (the file's order). */
export function anomalies(rows: readonly VolumeAnomalyRow[] | undefined): VolumeAnomalyRow[] {
  return (rows ?? []).filter((r) => r.is_anomaly);
}

const plural = (n: number, one: string, many: string) => (n === 1 ? one : many);

/** "+55%" against the median, or '' when the median is 0 (no meaningful percentage). */
export function changeVsMedian(r: VolumeAnomalyRow): string {
  if (r.baseline_median === null || r.baseline_median === 0) return '';
  const x = ((r.created - r.baseline_median) * 100) / r.baseline_median;
  const p = Math.sign(x) * Math.round(Math.abs(x)); // half away from zero, as the files round
  return `${p > 0 ? '+' : ''}${p}%`;
}

/** "263-390" (whole cases). */
export function expectedBand(r: VolumeAnomalyRow): string {
  const whole = (v: number | null) => formatCount(v ?? 0); // band ends are never negative
  return `${whole(r.baseline_low)}-${whole(r.baseline_high)}`;
}

/** The sentence for one anomalous row, without a final period. */
export function anomalySentence(r: VolumeAnomalyRow): string {
  const prio = r.scope === 'ALL' ? '' : `${r.scope} `;
  const change = changeVsMedian(r);
  const tail = `expected ${expectedBand(r)} from the last ${r.baseline_days} ${r.weekday}${plural(r.baseline_days, '', 's')}${change ? ` (${change})` : ''}`;
  const cases = plural(r.created, 'case', 'cases');
  return r.direction === 'low'
    ? `${r.weekday}: ${prio}intake dropped: ${formatCount(r.created)} ${cases} created, ${tail}`
    : `${r.weekday}: ${formatCount(r.created)} ${prio}${cases} created, ${tail}`;
}

/** A short title: "Volume anomaly (high) in P2 on Sunday 2026-11-22". */
export function anomalyTitle(r: VolumeAnomalyRow): string {
  return `${r.direction === 'low' ? 'Intake dropped' : 'Intake above normal'}${r.scope === 'ALL' ? '' : ` in ${r.scope}`} on ${r.weekday} ${r.date}`;
}
