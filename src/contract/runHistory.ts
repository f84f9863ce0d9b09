/** One run as run history records it (the digest compares against the previous one). */
/** One run_history row, as stored (snake_case, like the table's columns). */
export interface RunHistoryRow {
  run_id: string;
  /** ISO 8601 UTC. */
  started_at: string;
  as_of: string;
  /** YYYY-MM-DD in the run's report time zone. */
  as_of_date: string;
  source: string;
  trigger: string;
  ok: boolean;
  error: string | null;
  cases_in_window: number | null;
  created_today: number | null;
  resolved_today: number | null;
  open_backlog: number | null;
  at_risk_cases: number | null;
  breached_open_cases: number | null;
  sla_compliance_pct: number | null;
  first_response_compliance_pct: number | null;
  backlog_growth_pct: number | null;
  backlog_spike: boolean | null;
  data_quality_score: number | null;
  warnings: number | null;
  total_ms: number | null;
  timings: Record<string, number> | null;
}
