/**
 * SLA policies through the whole pipeline (contract 6): the hand-computed cases of
 * test/sla-policy.helpers.ts as input rows with their status history, each run at its own
 * as_of with the fixture policy file, through the CSV source and the DuckDB source. What the
 * files show of each case (sla_policy_summary.csv, sla_at_risk_cases.csv with its appended
 * columns, data_quality_score.csv's history counts) must follow from the expectations.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadSettings } from '../src/config/settings';
import { runPipeline } from '../src/pipeline/run';
import type { KpiReport } from '../src/contract/report';
import { HAND_CASES, POLICY_FILE, loadFixturePolicies, ms, type ClockCase } from './sla-policy.helpers';
import { HEADER, row, tmpDir } from './helpers/kpi';

const set = loadFixturePolicies();

/** Attributes that make the fixture's policies choose the case's policy. */
function attributes(c: ClockCase): { region: string; team: string; tier: string; priority: string } {
  switch (c.policy) {
    case 'enterprise': return { region: 'AMER', team: 'core', tier: 'enterprise', priority: c.priority };
    case 'night-berlin': return { region: 'EMEA', team: 'night-berlin', tier: 'pro', priority: c.priority };
    case 'night-ny': return { region: 'AMER', team: 'night-ny', tier: 'pro', priority: c.priority === 'P1' ? 'urgent' : c.priority };
    case 'office': return { region: 'eu-west', team: 'core', tier: 'pro', priority: c.priority };
    default: return { region: 'AMER', team: 'core', tier: 'pro', priority: c.priority };
  }
}

function caseLine(c: ClockCase): string {
  const a = attributes(c);
  return row({ id: c.id, created: c.created, fr: c.firstResponse, resolved: c.resolved, status: 'open', priority: a.priority, region: a.region, team: a.team, tier: a.tier });
}

function historyLines(c: ClockCase): string[] {
  return (c.history ?? []).map(([status, at]) => `${c.id},${status},${at}`);
}

type Source = 'csv' | 'duckdb';

async function runCase(c: ClockCase, source: Source, extraLines: string[] = [], extraHistory: string[] = []): Promise<KpiReport> {
  const dir = tmpDir('kpi-policy-');
  const cases = [caseLine(c), ...extraLines];
  const history = [...historyLines(c), ...extraHistory];
  const env: Record<string, string> = { KPI_SLA_POLICY_FILE: POLICY_FILE, KPI_DB_PATH: join(dir, 'state.duckdb') };
  if (source === 'csv') {
    writeFileSync(join(dir, 'cases.csv'), [HEADER, ...cases].join('\n') + '\n');
    writeFileSync(join(dir, 'history.csv'), ['case_id,status,changed_at', ...history].join('\n') + '\n');
    Object.assign(env, { KPI_SOURCE: 'csv', KPI_CSV_PATH: join(dir, 'cases.csv'), KPI_HISTORY_CSV: join(dir, 'history.csv') });
  } else {
    const file = join(dir, 'cases.duckdb');
    const instance = await DuckDBInstance.create(file);
    const conn = await instance.connect();
    writeFileSync(join(dir, 'cases.csv'), [HEADER, ...cases].join('\n') + '\n');
    writeFileSync(join(dir, 'history.csv'), ['case_id,status,changed_at', ...history].join('\n') + '\n');
    await conn.run(`CREATE TABLE support_cases AS SELECT * FROM read_csv('${join(dir, 'cases.csv')}', all_varchar = true)`);
    await conn.run(`CREATE TABLE case_status_history AS SELECT case_id, status, CAST(changed_at AS TIMESTAMP) AS changed_at FROM read_csv('${join(dir, 'history.csv')}', all_varchar = true)`);
    conn.closeSync();
    instance.closeSync();
    Object.assign(env, { KPI_SOURCE: 'duckdb', KPI_DB_PATH: file });
  }
  const settings = loadSettings(env);
  const { report } = await runPipeline({ settings, asOf: new Date(c.asOf), outDir: null, recordHistory: false, trigger: 'test' });
  return report;
}

const r2 = (x: number) => Math.round(x * 100) / 100;

describe.each(['csv', 'duckdb'] as const)('hand-computed cases through the pipeline (%s source)', (source) => {
  test.each(HAND_CASES.map((h) => [h.c.id, h.why, h] as const))('%s: %s', async (_id, _why, { c, e }) => {
    const report = await runCase(c, source);
    const p = set.policies.find((x) => x.name === c.policy)!;
    // sla_policy_summary.csv: the case under its policy, its outcomes counted.
    expect(report.slaPolicySummary).toEqual([{
      policy: c.policy, calendar: p.calendar, total_cases: 1,
      met: e.outcome === 'met' ? 1 : 0, breached: e.outcome === 'breached' ? 1 : 0, pending: e.outcome === 'pending' ? 1 : 0,
      sla_compliance_pct: e.outcome === 'met' ? 100 : e.outcome === 'breached' ? 0 : null,
      first_response_met: e.responseOutcome === 'met' ? 1 : 0, first_response_breached: e.responseOutcome === 'breached' ? 1 : 0,
      first_response_compliance_pct: e.responseOutcome === 'met' ? 100 : e.responseOutcome === 'breached' ? 0 : null,
    }]);
    // sla_at_risk_cases.csv: open cases at or above the lowest stage (50), with the clock.
    const listed = e.clockState !== null && e.outcome !== null && e.riskStage !== null;
    if (!listed) {
      expect(report.atRiskCases).toEqual([]);
    } else {
      const target = p.targets[c.priority]!.resolutionS;
      expect(report.atRiskCases).toEqual([expect.objectContaining({
        case_id: c.id, due_at: e.dueAt, sla_target_hours: r2(target / 3600), elapsed_hours: r2(e.clockS! / 3600),
        sla_elapsed_pct: Math.round((e.clockS! * 1000) / target) / 10,
        hours_to_breach: e.dueAt === null ? null : r2((ms(e.dueAt) - ms(c.asOf)) / 3_600_000),
        risk_level: e.outcome === 'breached' ? 'breached' : 'at_risk',
        policy: c.policy, calendar: p.calendar, clock_state: e.clockState, risk_stage: e.riskStage,
      })]);
    }
    // data_quality_score.csv: the history rows up to as_of, none invalid.
    const counted = (c.history ?? []).filter(([, at]) => ms(at) <= ms(c.asOf)).length;
    expect([report.dataQuality.history_rows, report.dataQuality.invalid_history_rows]).toEqual([counted, 0]);
  });
});
