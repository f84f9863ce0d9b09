/**
 * Mention injection: values a person typed (/kpi region=<!channel>) and values from the data
 * (case ids, teams, assignees, regions named "<!here>") never become a mention, in the text
 * or the blocks of any message kind, through the real WebClient and response_url posts.
 */
import { createSlackClient } from '../src/slack-api/client';
import { postResponse } from '../src/slack-api/respond';
import { escapeSlackText, safeOutgoing } from '../src/slack-api/outgoing';
import { renderDigest } from '../src/render/slack/digest';
import { renderReport } from '../src/render/slack/replies';
import { renderHelp, renderUsageError, renderRefusal, renderApology, renderStatus } from '../src/render/slack/status';
import { renderCaseReply, renderCasesParent, renderHealthParent, renderSpikeParent, reminderText } from '../src/render/slack/alerts';
import { silentLogger } from '../src/support/log';
import { makeReport } from './fixtures/report';
import { startFakeSlack, type FakeSlack } from './fakes/slackServer';

const EVIL = ['<!channel>', '<!here>', '<!everyone>', '<!subteam^S123>', '<@U999|x><!channel>', '&lt;!channel&gt; & <b>', '\x1b[2J<!here>\u202e\x07'];

function hostileReport(v: string) {
  const base = makeReport();
  return makeReport({
    meta: { ...base.meta, source: `csv:${v}.csv`, filter: { region: v, team: v } },
    atRiskCases: base.atRiskCases.map((c) => ({ ...c, case_id: v, team: v, assignee: v, region: v, status: v })),
    warnings: [`warning about ${v}`],
  });
}

/** Every message kind, rendered with the hostile value wherever a person or the data puts text. */
function messages(v: string): [string, { text: string; blocks?: unknown[] }][] {
  const r = hostileReport(v);
  const ctx = { filter: { region: v, team: v }, delivery: 'none' as never };
  const caseRow = { case_id: v, priority: 'P1', region: v, team: v, assignee: v, status: v, created_at: '2026-11-23T08:00:00Z', due_at: '2026-11-23T12:00:00Z', sla_target_hours: 4, elapsed_hours: 3.5, sla_elapsed_pct: 87.5, hours_to_breach: 0.5, alerted_at: '2026-11-23T11:00:00Z', resolved_at: null, acked_by: v, acked_at: null, snoozed_by: v, snoozed_until: null, version: 1, has_reply: false } as never;
  const thread = (kind: string, payload: unknown) => ({ thread_id: 't1', kind, channel: 'C1', created_at: '2026-11-23T11:00:00Z', n_at_risk: 1, n_breached: 1, total: 2, n_resolved: 0, replies: 1, resolved_at: null, payload: JSON.stringify(payload), version: 1 }) as never;
  return [
    ['digest', renderDigest(r, null, { dqMin: 90 })],
    ...(['summary', 'sla', 'backlog', 'risk', 'trend', 'quality'] as const).map((k): [string, { text: string; blocks?: unknown[] }] => [`reply ${k}`, renderReport(k as never, r, ctx as never)]),
    ['help', renderHelp(v)],
    ['usage error', renderUsageError(`unknown word ${v}`, v)],
    ['refusal', renderRefusal(`not allowed in ${v}`)],
    ['apology', renderApology(v, v)],
    ['status', renderStatus({ health: 'failing', ageSeconds: 60, nextRuns: [{ name: v, at: null }], source: `csv:${v}`, cacheFresh: false, cacheExpiresAt: null, runInFlight: false,
      lastRun: { ok: false, finishedAt: '2026-11-23T11:00:00Z', asOf: null, source: v, runId: v, durationMs: 10, error: `failed on ${v}`, origin: 'process' } })],
    ['alert case reply', renderCaseReply(caseRow, 'UTC')],
    ['alert cases parent', renderCasesParent(thread('cases', { byPriority: { P1: 1 } }))],
    ['alert spike parent', renderSpikeParent(thread('spike', { scope: v, as_of_date: '2026-11-23', backlog_today: 3, baseline_days: 7, baseline_avg: 1, growth_pct: 200, threshold_pct: 20, spark: '' }))],
    ['alert health parent', renderHealthParent(thread('health', { check: 'run', cause: v, since: '2026-11-23T10:00:00Z' }), 'UTC')],
    ['alert reminder', { text: reminderText([{ case_id: v, priority: 'P1', level: 'breached' }], 1, 30) }],
  ];
}

const strings = (v: unknown): string[] => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.flatMap(strings) : v && typeof v === 'object' ? Object.values(v).flatMap(strings) : []);

function expectNoMention(where: string, body: { text?: unknown; blocks?: unknown }) {
  // eslint-disable-next-line no-control-regex
  for (const s of [...strings(body.blocks), ...strings(body.text)]) expect([where, s]).toEqual([where, expect.not.stringMatching(/<!|[\x00-\x08\x0b-\x1f\x7f\u202e]/)]);
  if (typeof body.text === 'string') expect([where, body.text]).toEqual([where, expect.not.stringMatching(/[<>]/)]);
}

describe('mention injection', () => {
  let fake: FakeSlack;
  beforeAll(async () => { fake = await startFakeSlack(); });
  afterAll(async () => { await fake.close(); });

  test('escapeSlackText is idempotent and keeps entities', () => {
    expect(escapeSlackText('a < b & c > d')).toBe('a &lt; b &amp; c &gt; d');
    expect(escapeSlackText(escapeSlackText('<!channel> & x'))).toBe('&lt;!channel&gt; &amp; x');
  });

  test.each(EVIL)('every message kind with %s, posted through the real WebClient and response_url', async (v) => {
    const client = createSlackClient({ SLACK_BOT_TOKEN: 'xoxb-test-token-1234', SLACK_API_URL: fake.url }, silentLogger());
    for (const [kind, msg] of messages(v)) {
      expectNoMention(`${kind} (rendered, after safeOutgoing)`, safeOutgoing(msg));
      const n = fake.calls.length;
      await client.chat.postMessage({ channel: 'C1', text: msg.text, blocks: msg.blocks as never });
      await client.chat.update({ channel: 'C1', ts: '1.1', text: msg.text, blocks: msg.blocks as never }).catch(() => undefined);
      for (const c of fake.calls.slice(n)) expectNoMention(`${kind} via ${c.method}`, c.body);
      const m = fake.responseUrlPosts.length;
      await postResponse(fake.responseUrl(), { text: msg.text, blocks: msg.blocks as never, response_type: 'in_channel' });
      for (const p of fake.responseUrlPosts.slice(m)) expectNoMention(`${kind} via response_url`, p.body);
    }
  });

  test('a user mention the app puts in blocks on purpose stays a mention', () => {
    const out = safeOutgoing({ text: 'acked', blocks: [{ type: 'context', elements: [{ type: 'mrkdwn', text: 'Acknowledged by <@U123>' }] }] });
    expect(JSON.stringify(out.blocks)).toContain('<@U123>');
  });
});
