/**
 * The levels of an on-call case alert (alert_case.level): each level alerts once per case.
 *
 * - `at_risk`: the case reached the risk threshold (a run without SLA policies).
 * - `stage_<N>`: the case reached risk stage N (percent of target; contract 6: risk_stages
 *   of the SLA policy file), e.g. `stage_50`, `stage_75`, `stage_90`.
 * - `breached`: the clock is over the target (stage 100).
 *
 * A case crossing into a higher level between two sweeps is alerted once more; a level at
 * or below one already alerted is not.
 */
import type { AtRiskCase } from './report';

export type AlertLevel = 'at_risk' | 'breached' | `stage_${number}`;

const STAGE = /^stage_(\d+(?:\.\d+)?)$/;

/**
 * The level of a listed case: `breached`; `at_risk` without a stage (a report without SLA
 * policies) or at the run's risk threshold itself (the single stage of a run without a
 * policy file, so its alerts keep their level); else `stage_<risk_stage>`.
 */
export function alertLevelOf(c: { risk_level: AtRiskCase['risk_level']; risk_stage?: number | null }, thresholdPct: number): AlertLevel {
  if (c.risk_level === 'breached') return 'breached';
  const s = c.risk_stage;
  if (s == null || !Number.isFinite(s) || s === thresholdPct || s >= 100) return 'at_risk';
  return `stage_${s}`;
}

/** The stage a level stands for: at_risk 0 (below every stage), stage_N N, breached 100; null: not a level. */
export function levelStage(level: string): number | null {
  if (level === 'at_risk') return 0;
  if (level === 'breached') return 100;
  const m = STAGE.exec(level);
  return m ? Number(m[1]) : null;
}

export function isAlertLevel(level: unknown): level is AlertLevel {
  return typeof level === 'string' && levelStage(level) !== null;
}

/** SQL: the stage of a level column (as levelStage). */
export function levelStageSql(col: string): string {
  return `CASE WHEN ${col} = 'breached' THEN 100 WHEN starts_with(${col}, 'stage_') THEN TRY_CAST(substr(${col}, 7) AS DOUBLE) ELSE 0 END`;
}
