/** /kpi parsing, access rules, and the listener callback with stand-in ack/client (no server). */
import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { parseKpiCommand, tokenize } from '../src/bot/listeners/commands/parse';
import { csvFileName, handleKpiCommand, kpiCommandListener, type KpiCommandDeps } from '../src/bot/listeners/commands/kpi';
import { accessPolicy, checkAccess } from '../src/bot/access';
import { ReportService } from '../src/pipeline/runCache';
import { silentLogger } from '../src/support/log';
import { renderHelp, renderStatus } from '../src/render/slack/status';
import { renderReport } from '../src/render/slack/replies';
import { fakePipeline, sampleReport, testSettings } from './slack-app.helpers';

describe('parseKpiCommand', () => {
  test('subcommands, aliases and defaults', () => {
    expect(parseKpiCommand('')).toEqual({ ok: true, sub: 'help', filter: {}, windowDays: undefined, public: false });
    expect(parseKpiCommand(undefined)).toMatchObject({ ok: true, sub: 'help' });
    expect(parseKpiCommand('  SLA  ')).toMatchObject({ ok: true, sub: 'sla' });
    expect(parseKpiCommand('at-risk')).toMatchObject({ ok: true, sub: 'risk' });
    expect(parseKpiCommand('dq')).toMatchObject({ ok: true, sub: 'quality' });
    for (const s of ['help', 'sla', 'quality', 'backlog', 'risk', 'trend', 'summary', 'status', 'run']) {
      expect(parseKpiCommand(s)).toMatchObject({ ok: true, sub: s });
    }
  });

  test('filters, aliases, quoting, public', () => {
    expect(parseKpiCommand('backlog priority=high region=EMEA team="Tier 2 EU" days=7 public')).toEqual({
      ok: true, sub: 'backlog', filter: { priority: 'P2', region: 'EMEA', team: 'Tier 2 EU' }, windowDays: 7, public: true,
    });
    expect(parseKpiCommand('sla priority=1')).toMatchObject({ filter: { priority: 'P1' } });
    expect(parseKpiCommand('sla priority=p4')).toMatchObject({ filter: { priority: 'P4' } });
    expect(parseKpiCommand('sla priority=critical')).toMatchObject({ filter: { priority: 'P1' } });
    expect(parseKpiCommand('sla p:P3 team:\u201cNight shift\u201d')).toMatchObject({ filter: { priority: 'P3', team: 'Night shift' } });
    expect(parseKpiCommand('sla days=1')).toMatchObject({ windowDays: 1 });
    expect(parseKpiCommand('sla days=365')).toMatchObject({ windowDays: 365 });
    expect(parseKpiCommand('help public')).toMatchObject({ ok: true, public: true });
  });

  test.each([
    ['nope', 'is not a /kpi subcommand'],
    ['sla priority=P5', 'priority must be'],
    ['sla priority=', 'needs a value'],
    ['sla days=0', 'from 1 to 365'],
    ['sla days=366', 'from 1 to 365'],
    ['sla days=7.5', 'whole number'],
    ['sla days=-3', 'whole number'],
    ['sla region', "I don't understand"],
    ['sla owner=me', 'Unknown filter'],
    ['run days=7', 'takes no filters'],
    ['help priority=P1', 'takes no filters'],
    [`sla team=${'x'.repeat(81)}`, 'too long'],
  ])('%s -> usage error', (text, msg) => {
    const r = parseKpiCommand(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(msg);
  });

  test('tokenize keeps quoted values and ignores extra spaces', () => {
    expect(tokenize(' a   b="c d"  e ')).toEqual(['a', 'b=c d', 'e']);
  });

  test('user text in errors cannot inject mrkdwn or mentions', () => {
    const r = parseKpiCommand('<!channel>');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).not.toContain('<!channel>');
  });
});

describe('access', () => {
  const settings = (env: Record<string, string>) => testSettings(env);
  test('open by default', () => {
    expect(checkAccess(accessPolicy(settings({})), { userId: 'U1', channelId: 'C1' })).toEqual({ ok: true });
  });
  test('user list, admins always allowed', () => {
    const p = accessPolicy(settings({ KPI_ALLOWED_USERS: 'U1, U2', KPI_ADMINS: 'U9' }));
    expect(checkAccess(p, { userId: 'U2' }).ok).toBe(true);
    expect(checkAccess(p, { userId: 'U9' }).ok).toBe(true);
    expect(checkAccess(p, { userId: 'U3' })).toMatchObject({ ok: false, reason: 'user' });
  });
  test('channel list by id or name', () => {
    const p = accessPolicy(settings({ KPI_ALLOWED_CHANNELS: 'C0123ABCD,#Support-Leads' }));
    expect(checkAccess(p, { userId: 'U1', channelId: 'C0123ABCD' }).ok).toBe(true);
    expect(checkAccess(p, { userId: 'U1', channelId: 'C999', channelName: 'support-leads' }).ok).toBe(true);
    const no = checkAccess(p, { userId: 'U1', channelId: 'C999', channelName: 'random' });
    expect(no).toMatchObject({ ok: false, reason: 'channel' });
    if (!no.ok) expect(no.message).toContain('<#C0123ABCD>');
  });
});

describe('renderers (layout only)', () => {
  test('each report view renders valid-looking blocks within Slack limits', () => {
    const r = sampleReport();
    for (const v of ['sla', 'quality', 'backlog', 'risk', 'trend', 'summary', 'run'] as const) {
      const out = renderReport(v, r, { filter: {}, delivery: 'dm', csvName: 'x.csv', dqMin: 90 });
      expect(out.text.length).toBeGreaterThan(0);
      expect(out.blocks.length).toBeLessThanOrEqual(50);
      for (const b of out.blocks) expect(JSON.stringify(b).length).toBeLessThan(3500);
    }
    const sla = renderReport('sla', r, { filter: {}, delivery: 'dm' });
    expect(JSON.stringify(sla.blocks)).toContain('89.8%');
    const risk = renderReport('risk', r, { filter: {}, delivery: 'none' });
    expect(JSON.stringify(risk.blocks)).toContain('BREACHED');
  });
  test('help and status', () => {
    expect(renderHelp().blocks.length).toBeGreaterThan(1);
    const s = renderStatus({
      lastRun: null, ageSeconds: null, nextRuns: [{ name: 'digest', at: '2026-11-24T08:00:00Z' }], source: 'demo', health: 'unknown',
      cacheFresh: false, cacheExpiresAt: null, runInFlight: false,
    });
    expect(JSON.stringify(s.blocks)).toContain('digest: 2026-11-24 08:00 UTC');
    expect(s.text).toContain('no run yet');
  });
  test('CSV file names are safe', () => {
    expect(csvFileName('sla_summary', sampleReport(), { region: '../EMEA/x', team: 'a b' })).toBe('sla_summary_2026-11-23_EMEA-x_team-a-b_30d.csv');
  });
});

describe('kpi listener callback (stand-ins, like the starter template tests)', () => {
  function deps(over: Partial<KpiCommandDeps> = {}): KpiCommandDeps & { posted: { url: string; body: any }[] } { // eslint-disable-line @typescript-eslint/no-explicit-any
    const posted: { url: string; body: any }[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
    const settings = testSettings({ KPI_ADMINS: 'UADMIN' });
    const pipe = fakePipeline();
    return {
      settings, log: silentLogger(), reports: new ReportService({ settings, runPipeline: pipe.run }),
      respondOptions: {
        baseDelayMs: 1,
        fetchFn: (async (url: string, init: { body: string }) => {
          posted.push({ url, body: JSON.parse(init.body) });
          return new Response('ok', { status: 200 });
        }) as unknown as typeof fetch,
      },
      posted, ...over,
    };
  }
  const fakeClient = (fail = false) => {
    const calls: string[] = [];
    const client = {
      conversations: { open: async () => { calls.push('open'); return { ok: true, channel: { id: 'DUSER' } }; } },
      files: { uploadV2: async (a: { channel_id: string }) => { calls.push(`upload:${a.channel_id}`); if (fail) throw Object.assign(new Error('x'), { data: { error: 'not_in_channel' } }); return { ok: true, files: [] }; } },
    } as unknown as WebClient;
    return { client, calls };
  };
  const cmd = (text: string, user = 'U1') => ({ command: '/kpi', text, user_id: user, channel_id: 'C1', channel_name: 'x', response_url: 'https://hooks.example/respond' });

  test('acks first, before any work', async () => {
    const order: string[] = [];
    const d = deps();
    const { client } = fakeClient();
    const listener = kpiCommandListener(d);
    await listener({
      ack: async () => { order.push('ack'); },
      command: cmd('summary'),
      client,
      logger: { error: () => undefined },
    } as unknown as SlackCommandMiddlewareArgs & AllMiddlewareArgs);
    order.push('done');
    expect(order).toEqual(['ack', 'done']);
    expect(d.posted.at(-1)!.body.text).toContain('Daily ops summary');
  });

  test('a failing ack is logged and nothing else happens', async () => {
    const d = deps();
    const errors: string[] = [];
    await kpiCommandListener(d)({
      ack: async () => { throw new Error('socket gone'); },
      command: cmd('summary'),
      client: fakeClient().client,
      logger: { error: (m: string) => errors.push(m) },
    } as unknown as SlackCommandMiddlewareArgs & AllMiddlewareArgs);
    expect(errors[0]).toContain('socket gone');
    expect(d.posted).toHaveLength(0);
  });

  test('report outcome carries the CSV; public upload failure falls back to the DM', async () => {
    const d = deps();
    const { client, calls } = fakeClient(true);
    const out = await handleKpiCommand(cmd('risk public'), client, d);
    expect(out).toMatchObject({ kind: 'report', sub: 'risk', delivery: 'channel' });
    expect(calls).toEqual(['upload:C1', 'open', 'upload:DUSER']);
    expect(d.posted.some((p) => /couldn't post the CSV/.test(p.body.text))).toBe(true);
  });

  test('response_url posts are ephemeral unless public', async () => {
    const d = deps();
    await handleKpiCommand(cmd('sla'), fakeClient().client, d);
    expect(d.posted.every((p) => p.body.response_type === 'ephemeral')).toBe(true);
    await handleKpiCommand(cmd('sla public'), fakeClient().client, d);
    expect(d.posted.at(-1)!.body.response_type).toBe('in_channel');
  });
});

describe('delivery limiter', () => {
  test('runs at most N at once, first come first served, and survives failures', async () => {
    const { createLimiter } = await import('../src/support/limit');
    const lim = createLimiter(2);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    const job = (i: number, fail = false) => lim.run(async () => {
      active += 1;
      peak = Math.max(peak, active);
      await new Promise((ok) => setTimeout(ok, 5));
      active -= 1;
      order.push(i);
      if (fail) throw new Error('x');
      return i;
    });
    const results = await Promise.allSettled([job(0), job(1, true), job(2), job(3), job(4)]);
    expect(peak).toBe(2);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(lim.active).toBe(0);
    expect(lim.queued).toBe(0);
  });
});
