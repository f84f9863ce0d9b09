/**
 * SLA policies through the whole pipeline (contract 6): the hand-computed cases of
 * test/sla-policy.helpers.ts as input rows with their status history, each run at its own
 * as_of with the fixture policy file, through the CSV source, the DuckDB source and the
 * Snowflake source (the real driver against the fake on 127.0.0.1). What the
 * files show of each case (sla_policy_summary.csv, sla_at_risk_cases.csv with its appended
 * columns, data_quality_score.csv's history counts) must follow from the expectations.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadSettings } from '../src/config/settings';
import { runPipeline } from '../src/pipeline/run';
import type { KpiReport } from '../src/contract/report';
import { HAND_CASES, POLICY_FILE, attributes, caseLine, historyLines, loadFixturePolicies, ms, type ClockCase } from './sla-policy.helpers';
import { HEADER, row, tmpDir } from './helpers/kpi';
import { startFakeSnowflake, type FakeSnowflake, type FakeTable } from './fakes/snowflakeServer';

const set = loadFixturePolicies();

type Source = 'csv' | 'duckdb' | 'snowflake';

// The fake Snowflake holds each hand case as a table CASES_<i> with its history HISTORY_<i>.
let fake: FakeSnowflake;
const sfDir = tmpDir('kpi-policy-sf-');
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyPath = join(sfDir, 'key.p8');
const iso = (v?: string) => v ?? null;

beforeAll(async () => {
  writeFileSync(keyPath, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const tables: Record<string, FakeTable> = {};
  HAND_CASES.forEach(({ c }, i) => {
    const a = attributes(c);
    tables[`KPI_DB.S.CASES_${i}`] = {
      columns: [
        { name: 'CASE_ID', type: 'text' }, { name: 'CREATED_AT', type: 'timestamp_ltz' }, { name: 'FIRST_RESPONSE_AT', type: 'timestamp_ltz' },
        { name: 'RESOLVED_AT', type: 'timestamp_ltz' }, { name: 'STATUS', type: 'text' }, { name: 'PRIORITY', type: 'text' },
        { name: 'REGION', type: 'text' }, { name: 'TEAM', type: 'text' }, { name: 'CUSTOMER_TIER', type: 'text' },
      ],
      rows: [[c.id, c.created, iso(c.firstResponse), iso(c.resolved), 'open', a.priority, a.region, a.team, a.tier]],
    };
    tables[`KPI_DB.S.HISTORY_${i}`] = {
      columns: [{ name: 'TICKET', type: 'text' }, { name: 'STATUS', type: 'text' }, { name: 'CHANGED_AT', type: 'timestamp_ltz' }],
      rows: (c.history ?? []).map(([status, at]) => [c.id, status, at]),
    };
  });
  fake = await startFakeSnowflake({
    account: 'TESTORG-KPI',
    users: [{ name: 'KPI_SVC', publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString() }],
    tables,
  });
});

afterAll(async () => {
  await fake.close();
});

async function runCase(c: ClockCase, source: Source): Promise<KpiReport> {
  const dir = tmpDir('kpi-policy-');
  const cases = [caseLine(c)];
  const history = historyLines(c);
  const env: Record<string, string> = { KPI_SLA_POLICY_FILE: POLICY_FILE, KPI_DB_PATH: join(dir, 'state.duckdb') };
  if (source === 'csv') {
    writeFileSync(join(dir, 'cases.csv'), [HEADER, ...cases].join('\n') + '\n');
    writeFileSync(join(dir, 'history.csv'), ['case_id,status,changed_at', ...history].join('\n') + '\n');
    Object.assign(env, { KPI_SOURCE: 'csv', KPI_CSV_PATH: join(dir, 'cases.csv'), KPI_HISTORY_CSV: join(dir, 'history.csv') });
  } else if (source === 'snowflake') {
    const i = HAND_CASES.findIndex((h) => h.c.id === c.id);
    Object.assign(env, {
      KPI_SOURCE: 'snowflake', SNOWFLAKE_ACCOUNT: 'TESTORG-KPI', SNOWFLAKE_USER: 'KPI_SVC', SNOWFLAKE_DATABASE: 'KPI_DB', SNOWFLAKE_SCHEMA: 'S',
      SNOWFLAKE_PRIVATE_KEY_PATH: keyPath, SNOWFLAKE_ACCESS_URL: fake.url, SNOWFLAKE_RETRIES: '0',
      SNOWFLAKE_TABLE: `CASES_${i}`, SNOWFLAKE_HISTORY_TABLE: `HISTORY_${i}`, KPI_HISTORY_COLUMN_MAP: 'ticket:case_id',
    });
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

describe.each(['csv', 'duckdb', 'snowflake'] as const)('hand-computed cases through the pipeline (%s source)', (source) => {
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

describe('policy choice, history data quality and settings through the pipeline', () => {
  const AS_OF = '2026-11-23T12:00:00Z';

  async function run(cases: string[], history: string[] | null, env: Record<string, string>): Promise<KpiReport> {
    const dir = tmpDir('kpi-policy-');
    writeFileSync(join(dir, 'cases.csv'), [HEADER, ...cases].join('\n') + '\n');
    const e: Record<string, string> = { KPI_SOURCE: 'csv', KPI_CSV_PATH: join(dir, 'cases.csv'), KPI_DB_PATH: join(dir, 'state.duckdb'), ...env };
    if (history) {
      writeFileSync(join(dir, 'history.csv'), ['case_id,status,changed_at', ...history].join('\n') + '\n');
      e.KPI_HISTORY_CSV = join(dir, 'history.csv');
    }
    for (const [k, v] of Object.entries(e)) if (v.includes('{dir}')) e[k] = v.replace('{dir}', dir);
    const { report } = await runPipeline({ settings: loadSettings(e), asOf: new Date(AS_OF), outDir: null, recordHistory: false, trigger: 'test' });
    return report;
  }

  test('a case no policy matches counts under NO_POLICY (empty calendar), one under a policy without its priority under that policy', async () => {
    const dir = tmpDir('kpi-policy-file-');
    const file = join(dir, 'p.yml');
    writeFileSync(file, [
      'version: 1',
      'policies:',
      '  - name: emea',
      '    when: { region: [EMEA] }',
      '    targets:',
      '      P1: { first_response: 1h, resolution: 4h }',
    ].join('\n'));
    const report = await run([
      row({ id: 'E1', created: '2026-11-23T06:00:00Z', priority: 'P1', region: 'EMEA' }),
      row({ id: 'E2', created: '2026-11-23T06:00:00Z', priority: 'P2', region: 'EMEA' }),
      row({ id: 'A1', created: '2026-11-23T06:00:00Z', priority: 'P1', region: 'AMER' }),
    ], null, { KPI_SLA_POLICY_FILE: file });
    expect(report.slaPolicySummary.map((r) => [r.policy, r.calendar, r.total_cases, r.breached, r.first_response_breached])).toEqual([
      ['emea', '24x7', 2, 1, 1],
      ['NO_POLICY', null, 1, 0, 0],
    ]);
    // Only E1 has a target: 6 h elapsed of 4 h.
    expect(report.atRiskCases.map((c) => [c.case_id, c.policy, c.risk_stage, c.risk_level])).toEqual([['E1', 'emea', 100, 'breached']]);
    expect(report.dataQuality.invalid_sla_rows).toBe(0);
  });

  test('history rows: unknown case ids and unparseable or empty changed_at are invalid; changes after as_of are not counted', async () => {
    const report = await run([
      row({ id: 'C1', created: '2026-11-23T06:00:00Z', priority: 'P1' }),
      // Out of the run's scope (resolved before the window) but in the input: a known id.
      row({ id: 'OLD', created: '2026-01-01T06:00:00Z', resolved: '2026-01-02T06:00:00Z', status: 'solved', priority: 'P1' }),
    ], [
      'C1,pending,2026-11-23T07:00:00Z',
      'C1,open,2026-11-23T08:00:00Z',
      'C1,pending,2026-11-24T08:00:00Z',
      'OLD,pending,2026-01-01T07:00:00Z',
      'NOPE,pending,2026-11-23T07:00:00Z',
      'C1,pending,yesterday',
      'C1,pending,',
      ',pending,2026-11-23T07:00:00Z',
    ], {});
    expect([report.dataQuality.history_rows, report.dataQuality.invalid_history_rows]).toEqual([7, 4]);
    // Without a policy file nothing pauses and every other number is the plain one.
    expect(report.slaPolicySummary).toEqual([expect.objectContaining({ policy: 'default', calendar: '24x7', total_cases: 1, breached: 1 })]);
  });

  test('a broken policy file is a setting error naming the file and the line', () => {
    const dir = tmpDir('kpi-policy-bad-');
    const file = join(dir, 'bad.yml');
    writeFileSync(file, ['version: 1', 'policies:', '  - name: x', '    calendar: nowhere', '    targets: { P1: { first_response: 1h, resolution: 4h } }'].join('\n'));
    expect(() => loadSettings({ KPI_SLA_POLICY_FILE: file })).toThrow(new RegExp(`KPI_SLA_POLICY_FILE: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:4: .*nowhere`));
  });
});
