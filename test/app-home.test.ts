/**
 * The App Home tab on the real Bolt app (HTTP mode) against the fake Slack: a signed
 * app_home_opened event publishes the viewer's view (their team from KPI_ALERT_OWNERS, their
 * cases, all teams); a new run publishes again for every viewer seen; the Messages tab is
 * not answered; the owner map is validated.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type KpiApp } from '../src/bot/app';
import type { CaseFilter, KpiReport } from '../src/contract/report';
import type { CaseSet, RunOptions, RunResult } from '../src/pipeline/run';
import { loadSettings } from '../src/config/settings';
import { renderHome } from '../src/render/slack/home';
import { startFakeSlack, type FakeSlack } from './fakes/slackServer';
import { BOT_TOKEN, sampleReport, sign, testSettings } from './slack-app.helpers';

const ANA = 'U0ANA00001';
const BEN = 'U0BEN00001';
const OWNERS = JSON.stringify({ teams: { billing: ANA, core: 'S0COREGRP1', ghosts: ANA }, assignees: { ana: ANA } });

/** Team slices as the pipeline would compute them: billing has its own numbers, unknown teams none. */
function slice(base: KpiReport, filter?: CaseFilter): KpiReport {
  const r: KpiReport = JSON.parse(JSON.stringify(base));
  if (!filter?.team) return r;
  r.meta.filter = filter;
  const team = filter.team.toLowerCase();
  r.atRiskCases = r.atRiskCases.filter((c) => (c.team ?? '').toLowerCase() === team);
  const known = team === 'billing';
  r.dailyOps = {
    ...r.dailyOps, cases_in_window: known ? 1234 : 0, open_backlog: known ? 1045 : 0, sla_compliance_pct: known ? 91.5 : null,
    at_risk_cases: 0, breached_open_cases: known ? 1 : 0,
  };
  return r;
}

function pipeline() {
  const runs: RunOptions[] = [];
  const run = async (opts: RunOptions): Promise<RunResult> => {
    runs.push(opts);
    const base = sampleReport('2026-11-23T09:00:00Z', `run-${runs.length}`);
    base.meta.demo = true;
    const data: CaseSet = { compute: async (filter) => slice(base, filter), close: () => undefined };
    return { report: base, files: [], data: opts.keepData ? data : undefined };
  };
  return { run, runs };
}

async function postEvent(base: string, event: Record<string, unknown>): Promise<number> {
  const body = JSON.stringify({
    token: 'deprecated', team_id: 'T0FAKE0001', api_app_id: 'A0FAKEAPP1', type: 'event_callback',
    event_id: `Ev${Math.random().toString(36).slice(2, 10)}`, event_time: Math.floor(Date.now() / 1000), event,
  });
  const ts = Math.floor(Date.now() / 1000);
  const res = await fetch(`${base}/slack/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': sign(body, ts) },
    body,
  });
  await res.text();
  return res.status;
}

const text = (v: unknown) => JSON.stringify(v);

describe('App Home', () => {
  let fake: FakeSlack;
  let kapp: KpiApp;
  let base: string;
  let pipe: ReturnType<typeof pipeline>;

  beforeEach(async () => {
    fake = await startFakeSlack({ token: BOT_TOKEN });
    pipe = pipeline();
    kapp = createApp(testSettings({ SLACK_API_URL: fake.url, KPI_ALERT_OWNERS: OWNERS }), { runPipeline: pipe.run, retryConfig: { retries: 2, minTimeout: 10, maxTimeout: 20 } });
    const { port } = await kapp.start(0);
    base = `http://127.0.0.1:${port}`;
  });

  afterEach(async () => {
    await kapp.stop();
    await fake.close();
  });

  test('app_home_opened publishes the viewer\'s teams, their cases and all teams', async () => {
    expect(await postEvent(base, { type: 'app_home_opened', user: ANA, channel: 'D0ANA00001', tab: 'home' })).toBe(200);
    await fake.waitFor('views.publish', 1);
    const [v] = fake.views;
    expect(v.user_id).toBe(ANA);
    expect(v.view.type).toBe('home');
    const t = text(v.view.blocks);
    expect(t).toContain('DEMO DATA');
    expect(t).toContain('*Your teams*');
    expect(t).toContain('*billing*');
    expect(t).toContain('*SLA compliance*\\n91.5%');
    expect(t).toContain('*Open backlog*\\n1,045');
    expect(t).toContain('breached 1h ago'); // billing's case (also ana's)
    expect(t).not.toContain('C-1002'); // core's case: not hers
    expect(t).toContain('*ghosts*: no cases in the window');
    expect(t).toContain('*All teams*');
    expect(t).toContain('*Open backlog*\\n15');
    expect(pipe.runs).toHaveLength(1);
  });

  test('a viewer with nothing mapped sees all teams and how to get mapped; the Messages tab is not answered', async () => {
    await postEvent(base, { type: 'app_home_opened', user: BEN, channel: 'D0BEN00001', tab: 'messages' });
    await postEvent(base, { type: 'app_home_opened', user: BEN, channel: 'D0BEN00001', tab: 'home' });
    await fake.waitFor('views.publish', 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.views.map((v) => v.user_id)).toEqual([BEN]);
    const t = text(fake.views[0].view.blocks);
    expect(t).toContain('No team or assignee is mapped to you in `KPI_ALERT_OWNERS`');
    expect(t).toContain('*All teams*');
  });

  test('after each new run, every viewer seen gets a fresh view', async () => {
    await postEvent(base, { type: 'app_home_opened', user: ANA, tab: 'home' });
    await postEvent(base, { type: 'app_home_opened', user: BEN, tab: 'home' });
    await fake.waitFor('views.publish', 2);
    await kapp.reports.refresh();
    await fake.waitFor("views.publish", 4);
    expect(fake.views.slice(2).map((v) => v.user_id).sort()).toEqual([ANA, BEN]);
    expect(pipe.runs).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.views).toHaveLength(4);
  });
});

describe('App Home rendering and the owner map', () => {
  test('no run yet, or a failed one', () => {
    expect(text(renderHome({ report: null, teams: [], assignees: [] }).blocks)).toContain('No KPI run yet');
    expect(text(renderHome({ report: null, teams: [], assignees: [], error: 'source unavailable' }).blocks)).toContain('The latest KPI run failed: source unavailable');
  });

  test('cases nearest to breach come first, then breached ones', () => {
    const r = sampleReport();
    r.atRiskCases = [
      { ...r.atRiskCases[0], case_id: 'OLD', hours_to_breach: -300, risk_level: 'breached' },
      { ...r.atRiskCases[0], case_id: 'LATER', hours_to_breach: 3, risk_level: 'at_risk' },
      { ...r.atRiskCases[0], case_id: 'SOON', hours_to_breach: 0.5, risk_level: 'at_risk' },
      { ...r.atRiskCases[0], case_id: 'RECENT', hours_to_breach: -1, risk_level: 'breached' },
    ];
    const t = text(renderHome({ report: r, teams: [], assignees: ['ana'] }).blocks);
    const order = ['SOON', 'LATER', 'RECENT', 'OLD'].map((id) => t.indexOf(`*${id}*`));
    expect(order.every((p, i) => p > 0 && (i === 0 || p > order[i - 1]))).toBe(true);
  });

  test('KPI_ALERT_OWNERS: assignees and teams -> user or user-group IDs, inline or in a YAML file', () => {
    expect(loadSettings({ KPI_ALERT_OWNERS: OWNERS }).alertRouting?.owners).toEqual({ teams: { billing: ANA, core: 'S0COREGRP1', ghosts: ANA }, assignees: { ana: ANA } });
    expect(loadSettings({}).alertRouting?.owners).toEqual({ teams: {}, assignees: {} });
    const file = join(mkdtempSync(join(tmpdir(), 'owners-')), 'owners.yml');
    writeFileSync(file, 'teams:\n  Billing: U0ANA00001\n');
    expect(loadSettings({ KPI_ALERT_OWNERS: file }).alertRouting?.owners).toEqual({ teams: { Billing: ANA }, assignees: {} });
    expect(() => loadSettings({ KPI_ALERT_OWNERS: '{billing' })).toThrow(/KPI_ALERT_OWNERS: not valid JSON/);
    expect(() => loadSettings({ KPI_ALERT_OWNERS: 'nope.yml' })).toThrow(/KPI_ALERT_OWNERS: file "nope.yml" not found/);
    expect(() => loadSettings({ KPI_ALERT_OWNERS: '{"billing":"U0ANA00001"}' })).toThrow(/unknown key "billing" \(allowed: assignees, teams\)/);
    expect(() => loadSettings({ KPI_ALERT_OWNERS: '{"teams":{"billing":"#billing"}}' })).toThrow(/teams\."billing": "#billing" is not a Slack user ID/);
  });
});
