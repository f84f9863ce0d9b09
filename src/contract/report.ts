/**
 * The typed report: the one object a run produces. CSV/TXT writers and Slack renderers
 * read it; nothing downstream computes a KPI. Numbers are already rounded as the contract
 * says (hours 2 decimals, percentages 1 decimal); `null` means "empty cell" (denominator 0
 * or no value). Times are ISO 8601 UTC strings (`2026-11-23T09:00:00Z`).
 */

import type { SlaPolicySet } from './slaPolicy';

export const PRIORITIES = ['P1', 'P2', 'P3', 'P4'] as const;
export type Priority = (typeof PRIORITIES)[number];

export interface RunParams {
  /** The instant the run describes (whole seconds). */
  asOf: Date;
  windowDays: number;
  reportTz: string;
  riskThresholdPct: number;
  spikeThresholdPct: number;
  spikeBaselineDays: number;
  /** A spike also needs backlog_today - baseline_avg >= this (contract 7). */
  spikeMinCases: number;
  /** Volume anomalies (contract 7): weeks of same-weekday baseline, z threshold, minimum absolute change. */
  anomalyWeeks: number;
  anomalyZ: number;
  anomalyMinCases: number;
  /** Breached longer ago than this: counted, not listed (KPI_BREACH_HORIZON_HOURS; default 24). */
  breachHorizonHours?: number;
  /** Hours, by priority. */
  targets: Record<Priority, { responseHours: number; resolutionHours: number }>;
  /**
   * The SLA policies (contract 6), loaded from KPI_SLA_POLICY_FILE by the pipeline; null or
   * absent: the built-in `default` policy (the targets above, 24x7, no pauses).
   */
  slaPolicies?: SlaPolicySet | null;
}

/** Optional slice of the cases (slash command filters). Applied to the cleaned case set. */
export interface CaseFilter {
  priority?: Priority;
  region?: string;
  team?: string;
  /** SLA policy name (contract 6), case-insensitive; `NO_POLICY` for cases no policy covers. */
  policy?: string;
}

export interface SlaSummaryRow {
  priority: Priority | 'ALL';
  total_cases: number;
  resolved_cases: number;
  open_cases: number;
  met: number;
  breached: number;
  pending: number;
  sla_compliance_pct: number | null;
  avg_resolution_hours: number | null;
  median_resolution_hours: number | null;
  p90_resolution_hours: number | null;
  first_response_compliance_pct: number | null;
}

export interface BacklogSummaryRow {
  priority: Priority | 'UNKNOWN' | 'ALL';
  open_cases: number;
  at_risk: number;
  breached: number;
  avg_age_hours: number | null;
  max_age_hours: number | null;
  age_0_1d: number;
  age_1_3d: number;
  age_3_7d: number;
  age_7d_plus: number;
}

export interface VolumeTrendRow {
  date: string; // YYYY-MM-DD in report_tz
  created: number;
  resolved: number;
  net_change: number;
  backlog_end_of_day: number;
}

export interface AtRiskCase {
  case_id: string;
  priority: Priority;
  region: string | null;
  team: string | null;
  assignee: string | null;
  status: string | null;
  created_at: string;
  /** Empty while the clock is paused at as_of (contract 6.2). */
  due_at: string | null;
  sla_target_hours: number;
  /** Clock time (business hours where the calendar has them). */
  elapsed_hours: number;
  sla_elapsed_pct: number;
  hours_to_breach: number | null;
  risk_level: 'at_risk' | 'breached';
  /** Contract 6.4 (appended columns). */
  policy: string;
  calendar: string;
  clock_state: 'running' | 'paused';
  risk_stage: number;
}

/** sla_policy_summary.csv (contract 6.4): one row per policy with cases, then NO_POLICY. */
export interface SlaPolicySummaryRow {
  policy: string;
  /** Empty for NO_POLICY. */
  calendar: string | null;
  total_cases: number;
  met: number;
  breached: number;
  pending: number;
  sla_compliance_pct: number | null;
  first_response_met: number;
  first_response_breached: number;
  first_response_compliance_pct: number | null;
}

/** Resolution SLA outcomes of the cases resolved on one trend day (the digest's compliance chart). Not a contract file. */
export interface SlaComplianceDayRow {
  date: string; // YYYY-MM-DD in report_tz
  met: number;
  breached: number;
  sla_compliance_pct: number | null;
}

export interface BacklogSpikeRow {
  scope: Priority | 'ALL';
  as_of_date: string;
  backlog_today: number;
  baseline_avg: number;
  growth_pct: number | null;
  threshold_pct: number;
  is_spike: boolean;
}

/**
 * volume_anomaly_summary.csv (contract 7): the last complete day's created count per scope
 * against the same weekday of the previous weeks. Empty numbers are `null`.
 */
export interface VolumeAnomalyRow {
  scope: Priority | 'ALL';
  /** The judged day D (YYYY-MM-DD in report_tz): the day before as_of's day. */
  date: string;
  /** D's English weekday name (`Monday`). */
  weekday: string;
  created: number;
  baseline_median: number | null;
  baseline_low: number | null;
  baseline_high: number | null;
  z_score: number | null;
  is_anomaly: boolean;
  direction: 'high' | 'low' | null;
  baseline_days: number;
}

export interface DailyOpsSummary {
  as_of: string;
  as_of_date: string;
  cases_in_window: number;
  created_today: number;
  resolved_today: number;
  open_backlog: number;
  sla_compliance_pct: number | null;
  first_response_compliance_pct: number | null;
  at_risk_cases: number;
  breached_open_cases: number;
  backlog_growth_pct: number | null;
  backlog_spike: boolean;
  data_quality_score: number;
}

export interface DataQualityScore {
  as_of: string;
  total_rows: number;
  missing_rows: number;
  missing_pct: number | null;
  duplicate_rows: number;
  duplicate_pct: number | null;
  invalid_sla_rows: number;
  invalid_sla_pct: number | null;
  quality_score: number;
  /** Contract 6.4 (appended): status-history rows up to as_of (and undated ones), and those with an unknown case_id or no parseable changed_at. */
  history_rows: number;
  invalid_history_rows: number;
}

/** Facts about the run that are not part of a contract file (JSON summary, history, Slack). */
export interface RunMeta {
  runId: string;
  source: string;
  asOf: string;
  asOfDate: string;
  windowStart: string;
  windowDays: number;
  reportTz: string;
  riskThresholdPct: number;
  spikeThresholdPct: number;
  spikeBaselineDays: number;
  /** Cases breached longer ago than this are counted, not listed, in "needs attention" (src/render/attention.ts). */
  breachHorizonHours?: number;
  filter?: CaseFilter;
  /** Rows the source delivered before scoping, where the source knows it cheaply (null for CSV). */
  rowsRead: number | null;
  /** Newest created_at among the run's cases (staleness checks), or null. */
  newestCreatedAt: string | null;
  /** The source is the generated demo data (every output says so). Not a contract column. */
  demo?: boolean;
  /** Input lines the source skipped and reported (KPI_CSV_ON_ERROR=skip); absent when none. */
  rejectedLines?: number;
  /** Per-day adjustment to the backlog chain (cases counted as created or resolved that never enter the backlog). Not a contract column. */
  backlogChainAdjustment: number[];
}

export interface KpiReport {
  meta: RunMeta;
  slaSummary: SlaSummaryRow[];
  backlogSummary: BacklogSummaryRow[];
  volumeTrend: VolumeTrendRow[];
  atRiskCases: AtRiskCase[];
  slaPolicySummary: SlaPolicySummaryRow[];
  backlogSpike: BacklogSpikeRow[];
  /** End-of-day backlog of each priority present, one value per volumeTrend day (oldest first). Not a contract file. */
  backlogByPriority: Partial<Record<Priority, number[]>>;
  /** Resolution SLA compliance per volumeTrend day, oldest first (absent when not computed). Not a contract file. */
  slaComplianceByDay?: SlaComplianceDayRow[];
  dailyOps: DailyOpsSummary;
  dataQuality: DataQualityScore;
  /** volume_anomaly_summary.csv: ALL first, then each priority present. */
  volumeAnomaly: VolumeAnomalyRow[];
  /** Validation problems and notable conditions; they never fail a run. */
  warnings: string[];
  /** Milliseconds by stage. */
  timings: Record<string, number>;
}
