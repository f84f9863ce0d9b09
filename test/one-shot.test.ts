/**
 * The one-shot commands as an orchestrator runs them (real processes) against the fake
 * Slack: `kpi digest` and `kpi alerts` share the bot's state file (one digest a day, no
 * alert twice, also against the bot's own job), `--dry-run` posts and claims nothing,
 * exit codes; `kpi doctor` with its fixes (a channel the bot is not in).
 */
import { join } from 'node:path';
import { loadSettings } from '../src/config/settings';
import { silentLogger } from '../src/support/log';
import { createSlackClient } from '../src/slack-api/client';
import { createDigestJob } from '../src/jobs/digest';
import { readDigestLog } from '../src/jobs/digestLog';
import { runPipeline } from '../src/pipeline/run';
import { seedDemo } from '../src/sources/demo/seed';
import { runDoctor, formatCheck } from '../src/app/doctor';
import { startFakeSlack, type FakeSlack } from './fakes/slackServer';
import { FIXTURES, runCliAsync } from './helpers/cli';
import { tmpDir } from './helpers/kpi';

// Real processes, a real pipeline and paced posts: slower than a unit test.
jest.setTimeout(120_000);

const TOKEN = 'xoxb-one-shot-token';
const DIGEST = 'C0DIGEST01';
const ALERTS = 'C0ALERTS01';

describe('kpi digest / kpi alerts', () => {
  let fake: FakeSlack;
  let cwd: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    cwd = tmpDir('kpi-one-shot-');
    await seedDemo({ dbPath: join(cwd, 'data/kpi.duckdb'), cases: 600, seed: 7 });
  });

  beforeEach(async () => {
    fake = await startFakeSlack({ token: TOKEN });
    env = {
      SLACK_BOT_TOKEN: TOKEN, SLACK_SIGNING_SECRET: 'sig', SLACK_API_URL: fake.url, KPI_SOURCE: 'demo', KPI_DEMO_CASES: '600', KPI_DEMO_SEED: '7',
      KPI_DIGEST_CHANNEL: DIGEST, KPI_ALERT_CHANNEL: ALERTS, KPI_ALERT_MAX_REPLIES: '2',
    };
  });

  afterEach(async () => {
    await fake.close();
  });

  test('--dry-run prints the Block Kit JSON, posts nothing, claims nothing; then the real one posts once', async () => {
    const dry = await runCliAsync(['digest', '--dry-run'], cwd, env);
    expect(dry.code).toBe(0);
    const msg = JSON.parse(dry.stdout) as { channel: string; text: string; blocks: { type: string; text?: { text: string } }[] };
    expect(msg.channel).toBe(DIGEST);
    expect(msg.blocks[0].type).toBe('header');
    expect(msg.blocks[0].text!.text).toContain('DEMO DATA');
    expect(msg.text).toMatch(/^\[DEMO DATA\] Support KPIs/);
    expect(dry.stderr).toContain('Dry run: nothing posted, nothing claimed');
    expect(fake.calls).toHaveLength(0);

    const real = await runCliAsync(['digest'], cwd, env);
    expect(real.stderr).toBe('');
    expect(real.code).toBe(0);
    expect(real.stdout).toMatch(/^Digest for \d{4}-\d\d-\d\d posted to C0DIGEST01 \(ts [\d.]+\); 11 files in its thread\.$/m);
    const posted = fake.messagesIn(DIGEST).filter((m) => !m.thread_ts);
    expect(posted).toHaveLength(1);
    // what the dry run printed is what was posted (same run inputs, same comparison run)
    expect((posted[0].blocks as unknown[])[0]).toEqual(msg.blocks[0]);

    const again = await runCliAsync(['digest'], cwd, env);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already posted \(ts [\d.]+\); nothing posted/);
    expect(fake.messagesIn(DIGEST).filter((m) => !m.thread_ts)).toHaveLength(1);
  });

  test('the bot\'s digest job and kpi digest at the same time, on one state file: one digest', async () => {
    const dir = tmpDir('kpi-one-shot-race-');
    await seedDemo({ dbPath: join(dir, 'data/kpi.duckdb'), cases: 600, seed: 7 });
    const settings = loadSettings({ ...env, KPI_DB_PATH: join(dir, 'data/kpi.duckdb'), KPI_STATE_PATH: join(dir, 'data/kpi.duckdb'), KPI_OUTPUT_DIR: join(dir, 'output'), KPI_LOG_DIR: join(dir, 'logs') });
    const log = silentLogger();
    const bot = createDigestJob({ settings, log, run: runPipeline, slack: createSlackClient(settings, log), maxRetries: 0 });
    const [botOut, cli] = await Promise.all([bot.runOnce('schedule'), runCliAsync(['digest'], dir, env)]);
    expect(cli.code).toBe(0);
    const parents = fake.messagesIn(DIGEST).filter((m) => !m.thread_ts);
    expect(parents).toHaveLength(1);
    const rows = await readDigestLog(settings.KPI_STATE_PATH);
    expect(rows).toHaveLength(1);
    expect(rows[0].ts).toBe(parents[0].ts);
    // exactly one of them says it posted
    const cliPosted = /posted to C0DIGEST01/.test(cli.stdout);
    expect(cliPosted).toBe(botOut.status !== 'sent');
    await bot.stop();
  });

  test('settings and usage errors exit 2; --channel overrides KPI_DIGEST_CHANNEL', async () => {
    const noToken = await runCliAsync(['digest'], cwd, { ...env, SLACK_BOT_TOKEN: '' });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/^kpi: SLACK_BOT_TOKEN is not set/);
    const noChannel = await runCliAsync(['alerts'], cwd, { ...env, KPI_ALERT_CHANNEL: '' });
    expect(noChannel.code).toBe(2);
    expect(noChannel.stderr).toMatch(/KPI_ALERT_CHANNEL is not set/);
    const bad = await runCliAsync(['digest', '--dry-run'], cwd, { ...env, KPI_SLA_GOAL_PCT: '120' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/KPI_SLA_GOAL_PCT/);
    const usage = await runCliAsync(['digest', '--bogus'], cwd, env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/unknown option '--bogus'/);
    const other = await runCliAsync(['digest', '--dry-run', '--channel', 'C0OTHER001'], cwd, env);
    expect(JSON.parse(other.stdout).channel).toBe('C0OTHER001');
  });

  test('kpi alerts: --dry-run claims nothing; a sweep posts; the next sweep posts nothing again', async () => {
    const dir = tmpDir('kpi-one-shot-alerts-');
    await seedDemo({ dbPath: join(dir, 'data/kpi.duckdb'), cases: 600, seed: 7 });
    const dry = await runCliAsync(['alerts', '--dry-run'], dir, env);
    expect(dry.code).toBe(0);
    const writes = JSON.parse(dry.stdout) as { method: string; channel?: string; blocks?: unknown[] }[];
    const dryPosts = writes.filter((w) => w.method === 'chat.postMessage');
    expect(dryPosts.length).toBeGreaterThan(0);
    expect(dryPosts.every((w) => w.channel === ALERTS)).toBe(true);
    expect(dry.stderr).toContain('Dry run: nothing posted, nothing claimed');
    expect(fake.calls).toHaveLength(0);

    const first = await runCliAsync(['alerts'], dir, env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^Alert sweep \S+: /);
    const posted = fake.callsTo('chat.postMessage').filter((c) => c.ok).length;
    expect(posted).toBe(dryPosts.length);

    const second = await runCliAsync(['alerts'], dir, env);
    expect(second.code).toBe(0);
    expect(fake.callsTo('chat.postMessage').filter((c) => c.ok).length).toBe(posted);
  });
});

describe('kpi doctor', () => {
  let fake: FakeSlack;
  beforeEach(async () => { fake = await startFakeSlack({ token: TOKEN }); });
  afterEach(async () => { await fake.close(); });

  const settingsFor = (dir: string, over: Record<string, string> = {}) => ({
    SLACK_BOT_TOKEN: TOKEN, SLACK_SIGNING_SECRET: 'sig', SLACK_API_URL: fake.url, KPI_SOURCE: 'csv', KPI_CSV_PATH: join(FIXTURES, 'cases_small.csv'),
    KPI_DB_PATH: join(dir, 'kpi.duckdb'), KPI_STATE_PATH: join(dir, 'kpi.duckdb'), KPI_DIGEST_CHANNEL: DIGEST, KPI_ALERT_CHANNEL: ALERTS, ...over,
  });

  test('all checks pass: exit 0, one line per check', async () => {
    const dir = tmpDir('kpi-doctor-');
    const r = await runCliAsync(['doctor'], dir, settingsFor(dir));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ok {3}settings: valid/);
    expect(lines).toEqual(expect.arrayContaining([
      expect.stringMatching(/^ok {3}state file: .*kpi\.duckdb is writable and not locked$/),
      expect.stringMatching(/^ok {3}source: csv.*cases_small\.csv.*: reachable, required columns present, 11 rows$/),
      expect.stringMatching(/^ok {3}slack auth\.test: signed in as @kpi-bot/),
      expect.stringMatching(/^ok {3}slack KPI_DIGEST_CHANNEL: the bot is a member of #c0digest01 \(C0DIGEST01\)$/),
      expect.stringMatching(/^ok {3}slack KPI_ALERT_CHANNEL: the bot is a member/),
      expect.stringMatching(/^ok {3}chart fonts: /),
    ]));
    expect(lines[lines.length - 1]).toMatch(/^All \d+ checks passed\.$/);
    expect(fake.callsTo('conversations.info').map((c) => c.body.channel).sort()).toEqual([ALERTS, DIGEST]);
  });

  test('the bot is not in a channel: that line fails with the invite hint, exit 1', async () => {
    const dir = tmpDir('kpi-doctor-');
    fake.setBotMember(ALERTS, false);
    const r = await runCliAsync(['doctor'], dir, settingsFor(dir));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FAIL slack KPI_ALERT_CHANNEL: the bot is not a member of #c0alerts01 (C0ALERTS01) -> fix: invite it with /invite @kpi-bot in that channel');
    expect(r.stdout).toMatch(/^ok {3}slack KPI_DIGEST_CHANNEL/m);
    expect(r.stdout).toMatch(/1 of \d+ checks failed\./);
  });

  test('in process: a bad token, a channel name, a missing source file, an invalid setting', async () => {
    const dir = tmpDir('kpi-doctor-');
    const log = silentLogger();
    const s = loadSettings(settingsFor(dir, { SLACK_BOT_TOKEN: 'xoxb-wrong', KPI_ALERT_CHANNEL: '#alerts', KPI_CSV_PATH: join(dir, 'nope.csv') }));
    const results = await runDoctor(s, log);
    const line = (name: string) => formatCheck(results.find((r) => r.name === name)!);
    expect(line('slack auth.test')).toMatch(/^FAIL slack auth\.test: Slack refused the bot token \(invalid_auth\) -> fix: copy the Bot User OAuth Token/);
    expect(line('source')).toMatch(/^FAIL source: CSV source .*nope\.csv does not exist/);
    expect(results.find((r) => r.name === 'state file')!.ok).toBe(true);

    const s2 = loadSettings(settingsFor(dir, { KPI_ALERT_CHANNEL: '#alerts' }));
    const r2 = await runDoctor(s2, log);
    expect(formatCheck(r2.find((r) => r.name === 'slack KPI_ALERT_CHANNEL')!)).toBe('FAIL slack KPI_ALERT_CHANNEL: "#alerts" is a channel name, not an ID -> fix: set KPI_ALERT_CHANNEL to the channel ID (channel details -> About -> Channel ID, e.g. C0123456789)');

    const bad = await runCliAsync(['doctor'], dir, settingsFor(dir, { KPI_WINDOW_DAYS: 'many' }));
    expect(bad.code).toBe(2);
    expect(bad.stdout).toMatch(/^FAIL settings: Invalid setting: KPI_WINDOW_DAYS \(got "many"\): must be a number -> fix: /);
  });
});
