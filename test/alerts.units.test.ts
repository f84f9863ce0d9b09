import { ChannelPacer } from '../src/slack-api/pacer';
import { casesHeadline, sparkline } from '../src/render/slack/alerts';
import { formatDuration, formatTime, esc } from '../src/render/slack/format';
import { retryAfterOf } from '../src/alerts/deliver';
import { scheduleAlerts } from '../src/jobs/alerts';
import { loadSettings } from '../src/config/settings';
import { WebClient } from '@slack/web-api';
import { join } from 'node:path';
import { startFakeSlack } from './fakes/slackServer';
import { tmpDir } from './helpers/kpi';

test('sparkline scales min..max to eight bars', () => {
  expect(sparkline([1, 2, 3, 4, 5, 6, 7, 8])).toBe('▁▂▃▄▅▆▇█');
  expect(sparkline([5, 5, 5])).toBe('▄▄▄');
  expect(sparkline([])).toBe('');
  expect(sparkline([100, 0])).toBe('█▁');
});

test('headline, durations, times, escaping', () => {
  expect(casesHeadline(4, 1, { P2: 3, P1: 2 })).toBe('4 cases newly at risk, 1 newly breached: P1 2, P2 3');
  expect(casesHeadline(0, 1, { P1: 1 })).toBe('1 case newly breached: P1 1');
  expect(formatDuration(1.5)).toBe('1h 30m');
  expect(formatDuration(-0.25)).toBe('15m');
  expect(formatDuration(50)).toBe('2d 2h');
  expect(formatTime('2026-11-23T09:00:00Z', 'Europe/Berlin')).toBe('2026-11-23 10:00 Europe/Berlin');
  expect(esc('<!channel> & *x*')).toBe('&lt;!channel&gt; &amp; *x*');
});

test('pacer: one slot per interval per channel, channels independent, backoff pushes the next slot', async () => {
  let t = 0;
  const waits: [string, number][] = [];
  let current = '';
  const p = new ChannelPacer({ intervalMs: 1000, now: () => t, sleep: async (ms) => { waits.push([current, ms]); t += ms; } });
  const order: string[] = [];
  const job = (ch: string, i: number) => p.run(ch, async () => { current = ch; order.push(`${ch}${i}`); });
  await Promise.all([job('a', 1), job('a', 2), job('b', 1), job('a', 3)]);
  expect(order.filter((o) => o.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
  expect(p.waitedMs).toBeGreaterThanOrEqual(2000);
  p.backoff('b', 30_000);
  await job('b', 2);
  expect(p.waitedMs).toBeGreaterThanOrEqual(30_000);
});

test('retryAfterOf recognises rate limits in every shape WebClient reports them', () => {
  expect(retryAfterOf({ code: 'slack_webapi_rate_limited_error', retryAfter: 7 })).toBe(7);
  expect(retryAfterOf({ code: 'slack_webapi_platform_error', data: { error: 'ratelimited' } })).toBe(1);
  expect(retryAfterOf({ code: 'slack_webapi_request_error', message: 'A request error occurred: A rate limit was exceeded (url: x, retry-after: 3)' })).toBe(3);
  expect(retryAfterOf({ code: 'slack_webapi_platform_error', data: { error: 'channel_not_found' } })).toBeNull();
  expect(retryAfterOf(new Error('boom'))).toBeNull();
});

test('scheduleAlerts: nothing scheduled when off or without a channel; the handle stops', async () => {
  const client = new WebClient('xoxb-x');
  const off = scheduleAlerts(loadSettings({ KPI_ALERTS_ENABLED: 'false', KPI_ALERT_CHANNEL: 'C0ALERTS01' }), { client });
  expect(off.job).toBeNull();
  await off.stop();
  const none = scheduleAlerts(loadSettings({}), { client });
  expect(none.job).toBeNull();
  const on = scheduleAlerts(loadSettings({ KPI_ALERT_CHANNEL: 'C0ALERTS01', KPI_DB_PATH: '/tmp/never-opened.duckdb', KPI_STATE_PATH: '/tmp/never-opened.duckdb' }), { client });
  expect(on.job).not.toBeNull();
  await on();
});

test('scheduleAlerts: stopping waits for the sweep in flight (real node-cron, every second)', async () => {
  const fake = await startFakeSlack({ token: 'xoxb-x' });
  const dir = tmpDir('kpi-alert-stop-');
  try {
    const client = new WebClient('xoxb-x', { slackApiUrl: fake.url, retryConfig: { retries: 0 } });
    let started!: () => void;
    const sweepStarted = new Promise<void>((r) => { started = r; });
    let fail!: () => void;
    const report = new Promise<never>((_, reject) => { fail = () => reject(new Error('source unavailable')); });
    const on = scheduleAlerts(loadSettings({ KPI_ALERT_CHANNEL: 'C0ALERTS01', KPI_ALERT_CRON: '* * * * * *', KPI_DB_PATH: join(dir, 'kpi.duckdb'), KPI_STATE_PATH: join(dir, 'kpi.duckdb') }), {
      client, paceMs: 0, getReport: () => { started(); return report; },
    });
    await sweepStarted;
    let stopped = false;
    const stopping = on.stop().then(() => { stopped = true; });
    await new Promise((r) => setTimeout(r, 200));
    expect(stopped).toBe(false); // the sweep is still waiting for its report
    fail();
    await stopping;
    // The sweep finished before stop() resolved: the failed run's ops alert is posted.
    expect(fake.messagesIn('C0ALERTS01').map((m) => m.text).join('\n')).toMatch(/fail/i);
  } finally {
    await fake.close();
  }
});
