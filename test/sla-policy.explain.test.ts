/**
 * `kpi explain` and `/kpi explain`: one hand-computed case with a pause and holidays, read
 * from a CSV through the real source and cleaning, explained by the reference clock, as
 * terminal text, as Block Kit, through the CLI (exit codes) and through the real Bolt app
 * against the fake Slack.
 *
 * Case EX-1 (policy `office`, calendar emea-office: Europe/Berlin, mon-thu 08-12 and 13-18,
 * fri 08-16; holidays 12-24 and 12-25 from the list, 12-28 and 12-29 from the .ics), P2
 * (written `high`): first response 2h, resolution 16h. Its older duplicate row (region APAC)
 * loses to the later updated_at. Times in Berlin (UTC+1):
 *   created Tue 12-22 15:00; first response 16:30: 1h30m of business time, met; due 17:00.
 *   running 12-22 15:00 -> 12-23 10:00   3h (15-18) + 2h (08-10)            = 5h
 *   paused  12-23 10:00 -> 12-23 13:00   status pending: 10-12                = 2h
 *   running 12-23 13:00 -> 12-30 11:00   5h (13-18), 24/25 and 28/29 holidays,
 *                                        26/27 weekend, 3h on Wed 12-30 (08-11) = 8h
 *   as of 12-30 11:00 (10:00Z): 13h of 16h = 81.25%: stage 75, running.
 *   due: 3h more from 11:00: 11-12 and 13-15 -> 15:00 (14:00Z), 4h from as_of.
 * The history row of 2027-01-04 lies after as_of and is ignored.
 */
import { join } from 'node:path';
import { explainFromSource } from '../src/pipeline/explain';
import { renderExplainText } from '../src/render/text/explain';
import { renderExplainBlocks } from '../src/render/slack/explain';
import { createApp, type KpiApp } from '../src/bot/app';
import { parseKpiCommand } from '../src/bot/listeners/commands/parse';
import { exec, openMemoryEngine } from '../src/db/engine';
import { prepareCases } from '../src/kpi/prepare';
import { computeReport, dataQualityCounts } from '../src/kpi/compute';
import { runParams } from '../src/pipeline/run';
import { createSource } from '../src/sources';
import { silentLogger } from '../src/support/log';
import { FIXTURES, runCli } from './helpers/cli';
import { tmpDir } from './helpers/kpi';
import { POLICY_FILE } from './sla-policy.helpers';
import { startFakeSlack, type FakeSlack } from './fakes/slackServer';
import { BOT_TOKEN, fakePipeline, postSlash, sampleReport, slashBody, testSettings } from './slack-app.helpers';
import { unknownPolicy } from '../src/bot/listeners/commands/kpi';

const CASES = join(FIXTURES, 'explain/cases.csv');
const HISTORY = join(FIXTURES, 'explain/history.csv');
const AS_OF = '2026-12-30T10:00:00Z';
const settings = testSettings({ KPI_SOURCE: 'csv', KPI_CSV_PATH: CASES });
const explainAt = (caseId: string, policyFile: string | null = POLICY_FILE) =>
  explainFromSource({ settings, caseId, asOf: new Date(AS_OF), policyFile, historyCsv: HISTORY });

const EXPECTED_TEXT = (policyFile: string) => `Case EX-1 as of 2026-12-30 10:00 UTC
  priority P2, status open, region EMEA, channel email, team billing, customer_tier standard
  created 2026-12-22 15:00 +01:00, open

Policy: office from ${policyFile}
  enterprise (line 25): not matched: customer_tier "standard" is not one of enterprise
  night-berlin (line 31): not matched: team "billing" is not one of night-berlin
  night-ny (line 37): not matched: team "billing" is not one of night-ny
  office (line 42): matched: region "EMEA" is one of EMEA, eu-*
Calendar: emea-office, Europe/Berlin
  mon-thu  08:00-12:00, 13:00-18:00
  fri      08:00-16:00
  holidays in the case's span: 2026-12-24, 2026-12-25, 2026-12-28, 2026-12-29
Pauses: pending, waiting*
Risk stages: 50, 75, 90 (% of target)

Resolution clock: target 16h, 3 status change(s)
  running 2026-12-22 15:00 +01:00 -> 2026-12-23 10:00 +01:00        5h status open
  paused  2026-12-23 10:00 +01:00 -> 2026-12-23 13:00 +01:00        2h status pending
  running 2026-12-23 13:00 +01:00 -> 2026-12-30 11:00 +01:00        8h status open
  on the clock 13h of 16h (81.3%), paused 2h
  due 2026-12-30 15:00 +01:00 (in 4.00 h)
  outcome pending, clock running, stage 75

First response clock: target 2h
  running 2026-12-22 15:00 +01:00 -> 2026-12-22 16:30 +01:00    1h 30m
  on the clock 1h 30m of 2h (75.0%)
  responded at 2026-12-22 16:30 +01:00
  due 2026-12-22 17:00 +01:00
  outcome met
`;

describe('explain: the hand-computed case with a pause and holidays', () => {
  test('the model: policy, calendar, stretches, clocks, due, outcome and stage', async () => {
    const e = await explainAt('EX-1');
    expect(e.policy).toBe('office');
    expect(e.policiesTried.map((p) => [p.name, p.matched])).toEqual([['enterprise', false], ['night-berlin', false], ['night-ny', false], ['office', true]]);
    expect(e.calendar).toMatchObject({ name: 'emea-office', timezone: 'Europe/Berlin', holidaysInSpan: ['2026-12-24', '2026-12-25', '2026-12-28', '2026-12-29'] });
    expect(e.resolution.stretches.map((s) => [s.state, s.status, new Date(s.fromMs).toISOString(), new Date(s.toMs).toISOString(), s.businessS / 3600])).toEqual([
      ['running', 'open', '2026-12-22T14:00:00.000Z', '2026-12-23T09:00:00.000Z', 5],
      ['paused', 'pending', '2026-12-23T09:00:00.000Z', '2026-12-23T12:00:00.000Z', 2],
      ['running', 'open', '2026-12-23T12:00:00.000Z', '2026-12-30T10:00:00.000Z', 8],
    ]);
    expect(e.resolution).toMatchObject({ targetS: 16 * 3600, clockS: 13 * 3600, pausedS: 2 * 3600, elapsedPct: 81.25, outcome: 'pending', clockState: 'running', riskStage: 75, hoursToBreach: 4 });
    expect(new Date(e.resolution.dueAtMs!).toISOString()).toBe('2026-12-30T14:00:00.000Z');
    expect(e.firstResponse).toMatchObject({ targetS: 2 * 3600, clockS: 1.5 * 3600, outcome: 'met' });
    expect(new Date(e.firstResponse.dueAtMs!).toISOString()).toBe('2026-12-22T16:00:00.000Z');
  });

  test('terminal text', async () => {
    expect(renderExplainText(await explainAt('EX-1'))).toBe(EXPECTED_TEXT(POLICY_FILE));
  });

  test('Block Kit: the same facts, within Slack limits', async () => {
    const r = renderExplainBlocks(await explainAt('EX-1'));
    expect(r.text).toBe('Case EX-1: policy office, resolution 13h of 16h, pending');
    expect(r.blocks.length).toBeLessThanOrEqual(50);
    const json = JSON.stringify(r.blocks);
    for (const s of [
      'SLA clocks explained', ':white_check_mark: *office* (line 42): matched: region \\"EMEA\\" is one of EMEA, eu-*',
      ':x: *enterprise* (line 25): not matched: customer_tier \\"standard\\" is not one of enterprise',
      '*Calendar:* emea-office, Europe/Berlin', '2026-12-24, 2026-12-25, 2026-12-28, 2026-12-29',
      'paused  2026-12-23 10:00 +01:00 -&gt; 2026-12-23 13:00 +01:00        2h status pending',
      '*Due*\\n2026-12-30 15:00 +01:00', '*Stage*\\n75%', '*Clock*\\nrunning', '*Paused*\\n2h', '*Hours to breach*\\n4.00',
      '*On the clock*\\n1h 30m (75.0%)', '*Outcome*\\n:white_check_mark: met',
    ]) expect(json).toContain(s);
    for (const b of r.blocks) {
      if (b.type === 'section' && b.text) expect(b.text.text.length).toBeLessThanOrEqual(3000);
    }
  });

  test('without a policy file: the built-in default policy, 24x7, no pauses', async () => {
    const e = await explainAt('EX-1', null);
    expect(e.policy).toBe('default');
    expect(e.policyFile).toBeNull();
    expect(e.calendar).toMatchObject({ name: '24x7', is24x7: true });
    // 2026-12-22 14:00Z to 2026-12-30 10:00Z = 188 h against 8 h (P2): breached, stage 100.
    expect(e.resolution).toMatchObject({ clockS: 188 * 3600, pausedS: 0, outcome: 'breached', riskStage: 100, targetS: 8 * 3600 });
    expect(e.resolution.stretches.every((s) => s.state === 'running')).toBe(true);
  });

  test('an unknown case id is a CaseNotFoundError naming the case and the source', async () => {
    await expect(explainAt('NOPE')).rejects.toMatchObject({ name: 'CaseNotFoundError', message: expect.stringContaining('"NOPE" is not in csv:') });
  });
});

describe('kpi explain (CLI)', () => {
  const cwd = tmpDir('kpi-explain-');
  const base = ['--csv', CASES, '--as-of', AS_OF, '--history', HISTORY];

  test('prints the explanation and exits 0', () => {
    const r = runCli(['explain', 'EX-1', ...base, '--policy-file', POLICY_FILE], cwd);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(EXPECTED_TEXT(POLICY_FILE));
  });

  test('KPI_SLA_POLICY_FILE names the policy file when --policy-file is not given', () => {
    const r = runCli(['explain', 'EX-1', ...base], cwd, { KPI_SLA_POLICY_FILE: POLICY_FILE });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Policy: office from');
  });

  test('unknown case: a clear message, exit 1', () => {
    const r = runCli(['explain', 'NOPE', ...base], cwd);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^kpi: case "NOPE" is not in csv:.*cases\.csv\n$/);
    expect(r.stdout).toBe('');
  });

  test('bad arguments exit 2: no case id, a bad --as-of, a broken policy file', () => {
    const none = runCli(['explain', '--csv', CASES], cwd);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('kpi explain needs a case id');
    const asOf = runCli(['explain', 'EX-1', '--csv', CASES, '--as-of', 'yesterday'], cwd);
    expect(asOf.code).toBe(2);
    expect(asOf.stderr).toContain('--as-of "yesterday"');
    const missing = runCli(['explain', 'EX-1', ...base, '--policy-file', join(cwd, 'nope.yml')], cwd);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.yml:1: cannot read the SLA policy file');
  });
});

describe('/kpi explain against the fake Slack', () => {
  let fake: FakeSlack;
  let kapp: KpiApp;
  let url: string;
  const pipe = fakePipeline();
  beforeAll(async () => {
    fake = await startFakeSlack({ token: BOT_TOKEN });
    const s = testSettings({ SLACK_API_URL: fake.url });
    kapp = createApp(s, {
      runPipeline: pipe.run,
      retryConfig: { retries: 3, factor: 1, minTimeout: 10, maxTimeout: 50 },
      respondOptions: { baseDelayMs: 10, maxWaitMs: 2000, retries: 3 },
      explain: (caseId) => explainAt(caseId),
    });
    const { port } = await kapp.start(0);
    url = `http://127.0.0.1:${port}/slack/events`;
  });
  afterAll(async () => {
    await kapp.stop();
    await fake.close();
  });

  async function slash(text: string) {
    const responseUrl = fake.responseUrl();
    const res = await postSlash(url, slashBody({ text, response_url: responseUrl }));
    for (let i = 0; i < 100 && kapp.inflight.size > 0; i++) await Promise.allSettled([...kapp.inflight]);
    const id = responseUrl.split('/').pop()!;
    return { res, posts: fake.responseUrlPosts.filter((p) => p.id === id).map((p) => p.body) };
  }

  test('acks, then answers with the Block Kit explanation (ephemeral, no file)', async () => {
    const { res, posts } = await slash('explain EX-1');
    expect(res.status).toBe(200);
    const last = posts[posts.length - 1];
    expect(last.response_type).toBe('ephemeral');
    expect(last.text).toBe('Case EX-1: policy office, resolution 13h of 16h, pending');
    expect(last.blocks).toEqual(renderExplainBlocks(await explainAt('EX-1')).blocks);
    expect(fake.uploads).toHaveLength(0);
  });

  test('unknown case: a clear answer, no apology', async () => {
    const { posts } = await slash('explain NOPE');
    const last = posts[posts.length - 1];
    expect(JSON.stringify(last)).toContain('case \\"NOPE\\" is not in csv:');
    expect(JSON.stringify(last)).not.toMatch(/kpi-[0-9a-f]{8}/);
  });

  test('/kpi risk policy=NAME slices the kept cases by policy', async () => {
    await slash('risk policy=office');
    expect(pipe.computes).toContainEqual({ filter: { policy: 'office' }, windowDays: undefined });
  });

  test('no case id: a usage message', async () => {
    const { posts } = await slash('explain');
    expect(JSON.stringify(posts[posts.length - 1])).toContain('explain needs a case id');
  });
});

describe('/kpi parsing: explain and the policy= filter', () => {
  test('explain takes one case id (quoted when it has spaces) and public', () => {
    expect(parseKpiCommand('explain C-1001')).toEqual({ ok: true, sub: 'explain', filter: {}, public: false, caseId: 'C-1001' });
    expect(parseKpiCommand('explain "case 7" public')).toEqual({ ok: true, sub: 'explain', filter: {}, public: true, caseId: 'case 7' });
    expect(parseKpiCommand('explain a b')).toMatchObject({ ok: false, error: expect.stringContaining('one case id') });
    expect(parseKpiCommand(`explain ${'x'.repeat(81)}`)).toMatchObject({ ok: false, error: expect.stringContaining('too long') });
  });
  test('policy= on report subcommands', () => {
    expect(parseKpiCommand('sla policy=enterprise')).toMatchObject({ ok: true, sub: 'sla', filter: { policy: 'enterprise' } });
    expect(parseKpiCommand('risk policy="EMEA office" priority=P1')).toMatchObject({ ok: true, sub: 'risk', filter: { policy: 'EMEA office', priority: 'P1' } });
    expect(parseKpiCommand('run policy=x')).toMatchObject({ ok: false, error: expect.stringContaining('takes no filters') });
  });
});

describe('the policy= slice on case_rows.policy', () => {
  test('computeReport keeps the cases of the named policy (case-insensitive); NO_POLICY keeps those without one', async () => {
    const engine = await openMemoryEngine();
    try {
      const asOf = new Date(AS_OF);
      const params = runParams(settings, asOf);
      const loaded = await createSource(settings).load({ conn: engine.conn, settings, scope: { asOf, windowStart: new Date(asOf.getTime() - 30 * 86_400_000) }, log: silentLogger() });
      await prepareCases(engine.conn, { relation: loaded.relation, sourceTz: 'UTC', params, keepText: true });
      await loaded.close();
      // The column the policy clocks add to case_rows (the SLA policy pipeline), set by hand here.
      await exec(engine.conn, `ALTER TABLE case_rows ADD COLUMN policy VARCHAR; UPDATE case_rows SET policy = CASE WHEN case_id = 'EX-1' THEN 'office' END`);
      const ctx = { source: 'csv', rowsRead: null, runId: 'r', dq: await dataQualityCounts(engine.conn) };
      const office = await computeReport(engine.instance, params, ctx, { policy: 'OFFICE' });
      const none = await computeReport(engine.instance, params, ctx, { policy: 'no_policy' });
      const all = await computeReport(engine.instance, params, ctx);
      expect(office.dailyOps.cases_in_window).toBe(1);
      expect(none.dailyOps.cases_in_window).toBe(all.dailyOps.cases_in_window - 1);
      expect(office.meta.filter).toEqual({ policy: 'OFFICE' });
    } finally {
      engine.close();
    }
  });
});

test('the policy= slice without a policy file: every case is under `default`', async () => {
  const engine = await openMemoryEngine();
  try {
    const asOf = new Date(AS_OF);
    const params = runParams(settings, asOf);
    const loaded = await createSource(settings).load({ conn: engine.conn, settings, scope: { asOf, windowStart: new Date(asOf.getTime() - 30 * 86_400_000) }, log: silentLogger() });
    await prepareCases(engine.conn, { relation: loaded.relation, sourceTz: 'UTC', params, keepText: true });
    await loaded.close();
    const ctx = { source: 'csv', rowsRead: null, runId: 'r', dq: await dataQualityCounts(engine.conn) };
    const all = await computeReport(engine.instance, params, ctx);
    expect((await computeReport(engine.instance, params, ctx, { policy: 'Default' })).dailyOps.cases_in_window).toBe(all.dailyOps.cases_in_window);
    expect((await computeReport(engine.instance, params, ctx, { policy: 'office' })).dailyOps.cases_in_window).toBe(0);
  } finally {
    engine.close();
  }
});

test('/kpi policy=NAME that names no policy of the run: a usage message listing the policies', async () => {
  const rows = ['enterprise', 'office'].map((policy) => ({
    policy, calendar: '24x7', total_cases: 1, met: 1, breached: 0, pending: 0, sla_compliance_pct: 100, first_response_met: 1, first_response_breached: 0, first_response_compliance_pct: 100,
  }));
  const r = { ...sampleReport(), slaPolicySummary: rows };
  expect(unknownPolicy(r, 'OFFICE')).toBeNull();
  expect(unknownPolicy(r, 'no_policy')).toBeNull();
  expect(unknownPolicy(r, 'ofice')).toBe('No cases under a policy named "ofice" in this run. Policies with cases: enterprise, office, NO_POLICY.');
  expect(unknownPolicy({ ...r, slaPolicySummary: [] }, 'anything')).toBeNull();
});
